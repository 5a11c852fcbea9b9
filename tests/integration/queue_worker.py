"""A worker process for the queue tests: ``python queue_worker.py URL LAYER
MODE [LEASE]``.  Prints each job it pops as ``popped <id> <attempt>``,
flushed, then:
  burst  finishes it, and exits when the queue is empty (``done <errors>``)
  work   the same through ``track.work(burst=True)``, the library's worker
  hang   never finishes it (the test kills the process)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import jobbertrack
import jobbertrack.aio

_SAY = threading.Lock()


def say(*words: object) -> None:
    """One whole line per call, even from several threads (track.work)."""
    with _SAY:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


def burst_sync(url: str, lease: float) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))
    errors = 0
    while True:
        job = track.pop_and_start(lease=lease)
        if job is None:
            if track.queued() == 0:
                break
            continue
        say("popped", job.id, job.get_value()["attempt"])
        try:
            job.finish(job.data)
        except jobbertrack.JobberTrackError as exc:
            errors += 1
            say("error", job.id, exc)
    say("done", errors)


async def burst_async(url: str, lease: float) -> None:
    track = jobbertrack.aio.Handler(jobbertrack.aio.connect(url))
    errors = 0
    while True:
        job = await track.pop_and_start(lease=lease)
        if job is None:
            if await track.queued() == 0:
                break
            continue
        say("popped", job.id, job.get_value()["attempt"])
        try:
            await job.finish(job.data)
        except jobbertrack.JobberTrackError as exc:
            errors += 1
            say("error", job.id, exc)
    say("done", errors)


def work_sync(url: str, lease: float) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))

    def handle(job: jobbertrack.Resource) -> object:
        say("popped", job.id, job.get_value()["attempt"])
        return job.input

    track.work("default", handle, concurrency=4, lease=lease, burst=True)
    say("done", 0)


async def work_async(url: str, lease: float) -> None:
    track = jobbertrack.aio.Handler(jobbertrack.aio.connect(url))

    async def handle(job: jobbertrack.aio.Resource) -> object:
        say("popped", job.id, job.get_value()["attempt"])
        return job.input

    await track.work("default", handle, concurrency=4, lease=lease, burst=True)
    say("done", 0)


def hang(url: str, lease: float) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))
    job = track.pop_and_start(block=30, lease=lease)
    assert job is not None
    say("popped", job.id, job.get_value()["attempt"])
    time.sleep(600)


if __name__ == "__main__":
    url, layer, mode = sys.argv[1:4]
    lease = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    if mode == "hang":
        hang(url, lease)
    elif mode == "work":
        if layer == "async":
            asyncio.run(work_async(url, lease))
        else:
            work_sync(url, lease)
    elif layer == "async":
        asyncio.run(burst_async(url, lease))
    else:
        burst_sync(url, lease)
