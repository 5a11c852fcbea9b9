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

The caller's cancel then also ends the call's task before it is re-raised
(``drain``: cancelled again until it ends, usually within one turn of the
loop, at most ``SETTLE_S``), so no read of ours outlives its event loop.
A reader that must not outlive its owner (the wait hub, whose end lets a
dropped client be freed) passes a ``pending`` set: the call's task sits
in it until it is done, and ``drain(pending, seconds)`` ends those tasks,
so nothing of ours still holds the client after the owner closed.
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
        task.add_done_callback(_consume)
        await drain({task}, SETTLE_S)  # usually one turn of the loop
        raise


#: How long a cancelled call is given to end (cancelled again and again)
#: before it is left to end on its own: a blocking XREAD returns by its
#: block, at most a second (``_tail.BLOCK_MS``).
SETTLE_S = 1.5
#: How often a call that is still running is cancelled again.
_AGAIN_S = 0.05


async def drain(pending: set[asyncio.Future[Any]], seconds: float) -> None:
    """Cancel the calls in ``pending`` and wait (at most ``seconds``) until
    they are done, cancelling again every 50 ms: redis-py may swallow a
    cancel, and its cluster client may then start the call over (waiting to
    rediscover the cluster) rather than end it.  A call that outlived its
    event loop would be destroyed pending, and its coroutine would raise when
    collected, in whatever code runs then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        running = {call for call in pending if not call.done()}
        left = deadline - loop.time()
        if not running or left <= 0:
            return
        for call in running:
            call.cancel()
        await asyncio.wait(running, timeout=min(_AGAIN_S, left))
