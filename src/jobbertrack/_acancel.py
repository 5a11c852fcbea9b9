"""A blocking redis-py asyncio call that a cancellation always ends.

redis-py's asyncio client can swallow a cancellation that lands while a
blocking command (XREAD ... BLOCK) waits for its reply: the call returns
normally, and the task that was cancelled reads on (measured with redis-py
8.1 and 8.2, standalone and cluster, about one cancel in 200).  A task
awaiting the call directly inherits that: its cancel is lost.

``uncancellable_by_redis(call)`` runs the call in a task of its own and
awaits it through ``asyncio.shield``: a cancel of the caller then raises in
the caller at once, whatever redis-py does with it, and the call's own task
is cancelled too (its connection goes back to the pool once redis-py lets
go of it; its outcome is consumed, so nothing is reported as never
retrieved).

A reader that must not outlive its owner (the wait hub, whose end lets a
dropped client be freed) passes a ``pending`` set: the call's task sits
in it until it is done, and ``drain(pending, seconds)`` waits for those
tasks, so nothing of ours still holds the client after the owner closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an error of a read nobody waits for is not reported


async def uncancellable_by_redis(call: Awaitable[T], pending: set[asyncio.Future[Any]] | None = None) -> T:
    """``await call``, ended by a cancel of the caller even when redis-py
    would swallow it (see the module docstring).  The call's task is kept
    in ``pending`` (when given) until it is done."""
    task = asyncio.ensure_future(call)
    if pending is not None:
        pending.add(task)
        task.add_done_callback(pending.discard)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_consume)
        raise


async def drain(pending: set[asyncio.Future[Any]], seconds: float) -> None:
    """Wait (at most ``seconds``) until the calls in ``pending`` are done:
    a cancelled one ends at once, or when redis-py returns its reply."""
    if pending:
        await asyncio.wait(set(pending), timeout=seconds)
