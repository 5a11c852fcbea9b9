"""job.running(...): a block of code as the job, sync (thread) and asyncio (task)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack import InvalidTransition
from tests.helpers import wait_for


def test_success_finishes_with_the_result(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    with job.running(lease=5) as run:
        assert job.state == "running"
        run.set_progress(1, 1, "done")
        run.result = {"answer": 42}
    assert job.state == "finished"
    assert track.get(job.id).data == {"answer": 42}
    other = track.create(30)
    with other.running():
        pass
    assert track.get(other.id).get_value()["data"] is None


def test_an_exception_fails_the_job_and_goes_on(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    with pytest.raises(ZeroDivisionError), job.running(lease=5, traceback=True):
        1 / 0  # noqa: B018
    stored = track.get(job.id)
    assert stored.state == "failed"
    assert stored.error["type"] == "ZeroDivisionError"
    assert "1 / 0" in stored.error["traceback"]


def test_a_result_that_cannot_be_stored_fails_the_job(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    with pytest.raises(jobbertrack.InvalidData), job.running(lease=5) as run:
        run.result = float("nan")  # no JSON form
    stored = track.get(job.id)
    assert stored.state == "failed" and stored.error["type"] == "InvalidData"


def test_a_huge_exception_still_fails_the_job(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    with pytest.raises(ValueError), job.running(lease=5, traceback=True):
        raise ValueError("x" * 3_000_000)  # over the 1 MiB data limit as text
    stored = track.get(job.id)
    assert stored.state == "failed" and stored.error["message"].startswith("ValueError: xxx")


async def test_asyncio_a_result_that_cannot_be_stored_fails_the_job(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await track.create(30)
    with pytest.raises(jobbertrack.InvalidData):
        async with job.running(lease=5) as run:
            run.result = {1, 2}  # a set: no JSON form
    assert (await track.get(job.id)).state == "failed"


def test_background_heartbeats_outlive_the_lease(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    with job.running(lease=0.3) as run:
        # the work goes on for three leases: the background beats keep it running
        wait_for(lambda: track.get(job.id).heartbeat_at - job.started_at > timedelta(seconds=0.9))
        assert track.get(job.id).state == "running"
        run.result = "ok"
    assert track.get(job.id).state == "finished"
    assert not [t for t in threading.enumerate() if t.name == f"jobbertrack-heartbeat-{job.id}"]  # gone


def test_a_lost_job_is_not_finished_over_its_failure(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    failed_before = track.count("failed")
    with pytest.raises(InvalidTransition), job.running(lease=0.2, heartbeat=5) as run:
        wait_for(lambda: track.count("failed") > failed_before)  # the lease ran out before the first beat
        assert track.sweep() == 1
        run.result = "too late"
    stored = track.get(job.id)
    assert stored.error["reason"] == "stalled"
    assert "data" not in stored.get_value()


async def test_asyncio_running(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await track.create(30)
    async with job.running(lease=0.3) as run:
        while (await track.get(job.id)).heartbeat_at - job.started_at <= timedelta(seconds=0.9):
            await asyncio.sleep(0.05)  # three leases of work, kept alive by the beats' task
        assert (await track.get(job.id)).state == "running"
        await run.set_progress(2, 2)
        run.result = [1, 2]
    assert (await track.get(job.id)).data == [1, 2]
    failing = await track.create(30)
    with pytest.raises(ValueError):
        async with failing.running(lease=1):
            raise ValueError("nope")
    assert (await track.get(failing.id)).error["message"] == "ValueError: nope"
    lost = await track.create(30)
    with pytest.raises(InvalidTransition):
        failed_before = await track.count("failed")
        async with lost.running(lease=0.2, heartbeat=5):
            while await track.count("failed") == failed_before:  # the lease runs out before the first beat
                await asyncio.sleep(0.02)
            assert await track.sweep() == 1
    assert len(asyncio.all_tasks()) == 1  # this test's own: the heartbeat tasks are gone


def test_keep_alive_beats_for_code_that_starts_and_ends_the_job_itself(client: Any) -> None:
    """``job.keep_alive()``: the heartbeat of ``running()`` alone (what the
    CLI and the integrations use), every third of the job's lease."""
    track = jobbertrack.Handler(client)
    job = track.create(30).start(lease=0.3)
    first = job.heartbeat_at
    with job.keep_alive() as beats:
        # two leases go by, the job stays running: it was beaten meanwhile
        wait_for(lambda: (track.get(job.id).heartbeat_at or first) - first > timedelta(seconds=0.6))
        assert track.get(job.id).state == "running" and beats.lost is None
    job.finish("done")
    with job.keep_alive():  # a job without a lease: nothing to renew, no thread
        pass
    lost = track.create(30).start(lease=0.1)
    with lost.keep_alive(every=0.3, quiet=True) as beats:  # beats later than its lease
        wait_for(lambda: beats.lost is not None)
    assert isinstance(beats.lost, InvalidTransition) and track.get(lost.id).error["reason"] == "stalled"


def test_as_current_makes_a_job_current_job_for_a_block(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(30)
    assert jobbertrack.current_job() is None
    with job.as_current():
        assert jobbertrack.current_job() is job
    assert jobbertrack.current_job() is None


async def test_asyncio_keep_alive_and_as_current(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await (await track.create(30)).start(lease=0.3)
    first = job.heartbeat_at
    async with job.keep_alive() as beats:
        while ((await track.get(job.id)).heartbeat_at or first) - first <= timedelta(seconds=0.6):
            await asyncio.sleep(0.05)  # polls what Redis holds: the beats are the task's
        assert beats.lost is None
    with job.as_current():
        assert jobbertrack.aio.current_job() is job
    await job.finish()
    assert len(asyncio.all_tasks()) == 1  # the heartbeat task is gone
