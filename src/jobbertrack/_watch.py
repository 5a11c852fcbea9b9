"""Observing, synchronously: the event iterator and ``wait``.  The merge
is ``_core.events``, the loop ``_follow``; this module only moves bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ._client_state import client_state
from ._core.deadlines import chunk_ms
from ._core.events import Event, ends_job, iter_xread
from ._core.keys import Keyspace
from ._core.wire import text
from ._exceptions import JobberTrackError, translate
from ._follow import PAGE, BlockingRead, StreamReads, events_plan
from ._ops import Read
from ._run import ensure_layout
from ._tail import StreamTail, max_block_ms


def read_step(client: Any, tail: StreamTail, step: StreamReads | BlockingRead) -> Any:
    """One read of ``events_plan``'s."""
    if isinstance(step, BlockingRead):
        return tail.read(step.streams, step.block_ms)
    return step.build(client).execute()


def iter_events(client: Any, keys: Keyspace, since: str | None, block: float | None) -> Iterator[Event]:
    steps = events_plan(keys, since, block)
    try:
        step = next(steps)  # since and block are checked here, before any I/O
    except StopIteration:
        return
    ensure_layout(client_state(client), [Read(keys.events_key(0))])  # a layout it knows, first
    tail = StreamTail(client, PAGE)
    try:
        while True:
            reply = None if isinstance(step, Event) else read_step(client, tail, step)
            if isinstance(step, Event):
                yield step
            step = steps.send(reply)
    except StopIteration:
        return
    except (GeneratorExit, JobberTrackError):
        raise
    except Exception as exc:
        raise translate(exc) from exc
    finally:
        tail.close()


def last_stream_id(client: Any, key: str) -> str:
    """The newest id of a stream ("0-0" when empty or missing)."""
    try:
        entries = client.xrevrange(key, "+", "-", count=1)
    except Exception as exc:
        raise translate(exc) from exc
    return text(entries[0][0]) if entries else "0-0"


def wait_for_final(client: Any, key: str, after: str, job_id: str, deadline: float) -> bool:
    """BlockingRead on one shard's stream until an event ends ``job_id`` (True) or
    the deadline passes (False).  ``after``: the stream id read before the
    caller last checked the job's state, so no event can slip between."""
    position = after
    cap = max_block_ms(client)
    try:
        while time.monotonic() < deadline:
            reply = client.xread(
                {key: position}, count=500, block=min(chunk_ms(deadline, time.monotonic()), cap)
            )
            for _key, entry_id, fields in iter_xread(reply):
                position = entry_id
                if fields.get("job") == job_id and ends_job(fields):
                    return True
    except Exception as exc:
        raise translate(exc) from exc
    return False
