"""``track.work(queue, handler)``: the library's worker, in both layers, on
every backend (issue 23's Python workers, honouring issue 22's cancel)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack import JobberTrackError, JobCancelled


def test_work_runs_each_job_once_and_stores_what_the_handler_returns(client: Any) -> None:
    track = jobbertrack.Handler(client)
    jobs = [track.push({"n": n}, queue="w", timeout=60) for n in range(12)]
    seen: list[int] = []
    lock = threading.Lock()

    def handle(job: jobbertrack.Resource) -> int:
        assert jobbertrack.current_job() == job  # the job is current in its thread
        job.set_progress(1, 2, "half")
        with lock:
            seen.append(job.input["n"])
        return int(job.input["n"]) * 10

    track.work("w", handle, concurrency=4, burst=True)
    assert sorted(seen) == list(range(12))
    for job in jobs:
        done = track.get(job.id)
        assert done is not None and done.state == "finished" and done.result == done.input["n"] * 10
    assert track.counts()["finished"] == 12


def test_a_failing_handler_fails_its_job_and_a_retry_runs_it_again(client: Any) -> None:
    track = jobbertrack.Handler(client)
    flaky = track.push({"n": 1}, queue="w", timeout=60, retries=1)
    broken = track.push({"n": 2}, queue="w", timeout=60)
    runs: list[str] = []

    def handle(job: jobbertrack.Resource) -> str:
        runs.append(job.id)
        if job.id == broken.id or job.get_value()["attempt"] == 1:
            raise ValueError(f"attempt {job.get_value()['attempt']} of {job.id}")
        return "ok"

    track.work("w", handle, burst=True)  # burst waits for the retry to come back
    assert sorted(runs) == sorted([flaky.id, flaky.id, broken.id])
    assert track.get(flaky.id).result == "ok"  # type: ignore[union-attr]
    failed = track.get(broken.id)
    assert failed is not None and failed.state == "failed"
    assert failed.error["type"] == "ValueError" and "traceback" in failed.error


def test_a_job_cancelled_under_the_handler_stays_cancelled_and_work_goes_on(client: Any) -> None:
    track = jobbertrack.Handler(client)
    doomed = track.push({"n": 1}, queue="w", timeout=60)
    after = track.push({"n": 2}, queue="w", timeout=60)
    refused: list[JobCancelled] = []

    def handle(job: jobbertrack.Resource) -> None:
        if job.id == doomed.id:
            track.cancel(job.id, reason="changed my mind")
            try:
                job.set_progress(1)
            except JobCancelled as exc:
                refused.append(exc)
                raise

    track.work("w", handle, burst=True)
    assert len(refused) == 1 and refused[0].current == "cancelled"
    assert track.get(doomed.id).state == "cancelled"  # type: ignore[union-attr]
    assert track.get(after.id).state == "finished"  # type: ignore[union-attr]


def test_stop_work_takes_no_new_job_and_lets_the_running_one_end(client: Any) -> None:
    track = jobbertrack.Handler(client)
    first = track.push({"n": 1}, queue="w", timeout=60)
    second = track.push({"n": 2}, queue="w", timeout=60)
    started, release = threading.Event(), threading.Event()

    def handle(job: jobbertrack.Resource) -> str:
        started.set()
        assert release.wait(10)
        return "done"

    runner = threading.Thread(target=track.work, args=("w", handle), kwargs={"block": 1, "grace": 10})
    runner.start()
    assert started.wait(10)
    track.stop_work()
    release.set()
    runner.join(15)
    assert not runner.is_alive()
    states = sorted(track.get(j.id).state.value for j in (first, second))  # type: ignore[union-attr]
    assert states == ["finished", "waiting"]  # the one it ran; the other never taken after the stop


def test_bad_arguments_are_refused_before_a_job_is_taken(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.push({"n": 1}, queue="w", timeout=60)
    with pytest.raises(TypeError):
        track.work("w", "not callable")  # type: ignore[arg-type]
    for bad in ({"concurrency": 0}, {"concurrency": 1.5}, {"lease": -1}, {"block": 0}, {"grace": -1}):
        with pytest.raises(JobberTrackError):
            track.work("w", lambda job: None, burst=True, **bad)  # type: ignore[arg-type]
    with pytest.raises(JobberTrackError):
        track.work("", lambda job: None, burst=True)
    assert track.get(job.id).state == "waiting"  # type: ignore[union-attr]


def test_sync_work_beats_every_running_job_from_one_thread(client: Any) -> None:
    """Jobs that outlive their lease stay running: the worker's one heartbeat
    thread renews each; no thread is left once work() returns."""
    track = jobbertrack.Handler(client)
    jobs = [track.push({"n": n}, queue="beats", timeout=60) for n in range(3)]
    before = threading.active_count()
    all_running = threading.Barrier(3, timeout=30)

    def handle(job: jobbertrack.Resource) -> str:
        all_running.wait()  # three jobs at once, each in a pool thread
        first = client.hget(track._core.keys.job_key(job.id), "beat")
        for _ in range(3000):  # two renewals of a 0.3 s lease: beats every 0.1 s
            beat = client.hget(track._core.keys.job_key(job.id), "beat")
            if beat is not None and first is not None and int(beat) >= int(first) + 150:
                return "beaten"
            threading.Event().wait(0.01)
        return "never beaten"

    track.work("beats", handle, concurrency=3, lease=0.3, burst=True)
    assert [track.get(j.id).result for j in jobs] == ["beaten"] * 3  # type: ignore[union-attr]
    assert threading.active_count() <= before


async def test_asyncio_work_runs_each_job_with_its_heartbeat(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    jobs = [await track.push({"n": n}, queue="aw", timeout=60) for n in range(10)]

    async def handle(job: jobbertrack.aio.Resource) -> int:
        assert jobbertrack.current_job() is job
        await asyncio.sleep(0.01)
        return int(job.input["n"]) + 1

    await track.work("aw", handle, concurrency=3, burst=True)
    for job in jobs:
        done = await track.get(job.id)
        assert done is not None and done.result == job.input["n"] + 1


async def test_asyncio_work_cancels_the_task_of_a_cancelled_job(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    doomed = await track.push({"n": 1}, queue="aw", timeout=60)
    after = await track.push({"n": 2}, queue="aw", timeout=60)
    interrupted: list[BaseException] = []

    async def handle(job: jobbertrack.aio.Resource) -> str:
        if job.id == doomed.id:
            await track.cancel(job.id)
            try:
                await asyncio.sleep(30)  # no call on the job: only its heartbeat can notice
            except asyncio.CancelledError as exc:
                interrupted.append(exc)
                raise
        return "ok"

    await asyncio.wait_for(track.work("aw", handle, concurrency=2, lease=0.6, burst=True), 10)
    assert len(interrupted) == 1
    assert (await track.get(doomed.id)).state == "cancelled"  # type: ignore[union-attr]
    assert (await track.get(after.id)).state == "finished"  # type: ignore[union-attr]


async def test_asyncio_work_leaves_a_job_past_its_grace_to_the_stall_rule(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await track.push({"n": 1}, queue="aw", timeout=60)
    started = asyncio.Event()

    async def handle(job: jobbertrack.aio.Resource) -> None:
        started.set()
        await asyncio.sleep(30)

    worker = asyncio.create_task(track.work("aw", handle, lease=30, block=1, grace=0.2))
    await asyncio.wait_for(started.wait(), 10)
    track.stop_work()
    await asyncio.wait_for(worker, 10)
    left = await track.get(job.id)
    assert left is not None and left.state == "running"  # neither failed nor finished: its lease decides


async def test_asyncio_work_needs_an_async_handler(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    with pytest.raises(TypeError):
        await track.work("aw", lambda job: None, burst=True)


SIGTERM_WORKER = """
import sys, time, jobbertrack
track = jobbertrack.Handler(jobbertrack.connect(sys.argv[1]))
def handle(job):
    print("started", job.id, flush=True)
    sys.stdin.readline()  # until the test says so: after its SIGTERM
    return "done"
track.work("sig", handle, block=1, grace=20)
print("returned", flush=True)
"""


def test_sigterm_stops_taking_jobs_and_lets_the_running_one_finish(backend: Any, client: Any) -> None:
    import signal
    import subprocess
    import sys

    track = jobbertrack.Handler(client)
    jobs = [track.push({"n": n}, queue="sig", timeout=60) for n in range(2)]
    argv = [sys.executable, "-c", SIGTERM_WORKER, backend.url]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdin is not None
            first = proc.stdout.readline().split()
            assert first[0] == "started"
            proc.send_signal(signal.SIGTERM)
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "returned\n"
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    states = {j.id: track.get(j.id).state for j in jobs}  # type: ignore[union-attr]
    assert states[first[1]] == "finished"
    assert sorted(s.value for s in states.values()) == ["finished", "waiting"]
