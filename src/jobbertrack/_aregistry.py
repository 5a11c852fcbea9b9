"""The worker registry's I/O in asyncio (the twin of ``_registry.py``;
``_core/workers.py`` holds what is written and how it is read)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from ._core.keys import Keyspace
from ._core.wire import text
from ._core.workers import WorkerInfo, ids_ttl_ms, next_beat, read_workers
from ._exceptions import translate
from ._log import log_warning
from ._work_base import WorkStats


async def abeat(client: Any, keys: Keyspace, info: WorkerInfo, record: str) -> None:
    """Write the worker's record for two heartbeat periods (a failure is
    only logged: the worker goes on, and shows again at its next beat)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(keys.worker_key(info.id), record, px=info.ttl_ms)
        pipe.sadd(keys.workers_key(), info.id)
        pipe.pexpire(keys.workers_key(), ids_ttl_ms(info))
        await pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not register worker %s: %s", info.id, exc)


async def aunregister(client: Any, keys: Keyspace, info: WorkerInfo) -> None:
    try:
        pipe = client.pipeline(transaction=False)
        pipe.delete(keys.worker_key(info.id))
        pipe.srem(keys.workers_key(), info.id)
        await pipe.execute()
    except Exception as exc:  # its record expires by itself
        log_warning("jobbertrack: could not unregister worker %s: %s", info.id, exc)


async def aworkers(client: Any, keys: Keyspace, queue: str | None) -> list[dict[str, Any]]:
    """The live workers (of ``queue`` only, when given); drops the ids of
    the dead ones from the set."""
    try:
        ids = sorted(await client.smembers(keys.workers_key()))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.get(keys.worker_key(text(worker_id)))
        live, dead = read_workers(ids, await pipe.execute(), queue)
        if dead:
            await client.srem(keys.workers_key(), *dead)
    except Exception as exc:
        raise translate(exc) from exc
    return live


class AsyncRegistration:
    """A worker's entry in the registry while the ``async with`` block runs
    (the asyncio twin of ``_registry.Registration``): written at once,
    beaten by a task of its own, removed at the end."""

    def __init__(self, client: Any, keys: Keyspace, info: WorkerInfo, stats: WorkStats | None = None) -> None:
        self.client, self.keys, self.info = client, keys, info
        self.stats = stats or WorkStats()
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.info.id

    def begin(self, job_id: str) -> None:
        self.stats.begin(job_id)
        self.changed.set()

    def end(self, job_id: str, outcome: str = "processed") -> None:
        """``outcome``: "processed", "failed" or "cancelled"."""
        self.stats.end(job_id, outcome)
        self.changed.set()

    async def __aenter__(self) -> AsyncRegistration:
        await abeat(self.client, self.keys, self.info, self.stats.record(self.info))
        self._task = asyncio.create_task(self._beats(), name=f"jobbertrack-registry-{self.info.id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await aunregister(self.client, self.keys, self.info)

    async def _beats(self) -> None:
        info = self.info
        last = time.monotonic()
        while True:
            if not self.changed.is_set():  # wait for a change, or the period
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        self.changed.wait(), max(0.0, last + info.beat_s - time.monotonic())
                    )
            await asyncio.sleep(next_beat(self.changed.is_set(), info, last, time.monotonic()))
            self.changed.clear()
            await abeat(self.client, self.keys, info, self.stats.record(info))
            last = time.monotonic()
