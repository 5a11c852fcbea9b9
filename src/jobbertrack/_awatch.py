"""Observing, with asyncio: the event iterator, and the hub that wakes
every ``wait()`` of a client from one blocking XREAD (so 100 waiters need
one connection, not 100).  Twin of ``_watch.py``; merge logic in
``_core.events``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ._acancel import SETTLE_S, uncancellable_by_redis
from ._acancel import drain as drain_reads
from ._arun import aensure_layout, arun_many
from ._client_state import ClientState, client_state
from ._core.events import Event, ends_job, iter_xread, newest_ids
from ._core.keys import Keyspace
from ._exceptions import JobberTrackError, translate
from ._follow import PAGE, BlockingRead, StreamReads, events_plan, newest_reads
from ._ops import Read
from ._resource_base import ResourceBase
from ._tail import entries_of, fresh_items, is_cluster, max_block_ms, raise_any


async def anewest(client: Any, keys: Keyspace) -> list[str]:
    """Each shard's newest event id (for the wait hub)."""
    try:
        return newest_ids(await newest_reads(keys).build(client).execute())
    except Exception as exc:
        raise translate(exc) from exc


async def aread_step(client: Any, tail: AStreamTail, step: StreamReads | BlockingRead) -> Any:
    """Twin of ``_watch.read_step``."""
    if isinstance(step, BlockingRead):
        return await tail.read(step.streams, step.block_ms)
    return await step.build(client).execute()


async def aiter_events(
    client: Any, keys: Keyspace, since: str | None, block: float | None
) -> AsyncIterator[Event]:
    steps = events_plan(keys, since, block)
    try:
        step = next(steps)  # since and block are checked here, before any I/O
    except StopIteration:
        return
    await aensure_layout(client_state(client), [Read(keys.events_key(0))])  # a layout it knows, first
    tail = AStreamTail(client, PAGE)
    try:
        while True:
            reply = None if isinstance(step, Event) else await aread_step(client, tail, step)
            if isinstance(step, Event):
                yield step
            step = steps.send(reply)
    except StopIteration:
        return
    except (GeneratorExit, asyncio.CancelledError, JobberTrackError):
        raise
    except Exception as exc:
        raise translate(exc) from exc
    finally:
        await tail.close()


class WaitHub:
    """Wakes waiters of one namespace when an event ends their job, and
    batches their state checks, so N concurrent waiters use two connections
    (one blocking XREAD, one pipeline of checks), not N.

    Invariant: a waiter registers *before* it checks the job's state, and
    the hub's stream positions were read before that registration, so an
    event that ends the job after the check is always seen by the hub.

    The hub lives in the client's state, which holds the client weakly;
    so the hub reaches the client only through that state (a strong
    reference here would keep every client that ever waited alive).  While
    it reads, its task holds the client, as any call in flight does."""

    def __init__(self, keys: Keyspace, cs: ClientState) -> None:
        self.keys, self.cs = keys, cs
        self.waiters: dict[str, set[asyncio.Future[None]]] = {}
        self.positions: dict[str, str] | None = None
        self.task: asyncio.Task[None] | None = None
        self._init: asyncio.Task[dict[str, str]] | None = None
        self._pending: list[tuple[ResourceBase, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._tail: AStreamTail | None = None

    async def register(self, job_id: str) -> asyncio.Future[None]:
        if self.positions is None:
            if self._init is None or self._init.done():
                self._init = asyncio.create_task(self._newest_ids())
            positions = await asyncio.shield(self._init)
            if self.positions is None:
                self.positions = dict(positions)
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

    async def refresh(self, job: ResourceBase) -> None:
        """``job.refresh()``, batched with the other waiters' checks."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the waiters started in this tick join the batch
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                replies = await arun_many(self.cs, [job._core.get(job.id) for job, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (job, future), reply in zip(batch, replies, strict=True):
                if future.done():  # its waiter was cancelled
                    continue
                try:
                    job._apply(reply, "get")
                except Exception as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(None)

    async def _newest_ids(self) -> dict[str, str]:
        ids = await anewest(self.cs.client, self.keys)
        return {self.keys.events_key(s): i for s, i in enumerate(ids)}

    async def _run(self) -> None:
        try:
            self._tail = AStreamTail(self.cs.client, PAGE)
            while self.waiters and self.positions is not None:
                self._dispatch(await self._tail.read(self.positions, 1000))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # wake everyone with the error
            for futures in self.waiters.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(translate(exc))
        finally:
            if self._tail is not None:
                tail, self._tail = self._tail, None  # it holds the client
                await tail.close()
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
        for task in (self.task, self._flusher, self._init):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class AStreamTail:
    """Asyncio twin of ``_tail.StreamTail``.

    On a cluster each shard's stream is followed by its own task.  Every
    blocking XREAD goes through ``uncancellable_by_redis``: redis-py can
    swallow a cancellation that lands during one (``_acancel``), and a
    follower also stops on ``_closed``."""

    def __init__(self, client: Any, page: int) -> None:
        self.client, self.page = client, page
        self.cluster = is_cluster(client)
        self.block_cap = max_block_ms(client)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._reads: set[asyncio.Future[Any]] = set()  # XREADs in flight (they hold the client)
        self._closed = False

    async def read(self, positions: dict[str, str], block_ms: int) -> list[list[Any]]:
        if not self.cluster:
            block = min(block_ms, self.block_cap)
            read = self.client.xread(positions, count=self.page, block=block)
            return entries_of(await uncancellable_by_redis(read, self._reads))
        if any(key not in self._tasks or self._tasks[key].done() for key in positions):
            # A fresh cluster client that starts many XREADs at once races
            # in redis-py (each looks its keys up on a connection that the
            # first one's discovery replaces); discovering first avoids it.
            await self.client.initialize()
        for key, position in positions.items():
            if key not in self._tasks or self._tasks[key].done():
                self._tasks[key] = asyncio.create_task(self._follow(key, position))
        out: list[Any] = []
        try:
            out.append(await asyncio.wait_for(self._queue.get(), block_ms / 1000))
            while not self._queue.empty():
                out.append(self._queue.get_nowait())
        except asyncio.TimeoutError:
            pass
        return raise_any(out)

    async def _follow(self, key: str, position: str) -> None:
        while not self._closed:
            try:
                read = self.client.xread({key: position}, count=self.page, block=self.block_cap)
                reply = await uncancellable_by_redis(read, self._reads)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._queue.put(exc)
                return
            if self._closed:  # closed while reading (and the cancellation was lost)
                return
            items, position = fresh_items(reply, position)
            for item in items:
                await self._queue.put(item)

    async def close(self) -> None:
        """Stop the followers and end their XREADs (cancelled again until
        they end: ``_acancel.drain``), so nothing of ours holds the client,
        or outlives its event loop, afterwards."""
        self._closed = True
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await drain_reads(self._reads, self.block_cap / 1000 + SETTLE_S)
