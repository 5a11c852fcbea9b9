"""The command line as real processes (``python -m jobbertrack.cli``)
against a real redis-server: `run`, `wait`, the streams, signals."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

import jobbertrack

from ..helpers import wait_for
from .conftest import CLI

LIMIT = 30.0  # seconds: generous, the machine is shared; nothing waits this long when all is well


def jt(url: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, "--redis-url", url, *args],
        check=False,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=LIMIT,
        **kwargs,
    )


def interruptible() -> None:
    """Ctrl-C as at a terminal, even if the test runner was started with
    SIGINT ignored (as a shell does for background jobs)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(url: str, *args: str, stdin: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "--redis-url", url, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,  # noqa: PLW1509 - one signal() call, nothing to deadlock on
    )


def read_line(stream: IO[bytes] | None) -> bytes:
    """The next line a process writes (fails after LIMIT seconds)."""
    assert stream is not None
    ready, _, _ = select.select([stream], [], [], LIMIT)
    assert ready, "no output in time"
    return stream.readline()


def only_job(handler: jobbertrack.Handler) -> jobbertrack.Resource:
    (job,) = handler.list()
    return job


def test_run_a_command_that_succeeds(url: str, handler: jobbertrack.Handler) -> None:
    script = "import sys; sys.stdout.buffer.write(b'out \\x00\\xff\\n'); print('err', file=sys.stderr)"
    done = jt(url, "run", "--name", "bytes", "--", sys.executable, "-c", script)
    assert done.returncode == 0
    assert done.stdout == b"out \x00\xff\n"  # passed through unchanged
    assert done.stderr.endswith(b"err\n")
    job = only_job(handler)
    assert (job.state, job.name) == ("finished", "bytes")
    assert job.data["exit_code"] == 0 and job.data["command"][-1] == script
    assert job.data["duration"] >= 0
    # both streams, as they came (which may interleave them), bytes that are not UTF-8 replaced
    assert "out \x00\ufffd" in job.data["output_tail"] and "err" in job.data["output_tail"]


def test_run_a_command_that_fails(url: str, handler: jobbertrack.Handler) -> None:
    lines = "".join(f"print({i})\n" for i in range(100)) + "raise SystemExit(3)"
    done = jt(url, "run", "--", sys.executable, "-c", lines)
    assert done.returncode == 3
    assert done.stdout.decode().split() == [str(i) for i in range(100)]
    job = only_job(handler)
    assert job.state == "failed" and job.error is not None
    assert job.error["exit_code"] == 3 and job.error["message"] == "exited with status 3"
    assert job.error["output_tail"].split() == [str(i) for i in range(80, 100)]  # a bounded tail


def test_run_a_command_killed_by_a_signal(url: str, handler: jobbertrack.Handler) -> None:
    done = jt(
        url, "run", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    )
    assert done.returncode == 128 + signal.SIGKILL
    job = only_job(handler)
    assert job.state == "failed" and job.error is not None
    assert (job.error["signal"], job.error["exit_code"]) == ("SIGKILL", 137)


