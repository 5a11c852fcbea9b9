"""Observing, synchronously: the event iterator and ``wait``.  The merge
logic is ``_core.events``; this module only moves bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ._base import FOREVER_S
from ._core.events import NOW, Event, EventReader, ends_job, iter_xread, newest_calls, newest_ids
from ._core.keys import Keyspace
from ._core.record import text
from ._exceptions import InvalidTimeout
from ._run import translate
from ._tail import Tail, max_block_ms

CHUNK_MS = 1000  # longest single XREAD BLOCK: stays under socket timeouts


def block_deadline(block: float | None) -> float | None:
    """Monotonic time after which waiting for a next event stops (inf: never)."""
    if block is None:
        return None
    if isinstance(block, bool) or not isinstance(block, (int, float)) or not block >= 0:
        raise InvalidTimeout(f"block must be a number of seconds >= 0 (0: for ever), not {block!r}")
    return float("inf") if block == 0 or block > FOREVER_S else time.monotonic() + block


def chunk_ms(deadline: float) -> int:
    left = deadline - time.monotonic()
    return max(1, min(CHUNK_MS, int(left * 1000))) if left != float("inf") else CHUNK_MS


def newest(client: Any, keys: Keyspace) -> str:
    """A cursor after every event written so far (``since="$"``)."""
    pipe = client.pipeline(transaction=False)
    for key, high, low, count in newest_calls(keys):
        pipe.xrevrange(key, high, low, count)
    try:
        return "c:" + ",".join(newest_ids(pipe.execute()))
    except Exception as exc:
        raise translate(exc) from exc


def iter_events(client: Any, keys: Keyspace, since: str | None, block: float | None) -> Iterator[Event]:
    reader = EventReader(keys, newest(client, keys) if since == NOW else since)
    deadline = block_deadline(block)
    tail = Tail(client, reader.page)
    try:
        while True:
            shards = reader.to_fetch()
            if shards:
                pipe = client.pipeline(transaction=False)
                for s in shards:
                    key, low, high, count = reader.range_args(s)
                    pipe.xrange(key, low, high, count)
                for s, entries in zip(shards, pipe.execute(), strict=True):
                    reader.feed(s, entries, complete=len(entries) < reader.page)
                continue
            event = reader.pop()
            if event is not None:
                yield event
                deadline = block_deadline(block)
                continue
            if deadline is None or time.monotonic() >= deadline:
                return
            reader.feed_xread(tail.read(reader.xread_streams(), chunk_ms(deadline)))
    except GeneratorExit:
        raise
    except Exception as exc:
        raise translate(exc) from exc
    finally:
        tail.close()


def last_stream_id(client: Any, key: str) -> str:
    """The newest id of a stream ("0-0" when empty or missing)."""
    try:
        newest = client.xrevrange(key, "+", "-", count=1)
    except Exception as exc:
        raise translate(exc) from exc
    return text(newest[0][0]) if newest else "0-0"


def wait_for_final(client: Any, key: str, after: str, job_id: str, deadline: float) -> bool:
    """Block on one shard's stream until an event ends ``job_id`` (True) or
    the deadline passes (False).  ``after``: the stream id read before the
    caller last checked the job's state, so no event can slip between."""
    position = after
    cap = max_block_ms(client)
    try:
        while time.monotonic() < deadline:
            reply = client.xread({key: position}, count=500, block=min(chunk_ms(deadline), cap))
            for _key, entry_id, fields in iter_xread(reply):
                position = entry_id
                if fields.get("job") == job_id and ends_job(fields):
                    return True
    except Exception as exc:
        raise translate(exc) from exc
    return False
