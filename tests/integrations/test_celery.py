"""Celery tasks tracked through signals, run by real Celery workers on a private Redis."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer

from .conftest import Worker, celery_argv, events_of, eventually, pop, wait_job

celery_app = pytest.importorskip("tests.integrations.celery_app")


@pytest.fixture(scope="module")
def app(runner_redis: RedisServer) -> Iterator[Any]:
    """The test process's side: the app sends tasks, its tracking creates their jobs."""
    celery_app.configure(runner_redis.url)
    yield celery_app.app
    celery_app.unconfigure()
    celery_app.app.close()


@pytest.fixture(scope="module")
def worker(app: Any, runner_redis: RedisServer) -> Iterator[Worker]:
    """A worker for the module's ordinary tasks (queue ``main``)."""
    w = Worker(celery_argv("main"), {"JT_TEST_URL": runner_redis.url}).start()
    yield w
    w.stop()


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def test_a_published_task_is_a_waiting_job_under_its_task_id(app: Any, jt: jobbertrack.Handler) -> None:
    result = celery_app.add.apply_async((1, 2), queue="nobody-consumes-this")
    job = jt.get(result.id)
    assert job is not None and job.state == "waiting" and job.name == "add"


def test_success_finishes_the_job_with_the_result(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.add.apply_async((2, 3), queue="main")
    job = wait_job(jt, result.id, worker)
    assert (job.state, job.data) == ("finished", 5)
    assert [e.state for e in events_of(jt, result.id)] == ["waiting", "running", "finished"]


def test_failure_fails_the_job_with_type_message_and_traceback(
    worker: Worker, jt: jobbertrack.Handler
) -> None:
    result = celery_app.boom.apply_async(("disk full",), queue="main")
    job = wait_job(jt, result.id, worker)
    assert job.state == "failed"
    assert job.error["reason"] == "error" and job.error["type"] == "ValueError"
    assert job.error["message"] == "ValueError: disk full"
    assert "raise ValueError(message)" in job.error["traceback"]


def test_a_retry_is_an_attempt_not_a_failure(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.flaky.apply_async((key(), 2), queue="main")
    job = wait_job(jt, result.id, worker)
    assert (job.state, job.data) == ("finished", 3)
    events = events_of(jt, result.id)
    assert [e.state for e in events if e.progress is None] == ["waiting", "running", "finished"]
    messages = [e.progress["message"] for e in events if e.progress is not None]
    assert messages == [
        "attempt 1 failed, retrying: ConnectionError: try 1 failed",
        "attempt 2 failed, retrying: ConnectionError: try 2 failed",
        None,  # the success cleared the note
    ]


@pytest.mark.parametrize(
    ("task", "state"), [("kept_add", "finished"), ("unencodable", "failed"), ("kept_flaky", "failed")]
)
def test_the_job_is_final_as_soon_as_celerys_result_is(
    worker: Worker, jt: jobbertrack.Handler, task: str, state: str
) -> None:
    """No lag behind Celery: when ``AsyncResult.get()`` returns, the job is
    already final, even with a slow receiver of the end signals before the
    tracking's (the tracking writes before Celery stores the result)."""
    args = {"kept_add": (2, 3), "unencodable": (), "kept_flaky": (key(), 9)}[task]  # 9 > max_retries
    result = getattr(celery_app, task).apply_async(args, queue="main")
    result.get(timeout=60, propagate=False)
    job = jt.get(result.id)
    assert job is not None and job.state == state, (result.state, job)
    if state == "failed":
        assert job.error["type"] == {"unencodable": "EncodeError", "kept_flaky": "ConnectionError"}[task]
    else:
        assert job.data == 5


def test_a_success_after_a_retry_clears_the_retry_note(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.kept_flaky.apply_async((key(), 1), queue="main")
    assert result.get(timeout=60) == 2
    job = jt.get(result.id)
    assert job is not None and (job.state, job.data) == ("finished", 2)
    assert (job.progress or {}).get("message") is None  # no "attempt 1 failed, retrying: ..." left
    assert all("retrying" not in str(step) for step in job.history())
    notes = [e.progress["message"] for e in events_of(jt, result.id) if e.progress is not None]
    assert notes[0] == "attempt 1 failed, retrying: ConnectionError: try 1 failed"  # the note was there


def test_retries_used_up_fail_the_job(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.flaky.apply_async((key(), 99), queue="main")  # max_retries=3
    job = wait_job(jt, result.id, worker)
    assert job.state == "failed"
    assert job.error["message"] == "ConnectionError: try 4 failed"
    assert len([e for e in events_of(jt, result.id) if e.progress is not None]) == 3


def test_current_job_reports_progress_inside_the_task(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.report.apply_async((3,), queue="main")
    job = wait_job(jt, result.id, worker)
    assert (job.state, job.data) == ("finished", result.id)  # current_job() was the task's job
    progress = [e.progress for e in events_of(jt, result.id) if e.progress is not None]
    assert [(p["current"], p["total"], p["message"]) for p in progress] == [
        (1, 3, "step 1"),
        (2, 3, "step 2"),
        (3, 3, "step 3"),
    ]


def test_a_killed_worker_leaves_a_stalled_job_not_a_running_one(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    doomed = start_worker(celery_argv("doomed"), JT_TEST_URL=runner_redis.url)
    started = key()
    result = celery_app.hang.apply_async((started,), queue="doomed")
    assert pop(jt.client, started, 30) is not None, doomed.output()
    assert jt.get(result.id).state == "running"
    doomed.kill()
    job = wait_job(jt, result.id, doomed, timeout=celery_app.SHORT_LEASE + 15)
    assert job.state == "failed" and job.error["reason"] == "stalled"
    assert jt.count("running") == 0  # no job is left running with a lease


def test_a_lost_pool_process_fails_the_job_at_once(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    """Prefork: the worker's main process reports the loss (``task_failure``
    with ``WorkerLostError``, some seconds later), so the job fails without
    waiting for its lease to run out."""
    prefork = start_worker(celery_argv("prefork", pool="prefork"), JT_TEST_URL=runner_redis.url)
    started = key()
    result = celery_app.linger.apply_async((started,), queue="prefork")  # a lease of 30 s
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, prefork.output()
    os.kill(int(pushed[1]), signal.SIGKILL)  # the pool process running the task, not the worker
    job = wait_job(jt, result.id, prefork, timeout=30)
    assert job.state == "failed" and job.error.get("type") == "WorkerLostError", (job.error, prefork.output())


def test_acks_late_redelivery_after_the_work_never_finishes_the_job_twice(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    visibility = 1.0
    env = {"JT_TEST_URL": runner_redis.url, "JT_TEST_VISIBILITY": str(visibility)}
    first = start_worker(celery_argv("late"), JT_TEST_KILL_AFTER_SUCCESS="1", **env)
    runs = key()
    result = celery_app.late.apply_async((runs,), queue="late")
    assert pop(jt.client, f"{runs}:ran", 30) is not None, first.output()
    assert first.wait_exit(30) == -9  # killed itself after the work, before the ack
    job = jt.get(result.id)
    assert (job.state, job.data) == ("finished", 1)

    # A worker restores the messages unacknowledged for longer than the
    # visibility timeout as it starts; later ones only as kombu's periodic
    # restore comes round (every second here from kombu 5.7, whose
    # unacked_restore_interval the app sets; every 100 s before).  So the
    # second worker starts once the message is that old.
    time.sleep(visibility + 0.5)
    second = start_worker(celery_argv("late"), **env)  # the message comes back to it
    ran = pop(jt.client, f"{runs}:ran", 30)
    assert ran is not None and ran[1] == b"2", second.output()
    broker = runner_redis.client(db=1)
    # acknowledged by the second worker: its signals have all run
    eventually(lambda: broker.hlen("unacked") == 0, 30, second.output)
    broker.close()
    job = jt.get(result.id)
    assert (job.state, job.data) == ("finished", 1)
    assert [e.state for e in events_of(jt, result.id)] == ["waiting", "running", "finished"]


def test_a_task_published_without_tracking_gets_its_job_when_a_worker_begins_it(
    worker: Worker, jt: jobbertrack.Handler
) -> None:
    for tracking in celery_app.trackings:
        tracking.disconnect()  # this process publishes untracked, as code without track_tasks would
    try:
        result = celery_app.add.apply_async((4, 5), queue="main", countdown=1)  # begun a second later
        assert jt.status(result.id) == "unknown"
    finally:
        for tracking in celery_app.trackings:
            tracking.connect()
    eventually(lambda: jt.status(result.id) != "unknown", 30, worker.output)
    job = wait_job(jt, result.id, worker)
    assert (job.state, job.data, job.name) == ("finished", 9, "add")


# -- cancel (issue 22) --------------------------------------------------------


def test_a_task_whose_job_is_cancelled_before_it_begins_never_runs(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    runs = key()
    doomed = celery_app.counted.apply_async((runs,), queue="cancelq")  # no worker takes it yet
    jt.cancel(doomed.id, reason="not wanted")
    after = celery_app.counted.apply_async((runs,), queue="cancelq")  # the same queue, behind it
    worker = start_worker(celery_argv("cancelq"), JT_TEST_URL=runner_redis.url)
    assert wait_job(jt, after.id, worker).state == "finished"  # the one before it was handled first
    assert jt.client.get(runs) == b"1"  # only the second ran
    assert after.get(timeout=10) == 1
    job = jt.get(doomed.id)
    assert job.state == "cancelled" and job.error["message"] == "not wanted"
    assert doomed.state == "REVOKED"  # as Celery's own revoke marks it
    assert [e.state for e in events_of(jt, doomed.id)] == ["waiting", "cancelled"]


def test_a_cancelled_running_task_raises_at_its_next_current_job_call(
    worker: Worker, jt: jobbertrack.Handler
) -> None:
    started = key()
    result = celery_app.stepper.apply_async((started,), queue="main")
    assert pop(jt.client, started, 30) is not None, worker.output()
    jt.cancel(result.id)
    assert pop(jt.client, f"{started}:cancelled", 10) is not None, worker.output()
    job = jt.get(result.id)
    assert job.state == "cancelled" and job.error["reason"] == "cancelled"
    assert [e.state for e in events_of(jt, result.id) if e.progress is None] == [
        "waiting",
        "running",
        "cancelled",
    ]


def test_terminate_stops_a_cancelled_running_task_within_a_heartbeat(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    prefork = start_worker(celery_argv("terminate", pool="prefork"), JT_TEST_URL=runner_redis.url)
    started = key()
    result = celery_app.spin.apply_async((started,), queue="terminate")
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, prefork.output()
    pid = int(pushed[1])
    cancelled_at = time.monotonic()
    jt.cancel(result.id)

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    # one heartbeat period (a third of the lease), plus 1 s, plus the revoke's round through the broker
    eventually(gone, celery_app.SHORT_LEASE / 3 + 1 + 5, prefork.output)
    assert time.monotonic() - cancelled_at < celery_app.SHORT_LEASE / 3 + 6
    assert jt.client.lpop(f"{started}:ended") is None  # the task did not run to its end
    job = jt.get(result.id)
    assert job.state == "cancelled"
    assert [e.state for e in events_of(jt, result.id)] == ["waiting", "running", "cancelled"]
