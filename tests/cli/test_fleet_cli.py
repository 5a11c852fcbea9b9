"""`jobbertrack queues`, `workers`, `pause` and `resume` (issue 23, the
command line part), through click's test runner against a real
redis-server; a worker is the library's own ``track.work`` in a thread."""

from __future__ import annotations

import io
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

import jobbertrack
from jobbertrack.cli.board import Board
from jobbertrack.cli.render import wait_text

from ..helpers import wait_for
from .conftest import Invoke

TERMINAL = {"FORCE_COLOR": "1", "COLUMNS": "160", "NO_COLOR": None}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def as_json(invoke: Invoke, *args: str, **kwargs: Any) -> Any:
    return json.loads(invoke("--json", *args, **kwargs).stdout)


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["name"]: q for q in document["queues"]}


def numbers(stats: dict[str, Any]) -> tuple[Any, ...]:
    """What a queue's stats say that does not move with the clock."""
    return tuple(stats[k] for k in ("name", "waiting", "delayed", "running", "paused", "workers"))


@pytest.fixture
def two_queues(handler: jobbertrack.Handler) -> jobbertrack.Resource:
    """emails: three pushed, one of them popped; reports: one ready, one
    delayed an hour.  Returns the popped job."""
    for n in range(3):
        handler.push({"n": n}, queue="emails", timeout=600)
    handler.push("now", queue="reports", timeout=600)
    handler.push("later", queue="reports", timeout=7200, delay=3600)
    popped = handler.pop_and_start("emails", lease=30)
    assert popped is not None
    return popped


def test_queues_json_counts_each_queue(invoke: Invoke, handler: jobbertrack.Handler, two_queues: Any) -> None:
    shown = as_json(invoke, "queues")
    assert list(shown) == ["queues"]
    assert [q["name"] for q in shown["queues"]] == handler.queues() == ["emails", "reports"]
    emails, reports = shown["queues"]
    assert numbers(emails) == ("emails", 2, 0, 1, False, 0)
    assert numbers(reports) == ("reports", 1, 1, 0, False, 0)
    for stats in shown["queues"]:
        assert set(stats) == {"name", "waiting", "delayed", "running", "oldest_wait_s", "paused", "workers"}
        assert isinstance(stats["oldest_wait_s"], float) and stats["oldest_wait_s"] >= 0.0
    # the same objects as queue_stats (but for the oldest wait, which grows)
    assert [numbers(s) for s in shown["queues"]] == [
        numbers(handler.queue_stats(q)) for q in handler.queues()
    ]
    after = json.loads(invoke("queues", "--json").stdout)  # --json after the command name too
    assert [numbers(s) for s in after["queues"]] == [numbers(s) for s in shown["queues"]]


def test_queues_table_and_plain_lines(invoke: Invoke, two_queues: Any) -> None:
    table = ANSI.sub("", invoke("queues", env=TERMINAL).stdout)
    for header in ("queue", "waiting", "delayed", "running", "oldest wait", "paused", "workers"):
        assert header in table
    assert re.search(r"emails\s+2\s+0\s+1\s+\d+s\s+no\s+0", table), table
    assert re.search(r"reports\s+1\s+1\s+0\s+\d+s\s+no\s+0", table), table
    plain = invoke("queues").stdout.splitlines()
    assert [line.split("\t")[:4] for line in plain] == [["emails", "2", "0", "1"], ["reports", "1", "1", "0"]]
    assert [line.split("\t")[5:] for line in plain] == [["no", "0"], ["no", "0"]]


def test_the_oldest_wait_reads_as_a_person_says_it() -> None:
    assert [wait_text(s) for s in (0.0, 3.7, 59.9, 60, 125, 3600, 3725, 90061)] == [
        "0s",
        "3s",
        "59s",
        "1m",
        "2m 5s",
        "1h",
        "1h 2m",
        "1d 1h",
    ]


def test_pause_and_resume(invoke: Invoke, handler: jobbertrack.Handler, two_queues: Any) -> None:
    paused = as_json(invoke, "pause", "emails")
    assert (paused["name"], paused["paused"], paused["running"]) == ("emails", True, 1)
    assert by_name(as_json(invoke, "queues"))["emails"]["paused"] is True
    assert by_name(as_json(invoke, "queues"))["reports"]["paused"] is False
    assert handler.pop_and_start("emails", lease=30) is None
    said = invoke("resume", "emails").stdout
    assert said.startswith("active emails: 2 waiting, 0 delayed, 1 running, oldest wait ")
    assert said.endswith(", 0 workers\n") and said.count("\n") == 1
    assert by_name(as_json(invoke, "queues"))["emails"]["paused"] is False
    assert handler.pop_and_start("emails", lease=30) is not None
    # again, with --json after the command name, and the one-line form of a pause
    assert json.loads(invoke("resume", "emails", "--json").stdout)["paused"] is False
    assert invoke("pause", "emails").stdout.startswith("paused emails: 1 waiting, 0 delayed, 2 running, ")


