"""A Celery group (or chord) tracked as one jobbertrack group, run by a real Celery worker."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer

from .conftest import Worker, celery_argv, events_of, eventually, pop, wait_job

celery_app = pytest.importorskip("tests.integrations.celery_app")
celery = pytest.importorskip("celery")

QUEUE = "groups"
ALL_ZERO = {"waiting": 0, "running": 0, "finished": 0, "failed": 0, "cancelled": 0}


@pytest.fixture(scope="module")
def app(runner_redis: RedisServer) -> Iterator[Any]:
    """The test process's side: the app sends the groups, its tracking creates their jobs."""
    celery_app.configure(runner_redis.url)
    yield celery_app.app
    celery_app.unconfigure()
    celery_app.app.close()


@pytest.fixture(scope="module")
def worker(app: Any, runner_redis: RedisServer) -> Iterator[Worker]:
    w = Worker(celery_argv(QUEUE), {"JT_TEST_URL": runner_redis.url}).start()
    yield w
    w.stop()


def tracking(task: str = "add") -> Any:
    """The test process's tracking of ``task``."""
    (found,) = [t for t in celery_app.trackings if t.tracks(task)]
    return found


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def children_ids(group: Any) -> set[str]:
    page = group.children(limit=100)
    assert page.cursor is None
    return {job.id for job in page}


def test_a_group_of_20_tasks_is_one_group_with_exact_counts(worker: Worker, jt: jobbertrack.Handler) -> None:
    sigs = [celery_app.add.s(i, i) for i in range(14)] + [celery_app.boom.s(f"no {i}") for i in range(6)]
    result = celery.group(sigs).apply_async(queue=QUEUE)

    # published: one closed group of 20 children, under the group id Celery gave
    group = jt.group(result.id)
    assert group.get_value()["group"]["total"] == 20 and group.get_value()["group"]["closed"] is True
    expected = {tracking().job_id(r.id, result.id): r.id for r in result.results}
    assert children_ids(group) == set(expected)

    ended = wait_job(jt, result.id, worker, timeout=60)
    assert isinstance(ended, jobbertrack.Group)
    assert ended.state == "failed"
    assert ended.error == {"reason": "children_failed", "failed": 6, "cancelled": 0, "expired": 0}
    assert ended.counts() == ALL_ZERO | {"finished": 14, "failed": 6}
    assert ended.progress == {"current": 20, "total": 20}

    for i, r in enumerate(result.results):  # each task's job: in the group, with its own end
        job = tracking().find(r.id, result.id)
        assert job is not None and expected[job.id] == r.id and job.id.startswith(f"{r.id}.")
        assert job.get_value()["group_id"] == result.id
        if i < 14:
            assert (job.state, job.data, job.name) == ("finished", 2 * i, "add")
        else:
            assert (job.state, job.error["type"], job.name) == ("failed", "ValueError", "boom")
        assert jt.get(r.id) is None  # no second job under the bare task id


