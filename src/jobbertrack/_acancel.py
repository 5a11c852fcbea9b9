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
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an error of a read nobody waits for is not reported


async def uncancellable_by_redis(call: Awaitable[T]) -> T:
    """``await call``, ended by a cancel of the caller even when redis-py
    would swallow it (see the module docstring)."""
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_consume)
        raise
