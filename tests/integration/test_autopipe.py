"""asyncio auto-pipelining: calls made on one client in the same turn of
the event loop share one pipelined round, each with its own reply or error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer
from tests.helpers import command_calls, connections, is_cluster


async def test_many_lifecycles_in_flight_share_a_few_connections(
    backend: Any, client: Any, aclosing: Any
) -> None:
    """300 concurrent lifecycles on a default pool (100 connections at most)."""
    aclient = aclosing(backend.async_client(client_name="autopipe-many"))
    track = jobbertrack.aio.Handler(aclient)
    peak = 0

    async def lifecycle(n: int) -> Any:
        nonlocal peak
        job = await track.create(60, data={"n": n})
        await job.start()
        peak = max(peak, connections(client, "autopipe-many")) if n % 50 == 0 else peak
        await job.finish({"double": 2 * n})
        return await track.get(job.id)

    done = await asyncio.gather(*(lifecycle(n) for n in range(300)))
    assert [j.data for j in done] == [{"double": 2 * n} for n in range(300)]
    assert all(j.state == "finished" for j in done)
    assert await track.counts() == {"waiting": 0, "running": 0, "failed": 0, "finished": 300, "cancelled": 0}
    if not is_cluster(client):  # a cluster client sends each call on its own
        assert peak <= 4


async def test_each_caller_gets_its_own_error(client: Any, aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    waiting, finished = await track.create(60), await track.create(60)
    await finished.start()
    await finished.finish(1)
    again = await track.get(finished.id)
    results = await asyncio.gather(
        waiting.start(),
        again.start(),  # finished: refused
        track.get("never-made"),
        track.create(60, data={"bad": float("nan")}),  # refused before sending
        return_exceptions=True,
    )
    assert isinstance(results[0], jobbertrack.aio.Resource) and results[0].state == "running"
    assert isinstance(results[1], jobbertrack.InvalidTransition) and results[1].current == "finished"
    assert results[2] is None
    assert isinstance(results[3], jobbertrack.InvalidData)
    assert (await track.get(finished.id)).data == 1
    assert (await track.get(waiting.id)).state == "running"


async def test_concurrent_calls_go_in_one_round(server: RedisServer, aclosing: Any) -> None:
    """Calls made in one turn reach Redis in one pipeline: the pipelined
    HGETALLs of 50 concurrent gets are answered to one connection."""
    admin = server.client()
    aclient = aclosing(server.async_client(client_name="autopipe-round"))
    track = jobbertrack.aio.Handler(aclient)
    jobs = await track.create_many(50, 60)
    before = command_calls(admin, "hgetall")
    got = await asyncio.gather(*(track.get(j.id) for j in jobs))
    assert [g.id for g in got] == [j.id for j in jobs]
    assert command_calls(admin, "hgetall") - before == 50
    assert connections(admin, "autopipe-round") == 1


async def test_a_cancelled_caller_leaves_the_others_alone(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    jobs = await track.create_many(20, 60)
    tasks = [asyncio.create_task(j.start()) for j in jobs]
    tasks[3].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert all(r.state == "running" for i, r in enumerate(results) if i != 3)


async def test_redis_down_fails_every_call_of_the_round(server: RedisServer, aclosing: Any) -> None:
    with RedisServer(server.binary) as dead:
        aclient = aclosing(dead.async_client(socket_timeout=1, socket_connect_timeout=1))
        track = jobbertrack.aio.Handler(aclient)
        jobs = await track.create_many(5, 60)
        dead.stop()
        results = await asyncio.gather(*(j.start() for j in jobs), return_exceptions=True)
        assert all(isinstance(r, jobbertrack.RedisUnavailable) for r in results), results


@pytest.mark.parametrize("decode", [False, True])
async def test_reads_and_writes_mixed_in_a_round(backend: Any, decode: bool, aclosing: Any) -> None:
    aclient = aclosing(backend.async_client(decode_responses=decode))
    track = jobbertrack.aio.Handler(aclient)
    jobs = await track.create_many(10, 60, data="x")
    calls = [j.start() if i % 2 else track.get(j.id) for i, j in enumerate(jobs)]
    results = await asyncio.gather(*calls)
    assert [r.state for r in results] == ["waiting", "running"] * 5
    assert all(r.data == "x" for r in results)


async def test_a_loop_that_stops_with_a_call_queued_does_not_stall_the_next(
    backend: Any, aclosing: Any
) -> None:
    aclient = aclosing(backend.async_client(socket_timeout=2))
    track = jobbertrack.aio.Handler(aclient)

    def run_a_loop_that_stops_with_a_call_queued() -> None:
        loop = asyncio.new_event_loop()

        async def leave_a_call_behind() -> None:
            asyncio.get_running_loop().create_task(track.get("queued-as-the-loop-stops"))

        loop.run_until_complete(leave_a_call_behind())
        loop.close()

    # this test's loop is running: the loop that stops runs in a thread of its own
    await asyncio.to_thread(run_a_loop_that_stops_with_a_call_queued)
    assert await asyncio.wait_for(track.get("read-in-the-next-loop"), 10) is None


async def test_a_cancelled_waiter_leaves_the_others_in_its_batch(aclient: Any) -> None:
    from jobbertrack.aio import _hub

    track = jobbertrack.aio.Handler(aclient)
    a, b = await track.create(60), await track.create(60)
    await b.start()
    await b.finish(1)
    hub = _hub(a)
    first, second = asyncio.create_task(a.wait()), asyncio.create_task(b.wait())
    for _ in range(10_000):  # until both checks are in one batch, in flight
        await asyncio.sleep(0)
        flushing = hub._flusher is not None and not hub._flusher.done()
        if flushing and not hub._pending and hub.waiters.get(a.id):
            break
    await asyncio.sleep(0)
    first.cancel()
    assert (await asyncio.wait_for(second, 5)).state == "finished"
