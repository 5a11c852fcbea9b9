"""The work queue with real worker processes (issue 14): many workers take
every job exactly once; a SIGKILLed worker's job stalls or comes back; a
Redis killed and restarted with ``appendfsync always`` keeps every
acknowledged push and pop; expired queued jobs leave nothing behind."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer

from ..helpers import all_keys, is_cluster, wait_for

WORKER = str(Path(__file__).with_name("queue_worker.py"))


def _url(backend: Any) -> str:
    return str(backend.url)


def _workers(
    url: str, layer: str, n: int, mode: str = "burst", lease: float = 30
) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(jobbertrack.__file__).parent.parent)}
    argv = [sys.executable, WORKER, url, layer, mode, str(lease)]
    return [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env) for _ in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize(("layer", "workers", "jobs"), [("sync", 16, 5000), ("async", 16, 5000)])
@pytest.mark.parametrize("mode", ["burst", "work"])  # a loop of pops; track.work (4 at once in each)
def test_many_workers_start_every_job_exactly_once(
    backend: Any, client: Any, layer: str, workers: int, jobs: int, mode: str
) -> None:
    newest = client.info("server")["redis_version"] >= "7" and type(backend).__name__ != "AclServer"
    if mode == "work" and not (is_cluster(client) or newest):
        pytest.skip("track.work: on the newest standalone server and the cluster (the loop covers the rest)")
    track = jobbertrack.Handler(client)
    pushed = {track.push(i, timeout=600).id for i in range(jobs)}
    procs = _workers(_url(backend), layer, workers, mode)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    popped = collections.Counter(
        line.split()[1] for out in outputs for line in out.splitlines() if line.startswith("popped ")
    )
    assert set(popped) == pushed  # none lost
    assert max(popped.values()) == 1  # none started twice
    assert [line for out in outputs for line in out.splitlines() if line.startswith("done ")] == [
        "done 0"
    ] * workers
    assert track.counts() == {"waiting": 0, "running": 0, "failed": 0, "finished": jobs, "cancelled": 0}
    assert sum(1 for out in outputs if "popped" in out) > 1  # the work was spread


def _reap(backend: Any, client: Any, layer: str) -> Any:
    """The next worker's pop: it settles the dead worker's job (no daemon)."""
    if layer == "sync":
        return jobbertrack.Handler(client).pop_and_start(block=3, lease=30)

    async def pop() -> Any:
        aclient = backend.async_client()
        try:
            return await jobbertrack.aio.Handler(aclient).pop_and_start(block=3, lease=30)
        finally:
            await aclient.aclose()

    job = asyncio.run(pop())
    return None if job is None else jobbertrack.Handler(client).get(job.id)


@pytest.mark.parametrize("layer", ["sync", "async"])
@pytest.mark.parametrize("retries", [0, 1])
def test_a_killed_workers_job_stalls_or_comes_back_within_its_lease(
    backend: Any, client: Any, retries: int, layer: str
) -> None:
    track = jobbertrack.Handler(client)
    job = track.push("x", timeout=60, retries=retries)
    (proc,) = _workers(_url(backend), "sync", 1, "hang", lease=1)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split()[:2] == ["popped", job.id]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        other = _reap(backend, client, layer)  # the next worker reaps it: no daemon
        if retries:
            assert other is not None and other.id == job.id
            attempt = other.get_value()["attempts"][0]
            assert attempt["error"]["reason"] == "stalled"
            other.finish("second try")
            assert track.wait(job.id, timeout=5).data == "second try"
        else:
            assert other is None
            failed = track.get(job.id)
            assert failed.state == "failed" and failed.error["reason"] == "stalled"
            attempt = {"started_at": failed.started_at.isoformat(), "ended_at": failed.ended_at.isoformat()}
        started, ended = (jobbertrack_time(attempt[k]) for k in ("started_at", "ended_at"))
        assert ended - started <= 1 + 1  # lease + 1 s, on Redis' clock
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def jobbertrack_time(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _queue_ids(client: Any) -> set[str]:
    ids = set()
    for key in all_keys(client, "jt:*:queue"):
        # waiting entries only (q NUL ready NUL expires NUL id; a running one: q \x01 expires NUL id)
        ids |= {m.split(b"\0", 3)[3].decode() for m in client.zrange(key, 0, -1) if m.count(b"\0") == 3}
    return ids


@pytest.mark.slow
def test_acknowledged_pushes_and_pops_survive_a_redis_kill(server: RedisServer) -> None:
    with RedisServer(server.binary, args=["--appendonly", "yes", "--appendfsync", "always"]) as own:
        pushed: list[str] = []
        popped: list[str] = []
        stop = threading.Event()

        def pusher() -> None:
            track = jobbertrack.Handler(own.client(retry=None))
            while not stop.is_set():
                try:
                    pushed.append(track.push(len(pushed), timeout=600).id)
                except jobbertrack.RedisUnavailable:
                    return

        def popper() -> None:
            track = jobbertrack.Handler(own.client(retry=None))
            while not stop.is_set():
                try:
                    job = track.pop_and_start(block=1)
                except jobbertrack.RedisUnavailable:
                    return
                if job is not None:
                    popped.append(job.id)

        threads = [threading.Thread(target=pusher), threading.Thread(target=popper)]
        for t in threads:
            t.start()
        wait_for(lambda: len(popped) >= 200, limit=30)
        own.signal(signal.SIGKILL)
        assert own.process is not None
        own.process.wait(10)
        for t in threads:
            t.join(30)
        stop.set()
        own.start()
        client = own.client()
        track = jobbertrack.Handler(client)
        queued = _queue_ids(client)
        for job_id in pushed:
            job = track.get(job_id)
            assert job is not None, job_id
            assert job.state == "running" or job_id in queued, job_id  # still queued, or was popped
        for job_id in popped:
            assert track.get(job_id).state == "running", job_id


def test_expired_queued_jobs_leave_nothing_behind(server: RedisServer) -> None:
    with RedisServer(server.binary) as own:
        client = own.client()
        track = jobbertrack.Handler(client)
        track.push(timeout=0.05)  # warm up: every script loaded, the wake-up stream made
        track.pop_and_start()
        wait_for(lambda: track.counts()["running"] == 0)
        track.sweep()
        baseline = int(client.info("memory")["used_memory"])
        for i in range(2000):
            track.push(i, timeout=1, delay=0.5 * (i % 2), retries=1)
        for _ in range(300):
            track.pop_and_start(lease=0.3)  # some stall and come back, until they expire
        assert int(client.info("memory")["used_memory_peak"]) > baseline + 500_000
        wait_for(
            lambda: (
                track.counts() == dict.fromkeys(("waiting", "running", "failed", "finished", "cancelled"), 0)
            ),
            limit=10,
        )
        assert track.queued() == 0 and track.pop_and_start() is None
        track.sweep()
        wait_for(
            lambda: not [k for k in all_keys(client) if not k.endswith((b":tomb", b"default"))], limit=10
        )
        wait_for(lambda: int(client.info("memory")["used_memory"]) <= baseline * 1.10, limit=10, step=0.2)
