"""The loop of ``events()``, written once, without I/O.

``events_plan`` drives an ``EventReader`` (``_core.events``, the merge of the
shards' streams): it yields what to read next (``StreamReads``: each shard's
newest id for ``since="$"``, or XRANGE of the shards whose buffers ran
dry; ``BlockingRead``: a blocking XREAD of every stream) and gets the replies
back, and yields each ``Event`` in merge order.  The twins
(``_watch.iter_events``, ``_awatch.aiter_events``) only do the reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, NamedTuple

from ._core.deadlines import block_deadline, chunk_ms
from ._core.events import NOW, Event, EventReader, encode_cursor, newest_calls, newest_ids, parse_stream_id
from ._core.keys import Keyspace

#: Stream entries read per XRANGE or XREAD of one stream.
PAGE = 500


class StreamReads(NamedTuple):
    """Reads of streams in one pipeline: ``command`` (a redis-py method)
    with each of ``calls``' arguments."""

    command: str
    calls: Sequence[Sequence[Any]]

    def build(self, client: Any) -> Any:
        """The pipeline, ready to ``execute()``."""
        pipe = client.pipeline(transaction=False)
        for args in self.calls:
            getattr(pipe, self.command)(*args)
        return pipe


class BlockingRead(NamedTuple):
    """A blocking read of every stream after its position, for ``block_ms``."""

    streams: dict[str, str]
    block_ms: int


FollowStep = StreamReads | BlockingRead | Event


def newest_reads(keys: Keyspace) -> StreamReads:
    """The read of each shard's newest event id (see ``newest_ids``)."""
    return StreamReads("xrevrange", newest_calls(keys))


def events_plan(
    keys: Keyspace, since: str | None, block: float | None, clock: Callable[[], float] = time.monotonic
) -> Generator[FollowStep, Any, None]:
    """The plan of ``events(since, block)``: ``block=None`` stops at the end
    of what is there, else each next event is waited for up to ``block``
    seconds (0: for ever).  Send back the replies of a ``StreamReads``, the
    XREAD reply of a ``BlockingRead``, nothing for an ``Event``."""
    if since == NOW:
        since = encode_cursor([parse_stream_id(i) for i in newest_ids((yield newest_reads(keys)))])
    reader = EventReader(keys, since, PAGE)
    deadline = block_deadline(block, clock())
    while True:
        shards = reader.to_fetch()
        if shards:
            replies = yield StreamReads("xrange", [reader.range_args(s) for s in shards])
            for s, entries in zip(shards, replies, strict=True):
                reader.feed(s, entries, complete=len(entries) < reader.page)
            continue
        event = reader.pop()
        if event is not None:
            yield event
            deadline = block_deadline(block, clock())
            continue
        if deadline is None or clock() >= deadline:
            return
        reader.feed_xread((yield BlockingRead(reader.xread_streams(), chunk_ms(deadline, clock()))))
