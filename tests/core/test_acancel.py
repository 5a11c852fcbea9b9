"""A cancel of the caller always ends a blocking read, even when the read
swallows the cancellation (as redis-py's asyncio client sometimes does with
a blocking XREAD: a CI run saw a cancelled events() reader read on)."""

from __future__ import annotations

import asyncio

import pytest

from jobbertrack._acancel import drain, uncancellable_by_redis


async def swallows_a_cancel(started: asyncio.Event) -> str:
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        return "read on"  # what redis-py does now and then
    return "timed out"


async def test_a_cancel_is_lost_when_awaited_directly() -> None:
    """The hazard itself: a task awaiting such a call is not cancelled."""
    started = asyncio.Event()
    task = asyncio.create_task(swallows_a_cancel(started))
    await started.wait()
    task.cancel()
    assert await task == "read on"


async def test_a_cancel_ends_the_caller_through_the_shield() -> None:
    started = asyncio.Event()
    inner: list[asyncio.Task[str]] = []

    async def caller() -> str:
        call = asyncio.ensure_future(swallows_a_cancel(started))
        inner.append(call)
        return await uncancellable_by_redis(call)

    task = asyncio.create_task(caller())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await inner[0] == "read on"  # the call's own task was told too, and ended


async def test_a_result_and_an_error_come_through_unchanged() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 7

    async def boom() -> None:
        await asyncio.sleep(0)
        raise ValueError("no")

    assert await uncancellable_by_redis(value()) == 7
    with pytest.raises(ValueError, match="no"):
        await uncancellable_by_redis(boom())


async def test_a_pending_call_is_tracked_until_done_and_drain_waits_for_it() -> None:
    """The wait hub's readers: after a cancel the caller is free at once,
    but the call may still run (and hold the client) until its reply comes;
    ``drain`` waits for that, so the hub's end really lets go of the client
    (CI: a dropped asyncio cluster client was still alive after the hub)."""
    started, reply = asyncio.Event(), asyncio.Event()

    async def read() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await reply.wait()  # redis-py reads on until the server answers
        return "late reply"

    pending: set[asyncio.Future[object]] = set()
    task = asyncio.create_task(uncancellable_by_redis(read(), pending))
    await started.wait()
    assert len(pending) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(pending) == 1  # the caller ended; the call has not
    await drain(pending, 0.01)  # bounded: the reply has not come
    assert len(pending) == 1
    reply.set()
    await drain(pending, 60)
    assert pending == set()
