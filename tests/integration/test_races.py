"""Many processes racing on the same jobs: one start per job, no lost finish."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import jobbertrack
import jobbertrack.aio
from tests.helpers import all_keys

N_JOBS = 300
N_PROCS = 6


def _worker(url: str, ids: list[str], go: Any, out: Any) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))
    jobs = [track.get(i) for i in ids]
    go.wait()
    won, lost = [], 0
    for job in jobs:
        try:
            job.start()
            won.append(job)
        except jobbertrack.InvalidTransition:
            lost += 1
    for job in won:
        job.finish({"by": multiprocessing.current_process().name})
    out.put(([j.id for j in won], lost))


def test_processes_racing_to_start_each_job_exactly_one_wins(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    ids = [track.create(120).id for _ in range(N_JOBS)]
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(backend.url, ids, go, out), name=f"w{i}") for i in range(N_PROCS)
    ]
    for p in procs:
        p.start()
    go.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    winners = [i for won, _ in results for i in won]
    assert sorted(winners) == sorted(ids)  # every job started exactly once
    assert sum(lost for _, lost in results) == N_JOBS * (N_PROCS - 1)
    for job_id in ids:
        job = track.get(job_id)
        assert job.state == "finished"
        assert job.data["by"].startswith("w")
    events = sum(client.xlen(k) for k in all_keys(client, "jt:*:events"))
    assert events == 3 * N_JOBS


async def test_asyncio_tasks_racing_on_one_job(client: Any, aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await track.create(60)
    handles = [await track.get(job.id) for _ in range(20)]
    results = await asyncio.gather(*(h.start() for h in handles), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, jobbertrack.InvalidTransition) for r in results if isinstance(r, BaseException))
    assert all(h.state == "running" for h in handles)
