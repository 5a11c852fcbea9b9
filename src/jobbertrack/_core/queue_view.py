"""A queue seen from above, without I/O: its numbers (``queue_stats``),
the queues a namespace has (``queues``), and pausing (issue 23).

Each is one script per shard, pipelined (``qstats.lua``, ``queues.lua``,
``pause.lua``, ``resume.lua``), reading counts from the shard's ``queue``
zset in O(log n): no job is read.  The shards' replies are merged here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .calls import Call
from .keys import Keyspace
from .wire import text

#: The most queue names one shard reports (``queues.lua``).
MAX_QUEUES = 10_000


def qstats_calls(keys: Keyspace, queue: str) -> list[Call]:
    return [Call("qstats", keys.shard_keys(s), (queue,)) for s in range(keys.shards)]


def pause_calls(keys: Keyspace, queue: str) -> list[Call]:
    return [Call("pause", keys.shard_keys(s), (queue,)) for s in range(keys.shards)]


def resume_calls(keys: Keyspace, queue: str) -> list[Call]:
    return [Call("resume", keys.shard_keys(s), (queue,)) for s in range(keys.shards)]


def queues_calls(keys: Keyspace) -> list[Call]:
    return [Call("queues", keys.shard_keys(s), (MAX_QUEUES,)) for s in range(keys.shards)]


def merge_qstats(queue: str, replies: Sequence[Any], workers: int) -> dict[str, Any]:
    """The shards' ``qstats`` replies as ``queue_stats`` returns them: the
    counts summed, the longest wait of a ready job (seconds, 0.0 when none
    is ready: each shard measures against its own clock), paused when any
    shard holds the marker (``pause`` writes every shard)."""
    waiting = delayed = running = 0
    oldest = 0.0
    paused = False
    for reply in replies:
        now, ready = int(reply[0]), int(reply[1])
        waiting += ready
        delayed += int(reply[2])
        running += int(reply[3])
        first = text(reply[4])
        if first:
            oldest = max(oldest, (now - int(first)) / 1000)
        paused = paused or int(reply[5]) == 1
    return {
        "name": queue,
        "waiting": waiting,
        "delayed": delayed,
        "running": running,
        "oldest_wait_s": oldest,
        "paused": paused,
        "workers": workers,
    }


def served_queues(workers: Sequence[dict[str, Any]]) -> list[str]:
    """The queues the registry's workers serve."""
    return [q for w in workers for q in w.get("queues", ()) if isinstance(q, str)]


def merge_queues(replies: Sequence[Any], worker_queues: Sequence[str] = ()) -> list[str]:
    """The shards' ``queues`` replies, with the queues live workers serve:
    every name once, sorted."""
    names = set(worker_queues)
    for with_entries, paused in replies:
        names.update(text(n) for n in with_entries)
        names.update(text(n) for n in paused)
    return sorted(names)
