"""The commands through click's test runner, against a real redis-server.

stdout is not a terminal here, so output is plain lines, or JSON with
--json; ``FORCE_COLOR`` makes rich draw its tables as on a terminal."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
from jobbertrack.cli import main
from tests.helpers import cli_runner

from ..helpers import wait_for
from .conftest import Invoke

COMMANDS = sorted(main.commands)


def as_json(invoke: Invoke, *args: str, **kwargs: Any) -> Any:
    return json.loads(invoke("--json", *args, **kwargs).stdout)


def test_a_job_through_its_life(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = as_json(invoke, "create", "--timeout", "600", "--name", "report", "--data", '{"host": "db1"}')
    assert (job["state"], job["name"], job["data"]) == ("waiting", "report", {"host": "db1"})
    job_id = job["id"]
    assert as_json(invoke, "start", job_id, "--lease", "30")["state"] == "running"
    moved = as_json(invoke, "progress", job_id, "3", "--total", "10", "--message", "rendering")
    assert moved["progress"] == {"current": 3, "total": 10, "message": "rendering"}
    assert as_json(invoke, "heartbeat", job_id)["lease"] == 30
    done = as_json(invoke, "finish", job_id, '{"pages": 12}')
    assert (done["state"], done["data"]) == ("finished", {"pages": 12})
    stored = handler.get(job_id)
    assert stored is not None and stored.get_value() == done


def test_json_before_or_after_the_command_name(invoke: Invoke) -> None:
    job_id = invoke("create", "-q", "--timeout", "60").stdout.strip()
    before = json.loads(invoke("--json", "get", job_id).stdout)
    after = json.loads(invoke("get", job_id, "--json").stdout)
    assert before == after
    assert before["id"] == job_id and [h["to"] for h in before["timeline"]] == ["waiting"]
    assert before["history"] == before["timeline"]  # the API's name for it


def test_options_after_the_command_name(url: str) -> None:

    result = cli_runner().invoke(main, ["stats", "--namespace", "elsewhere", "--redis-url", url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "waiting": 0,
        "running": 0,
        "failed": 0,
        "finished": 0,
        "cancelled": 0,
    }


def test_plain_output_without_a_terminal(invoke: Invoke) -> None:
    out = invoke("create", "--timeout", "60", "--name", "plain").stdout
    assert "\x1b[" not in out
    lines = dict(
        line.split(": ", 1) for line in out.splitlines() if ": " in line and not line.startswith(" ")
    )
    assert lines["state"] == "waiting" and lines["name"] == "plain"
    assert re.fullmatch(r"[0-9A-Z]{21}", lines["id"])


def test_quiet_create_prints_only_the_id(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job_id = invoke("create", "-q", "--timeout", "60").stdout.strip()
    assert handler.status(job_id) == "waiting"


@pytest.mark.parametrize("how", ["inline", "@file", "file", "stdin"])
def test_finish_data_from_argument_file_or_stdin(
    how: str, invoke: Invoke, handler: jobbertrack.Handler, tmp_path: Path
) -> None:
    job = handler.create(60).start()
    data = {"rows": 42, "note": "ünïcode"}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    argument, stdin = {
        "inline": (json.dumps(data), None),
        "@file": (f"@{path}", None),
        "file": (str(path), None),
        "stdin": ("-", json.dumps(data)),
    }[how]
    invoke("finish", job.id, argument, input=stdin)
    assert job.refresh().data == data


def test_finish_without_data_and_fail_with_a_message(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    first, second = handler.create(60).start(), handler.create(60).start()
    invoke("finish", first.id)
    assert first.refresh().state == "finished" and first.data is None
    failed = as_json(invoke, "fail", second.id, "disk full")
    assert failed["state"] == "failed" and failed["error"]["message"] == "disk full"


def test_data_that_is_not_json_is_refused_with_a_hint(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60).start()
    result = invoke("finish", job.id, "done", code=2)
    assert "not JSON" in result.stderr and "'\"done\"'" in result.stderr
    assert job.refresh().state == "running"


def one_line_error(result: Any) -> str:
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return str(lines[0])


def test_an_illegal_move_is_one_line_and_exit_1(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60)
    line = one_line_error(invoke("finish", job.id, code=1))
    assert job.id in line and "'finished'" in line and "'waiting'" in line
    assert job.refresh().state == "waiting"


@pytest.mark.parametrize("command", [["get"], ["start"], ["heartbeat"], ["finish"], ["fail"], ["wait"]])
def test_an_unknown_id_is_one_line_and_exit_3(invoke: Invoke, command: list[str]) -> None:
    line = one_line_error(invoke(command[0], "no-such-job", *command[1:], code=3))
    assert "no-such-job" in line and "not found" in line


def test_an_expired_job_says_so(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(0.05)
    wait_for(lambda: handler.status(job.id) == "expired")
    assert "expired" in one_line_error(invoke("get", job.id, code=3))


@pytest.mark.parametrize("url", ["redis://u:hunter2-secret@127.0.0.1:abc/0", "foo://u:hunter2-secret@h:1"])
def test_an_unusable_url_is_one_line_and_exit_2(url: str) -> None:

    result = cli_runner().invoke(main, ["--redis-url", url, "stats"])
    assert result.exit_code == 2
    message = one_line_error(result)
    assert "cannot connect" in message and "hunter2-secret" not in message


def test_the_demo_shows_urls_without_their_password() -> None:
    from jobbertrack.cli.demo import _without_password

    assert _without_password("redis://u:hunter2-secret@db:6380/0") == "redis://u:***@db:6380/0"
    assert _without_password("redis://db:6380/0") == "redis://db:6380/0"


def test_redis_unavailable_is_one_line_and_exit_4() -> None:

    result = cli_runner().invoke(main, ["--redis-url", "redis://127.0.0.1:1/0", "stats"])
    assert result.exit_code == 4
    assert "unavailable" in one_line_error(result).lower()


def test_progress_needs_a_number(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60).start()
    assert "not a number" in invoke("progress", job.id, "three", code=2).stderr
    assert as_json(invoke, "progress", job.id, "2.5")["progress"]["current"] == 2.5


def test_ls_newest_first_filtered_and_paged(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    jobs = [handler.create(600, name=f"job {i}") for i in range(5)]
    jobs[1].start()
    jobs[3].start().finish()
    listed = as_json(invoke, "ls")
    assert [j["id"] for j in listed["jobs"]] == [j.id for j in reversed(jobs)]
    assert listed["cursor"] is None
    running = as_json(invoke, "list", "--state", "running", "--state", "finished")
    assert [j["id"] for j in running["jobs"]] == [jobs[3].id, jobs[1].id]
    first = as_json(invoke, "ls", "-n", "2")
    second = as_json(invoke, "ls", "-n", "2", "--cursor", first["cursor"])
    assert [j["id"] for j in first["jobs"] + second["jobs"]] == [j.id for j in reversed(jobs)][:4]
    every = as_json(invoke, "ls", "-n", "2", "--all")
    assert len(every["jobs"]) == 5 and every["cursor"] is None


def test_ls_plain_is_tab_separated(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(600, name="with spaces")
    (line,) = invoke("ls").stdout.splitlines()
    assert line.split("\t") == [job.id, "waiting", job.get_value()["created_at"], "with spaces"]


def test_stats_counts_per_state(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    handler.create(60)
    handler.create(60).start().fail("x")
    assert as_json(invoke, "stats") == {
        "waiting": 1,
        "running": 0,
        "failed": 1,
        "finished": 0,
        "cancelled": 0,
    }
    assert invoke("counts").stdout.splitlines() == [
        "waiting\t1",
        "running\t0",
        "failed\t1",
        "finished\t0",
        "cancelled\t0",
    ]


def test_events_as_json_lines_resumable(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60).start().set_progress(1, 2)
    other = handler.create(60)
    lines = [json.loads(line) for line in invoke("--json", "events").stdout.splitlines()]
    # events of different shards in the same millisecond merge by shard: compare per job
    assert [e["state"] for e in lines if e["job_id"] == job.id] == ["waiting", "running", "running"]
    assert [e["state"] for e in lines if e["job_id"] == other.id] == ["waiting"]
    assert {"current": 1, "total": 2, "message": None} in [e["progress"] for e in lines]
    job.finish()
    after = invoke("--json", "events", "--since", lines[-1]["cursor"]).stdout.splitlines()
    assert [(e["job_id"], e["state"]) for e in map(json.loads, after)] == [(job.id, "finished")]
    last = invoke("--json", "events", "-n", "2", "--job", job.id).stdout.splitlines()
    assert [json.loads(e)["state"] for e in last] == ["running", "finished"]


def test_wait_exit_status_and_job(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    done = handler.create(60).start().finish({"ok": True})
    failed = handler.create(60).start().fail("boom")
    running = handler.create(60).start()
    assert as_json(invoke, "wait", done.id)["data"] == {"ok": True}
    assert as_json(invoke, "wait", failed.id, code=1)["error"]["message"] == "boom"
    assert as_json(invoke, "wait", running.id, "--timeout", "0.2", code=2)["state"] == "running"


def test_sweep_fails_a_stalled_job(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60).start(lease=0.05)
    # the lease running out is a deadline, not an event: sweep until it is caught
    wait_for(lambda: as_json(invoke, "sweep")["failed"] == 1, limit=10)
    assert job.refresh().error is not None and job.error["reason"] == "stalled"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(invoke: Invoke, command: str) -> None:
    text = invoke(command, "--help").stdout
    assert "Example" in text and "--json" in text and "--redis-url" in text


def test_rich_output_on_a_terminal(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(600, name="[red]not markup").start()
    job.set_progress(1, 4, "copying")
    handler.create(600).start().fail("disk full")
    env = {"FORCE_COLOR": "1", "COLUMNS": "140", "NO_COLOR": None}
    table = invoke("ls", env=env).stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", table)
    assert "\x1b[" in table and "[red]not markup" in plain and "s ago" in plain
    assert "1/4 ██░░░░░░ copying" in plain and "disk full" in plain
    detail = re.sub(r"\x1b\[[0-9;]*m", "", invoke("get", job.id, env=env).stdout)
    assert "timeline" in detail and "waiting" in detail and "running" in detail
    stats = re.sub(r"\x1b\[[0-9;]*m", "", invoke("stats", env=env).stdout)
    assert re.search(r"running\s+1", stats) and re.search(r"total\s+2", stats)


def test_run_through_the_test_runner(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    result = invoke("run", "--name", "echo", "--", sys.executable, "-c", "print('hello')")
    assert result.stdout == "hello\n"
    (job,) = handler.list()
    assert (job.state, job.name, job.data["exit_code"], job.data["output_tail"]) == (
        "finished",
        "echo",
        0,
        "hello\n",
    )
    failed = invoke("--json", "run", "--", sys.executable, "-c", "raise SystemExit(5)", code=5)
    assert json.loads(failed.stdout)["error"]["exit_code"] == 5


def test_the_readme_documents_the_command_line() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Command line") : readme.index("## Testing your own code")]
    assert "jobbertrack run --timeout 3600 -- /usr/local/bin/backup.sh" in section
    assert "```console\n$ " in section
    for command in COMMANDS:
        assert f"| `{command}" in section, command


def test_get_and_ls_show_the_input_and_the_result(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60, data={"file": "f3.csv"})
    job.start()
    job.finish({"rows": 42})
    shown = json.loads(invoke("get", job.id, "--json").stdout)
    assert (shown["input"], shown["result"]) == ({"file": "f3.csv"}, {"rows": 42})
    listed = [json.loads(line) for line in invoke("ls", "--json").stdout.splitlines() if line.strip()]
    rows = listed[0]["jobs"] if len(listed) == 1 and "jobs" in listed[0] else listed
    mine = [(r["input"], r["result"]) for r in rows if r["id"] == job.id]
    assert mine == [({"file": "f3.csv"}, {"rows": 42})]
    plain = dict(line.split(": ", 1) for line in invoke("get", job.id).stdout.splitlines() if ": " in line)
    assert json.loads(plain["input"]) == {"file": "f3.csv"} and json.loads(plain["result"]) == {"rows": 42}
