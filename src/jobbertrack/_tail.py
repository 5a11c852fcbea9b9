"""Blocking reads of several shard streams at once.

On one server a single ``XREAD BLOCK`` covers every stream.  On a Redis
Cluster a multi-key command must stay within one hash slot, and each shard
is its own slot, so each stream gets its own blocking reader (a thread, or
an asyncio task, see ``_awatch.AStreamTail``) feeding one queue; readers live
until ``close()``.
Replies keep XREAD's RESP2 shape: ``[[key, [[id, fields], ...]], ...]``.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from ._core.wire import text

BLOCK_MS = 1000


def is_cluster(client: Any) -> bool:
    return hasattr(client, "get_node_from_key") and hasattr(client, "nodes_manager")


def max_block_ms(client: Any, cap: int = 0) -> int:
    """How long one blocking read may block: ``cap`` (default ``BLOCK_MS``),
    or half the client's socket timeout when that is shorter, so that a
    quiet stream is never mistaken for a server that stopped answering."""
    cap = cap or BLOCK_MS
    try:
        getter = getattr(client, "get_connection_kwargs", None)
        kwargs = getter() if callable(getter) else client.connection_pool.connection_kwargs
        timeout = kwargs.get("socket_timeout")
    except Exception:  # not a client we know the insides of
        return cap
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        return cap
    return max(1, min(cap, int(timeout * 500)))


def entries_of(reply: Any) -> list[list[Any]]:
    """An XREAD reply as ``[[key, entries], ...]`` (RESP2's shape)."""
    if isinstance(reply, dict):  # RESP3
        return [[k, v[0]] for k, v in reply.items()]
    return list(reply or [])


def fresh_items(reply: Any, position: str) -> tuple[list[list[Any]], str]:
    """The items of one stream's XREAD reply that hold entries, and the
    stream position after them (``position`` when there are none)."""
    items = [item for item in entries_of(reply) if item[1]]
    return items, text(items[-1][1][-1][0]) if items else position


def raise_any(delivered: list[Any]) -> list[list[Any]]:
    """What the followers delivered; an error among it is raised."""
    for item in delivered:
        if isinstance(item, BaseException):
            raise item
    return delivered


class StreamTail:
    """Sync: ``read(positions, block_ms)`` returns what arrived, or []."""

    def __init__(self, client: Any, page: int) -> None:
        self.client, self.page = client, page
        self.cluster = is_cluster(client)
        self.block_cap = max_block_ms(client)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()

    def read(self, positions: dict[str, str], block_ms: int) -> list[list[Any]]:
        if not self.cluster:
            block = min(block_ms, self.block_cap)
            return entries_of(self.client.xread(positions, count=self.page, block=block))
        for key, position in positions.items():
            if key not in self._threads:
                thread = threading.Thread(
                    target=self._follow, args=(key, position), daemon=True, name=f"jobbertrack-tail-{key}"
                )
                self._threads[key] = thread
                thread.start()
        out: list[Any] = []
        try:
            out.append(self._queue.get(timeout=block_ms / 1000))
            while True:
                out.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return raise_any(out)

    def _follow(self, key: str, position: str) -> None:
        while not self._stop.is_set():
            try:
                reply = self.client.xread({key: position}, count=self.page, block=self.block_cap)
            except Exception as exc:
                self._queue.put(exc)
                return
            items, position = fresh_items(reply, position)
            for item in items:
                self._queue.put(item)

    def close(self) -> None:
        self._stop.set()