def test_a_paused_queue_is_listed_even_with_no_job(invoke: Invoke) -> None:
    invoke("pause", "idle")
    (idle,) = as_json(invoke, "queues")["queues"]
    assert numbers(idle) == ("idle", 0, 0, 0, True, 0) and idle["oldest_wait_s"] == 0.0
    table = ANSI.sub("", invoke("queues", env=TERMINAL).stdout)
    assert re.search(r"idle\s+0\s+0\s+0\s+-\s+yes\s+0", table), table
    invoke("resume", "idle")
    assert as_json(invoke, "queues") == {"queues": []}


@pytest.mark.parametrize("command", ["pause", "resume"])
@pytest.mark.parametrize("name", ["", "x" * 201, "tab\there"])
def test_a_bad_queue_name_is_one_line_and_exit_1(invoke: Invoke, command: str, name: str) -> None:
    result = invoke(command, name, code=1)
    assert result.stdout == "" and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert "queue" in line


def test_empty_states(invoke: Invoke) -> None:
    assert invoke("queues").stdout == "no queues\n"
    assert invoke("workers").stdout == "no workers\n"
    assert invoke("workers", "--queue", "emails").stdout == "no workers on queue 'emails'\n"
    assert "no queues" in ANSI.sub("", invoke("queues", env=TERMINAL).stdout)
    assert "no workers" in ANSI.sub("", invoke("workers", env=TERMINAL).stdout)
    assert as_json(invoke, "queues") == {"queues": []}
    assert as_json(invoke, "workers") == {"workers": []}


class Worker:
    """``track.work("emails", ...)`` in a thread, whose handler holds each
    job until ``release`` is set."""

    def __init__(self, track: jobbertrack.Handler) -> None:
        self.track = track
        self.started = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(
            target=track.work, args=("emails", self.handle), kwargs={"block": 0.2, "grace": 10}, daemon=True
        )

    def handle(self, job: jobbertrack.Resource) -> str:
        self.started.set()
        assert self.release.wait(20)
        return "sent"

    def stop(self) -> None:
        self.release.set()
        self.track.stop_work()
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.fixture
def worker(handler: jobbertrack.Handler) -> Iterator[Worker]:
    running = Worker(handler)
    yield running
    if running.thread.is_alive():
        running.stop()


def test_workers_shows_a_running_worker(invoke: Invoke, handler: jobbertrack.Handler, worker: Worker) -> None:
    job = handler.push({"to": "a@example.com"}, queue="emails", timeout=600)
    worker.thread.start()
    assert worker.started.wait(10)
    # the registry hears of a job at the worker's next beat, soon after it starts
    (shown,) = wait_for(
        lambda: [w for w in as_json(invoke, "workers")["workers"] if w["jobs"] == [job.id]], limit=15
    )
    assert shown["queues"] == ["emails"]
    assert shown["pid"] == os.getpid() and shown["host"] and shown["concurrency"] == 1
    assert (shown["processed"], shown["failed"]) == (0, 0)
    assert {"id", "started_at", "last_seen"} <= set(shown)
    assert (
        json.loads(invoke("workers", "--queue", "emails", "--json").stdout)["workers"][0]["id"] == shown["id"]
    )
    assert as_json(invoke, "workers", "--queue", "reports") == {"workers": []}
    stats = by_name(as_json(invoke, "queues"))["emails"]
    assert (stats["running"], stats["workers"]) == (1, 1)

    (line,) = invoke("workers").stdout.splitlines()
    cells = line.split("\t")
    assert cells[:6] == [shown["id"], shown["host"], str(os.getpid()), "emails", "1", job.id]
    table = ANSI.sub("", invoke("workers", env=TERMINAL).stdout)
    assert shown["id"][:10] in table and "emails" in table and job.id[-8:] in table and "ago" in table

    worker.release.set()
    done = wait_for(
        lambda: [w for w in as_json(invoke, "workers")["workers"] if w["processed"] == 1], limit=15
    )
    assert done[0]["jobs"] == [] and done[0]["failed"] == 0
    # a queue with no job is still listed while a live worker serves it
    assert [numbers(q) for q in as_json(invoke, "queues")["queues"]] == [("emails", 0, 0, 0, False, 1)]
    worker.stop()
    finished = handler.get(job.id)
    assert finished is not None and finished.state == "finished" and finished.result == "sent"
    # a worker that stopped has left the registry, and its queue the list
    assert as_json(invoke, "workers") == {"workers": []}
    assert invoke("queues").stdout == "no queues\n"


def test_the_watch_board_shows_each_queue_depth(handler: jobbertrack.Handler, two_queues: Any) -> None:
    handler.pause("reports")
    board = Board(handler, 10)
    board.load()
    console = Console(file=io.StringIO(), width=160, force_terminal=True)
    console.print(board.render("watch", "footer"))
    shown = ANSI.sub("", console.file.getvalue())  # type: ignore[attr-defined]
    assert "emails 2/0/1" in shown and "reports 1/1/0 paused" in shown and "waiting/delayed/running" in shown
