"""`jobbertrack push` and `jobbertrack work -- CMD…` (issue 14), as real
processes against a real redis-server."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import jobbertrack

from ..helpers import wait_for
from .test_processes import jt, read_line, spawn

# one write per job: concurrent commands share the worker's stdout
ECHO = [
    sys.executable,
    "-c",
    "import os, sys; sys.stdout.write(os.environ['JOBBERTRACK_JOB_ID'] + ' ' + sys.stdin.read() + '\\n')",
]


def test_push_prints_the_waiting_job(url: str, handler: jobbertrack.Handler) -> None:
    done = jt(
        url, "--json", "push", "--queue", "q", "--timeout", "60", "--retries", "2", "--name", "n", '{"a": 1}'
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["state"], shown["queue"], shown["retries"], shown["data"]) == ("waiting", "q", 2, {"a": 1})
    assert (shown["input"], shown["result"]) == ({"a": 1}, None)
    assert handler.queued("q") == 1
    bad = jt(url, "push", "--timeout", "60", "{not json")
    assert bad.returncode != 0 and handler.queued("q") == 1
    urgent = jt(url, "push", "-q", "--queue", "q", "--timeout", "60", "--priority", "9")
    assert urgent.returncode == 0, urgent.stderr
    assert handler.get(urgent.stdout.decode().strip()).get_value()["priority"] == 9  # type: ignore[union-attr]
    assert jt(url, "push", "--queue", "q", "--timeout", "60", "--priority", "1000000").returncode != 0
    assert handler.pop_and_start("q").id == urgent.stdout.decode().strip()  # type: ignore[union-attr]


def test_work_burst_runs_the_command_once_per_job(url: str, handler: jobbertrack.Handler) -> None:
    jobs = [handler.push({"n": i}, timeout=60) for i in range(3)]
    failing = handler.push("x", timeout=60, queue="fails")
    done = jt(url, "work", "--burst", "--concurrency", "2", "--", *ECHO)
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.decode().splitlines())
    assert lines == sorted(f"{j.id} {json.dumps({'n': i})}" for i, j in enumerate(jobs))
    for job in jobs:
        got = handler.get(job.id)
        assert got.state == "finished" and got.data["exit_code"] == 0
        assert got.result["exit_code"] == 0
        assert got.input == {"n": jobs.index(job)}  # the input stays as pushed
    assert handler.queued() == 0
    exit_3 = jt(url, "work", "--queue", "fails", "--burst", "--", sys.executable, "-c", "raise SystemExit(3)")
    assert exit_3.returncode == 0
    assert handler.get(failing.id).error["exit_code"] == 3


#: exits 0 for an even n, 3 for an odd one
EVEN_OK = [sys.executable, "-c", "import json, sys; raise SystemExit(3 * (json.load(sys.stdin)['n'] % 2))"]


def test_work_says_one_line_per_job_and_never_a_traceback(url: str, handler: jobbertrack.Handler) -> None:
    jobs = [handler.push({"n": i}, timeout=60) for i in range(4)]
    done = jt(url, "work", "--burst", "--concurrency", "2", "--", *EVEN_OK)
    assert done.returncode == 0, done.stderr
    said = done.stderr.decode()
    assert "Traceback" not in said and "Exception" not in said, said
    lines = said.splitlines()
    assert len(lines) == len(jobs), lines
    for i, job in enumerate(jobs):
        (line,) = [line for line in lines if job.id in line]
        state = "finished" if i % 2 == 0 else "failed"
        assert f"job {job.id} {state}" in line
        assert ("exit status 0" if state == "finished" else "exited with status 3") in line
        assert handler.get(job.id).state == state


def test_work_with_json_prints_one_json_line_per_job(url: str, handler: jobbertrack.Handler) -> None:
    jobs = [handler.push({"n": i}, timeout=60) for i in range(4)]
    done = jt(url, "--json", "work", "--burst", "--concurrency", "2", "--", *EVEN_OK)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr, done.stderr
    shown = {line["id"]: line for line in map(json.loads, done.stdout.decode().splitlines())}
    assert set(shown) == {job.id for job in jobs}
    for i, job in enumerate(jobs):
        value = shown[job.id]
        if i % 2 == 0:
            assert (value["state"], value["data"]["exit_code"]) == ("finished", 0)
        else:
            assert (value["state"], value["error"]["exit_code"]) == ("failed", 3)


def test_work_retries_a_failed_command(url: str, handler: jobbertrack.Handler) -> None:
    job = handler.push(timeout=60, retries=1)
    done = jt(url, "work", "--burst", "--", sys.executable, "-c", "raise SystemExit(1)")
    assert done.returncode == 0
    failed = handler.get(job.id)
    assert failed.state == "failed" and failed.get_value()["attempt"] == 2
    assert [a["error"]["exit_code"] for a in failed.get_value()["attempts"]] == [1]


def _blocked_pops(url: str) -> int:
    client = jobbertrack.connect(url)
    try:
        return sum(1 for c in client.client_list() if c.get("cmd") == "blpop")
    finally:
        client.close()


def test_work_burst_waits_for_a_retry_in_its_backoff_and_a_delayed_job(
    url: str, handler: jobbertrack.Handler, tmp_path: Path
) -> None:
    """--burst exits when nothing waits on the queue: a retry in its backoff
    and a delayed job are run first, not left behind."""
    marker = tmp_path / "failed-once"
    # fails the first time it runs (for any job), succeeds after
    flaky = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
        "raise SystemExit(0 if p.exists() else p.touch() or 1)"
    )
    retried = handler.push(timeout=60, retries=1, backoff=1)
    done = jt(url, "work", "--burst", "--", sys.executable, "-c", flaky, str(marker))
    assert done.returncode == 0, done.stderr
    job = handler.get(retried.id)
    assert (job.state, job.get_value()["attempt"]) == ("finished", 2)
    delayed = handler.push(timeout=60, delay=1)
    done = jt(url, "work", "--burst", "--", sys.executable, "-c", "pass")
    assert done.returncode == 0, done.stderr
    assert handler.get(delayed.id).state == "finished"
    assert handler.queued() == 0


def test_sigterm_lets_the_running_command_finish_and_takes_no_new_job(
    url: str, handler: jobbertrack.Handler, tmp_path: Path
) -> None:
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    script = f"print('started', flush=True); open({str(fifo)!r}).read(); print('done')"
    first = handler.push(timeout=60)
    worker = spawn(url, "work", "--concurrency", "2", "--", sys.executable, "-c", script)
    try:
        assert read_line(worker.stdout) == b"started\n"
        wait_for(lambda: _blocked_pops(url) == 1)  # the idle slot waits for a push
        worker.send_signal(signal.SIGTERM)
        wait_for(lambda: _blocked_pops(url) == 0)  # it stopped waiting: it takes no new job
        second = handler.push(timeout=60)
        fifo.write_text("go")  # the running command may now end
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert out.splitlines() == [b"done"]  # (after "started", read above)
        assert handler.get(first.id).state == "finished"
        assert handler.get(second.id).state == "waiting"
    finally:
        worker.kill()
        worker.communicate()


def test_a_command_outliving_the_grace_period_is_terminated(
    url: str, handler: jobbertrack.Handler, tmp_path: Path
) -> None:
    fifo = tmp_path / "never"
    os.mkfifo(fifo)
    script = f"print('started', flush=True); open({str(fifo)!r}).read()"
    job = handler.push(timeout=60)
    worker = spawn(url, "work", "--grace", "0.5", "--", sys.executable, "-c", script)
    try:
        assert read_line(worker.stdout) == b"started\n"
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        failed = handler.get(job.id)
        assert failed.state == "failed" and failed.error["signal"] == "SIGTERM"
    finally:
        worker.kill()
        worker.communicate()


def test_get_shows_the_queue_and_each_attempt(url: str, handler: jobbertrack.Handler) -> None:
    job = handler.push(timeout=60, queue="q", retries=1)
    handler.pop_and_start("q").fail("boom")
    shown = jt(url, "get", job.id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    assert "queue: q, attempt 2 of 2" in lines
    assert any(line.endswith("running -> waiting  attempt 1: boom") for line in lines), lines


def test_a_work_process_registers_itself_and_what_it_runs(
    url: str, handler: jobbertrack.Handler, tmp_path: Path
) -> None:
    """`jobbertrack workers` and `Handler.workers()` show `jobbertrack work`
    processes (issue 23): their queue, concurrency and the jobs they run."""
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    script = f"print('started', flush=True); open({str(fifo)!r}).read()"
    job = handler.push(timeout=60, queue="cli")
    worker = spawn(url, "work", "--queue", "cli", "--concurrency", "3", "--", sys.executable, "-c", script)
    try:
        assert read_line(worker.stdout) == b"started\n"
        (seen,) = wait_for(lambda: [w for w in handler.workers("cli") if w["jobs"] == [job.id]])
        assert (seen["pid"], seen["queues"], seen["concurrency"]) == (worker.pid, ["cli"], 3)
        fifo.write_text("go")
        wait_for(lambda: handler.workers()[0]["processed"] == 1)
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        assert worker.returncode == 0
        assert handler.workers() == []  # it unregistered on its way out
    finally:
        worker.kill()
        worker.communicate()
