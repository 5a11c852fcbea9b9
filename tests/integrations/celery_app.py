"""The Celery app the tests' real workers run (``celery -A tests.integrations.celery_app worker``).

Configured from the environment in a worker (``JT_TEST_URL``: the private
Redis; db 0 holds the jobs, db 1 is the broker), by ``configure()`` in the
test process.  ``JT_TEST_KILL_AFTER_SUCCESS=1``: the worker SIGKILLs itself
right after ``late`` succeeded (after its job was finished, before the
message is acknowledged).  ``JT_TEST_VISIBILITY``: the broker's
visibility timeout, in seconds, so an unacknowledged message comes back soon.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import redis
from celery import Celery, signals

import jobbertrack
from jobbertrack.integrations.celery import CeleryTracking, track_tasks

app = Celery("jt_tests")
trackings: list[CeleryTracking] = []
_redis: dict[str, Any] = {}

#: Short leases keep the tests fast: a dead worker's job stalls within a second or three.
LEASE = 5.0
SHORT_LEASE = 1.0
LONG_LEASE = 30.0


def configure(url: str, visibility: float | None = None) -> jobbertrack.Handler:
    client = redis.Redis.from_url(url, socket_timeout=10)
    _redis["client"] = client
    options: dict[str, Any] = {}
    if visibility is not None:
        # unacked_restore_*: kombu >= 5.7 (older ones ignore them: they restore
        # when a worker starts, then about every 100 s)
        options = {
            "visibility_timeout": visibility,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    app.conf.update(
        broker_url=url.rsplit("/", 1)[0] + "/1",
        result_backend=url.rsplit("/", 1)[0] + "/2",  # for the tasks named kept_* (ignore_result=False)
        broker_transport_options=options,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        worker_prefetch_multiplier=1,
        worker_lost_wait=0.5,  # a lost pool process is reported after 0.5 s, not 10
    )
    handler = jobbertrack.Handler(client)
    trackings.append(track_tasks(app, handler, tasks=["hang"], lease=SHORT_LEASE, timeout=600))
    trackings.append(track_tasks(app, handler, tasks=["linger"], lease=LONG_LEASE, timeout=600))
    ordinary = ["add", "boom", "flaky", "report", "late", *KEPT, *CHORDED]
    trackings.append(track_tasks(app, handler, tasks=ordinary, lease=LEASE))
    trackings.append(track_tasks(app, handler, tasks=["stepper"], lease=SHORT_LEASE))
    trackings.append(track_tasks(app, handler, tasks=["spin"], lease=SHORT_LEASE, terminate=True))
    return handler


def unconfigure() -> None:
    for tracking in trackings:
        tracking.disconnect()
    trackings.clear()


def r() -> Any:
    return _redis["client"]


#: The tasks whose results Celery stores (the others ignore them).
KEPT = ["kept_add", "kept_flaky", "unencodable", "counted"]


#: Tasks for chords (their results stored, without the slow receiver of KEPT).
CHORDED = ["double", "total"]


@app.task(name="double", ignore_result=False)
def double(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return 2 * x


@app.task(name="total", ignore_result=False)
def total(values: list[int]) -> int:
    return sum(values)


@app.task(name="kept_add", ignore_result=False)
def kept_add(x: int, y: int) -> int:
    return x + y


@app.task(name="kept_flaky", bind=True, max_retries=1, ignore_result=False)
def kept_flaky(self: Any, key: str, failures: int) -> int:
    attempt = int(r().incr(key))
    if attempt <= failures:
        raise self.retry(exc=ConnectionError(f"try {attempt} failed"), countdown=0)
    return attempt


@app.task(name="unencodable", ignore_result=False)
def unencodable() -> object:
    return {1, 2}  # Celery's JSON serializer cannot encode a set: EncodeError, after the work


def _a_slow_receiver(sender: Any = None, **_: Any) -> None:
    """An app's own receiver of the end signals, connected before the
    tracking (so Celery calls it first), that takes its time: Celery has
    stored the result by then, so the tracked state must not wait for it."""
    if getattr(sender, "name", None) in KEPT:
        time.sleep(0.5)


@app.task(name="add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="boom")
def boom(message: str) -> None:
    raise ValueError(message)


@app.task(name="flaky", bind=True, max_retries=3)
def flaky(self: Any, key: str, failures: int) -> int:
    attempt = int(r().incr(key))
    if attempt <= failures:
        raise self.retry(exc=ConnectionError(f"try {attempt} failed"), countdown=0)
    return attempt


@app.task(name="report")
def report(steps: int) -> str | None:
    job = jobbertrack.current_job()
    if job is None:
        return None
    for i in range(1, steps + 1):
        job.set_progress(i, steps, f"step {i}")
    return str(job.id)


@app.task(name="hang")
def hang(key: str) -> None:
    r().rpush(key, os.getpid())  # the process running it: the test kills it
    for _ in range(12):  # a minute at most, in reads shorter than the socket timeout
        r().blpop(["never-pushed"], 5)


@app.task(name="linger")
def linger(key: str) -> None:
    """``hang`` under a long lease."""
    hang(key)


@app.task(name="counted", ignore_result=False)
def counted(key: str) -> int:
    """Counts its runs: a cancelled job's task must never run."""
    return int(r().incr(key))


@app.task(name="stepper")
def stepper(key: str) -> None:
    """Reports progress every 50 ms until its job refuses it (cancelled)."""
    job = jobbertrack.current_job()
    assert job is not None
    r().rpush(key, os.getpid())
    try:
        for step in range(1200):  # a minute at most
            job.set_progress(step, 1200)
            time.sleep(0.05)
    except jobbertrack.JobCancelled:
        r().rpush(f"{key}:cancelled", step)
        raise


@app.task(name="spin")
def spin(key: str) -> None:
    """Works without calling its job: only a terminate stops it."""
    r().rpush(key, os.getpid())
    time.sleep(60)
    r().rpush(f"{key}:ended", 1)


@app.task(name="late", acks_late=True)
def late(key: str) -> int:
    runs = int(r().incr(key))
    r().rpush(f"{key}:ran", runs)
    return runs


def _kill_after_success(sender: Any = None, **_: Any) -> None:
    """Connected after the tracking's receivers, so the job is finished when
    this kills the worker: the work is done, the message not acknowledged."""
    if getattr(sender, "name", None) == "late":
        os.kill(os.getpid(), signal.SIGKILL)


if os.environ.get("JT_TEST_URL"):
    for end in (signals.task_success, signals.task_failure, signals.task_retry):
        end.connect(_a_slow_receiver, weak=False)
    visibility = os.environ.get("JT_TEST_VISIBILITY")
    configure(os.environ["JT_TEST_URL"], float(visibility) if visibility else None)
    if os.environ.get("JT_TEST_KILL_AFTER_SUCCESS") == "1":
        signals.task_success.connect(_kill_after_success, weak=False)
