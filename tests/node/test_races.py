"""Races between a Node.js worker and a Python worker on the same jobs:
every move is one compare-and-set inside Redis, so each move has exactly
one winner, and the loser is refused with InvalidTransition naming the
state it found, on both sides."""

from __future__ import annotations

import threading
from typing import Any

import jobbertrack
from tests.helpers import all_keys
from tests.node.conftest import NodeDriver

JOBS = 60


def python_side(jobs: list[Any], move: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for job in jobs:
        try:
            getattr(job, move)(**kwargs)
            out.append("won")
        except jobbertrack.InvalidTransition as exc:
            out.append(exc)
    return out


def race(
    js: NodeDriver, jobs: list[Any], js_move: str, py_move: str, **js_request: Any
) -> tuple[list[Any], list[Any]]:
    """Both workers make their move on every job, at once: Node's requests
    all in flight together, Python's one after the other in a thread."""
    ids = [job.id for job in jobs]
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.extend(python_side(jobs, py_move)))
    js.send("race", ids=ids, move=js_move, **js_request)
    worker.start()
    node = js.receive()
    worker.join(60)
    assert not worker.is_alive()
    return node, result


def test_each_move_has_exactly_one_winner(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    made = [py.create(60) for _ in range(JOBS // 2)]
    made += [py.get(js("create", timeout=60)["id"]) for _ in range(JOBS // 2)]
    jobs = [job for job in made if job is not None]
    assert js("load", ids=[job.id for job in jobs]) == JOBS

    node, python = race(js, jobs, "start", "start")
    for job, n, p in zip(jobs, node, python, strict=True):
        assert [n, p].count("won") == 1, (job.id, n, p)
        lost = p if n == "won" else n
        if isinstance(lost, dict):
            assert (lost["name"], lost["jobId"], lost["current"], lost["target"]) == (
                "InvalidTransition",
                job.id,
                "running",
                "running",
            )
        else:
            assert (lost.job_id, lost.current, lost.target) == (job.id, "running", "running")
            assert job.state == "running"  # the refused copy shows what Redis holds
    assert py.counts()["running"] == JOBS

    # finish (Node) against fail (Python): one end per job, the other refused
    node, python = race(js, jobs, "finish", "fail", data="node's result")
    ends = {}
    for job, n, p in zip(jobs, node, python, strict=True):
        assert [n, p].count("won") == 1, (job.id, n, p)
        ends[job.id] = "finished" if n == "won" else "failed"
        lost = p if n == "won" else n
        current = lost["current"] if isinstance(lost, dict) else lost.current
        assert current == ends[job.id]
    assert {job.id: py.status(job.id) for job in jobs} == ends
    assert js("counts") == py.counts()
    assert py.counts()["finished"] + py.counts()["failed"] == JOBS
    for job in jobs:
        if ends[job.id] == "finished":
            assert py.get(job.id).data == "node's result"  # type: ignore[union-attr]

    # one event per move that happened: created, started, ended
    per_job: dict[str, list[str]] = {}
    for event in py.events():
        per_job.setdefault(event.job_id, []).append(event.state)
    assert per_job == {job.id: ["waiting", "running", ends[job.id]] for job in jobs}
    assert sum(client.xlen(k) for k in all_keys(client, "jt:*:events")) == 3 * JOBS
