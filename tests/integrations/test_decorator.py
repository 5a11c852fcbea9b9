"""``@track.job``, ``.submit`` and ``current_job()`` on plain functions, both layers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer


@pytest.fixture
async def ajt(runner_redis: RedisServer) -> AsyncIterator[jobbertrack.aio.Handler]:
    client = runner_redis.async_client()
    yield jobbertrack.aio.Handler(client)
    await client.aclose()


def test_each_call_is_a_job_whose_result_is_stored(jt: jobbertrack.Handler) -> None:
    @jt.job(timeout=60, lease=5, name="export")
    def export(rows: int) -> dict[str, Any]:
        job = jobbertrack.current_job()
        assert job is not None and job.state == "running"
        job.set_progress(1, 2, "half way")
        return {"rows": rows, "job": job.id}

    assert jobbertrack.current_job() is None
    result = export(42)
    assert jobbertrack.current_job() is None
    job = jt.get(result["job"])
    assert job is not None and (job.state, job.data, job.name) == ("finished", result, "export")
    assert job.progress == {"current": 1, "total": 2, "message": "half way"}
    assert export.__name__ == "export" and export.name == "export"


def test_an_exception_fails_the_job_and_goes_on(jt: jobbertrack.Handler) -> None:
    seen: list[str] = []

    @jt.job(timeout=60)
    def broken() -> None:
        job = jobbertrack.current_job()
        assert job is not None
        seen.append(job.id)
        raise KeyError("gone")

    with pytest.raises(KeyError):
        broken()
    job = jt.get(seen[0])
    assert job is not None and job.state == "failed" and job.error["type"] == "KeyError"
    assert job.name == f"{__name__}.{broken.__qualname__}"  # the function's name by default


def test_submit_returns_the_id_at_once_and_each_thread_sees_its_own_job(jt: jobbertrack.Handler) -> None:
    both_running = threading.Barrier(2, timeout=30)

    @jt.job(timeout=60, lease=5)
    def work(n: int) -> list[Any]:
        both_running.wait()  # the two calls run at the same time, in two threads
        job = jobbertrack.current_job()
        assert job is not None
        return [n, job.id]

    with ThreadPoolExecutor(2) as pool:
        ids = [work.submit(pool, 1), work.submit(pool, 2)]
    jobs = [jt.wait(i, timeout=30) for i in ids]
    assert [(j.state, j.data) for j in jobs] == [("finished", [1, ids[0]]), ("finished", [2, ids[1]])]


def test_submit_to_a_closed_executor_raises_and_the_job_says_so(jt: jobbertrack.Handler) -> None:
    @jt.job(timeout=60)
    def work() -> None:
        return None

    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        work.submit(pool)
    failed = [job for job in jt.list("failed", limit=500) if job.name == work.name]
    assert len(failed) == 1 and failed[0].error["type"] == "RuntimeError"


def test_each_layer_decorates_its_own_kind_of_function(
    jt: jobbertrack.Handler, ajt: jobbertrack.aio.Handler
) -> None:
    async def coroutine() -> None:
        return None

    def plain() -> None:
        return None

    with pytest.raises(TypeError, match=r"jobbertrack\.aio\.Handler"):
        jt.job(timeout=60)(coroutine)
    with pytest.raises(TypeError, match=r"jobbertrack\.Handler"):
        ajt.job(timeout=60)(plain)
    with pytest.raises(jobbertrack.JobberTrackError):
        jt.job(timeout=60, lease=-1)  # refused when decorating, not at the first call


async def test_async_functions_run_as_jobs_each_task_with_its_own(ajt: jobbertrack.aio.Handler) -> None:
    arrived: list[int] = []
    both_running = asyncio.Event()

    @ajt.job(timeout=60, lease=5)
    async def work(n: int) -> list[Any]:
        arrived.append(n)
        if len(arrived) == 2:
            both_running.set()
        await both_running.wait()  # the two calls run at the same time, in two tasks
        job = jobbertrack.aio.current_job()
        assert job is not None and job is jobbertrack.current_job()
        await job.set_progress(n, 2)
        return [n, job.id]

    assert jobbertrack.aio.current_job() is None
    results = await asyncio.gather(work(1), work(2))
    assert results[0][1] != results[1][1]
    for n, job_id in results:
        job = await ajt.get(job_id)
        assert job is not None and (job.state, job.data) == ("finished", [n, job_id])


async def test_async_submit_returns_the_id_at_once(ajt: jobbertrack.aio.Handler) -> None:
    go = asyncio.Event()

    @ajt.job(timeout=60)
    async def work() -> str:
        await go.wait()
        job = jobbertrack.aio.current_job()
        assert job is not None
        return job.id

    job_id = await work.submit()
    assert (await ajt.status(job_id)) in ("waiting", "running")
    go.set()
    assert (await ajt.wait(job_id, timeout=30)).data == job_id
