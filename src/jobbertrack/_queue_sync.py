"""The work queue's I/O of the synchronous ``Handler`` (whose ``push``,
``pop_and_start`` and ``queued`` use it): waking blocked workers and
blocking until woken.  The asyncio twin is ``_queue_aio.py``; the rest is
``_queue_base`` and ``_core/queue.py``."""

from __future__ import annotations

import time
from typing import Any

from ._core.deadlines import chunk_ms
from ._core.wire import text
from ._exceptions import translate
from ._log import log_warning
from ._queue_base import WAKE_TTL_MS
from ._tail import entries_of, max_block_ms


def notify(client: Any, key: str) -> None:
    """Tell blocked workers of a push (a hint: a failure is only logged, the
    push itself has succeeded and idle workers rescan now and then)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(key, {"push": "1"}, maxlen=1, approximate=False)
        pipe.pexpire(key, WAKE_TTL_MS)
        pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not wake workers of %s: %s", key, exc)


def await_wake(client: Any, key: str, after: str, deadline: float) -> str:
    """Block on the wake-up stream until an entry after ``after`` arrives
    or ``deadline`` (monotonic) passes; the newest id seen."""
    cap = max_block_ms(client)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return after
        try:
            reply = client.xread({key: after}, count=1, block=min(cap, chunk_ms(deadline, now)))
        except Exception as exc:
            raise translate(exc) from exc
        for _key, entries in entries_of(reply):
            if entries:
                return text(entries[-1][0])
