"""The work queue's I/O of ``jobbertrack.aio.Handler``: the twin of
``_queue_sync.py``, awaited."""

from __future__ import annotations

import time
from typing import Any

from ._acancel import uncancellable_by_redis
from ._core.deadlines import chunk_ms
from ._core.wire import text
from ._exceptions import translate
from ._log import log_warning
from ._queue_base import WAKE_TTL_MS
from ._tail import entries_of, max_block_ms


async def alast_stream_id(client: Any, key: str) -> str:
    """The newest id of a stream ("0-0" when empty or missing)."""
    try:
        entries = await client.xrevrange(key, "+", "-", count=1)
    except Exception as exc:
        raise translate(exc) from exc
    return text(entries[0][0]) if entries else "0-0"


async def notify(client: Any, key: str) -> None:
    """Tell blocked workers of a push (a hint: a failure is only logged, the
    push itself has succeeded and idle workers rescan now and then)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(key, {"push": "1"}, maxlen=1, approximate=False)
        pipe.pexpire(key, WAKE_TTL_MS)
        await pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not wake workers of %s: %s", key, exc)


async def await_wake(client: Any, key: str, after: str, deadline: float) -> str:
    """Block on the wake-up stream until an entry after ``after`` arrives
    or ``deadline`` (monotonic) passes; the newest id seen."""
    cap = max_block_ms(client)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return after
        try:
            read = client.xread({key: after}, count=1, block=min(cap, chunk_ms(deadline, now)))
            reply = await uncancellable_by_redis(read)
        except Exception as exc:
            raise translate(exc) from exc
        for _key, entries in entries_of(reply):
            if entries:
                return text(entries[-1][0])
