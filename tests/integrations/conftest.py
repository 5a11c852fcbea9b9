"""Fixtures of the runner integrations: a private Redis (jobs in db 0, the
runners' queues in dbs 1 and 2) and real Celery and RQ worker processes.

Workers run in their own process group (so a test can SIGKILL one, work
horses and all) with the repository on PYTHONPATH, and are stopped at
teardown, whatever the test did.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def runner_redis() -> Iterator[RedisServer]:
    """One private redis-server for the integration tests (never 6379)."""
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def jt(runner_redis: RedisServer) -> Iterator[jobbertrack.Handler]:
    """A handler on the jobs' database (db 0), as the workers use."""
    client = runner_redis.client()
    yield jobbertrack.Handler(client)
    client.close()


class Worker:
    """A runner's worker process (its own session: killing it kills its children)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env = argv, env
        self.log = Path(tempfile.gettempdir()) / f"jt-worker-{os.getpid()}-{id(self)}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and everything it started."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # work horses left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.unlink(missing_ok=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def start_worker() -> Iterator[Callable[..., Worker]]:
    """``start_worker(argv, **env)``: a worker process, stopped at teardown."""
    started: list[Worker] = []

    def start(argv: list[str], **env: str) -> Worker:
        worker = Worker(argv, env).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_job(jt: jobbertrack.Handler, job_id: str, worker: Worker, timeout: float = 30) -> Any:
    """The job once it ends; on a timeout, the failure shows the worker's output."""
    try:
        return jt.wait(job_id, timeout=timeout)
    except jobbertrack.WaitTimeout:
        pytest.fail(f"job {job_id} did not end; worker output:\n{worker.output()}")


def eventually(condition: Callable[[], bool], timeout: float, explain: Callable[[], str]) -> None:
    """Wait until ``condition()`` holds (checked every 50 ms); after ``timeout``, fail with ``explain()``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(explain())
        time.sleep(0.05)


def pop(client: Any, key: str, timeout: float) -> Any:
    """``BLPOP key`` for up to ``timeout`` seconds, in blocks shorter than the
    client's socket timeout (10 s): redis-py before 6 fails a read that
    outlasts it (it retries only the errors in ``retry_on_error``, none by
    default), where later releases quietly send the command again."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        popped = client.blpop([key], min(5, math.ceil(left)))
        if popped is not None:
            return popped
    return None


def events_of(jt: jobbertrack.Handler, job_id: str) -> list[jobbertrack.Event]:
    return [e for e in jt.events() if e.job_id == job_id]


def celery_argv(queue: str, pool: str = "solo") -> list[str]:
    return [
        str(BIN / "celery"),
        "-A",
        "tests.integrations.celery_app",
        "worker",
        f"--pool={pool}",
        "--concurrency=1",
        "-Q",
        queue,
        "-n",
        f"{queue}-{time.monotonic_ns()}@localhost",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "--loglevel=WARNING",
    ]


def rq_argv(queue: str, url: str) -> list[str]:
    return [str(BIN / "rq"), "worker", "--url", url, "--path", str(ROOT), queue]