def test_a_group_that_all_succeeds_ends_finished(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery.group(celery_app.add.s(i, 1) for i in range(20)).apply_async(queue=QUEUE)
    ended = wait_job(jt, result.id, worker, timeout=60)
    assert ended.state == "finished" and ended.error is None
    assert ended.counts() == ALL_ZERO | {"finished": 20}
    assert sorted(jt.get_many(children_ids(ended)), key=lambda j: j.data)[0].data == 1


def test_a_task_published_alone_keeps_its_task_id(worker: Worker, jt: jobbertrack.Handler) -> None:
    result = celery_app.add.apply_async((1, 1), queue=QUEUE)
    assert tracking().job_id(result.id) == result.id
    job = wait_job(jt, result.id, worker)
    assert (job.state, job.data) == ("finished", 2)
    assert "group_id" not in job.get_value()


def test_a_chord_header_is_the_group_and_its_body_a_job_of_its_own(
    worker: Worker, jt: jobbertrack.Handler
) -> None:
    body = celery.chord([celery_app.double.s(i) for i in range(10)], celery_app.total.s()).apply_async(
        queue=QUEUE
    )
    assert body.get(timeout=60) == 90
    header = body.parent
    group = wait_job(jt, header.id, worker)
    assert group.state == "finished"
    assert group.counts() == ALL_ZERO | {"finished": 10}
    assert children_ids(group) == {tracking().job_id(r.id, header.id) for r in header.results}
    total = jt.get(body.id)  # the body is no task of the group: tracked under its task id
    assert total is not None and (total.state, total.data) == ("finished", 90)
    assert "group_id" not in total.get_value()


def test_a_chord_whose_header_fails_ends_its_group_failed(worker: Worker, jt: jobbertrack.Handler) -> None:
    sigs = [celery_app.double.s(i) for i in range(8)] + [celery_app.double.s(-1), celery_app.double.s(-2)]
    body = celery.chord(sigs, celery_app.total.s()).apply_async(queue=QUEUE)
    with pytest.raises(Exception, match="negative"):
        body.get(timeout=60)
    group = wait_job(jt, body.parent.id, worker)
    assert group.state == "failed"
    assert group.counts() == ALL_ZERO | {"finished": 8, "failed": 2}
    assert group.error == {"reason": "children_failed", "failed": 2, "cancelled": 0, "expired": 0}


def test_a_retried_task_of_a_group_carries_on_with_its_job_in_the_group(
    worker: Worker, jt: jobbertrack.Handler
) -> None:
    result = celery.group(celery_app.flaky.s(key(), 2) for _ in range(3)).apply_async(queue=QUEUE)
    ended = wait_job(jt, result.id, worker, timeout=60)
    assert ended.state == "finished" and ended.counts() == ALL_ZERO | {"finished": 3}
    for r in result.results:
        job_id = tracking().job_id(r.id, result.id)
        assert (jt.get(job_id).state, jt.get(job_id).data) == ("finished", 3)
        notes = [e.progress["message"] for e in events_of(jt, job_id) if e.progress is not None]
        assert notes[:2] == [
            "attempt 1 failed, retrying: ConnectionError: try 1 failed",
            "attempt 2 failed, retrying: ConnectionError: try 2 failed",
        ]
        assert jt.get(r.id) is None


def test_a_lost_pool_process_fails_the_grouped_job(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    """The worker's main process reports ``WorkerLostError`` for the task:
    the job it fails is the one in the group."""
    prefork = start_worker(celery_argv("groups-prefork", pool="prefork"), JT_TEST_URL=runner_redis.url)
    started = key()
    result = celery.group([celery_app.linger.s(started)]).apply_async(queue="groups-prefork")
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, prefork.output()
    os.kill(int(pushed[1]), signal.SIGKILL)  # the pool process running the task
    group = wait_job(jt, result.id, prefork, timeout=30)
    job = jt.get(tracking("linger").job_id(result.results[0].id, result.id))
    assert job.state == "failed" and job.error.get("type") == "WorkerLostError", (job.error, prefork.output())
    assert group.state == "failed" and group.counts() == ALL_ZERO | {"failed": 1}


def test_cancelling_a_grouped_job_terminates_its_task(
    app: Any, runner_redis: RedisServer, jt: jobbertrack.Handler, start_worker: Callable[..., Worker]
) -> None:
    """``terminate=True`` revokes the Celery task id, not the job's id."""
    prefork = start_worker(celery_argv("groups-terminate", pool="prefork"), JT_TEST_URL=runner_redis.url)
    started = key()
    result = celery.group([celery_app.spin.s(started)]).apply_async(queue="groups-terminate")
    pushed = pop(jt.client, started, 30)
    assert pushed is not None, prefork.output()
    pid = int(pushed[1])
    jt.cancel(tracking("spin").job_id(result.results[0].id, result.id))
    group = wait_job(jt, result.id, prefork, timeout=30)
    assert group.state == "failed" and group.counts() == ALL_ZERO | {"cancelled": 1}

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    # a heartbeat (a third of the 1 s lease), then the revoke's round through the broker
    eventually(gone, 15, lambda: f"the task's process {pid} still runs:\n{prefork.output()}")


def test_a_group_of_chains_tracks_each_step_alone(worker: Worker, jt: jobbertrack.Handler) -> None:
    """The last steps of the chains carry the group's id, but workers
    publish them after the group was: no jobbertrack group would ever close."""
    steps = [
        (celery_app.add.s(i, i).set(queue=QUEUE), celery_app.add.s(1).set(queue=QUEUE)) for i in range(3)
    ]
    result = celery.group(celery.chain(*pair) for pair in steps).apply_async()
    for i, last in enumerate(result.results):
        first = wait_job(jt, last.parent.id, worker)  # its end is written after the next step is published
        assert (first.state, first.data) == ("finished", 2 * i)
        job = wait_job(jt, last.id, worker)
        assert (job.state, job.data) == ("finished", 2 * i + 1)
        assert "group_id" not in job.get_value()
    assert jt.get(result.id) is None


def test_a_workers_memory_of_received_groups_stays_bounded(app: Any) -> None:
    """The main process remembers the group of each grouped task it receives
    (for a lost pool process' failure, which old Celery reports without the
    request); tasks it no longer holds are forgotten once the map doubles."""
    from types import SimpleNamespace

    from celery.worker import state

    from jobbertrack.integrations import celery as integration

    watched = tracking("linger")
    kept = integration._RECEIVED_KEPT
    held = SimpleNamespace(id="held-task", task_name="linger", group="g", group_index=0)
    state.requests[held.id] = held
    try:
        watched._task_received(request=held)
        for n in range(3 * kept):
            done = SimpleNamespace(id=f"t{n}", task_name=held.task_name, group="g", group_index=n + 1)
            watched._task_received(request=done)
            assert len(watched._received) <= 2 * kept + 1
        assert watched._received["held-task"] == "g"  # still held by the worker: kept
        assert "t0" not in watched._received  # ended long ago: forgotten
        alone = SimpleNamespace(id="alone", task_name=held.task_name, group=None, group_index=None)
        watched._task_received(request=alone)
        assert "alone" not in watched._received  # not in a group: nothing to remember
    finally:
        del state.requests[held.id]
        watched._received.clear()
