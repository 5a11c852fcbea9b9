"""Cancel: waiting/running -> cancelled, the worker finding out, nothing
written by a refused call (issue 22), on every backend and both layers."""

from __future__ import annotations

from typing import Any

import pytest

import jobbertrack
from jobbertrack import InvalidTransition, JobCancelled, State
from tests.integration.test_transitions import snapshot


def test_cancel_a_waiting_job(track: Any) -> None:
    job = track.create(30, data={"n": 1})
    job.cancel()
    assert job.state == "cancelled" and job.state is State.CANCELLED
    assert job.error == {"reason": "cancelled", "message": "cancelled"}
    assert job.is_final and job.ended_at is not None
    again = track.get(job.id)
    assert again.state == "cancelled" and again.input == {"n": 1}
    assert again.error == {"reason": "cancelled", "message": "cancelled"}
    assert track.counts()["cancelled"] == 1 and track.count("cancelled") == 1
    assert [s["to"] for s in again.history()] == ["waiting", "cancelled"]


def test_cancel_by_id_with_a_reason_returns_the_whole_job(track: Any) -> None:
    job = track.create(30, data=[1, 2], name="report")
    job.start(lease=30)
    cancelled = track.cancel(job.id, reason="operator asked")
    assert cancelled.state == "cancelled"
    assert cancelled.error == {"reason": "cancelled", "message": "operator asked"}
    assert cancelled.name == "report" and cancelled.input == [1, 2]
    assert cancelled.created_at is not None
    value = cancelled.get_value()
    assert value["state"] == "cancelled" and value["error"]["message"] == "operator asked"


def test_the_worker_of_a_cancelled_job_is_refused_and_nothing_is_written(track: Any, client: Any) -> None:
    job = track.create(30)
    job.start(lease=30)
    track.cancel(job.id)
    before = snapshot(client)
    for call in (job.heartbeat, lambda: job.set_progress(1, 2), lambda: job.finish(1), lambda: job.fail("x")):
        with pytest.raises(JobCancelled) as caught:
            call()
        assert caught.value.current == "cancelled"
        assert isinstance(caught.value, InvalidTransition)
    assert snapshot(client) == before
    assert track.get(job.id).state == "cancelled"


def test_cancelled_reads_redis(track: Any) -> None:
    job = track.create(30)
    job.start()
    assert job.cancelled is False
    track.cancel(job.id)
    assert job.state == "running"  # the local copy is not live ...
    assert job.cancelled is True  # ... the property reads Redis


@pytest.mark.parametrize("end", ["finish", "fail", "cancel"])
def test_cancel_of_an_ended_job_is_refused_and_writes_nothing(track: Any, client: Any, end: str) -> None:
    job = track.create(30)
    if end != "cancel":
        job.start()
    getattr(job, end)()
    before = snapshot(client)
    with pytest.raises(InvalidTransition) as caught:
        track.cancel(job.id)
    assert caught.value.current == job.state and caught.value.target == "cancelled"
    assert snapshot(client) == before


def test_cancel_of_an_unknown_job_is_not_found(track: Any) -> None:
    with pytest.raises(jobbertrack.JobNotFound):
        track.cancel("no-such-job")


def test_a_bad_reason_is_refused_before_anything_is_sent(track: Any, client: Any) -> None:
    job = track.create(30)
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData):
        job.cancel(reason=42)
    assert snapshot(client) == before


def test_a_cancelled_queued_job_is_never_popped(track: Any) -> None:
    first = track.push({"n": 1}, queue="q", timeout=60)
    second = track.push({"n": 2}, queue="q", timeout=60)
    track.cancel(first.id)
    assert track.queued("q") == 1
    popped = track.pop_and_start("q")
    assert popped is not None and popped.id == second.id
    assert track.pop_and_start("q") is None
    assert track.get(first.id).state == "cancelled"


def test_wait_returns_on_cancelled(track: Any) -> None:
    job = track.create(30)
    track.cancel(job.id)
    assert track.wait(job.id, timeout=5).state == "cancelled"


def test_cancel_is_streamed_as_an_event(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    job.cancel("why")
    events = [e for e in track.events() if e.job_id == job.id]
    assert [e.state for e in events] == ["waiting", "cancelled"]
    assert events[-1].error == {"reason": "cancelled", "message": "why"}