def test_run_a_command_that_does_not_exist(url: str, handler: jobbertrack.Handler) -> None:
    done = jt(url, "run", "--", "/nonexistent/command")
    assert done.returncode == 127 and b"cannot run" in done.stderr
    job = only_job(handler)
    assert job.state == "failed" and job.error is not None and job.error["exit_code"] == 127


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_forwards_signals_to_the_command(
    sig: signal.Signals, url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    script = "import time; print('ready', flush=True); time.sleep(60)"
    proc = spawn(url, "--json", "run", "--", sys.executable, "-c", script)
    procs.append(proc)
    assert read_line(proc.stdout) == b"ready\n"  # the command runs: its job is running
    assert only_job(handler).state == "running"
    proc.send_signal(sig)
    assert proc.wait(LIMIT) == 128 + sig
    final = json.loads(read_line(proc.stdout))  # --json: the job, after the command's output
    assert final["state"] == "failed" and final["error"]["signal"] == sig.name
    assert only_job(handler).error == final["error"]


def test_run_heartbeats_while_the_command_runs(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    script = "import sys; print('ready', flush=True); sys.stdin.readline()"
    proc = spawn(url, "run", "--lease", "0.9", "--", sys.executable, "-c", script, stdin=subprocess.PIPE)
    procs.append(proc)
    assert read_line(proc.stdout) == b"ready\n"

    def alive_for_two_leases() -> bool:
        job = only_job(handler)
        assert job.state == "running", job.error
        assert job.heartbeat_at is not None and job.started_at is not None
        return (job.heartbeat_at - job.started_at).total_seconds() >= 1.8

    wait_for(alive_for_two_leases, limit=LIMIT)  # heartbeats write no event: look at the record
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(LIMIT) == 0
    assert only_job(handler).state == "finished"


def test_wait_exit_codes(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    finishing, failing, stuck = (handler.create(60).start() for _ in range(3))
    waiters = [spawn(url, "--json", "wait", job.id, "--timeout", "20") for job in (finishing, failing)]
    procs.extend(waiters)
    finishing.finish({"ok": 1})
    failing.fail("boom")
    assert [w.wait(LIMIT) for w in waiters] == [0, 1]
    assert json.loads(waiters[0].communicate()[0])["data"] == {"ok": 1}
    assert json.loads(waiters[1].communicate()[0])["error"]["message"] == "boom"
    timed_out = jt(url, "wait", stuck.id, "--timeout", "0.3", "--json")
    assert timed_out.returncode == 2 and json.loads(timed_out.stdout)["state"] == "running"


def test_json_output_parsed_back(url: str) -> None:
    created = json.loads(jt(url, "create", "--timeout", "60", "--json", "--data", "[1, 2]").stdout)
    got = json.loads(jt(url, "--json", "get", created["id"]).stdout)
    assert got["data"] == [1, 2] and got["state"] == "waiting"
    listed = json.loads(jt(url, "ls", "--json").stdout)
    assert [j["id"] for j in listed["jobs"]] == [created["id"]]


def test_events_follow_streams_json_lines(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    job = handler.create(60)
    proc = spawn(url, "events", "--follow", "--json")
    procs.append(proc)
    assert json.loads(read_line(proc.stdout))["state"] == "waiting"  # the retained one
    job.start()
    event = json.loads(read_line(proc.stdout))  # a new one, as it happens
    assert (event["job_id"], event["state"]) == (job.id, "running")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(LIMIT) == 0


def test_watch_without_a_terminal_prints_counts_then_events(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    handler.create(60)
    proc = spawn(url, "watch")
    procs.append(proc)
    assert (
        read_line(proc.stdout).split()
        == b"waiting 1 running 0 failed 0 finished 0 cancelled 0 total 1".split()
    )
    job = handler.create(60, name="new one")
    fields = read_line(proc.stdout).decode().rstrip("\n").split("\t")
    assert fields[2:4] == [job.id, "waiting"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(LIMIT) == 0


def test_sweep_every(url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]) -> None:
    proc = spawn(url, "--json", "sweep", "--every", "0.1")
    procs.append(proc)
    job = handler.create(60).start(lease=0.2)
    assert json.loads(read_line(proc.stdout))["failed"] == 1  # printed once it caught the stall
    assert job.refresh().error is not None and job.error["reason"] == "stalled"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(LIMIT) == 0


def test_no_url_uses_the_embedded_redis_with_a_note(tmp_path: Path) -> None:
    env = {**os.environ, "JOBBERTRACK_HOME": str(tmp_path / "embedded")}
    try:
        done = subprocess.run(
            [*CLI, "stats", "--json"], check=False, capture_output=True, env=env, timeout=LIMIT
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {
            "waiting": 0,
            "running": 0,
            "failed": 0,
            "finished": 0,
            "cancelled": 0,
        }
        (note,) = done.stderr.decode().splitlines()
        assert "embedded Redis" in note
    finally:
        subprocess.run(
            [sys.executable, "-m", "jobbertrack.embedded", "stop"],
            env=env,
            check=False,
            capture_output=True,
            timeout=LIMIT,
        )


def test_the_friendly_message_without_click() -> None:
    code = "import sys; sys.modules['click'] = None; import jobbertrack.cli"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, timeout=LIMIT)
    assert done.returncode != 0
    assert b"pip install 'jobbertrack[cli]'" in done.stderr


def test_the_console_script_without_click_says_what_to_install_in_one_line() -> None:
    """The ``jobbertrack`` script (``jobbertrack._console:main``): no traceback."""
    for missing in ("click", "rich"):
        code = f"import sys; sys.modules[{missing!r}] = None; from jobbertrack._console import main; main()"
        done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, timeout=LIMIT)
        assert done.returncode == 1
        assert done.stderr.decode().splitlines() == [
            f"jobbertrack: the jobbertrack command line needs click and rich ({missing} is missing): "
            "pip install 'jobbertrack[cli]'"
        ]


def test_the_console_script_runs_the_command_line() -> None:
    code = "import sys; sys.argv = ['jobbertrack', '--help']; from jobbertrack._console import main; main()"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, timeout=LIMIT)
    assert done.returncode == 0
    assert done.stdout.startswith(b"Usage: jobbertrack ")


def test_the_core_package_imports_neither_click_nor_rich() -> None:
    code = "import sys, jobbertrack, jobbertrack.aio; print('click' in sys.modules, 'rich' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=LIMIT, check=True)
    assert done.stdout.split() == [b"False", b"False"]


def test_module_entry_point_help() -> None:
    done = subprocess.run([*CLI, "--help"], capture_output=True, timeout=LIMIT, check=True)
    assert done.stdout.startswith(b"Usage: jobbertrack ")
