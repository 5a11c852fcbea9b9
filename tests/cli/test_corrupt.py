"""The command line on records the library did not write: ``get``, ``ls``,
``events`` and ``watch`` print the job as broken, with its problems, and
never a traceback (issue 17)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.keys import Keyspace

from .conftest import CLI, Invoke

KEYS = Keyspace()
DEEP = "[" * 100_000 + "]" * 100_000

#: case -> (field, malformed stored value)
CASES: dict[str, tuple[str, bytes | str]] = {
    "bogus state": ("state", "bogus"),
    "bad expires": ("expires", "soon"),
    "deep data": ("data", DEEP),
    "bad progress": ("progress", '{"current": null, "total": "ten"}'),
    "non-UTF-8 name": ("name", b"\xff"),
}


@pytest.fixture
def admin(url: str) -> Any:
    client = jobbertrack.connect(url)
    yield client
    client.close()


def broken_job(handler: jobbertrack.Handler, admin: Any, case: str) -> jobbertrack.Resource:
    job = handler.create(600, name="victim", data={"n": 1})
    field, raw = CASES[case]
    admin.hset(KEYS.job_key(job.id), field, raw)
    return job


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


@pytest.mark.parametrize("case", sorted(CASES))
def test_get_shows_the_job_as_broken(
    case: str, invoke: Invoke, handler: jobbertrack.Handler, admin: Any
) -> None:
    job = broken_job(handler, admin, case)
    result = invoke("get", job.id)
    no_traceback(result)
    lines = result.stdout.splitlines()
    assert "state: broken" in lines
    field = CASES[case][0]
    assert any(line.startswith(f"problem: {field}: ") for line in lines), lines
    value = json.loads(invoke("get", job.id, "--json").stdout)
    assert value["state"] is None and value["problems"][0]["field"] == field


@pytest.mark.parametrize("case", sorted(CASES))
def test_ls_lists_the_others_and_marks_the_broken_row(
    case: str, invoke: Invoke, handler: jobbertrack.Handler, admin: Any
) -> None:
    job = broken_job(handler, admin, case)
    healthy = handler.create(600, name="fine")
    result = invoke("ls")
    no_traceback(result)
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert rows[healthy.id][1] == "waiting" and len(rows[healthy.id]) == 4
    assert rows[job.id][1] == "broken" and CASES[case][0] in rows[job.id][4]
    listed = json.loads(invoke("ls", "--json").stdout)["jobs"]
    assert {j["id"] for j in listed} == {job.id, healthy.id}


def test_events_and_stats_on_a_broken_record(
    invoke: Invoke, handler: jobbertrack.Handler, admin: Any
) -> None:
    job = broken_job(handler, admin, "bogus state")
    stream = KEYS.events_key(KEYS.shard_of(job.id))
    admin.xadd(stream, {"job": job.id, "state": "bogus", "progress": DEEP})
    result = invoke("events")
    no_traceback(result)
    assert job.id in result.stdout
    no_traceback(invoke("stats"))
    no_traceback(invoke("events", "--json"))


def test_wait_on_a_broken_record_is_one_line_on_stderr(
    invoke: Invoke, handler: jobbertrack.Handler, admin: Any
) -> None:
    job = broken_job(handler, admin, "bogus state")
    result = invoke("wait", job.id, "--timeout", "5", code=None)
    no_traceback(result)
    assert result.exit_code != 0
    assert len(result.stderr.splitlines()) == 1 and "state" in result.stderr


def test_the_real_process_prints_no_traceback(url: str, handler: jobbertrack.Handler, admin: Any) -> None:
    job = broken_job(handler, admin, "deep data")
    for args in (["get", job.id], ["ls"]):
        done = subprocess.run(
            [*CLI, "--redis-url", url, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "broken" in done.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_terminal_views_draw_a_broken_job(case: str, handler: jobbertrack.Handler, admin: Any) -> None:
    """What ``get`` and ``ls`` show on a terminal, and ``watch``'s board."""
    import io

    from rich.console import Console

    from jobbertrack.cli.board import Board
    from jobbertrack.cli.render import job_detail, jobs_table

    job = broken_job(handler, admin, case)
    found = handler.get(job.id)
    assert found is not None
    console = Console(file=io.StringIO(), width=160, force_terminal=True)
    console.print(job_detail(found))
    console.print(jobs_table([(found, None)]))
    board = Board(handler, 10)
    board.load()
    console.print(board.render("watch", "footer"))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "broken" in shown and CASES[case][0] in shown
