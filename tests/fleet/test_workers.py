"""The worker registry (issue 23): every ``track.work()`` registers
itself, shows what it runs, and is gone when it stops or is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Any

import jobbertrack
import jobbertrack.aio

from ..helpers import all_keys, wait_for

FIELDS = {"id", "host", "pid", "queues", "concurrency", "started_at", "last_seen"}
FIELDS |= {"jobs", "processed", "failed"}


def _registry_keys(client: Any) -> list[bytes]:
    return all_keys(client, "jt:{jt.workers}:*")


def test_a_running_worker_shows_itself_and_what_it_runs(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    worker = jobbertrack.Handler(jobbertrack.connect(backend.url))
    release = threading.Event()

    def handler(job: Any) -> str:
        if job.data == "fail":
            raise ValueError("no")
        release.wait(30)
        return "done"

    fail = track.push("fail", queue="mail", timeout=60)
    kwargs = {"concurrency": 2, "lease": 30}
    thread = threading.Thread(target=worker.work, args=("mail", handler), kwargs=kwargs)
    thread.start()
    try:
        wait_for(lambda: track.get(fail.id).state == "failed")
        held = track.push("hold", queue="mail", timeout=60)
        (seen,) = wait_for(lambda: [w for w in track.workers() if held.id in w["jobs"]])
        assert set(seen) == FIELDS
        assert (seen["host"], seen["pid"], seen["queues"], seen["concurrency"]) == (
            os.uname().nodename,
            os.getpid(),
            ["mail"],
            2,
        )
        assert seen["failed"] == 1 and seen["processed"] == 0
        assert datetime.fromisoformat(seen["started_at"]) <= datetime.fromisoformat(seen["last_seen"])
        assert track.workers("mail") == [seen] or track.workers("mail")[0]["id"] == seen["id"]
        assert track.workers("other") == []
        assert track.queue_stats("mail")["workers"] == 1
        assert track.queue_stats("other")["workers"] == 0
        release.set()
        wait_for(lambda: track.workers()[0]["processed"] == 1 and track.workers()[0]["jobs"] == [])
    finally:
        release.set()
        worker.stop_work()
        thread.join(30)
    assert track.workers() == []
    assert _registry_keys(client) == []


def test_a_queue_served_by_a_worker_is_listed_before_any_job(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    worker = jobbertrack.Handler(jobbertrack.connect(backend.url))
    thread = threading.Thread(target=worker.work, args=("idle", lambda job: None), kwargs={"block": 0.2})
    thread.start()
    try:
        wait_for(track.workers)
        assert track.queues() == ["idle"]
    finally:
        worker.stop_work()
        thread.join(30)
    assert track.queues() == []


async def test_an_asyncio_worker_registers_too(backend: Any, aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    started = asyncio.Event()
    release = asyncio.Event()

    async def handler(job: Any) -> int:
        started.set()
        await release.wait()
        return 1

    job = await track.push(1, queue="aq", timeout=60)
    task = asyncio.create_task(track.work("aq", handler, concurrency=3, lease=30))
    await asyncio.wait_for(started.wait(), 10)
    deadline = time.monotonic() + 10
    while not [w for w in await track.workers("aq") if job.id in w["jobs"]]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    (seen,) = await track.workers()
    assert set(seen) == FIELDS and seen["concurrency"] == 3 and seen["queues"] == ["aq"]
    assert (await track.queue_stats("aq"))["workers"] == 1
    release.set()
    track.stop_work()
    await asyncio.wait_for(task, 30)
    assert await track.workers() == []


WORKER = """
import sys, jobbertrack
track = jobbertrack.Handler(jobbertrack.connect(sys.argv[1]))
def handler(job):
    print("running", job.id, flush=True)
    import time; time.sleep(600)
track.work("doomed", handler, lease=1.5)
"""


def test_a_killed_worker_disappears_within_two_heartbeat_periods(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.push(1, queue="doomed", timeout=60)
    argv = [sys.executable, "-c", WORKER, backend.url]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().split() == ["running", job.id]
            (seen,) = wait_for(lambda: [w for w in track.workers() if w["jobs"] == [job.id]])
            assert seen["pid"] == proc.pid
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    # the heartbeat period is a third of the lease (0.5 s): gone within two
    # (1 s), with a margin for a loaded machine
    wait_for(lambda: track.workers() == [], limit=2 * 0.5 + 4)
    assert _registry_keys(client) == []
    # its job is left to the stall rule, as before
    wait_for(lambda: track.get(job.id).state == "failed", limit=10)
