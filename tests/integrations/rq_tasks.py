"""The functions the tests' real RQ workers run (the worker imports this
module to find them, which registers the tracking's handler).

Configured from ``JT_TEST_URL`` in a worker, by ``configure()`` in the test
process: the jobs live in db 0 of the private Redis, RQ's queues in db 2.
"""

from __future__ import annotations

import os
from typing import Any

import redis

import jobbertrack
from jobbertrack.integrations.rq import RQTracking, track_jobs

LEASE = 3.0
_state: dict[str, Any] = {}


def configure(url: str) -> RQTracking:
    client = redis.Redis.from_url(url, socket_timeout=10)
    _state["client"] = client
    tracking = track_jobs(jobbertrack.Handler(client), lease=LEASE, timeout=600)
    _state["tracking"] = tracking
    return tracking


def r() -> Any:
    return _state["client"]


def add(x: int, y: int) -> int:
    return x + y


def boom(message: str) -> None:
    raise ValueError(message)


def flaky(key: str, failures: int) -> int:
    attempt = int(r().incr(key))
    if attempt <= failures:
        raise ConnectionError(f"try {attempt} failed")
    return attempt


def report(steps: int) -> str | None:
    job = jobbertrack.current_job()
    if job is None:
        return None
    for i in range(1, steps + 1):
        job.set_progress(i, steps, f"step {i}")
    return str(job.id)


def hang(key: str) -> None:
    r().rpush(key, os.getpid())  # the process running it: the test kills it
    for _ in range(12):  # a minute at most, in reads shorter than the socket timeout
        r().blpop(["never-pushed"], 5)


if os.environ.get("JT_TEST_URL"):
    configure(os.environ["JT_TEST_URL"])
