"""A cancel of the caller always ends a blocking read, even when the read
swallows the cancellation (as redis-py's asyncio client sometimes does with
a blocking XREAD: a CI run saw a cancelled events() reader read on)."""

from __future__ import annotations

import asyncio
import contextlib

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


async def test_a_call_that_swallows_a_cancel_is_cancelled_again_before_the_caller_ends() -> None:
    """redis-py's cluster client can swallow a cancel and start the call
    over (waiting on its lock to rediscover the cluster): the caller's
    cancel ends that call too, by cancelling it again, so no read outlives
    its event loop (CI: "Task was destroyed but it is pending", then an
    error when the coroutine was collected in a later test)."""
    started = asyncio.Event()
    swallowed: list[int] = []

    async def read() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.append(1)
            await asyncio.sleep(3600)  # starts over: only a second cancel ends it
        return "never"

    pending: set[asyncio.Future[object]] = set()
    task = asyncio.create_task(uncancellable_by_redis(read(), pending))
    await started.wait()
    assert len(pending) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert swallowed == [1] and pending == set()  # the call ended before the caller did


async def test_drain_gives_up_on_a_call_that_never_ends_within_its_bound() -> None:
    """A call deaf to every cancel is left to end by itself after the
    bound (a blocking read returns by its block): the caller is not held."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def deaf() -> None:
        started.set()
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await stop.wait()

    pending: set[asyncio.Future[object]] = set()
    call = asyncio.ensure_future(deaf())
    pending.add(call)
    call.add_done_callback(pending.discard)
    await started.wait()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await drain(pending, 0.2)
    assert loop.time() - began < 2 and pending == {call}
    stop.set()
    await call
    assert pending == set()
