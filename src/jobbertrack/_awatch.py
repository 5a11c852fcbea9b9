"""Observing, with asyncio: the event iterator, and the hub that wakes
every ``wait()`` of a client from one blocking XREAD (so 100 waiters need
one connection, not 100).  Twin of ``_watch.py``; merge logic in
``_core.events``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from ._core.events import Event, EventReader, ends_job, iter_xread
from ._core.keys import Keyspace
from ._core.record import text
from ._run import translate
from ._watch import block_deadline, chunk_ms


async def aiter_events(
    client: Any, keys: Keyspace, since: str | None, block: float | None
) -> AsyncIterator[Event]:
    reader = EventReader(keys, since)
    deadline = block_deadline(block)
    try:
        while True:
            shards = reader.to_fetch()
            if shards:
                pipe = client.pipeline(transaction=False)
                for s in shards:
                    key, low, high, count = reader.range_args(s)
                    pipe.xrange(key, low, high, count)
                for s, entries in zip(shards, await pipe.execute(), strict=True):
                    reader.feed(s, entries, complete=len(entries) < reader.page)
                continue
            event = reader.pop()
            if event is not None:
                yield event
                deadline = block_deadline(block)
                continue
            if deadline is None or time.monotonic() >= deadline:
                return
            reply = await client.xread(reader.xread_streams(), count=reader.page, block=chunk_ms(deadline))
            reader.feed_xread(reply)
    except (GeneratorExit, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise translate(exc) from exc


class WaitHub:
    """Wakes waiters of one namespace when an event ends their job.

    Invariant: a waiter registers *before* it reads the job's state, and the
    hub's stream positions were read before that registration, so an event
    that ends the job after the read is always seen by the hub."""

    def __init__(self, client: Any, keys: Keyspace) -> None:
        self.client, self.keys = client, keys
        self.waiters: dict[str, set[asyncio.Future[None]]] = {}
        self.positions: dict[str, str] | None = None
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def register(self, job_id: str) -> asyncio.Future[None]:
        if self.positions is None:
            pipe = self.client.pipeline(transaction=False)
            for s in range(self.keys.shards):
                pipe.xrevrange(self.keys.events_key(s), "+", "-", count=1)
            try:
                newest = await pipe.execute()
            except Exception as exc:
                raise translate(exc) from exc
            if self.positions is None:  # another waiter may have filled it meanwhile
                self.positions = {
                    self.keys.events_key(s): text(n[0][0]) if n else "0-0" for s, n in enumerate(newest)
                }
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(job_id, set()).add(future)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="jobbertrack-wait-hub")
        return future

    def unregister(self, job_id: str, future: asyncio.Future[None]) -> None:
        futures = self.waiters.get(job_id)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self.waiters[job_id]

    async def _run(self) -> None:
        try:
            while self.waiters and self.positions is not None:
                reply = await self.client.xread(self.positions, count=500, block=1000)
                self._dispatch(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # wake everyone: each waiter re-reads and decides
            for futures in self.waiters.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(translate(exc))
        finally:
            if not self.waiters:
                self.positions = None

    def _dispatch(self, reply: Any) -> None:
        assert self.positions is not None
        for key, entry_id, fields in iter_xread(reply):
            self.positions[key] = entry_id
            if ends_job(fields):
                for future in self.waiters.get(fields.get("job", ""), ()):
                    if not future.done():
                        future.set_result(None)

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
