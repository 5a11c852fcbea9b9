"""Retry: failed/cancelled -> waiting as a new attempt; retry_all (issue 22)."""

from __future__ import annotations

from typing import Any

import pytest

from jobbertrack import InvalidTransition, JobberTrackError
from tests.integration.test_transitions import snapshot


def test_retry_of_a_failed_job_is_a_new_attempt(track: Any) -> None:
    job = track.create(30, data={"n": 1})
    job.start()
    job.fail("disk full")
    again = track.retry(job.id)
    assert again.state == "waiting" and again.error is None and again.ended_at is None
    assert again.input == {"n": 1}
    value = again.get_value()
    assert value["attempt"] == 2
    [first] = value["attempts"]
    assert first["attempt"] == 1 and first["state"] == "failed"
    assert first["error"]["message"] == "disk full"
    assert first["started_at"] is not None and first["ended_at"] is not None
    steps = [(s["from"], s["to"]) for s in again.history()]
    assert steps == [(None, "waiting"), ("waiting", "running"), ("running", "failed"), ("failed", "waiting")]
    again.start()
    again.finish("ok")
    assert track.get(job.id).result == "ok"


def test_retry_of_a_cancelled_job(track: Any) -> None:
    job = track.create(30)
    job.cancel("not now")
    job.retry()
    assert job.state == "waiting"
    assert job.get_value()["attempts"][0]["error"] == {"reason": "cancelled", "message": "not now"}


@pytest.mark.parametrize("state", ["waiting", "running", "finished"])
def test_retry_from_a_state_that_did_not_fail_is_refused(track: Any, client: Any, state: str) -> None:
    job = track.create(30)
    if state != "waiting":
        job.start()
    if state == "finished":
        job.finish(1)
    before = snapshot(client)
    with pytest.raises(InvalidTransition) as caught:
        track.retry(job.id)
    assert caught.value.current == state and caught.value.target == "waiting"
    assert snapshot(client) == before


def test_a_retried_queued_job_goes_back_on_its_queue(track: Any) -> None:
    job = track.push({"n": 1}, queue="q", timeout=60)
    popped = track.pop_and_start("q")
    popped.fail("boom")
    assert track.get(job.id).state == "failed" and track.queued("q") == 0
    track.retry(job.id)
    assert track.queued("q") == 1
    again = track.pop_and_start("q")
    assert again.id == job.id and again.input == {"n": 1}
    assert again.get_value()["attempt"] == 2


def test_a_retry_with_a_delay_is_not_poppable_before_it(track: Any) -> None:
    job = track.push({"n": 1}, queue="q", timeout=60)
    track.pop_and_start("q").fail("boom")
    track.retry(job.id, delay=30)
    assert track.queued("q") == 1
    assert track.pop_and_start("q") is None
    ready = track.get(job.id).get_value()["ready_at"]
    assert ready is not None


def test_a_bad_delay_is_refused(track: Any) -> None:
    job = track.create(30)
    job.start()
    job.fail()
    with pytest.raises(ValueError):
        track.retry(job.id, delay=-1)
    assert track.get(job.id).state == "failed"


def test_two_retries_of_one_job_make_one_attempt(track: Any) -> None:
    job = track.create(30)
    job.start()
    job.fail()
    first, second = track.get(job.id), track.get(job.id)
    first.retry()
    with pytest.raises(InvalidTransition):
        second.retry()
    assert track.get(job.id).get_value()["attempt"] == 2


def test_wait_after_a_retry_waits_for_the_new_attempt(track: Any) -> None:
    job = track.create(30)
    job.start()
    job.fail()
    assert track.wait(job.id, timeout=5).state == "failed"
    track.retry(job.id)
    assert track.get(job.id).is_final is False


def test_retry_all_retries_failed_jobs_of_one_queue(track: Any) -> None:
    for i in range(6):
        track.push({"i": i}, queue="a" if i % 2 else "b", timeout=60)
    for _ in range(6):
        (track.pop_and_start("a") or track.pop_and_start("b")).fail("x")
    assert track.retry_all(queue="a") == 3
    assert track.queued("a") == 3 and track.queued("b") == 0
    assert track.counts()["failed"] == 3
    assert track.retry_all(limit=2) == 2
    assert track.retry_all() == 1
    assert track.retry_all() == 0
    assert track.counts()["waiting"] == 6


def test_retry_all_pages_over_many_jobs(track: Any) -> None:
    jobs = track.create_many(450, 60)
    for job in jobs:
        job.start()
        job.cancel()
    assert track.retry_all("cancelled", limit=1000) == 450
    assert track.counts()["waiting"] == 450


def test_retry_all_refuses_a_state_a_retry_does_not_leave(track: Any) -> None:
    with pytest.raises(JobberTrackError):
        track.retry_all("finished")
    with pytest.raises(JobberTrackError):
        track.retry_all(limit=0)
