"""RQ jobs tracked through ``track_jobs(...).enqueue`` and RQ's callbacks, run by real RQ workers."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jobbertrack
from jobbertrack.integrations.rq import RQTracking
from jobbertrack.testing import RedisServer

from .conftest import Worker, events_of, eventually, pop, rq_argv, wait_job

rq = pytest.importorskip("rq")
rq_tasks = pytest.importorskip("tests.integrations.rq_tasks")


def rq_url(server: RedisServer) -> str:
    return f"redis://127.0.0.1:{server.port}/2"


@pytest.fixture(scope="module")
def tracked(runner_redis: RedisServer) -> RQTracking:
    return rq_tasks.configure(runner_redis.url)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def rq_client(runner_redis: RedisServer) -> Iterator[Any]:
    client = runner_redis.client(db=2)
    yield client
    client.close()


@pytest.fixture(scope="module")
def worker(tracked: RQTracking, runner_redis: RedisServer) -> Iterator[Worker]:
    w = Worker(rq_argv("main", rq_url(runner_redis)), {"JT_TEST_URL": runner_redis.url}).start()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def queue(rq_client: Any) -> Any:
    return rq.Queue("main", connection=rq_client)


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def test_enqueue_creates_a_waiting_job_under_the_rq_job_id(
    tracked: RQTracking, rq_client: Any, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(rq.Queue("nobody-works-this", connection=rq_client), rq_tasks.add, 1, 2)
    job = jt.get(rq_job.id)
    assert job is not None and job.state == "waiting" and job.name == "tests.integrations.rq_tasks.add"


def test_success_finishes_the_job_with_the_result(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(queue, rq_tasks.add, 2, y=3)
    job = wait_job(jt, rq_job.id, worker)
    assert (job.state, job.data) == ("finished", 5)
    assert [e.state for e in events_of(jt, rq_job.id)] == ["waiting", "running", "finished"]


def test_failure_fails_the_job_with_type_message_and_traceback(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(queue, "tests.integrations.rq_tasks.boom", "disk full")
    job = wait_job(jt, rq_job.id, worker)
    assert job.state == "failed" and job.error["type"] == "ValueError"
    assert job.error["message"] == "ValueError: disk full"
    assert "raise ValueError(message)" in job.error["traceback"]


def test_a_retry_is_an_attempt_not_a_failure(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(queue, rq_tasks.flaky, key(), 2, retry=rq.Retry(max=3))
    job = wait_job(jt, rq_job.id, worker)
    assert (job.state, job.data) == ("finished", 3)
    events = events_of(jt, rq_job.id)
    assert [e.state for e in events if e.progress is None] == ["waiting", "running", "finished"]
    assert [e.progress["message"] for e in events if e.progress is not None] == [
        "attempt 1 failed, retrying: ConnectionError: try 1 failed",
        "attempt 2 failed, retrying: ConnectionError: try 2 failed",
        None,  # the success cleared the note: a success never reads like a failure
    ]
    assert (job.progress or {}).get("message") is None


def test_retries_used_up_fail_the_job(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(queue, rq_tasks.flaky, key(), 99, retry=rq.Retry(max=1))
    job = wait_job(jt, rq_job.id, worker)
    assert job.state == "failed" and job.error["message"] == "ConnectionError: try 2 failed"


def test_current_job_reports_progress_inside_the_function(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    rq_job = tracked.enqueue(queue, rq_tasks.report, 3)
    job = wait_job(jt, rq_job.id, worker)
    assert (job.state, job.data) == ("finished", rq_job.id)
    progress = [e.progress for e in events_of(jt, rq_job.id) if e.progress is not None]
    assert [(p["current"], p["total"]) for p in progress] == [(1, 3), (2, 3), (3, 3)]


def test_a_stopped_rq_job_fails_its_job(
    tracked: RQTracking, queue: Any, rq_client: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    started = key()
    rq_job = tracked.enqueue(queue, rq_tasks.hang, started)
    assert pop(jt.client, started, 30) is not None, worker.output()
    from rq.command import send_stop_job_command

    send_stop_job_command(rq_client, rq_job.id)
    job = wait_job(jt, rq_job.id, worker)
    assert job.state == "failed" and job.error["type"] == "JobStopped"


def test_a_killed_worker_leaves_a_stalled_job_not_a_running_one(
    tracked: RQTracking,
    rq_client: Any,
    runner_redis: RedisServer,
    jt: jobbertrack.Handler,
    start_worker: Callable[..., Worker],
) -> None:
    doomed = start_worker(rq_argv("doomed", rq_url(runner_redis)), JT_TEST_URL=runner_redis.url)
    started = key()
    rq_job = tracked.enqueue(rq.Queue("doomed", connection=rq_client), rq_tasks.hang, started)
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, doomed.output()
    assert jt.get(rq_job.id).state == "running"
    os.kill(int(pushed[1]), signal.SIGKILL)  # the work horse (in a process group of its own)
    doomed.kill()  # and the worker
    job = wait_job(jt, rq_job.id, doomed, timeout=rq_tasks.LEASE + 15)
    assert job.state == "failed" and job.error["reason"] == "stalled", (job.error, doomed.output())
    assert jt.count("running") == 0  # no job is left running with a lease


def test_what_rq_refuses_is_refused_before_a_job_exists(tracked: RQTracking, queue: Any) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        tracked.enqueue(queue, rq_tasks.add, 1, 2, on_success=print)
    with pytest.raises(jobbertrack.JobberTrackError):
        tracked.enqueue(queue, "__main__.work")


# -- cancel (issue 22) --------------------------------------------------------


def test_a_job_cancelled_before_the_work_horse_begins_never_runs(
    tracked: RQTracking,
    rq_client: Any,
    runner_redis: RedisServer,
    jt: jobbertrack.Handler,
    start_worker: Callable[..., Worker],
) -> None:
    runs = key()
    later = rq.Queue("cancelled-first", connection=rq_client)
    doomed = tracked.enqueue(later, rq_tasks.flaky, runs, 0)  # counts its runs; no worker yet
    jt.cancel(doomed.id, reason="not wanted")
    after = tracked.enqueue(later, rq_tasks.add, 1, 1)
    worker = start_worker(rq_argv("cancelled-first", rq_url(runner_redis)), JT_TEST_URL=runner_redis.url)
    assert wait_job(jt, after.id, worker).state == "finished"  # the job before it was handled first
    assert jt.client.get(runs) is None  # the function never ran
    job = jt.get(doomed.id)
    assert job.state == "cancelled" and job.error["message"] == "not wanted"
    assert [e.state for e in events_of(jt, doomed.id)] == ["waiting", "cancelled"]
    assert rq.job.Job.fetch(doomed.id, connection=rq_client).get_status() == "failed"


def test_a_job_cancelled_while_it_runs_is_stopped_within_a_heartbeat(
    tracked: RQTracking, queue: Any, worker: Worker, jt: jobbertrack.Handler
) -> None:
    started = key()
    rq_job = tracked.enqueue(queue, rq_tasks.hang, started)
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, worker.output()
    horse = int(pushed[1])
    jt.cancel(rq_job.id)

    def horse_gone() -> bool:
        try:
            os.kill(horse, 0)
        except ProcessLookupError:
            return True
        return False

    # a heartbeat every third of the lease, then RQ's stop command through its pubsub
    eventually(horse_gone, rq_tasks.LEASE / 3 + 1 + 5, worker.output)
    job = jt.get(rq_job.id)
    assert job.state == "cancelled"
    assert [e.state for e in events_of(jt, rq_job.id)] == ["waiting", "running", "cancelled"]
