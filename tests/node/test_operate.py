"""Acting on a job from Node.js (issue 22): cancel, retry and delete, on
every backend, next to the Python package on the same Redis: each side
sees what the other did, and a refused call is refused alike (the same
error class, fields and message)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import jobbertrack
from tests.helpers import all_keys
from tests.node.conftest import NodeDriver, as_json
from tests.node.test_cross import same_view


def test_node_cancels_a_waiting_job_and_python_sees_it(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60, data={"n": 1}, name="report")
    cancelled = js("cancel", id=job.id, reason="operator asked")  # the handler's: the job read back whole
    assert cancelled["state"] == "cancelled"
    assert cancelled["error"] == {"reason": "cancelled", "message": "operator asked"}
    assert (cancelled["name"], cancelled["input"]) == ("report", {"n": 1})
    assert cancelled["ended_at"] is not None
    assert cancelled == same_view(js, py, job.id)
    assert py.get(job.id).is_final  # type: ignore[union-attr]
    assert [h["to"] for h in py.history(job.id)] == ["waiting", "cancelled"]
    expected = {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 1}
    assert js("counts") == py.counts() == expected


def test_a_node_job_cancelled_on_its_own_copy(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = js("create", timeout=60)["id"]
    js("move", id=made, move="start", options={"lease": 30})
    cancelled = js("move", id=made, move="cancel")  # job.cancel(): no reason
    assert cancelled["state"] == "cancelled"
    assert cancelled["error"] == {"reason": "cancelled", "message": "cancelled"}
    assert cancelled == same_view(js, py, made)
    assert py.get(made).error == cancelled["error"]  # type: ignore[union-attr]


@pytest.mark.parametrize("end", ["finish", "fail", "cancel"])
def test_a_cancel_of_an_ended_job_is_refused_alike(js: NodeDriver, py: jobbertrack.Handler, end: str) -> None:
    job = py.create(60)
    if end != "cancel":
        job.start()
    getattr(job, end)()
    refused = js.error("cancel", id=job.id)
    assert refused["name"] == "InvalidTransition"
    assert (refused["current"], refused["target"]) == (job.state, "cancelled")
    with pytest.raises(jobbertrack.InvalidTransition) as info:
        py.cancel(job.id)
    assert type(info.value) is jobbertrack.InvalidTransition  # not JobCancelled: a cancel of a cancelled job
    assert refused["message"] == str(info.value)
    assert same_view(js, py, job.id)["state"] == job.state  # nothing written


def test_a_bad_reason_is_refused_before_anything_is_sent(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60)
    refused = js.error("cancel", id=job.id, reason=42)
    assert refused["name"] == "InvalidData"
    assert js.error("cancel", id="never-made")["name"] == "JobNotFound"
    assert py.status(job.id) == "waiting"


def test_a_cancelled_queued_job_is_never_popped(js: NodeDriver, py: jobbertrack.Handler) -> None:
    first = py.push({"n": 1}, queue="node-q", timeout=60)
    second = py.push({"n": 2}, queue="node-q", timeout=60)
    js("cancel", id=first.id)
    assert py.queued("node-q") == 1
    popped = py.pop_and_start("node-q")
    assert popped is not None and popped.id == second.id
    assert py.pop_and_start("node-q") is None
    assert same_view(js, py, first.id)["state"] == "cancelled"


def test_a_node_worker_gets_job_cancelled_at_its_next_call(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """Python cancels the job a Node worker runs: the worker's heartbeat,
    progress report, finish and fail each reject with JobCancelled (an
    InvalidTransition with current 'cancelled'), as Python's would, and
    write nothing."""
    made = js("create", timeout=60)["id"]
    js("move", id=made, move="start", options={"lease": 30})
    py.cancel(made, reason="stop")
    before = same_view(js, py, made)
    worker = py.get(made)
    assert worker is not None
    python_calls: dict[str, Callable[[], object]] = {
        "heartbeat": worker.heartbeat,
        "progress": lambda: worker.set_progress(1, 2),
        "finish": lambda: worker.finish(1),
        "fail": lambda: worker.fail("x"),
    }
    for move, call in python_calls.items():
        refused = js.error("move", id=made, move=move, current=1, total=2)
        assert refused["name"] == "JobCancelled" and refused["isInvalidTransition"]
        assert (refused["jobId"], refused["current"]) == (made, "cancelled")
        with pytest.raises(jobbertrack.JobCancelled) as info:
            call()
        python = info.value
        assert (refused["target"], refused["action"]) == (python.target, python.action)
        assert refused["message"] == str(python) == f"job '{made}' was cancelled"
    assert same_view(js, py, made) == before  # nothing written by any of them


def test_a_python_worker_gets_job_cancelled_from_node(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60)
    job.start(lease=30)
    js("cancel", id=job.id)
    with pytest.raises(jobbertrack.JobCancelled):
        job.heartbeat()
    assert job.cancelled is True


def test_node_retries_a_failed_job_of_a_queue_back_onto_it(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.push({"file": "f.csv"}, queue="node-q", timeout=60, name="import")
    popped = py.pop_and_start("node-q")
    assert popped is not None
    popped.fail("boom")  # no retries left: failed for good
    assert py.queued("node-q") == 0
    retried = js("retry", id=job.id)  # the handler's: the job read back whole
    assert retried["state"] == "waiting" and retried["error"] is None and retried["ended_at"] is None
    assert (retried["queue"], retried["attempt"], retried["input"]) == ("node-q", 2, {"file": "f.csv"})
    [first] = retried["attempts"]
    assert (first["attempt"], first["state"]) == (1, "failed")
    assert first["error"]["message"] == "boom" and first["retried_at"] is not None
    assert retried == same_view(js, py, job.id)
    assert py.queued("node-q") == 1  # back on its queue
    again = py.pop_and_start("node-q")
    assert again is not None and again.id == job.id and again.get_value()["attempt"] == 2
    again.finish("ok")
    assert [(h["from"], h["to"]) for h in py.history(job.id)] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "failed"),
        ("failed", "waiting"),
        ("waiting", "running"),
        ("running", "finished"),
    ]
    back = js("setValue", id=job.id, reply=js("get", id=job.id))  # the attempts survive a round trip
    assert back["value"] == as_json(py.get(job.id).get_value())  # type: ignore[union-attr]


def test_a_node_retry_with_a_delay_is_not_poppable_before_it(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.push({"n": 1}, queue="node-q", timeout=60)
    py.pop_and_start("node-q").fail("boom")  # type: ignore[union-attr]
    retried = js("retry", id=job.id, options={"delay": 30})
    assert py.queued("node-q") == 1 and py.pop_and_start("node-q") is None
    assert retried["ready_at"] is not None and retried["ready_at"] > retried["attempts"][0]["ended_at"]
    refused = js.error("retry", id=job.id, options={"delay": -1})  # and it is waiting now
    assert refused["name"] == "InvalidTimeout"


def test_a_node_retry_wakes_a_blocked_python_worker(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """The retry of a job of a queue tells workers blocked on it, as a push
    does: a worker blocked in pop_and_start gets it well before its idle
    rescan."""
    job = py.push({"n": 1}, queue="node-wake", timeout=60)
    py.pop_and_start("node-wake").fail("boom")  # type: ignore[union-attr]
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(py.pop_and_start("node-wake", block=20)))
    worker.start()
    time.sleep(0.5)  # blocked on the wake-up stream by now
    sent = time.monotonic()
    js("retry", id=job.id)
    worker.join(30)
    assert not worker.is_alive()
    assert got[0] is not None and got[0].id == job.id
    assert time.monotonic() - sent < 3  # not the idle rescan (IDLE_RESCAN_S = 5)


def test_node_retries_a_cancelled_job_on_its_own_copy(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """A job not pushed: retried, it waits for whoever runs it, as a new
    attempt; a finished job is not retried."""
    made = js("create", timeout=60, options={"data": [1]})["id"]
    js("move", id=made, move="cancel", reason="not now")
    retried = js("move", id=made, move="retry")
    assert (retried["state"], retried["attempt"], retried["error"]) == ("waiting", 2, None)
    assert retried["attempts"][0]["error"] == {"reason": "cancelled", "message": "not now"}
    assert retried["attempts"][0]["state"] == "cancelled"
    assert "queue" not in retried
    assert same_view(js, py, made) == js("refresh", id=made)
    js("move", id=made, move="start")
    js("move", id=made, move="finish", data="done")
    refused = js.error("move", id=made, move="retry")
    assert refused["name"] == "InvalidTransition"
    assert (refused["current"], refused["target"]) == ("finished", "waiting")
    with pytest.raises(jobbertrack.InvalidTransition) as info:
        py.retry(made)
    assert refused["message"] == str(info.value)
    assert same_view(js, py, made)["result"] == "done"


def test_two_retries_of_one_job_make_one_attempt(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60)
    job.start()
    job.fail()
    js("load", ids=[job.id])  # Node's copy, failed
    py.retry(job.id)
    refused = js.error("move", id=job.id, move="retry")
    assert (refused["name"], refused["current"]) == ("InvalidTransition", "waiting")
    assert same_view(js, py, job.id)["attempt"] == 2


def test_node_deletes_a_job_and_status_says_deleted(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    job = py.push({"n": 1}, queue="node-q", timeout=60)
    assert js("delete", id=job.id) is True
    assert js("status", id=job.id) == py.status(job.id) == "deleted"
    assert js("get", id=job.id) is None and py.get(job.id) is None
    assert py.queued("node-q") == 0 and py.pop_and_start("node-q") is None
    assert sum(js("counts").values()) == sum(py.counts().values()) == 0
    assert not all_keys(client, f"*job:{job.id}")
    assert js("delete", id=job.id) is False
    assert js("delete", id="never-made") is False
    assert js("status", id="never-made") == "unknown"


def test_a_worker_of_a_job_deleted_is_not_found_alike(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = js("create", timeout=60)["id"]
    js("move", id=made, move="start", options={"lease": 30})  # Node's worker holds it
    worker = py.get(made)
    assert worker is not None
    py.delete(made)
    for move in ("heartbeat", "finish"):
        refused = js.error("move", id=made, move=move)
        assert refused["name"] == "JobNotFound" and refused["isJobNotFound"]
        assert refused["message"] == f"job '{made}' was deleted"
        with pytest.raises(jobbertrack.JobNotFound) as info:
            getattr(worker, move)()
        assert refused["message"] == str(info.value)
    other = py.create(60)
    other.start()
    assert js("delete", id=other.id) is True
    with pytest.raises(jobbertrack.JobNotFound, match="was deleted"):
        other.heartbeat()
    assert js.error("cancel", id=other.id)["message"] == f"job '{other.id}' was deleted"
