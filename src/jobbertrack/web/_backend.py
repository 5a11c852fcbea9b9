"""The handler the app serves, seen as awaitables.

An ``jobbertrack.aio.Handler`` is awaited as it is; a sync
``jobbertrack.Handler`` runs each call in a worker thread, so one app
module serves both.  Everything here goes through the public API.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from anyio import to_thread

import jobbertrack
import jobbertrack.aio


class WrongHandler(jobbertrack.JobberTrackError, TypeError):
    """create_app() was given something that is not a handler."""


class Backend:
    """Awaitable access to one handler of either layer."""

    def __init__(self, handler: Any) -> None:
        if not isinstance(handler, (jobbertrack.Handler, jobbertrack.aio.Handler)):
            kind = type(handler).__name__
            raise WrongHandler(
                f"create_app() needs a jobbertrack.aio.Handler or jobbertrack.Handler, not {kind}"
            )
        self.handler: Any = handler
        self.is_async = isinstance(handler, jobbertrack.aio.Handler)

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            result = method(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        return await to_thread.run_sync(lambda: method(*args, **kwargs))

    async def counts(self, **filters: Any) -> dict[str, int]:
        """Live jobs per state; with ``tag=``/``queue=``, those of the filter."""
        result: dict[str, int] = await self._call(self.handler.counts, **filters)
        return result

    async def list_jobs(
        self, states: list[str] | None, limit: int, cursor: str | None, **filters: Any
    ) -> tuple[list[Any], str | None]:
        """A page of ``list`` (``filters``: its tag, queue, name, created_after, created_before)."""
        page = await self._call(self.handler.list, states or None, limit=limit, cursor=cursor, **filters)
        return list(page), page.cursor

    async def get(self, job_id: str) -> Any:
        """The job, or JobExpired / JobNotFound."""
        job = await self._call(self.handler.get, job_id)
        if job is None:
            said = await self._call(self.handler.status, job_id)
            if said == "expired":
                raise jobbertrack.JobExpired(job_id)
            raise jobbertrack.JobNotFound(
                job_id, f"job {job_id!r} was deleted" if said == "deleted" else None
            )
        return job

    async def create_group(self, timeout: Any, **kwargs: Any) -> Any:
        return await self._call(self.handler.create_group, timeout, **kwargs)

    async def children(
        self, group: Any, state: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        """A page of a group's children, newest first, and the next page's cursor."""
        page = await self._call(group.children, state, limit=limit, cursor=cursor)
        return list(page), page.cursor

    async def get_many(self, ids: list[str]) -> list[Any]:
        result: list[Any] = await self._call(self.handler.get_many, ids)
        return result

    async def create(self, timeout: Any, **kwargs: Any) -> Any:
        return await self._call(self.handler.create, timeout, **kwargs)

    async def push(self, queue: str, **options: Any) -> Any:
        return await self._call(self.handler.push, options.pop("data", None), queue=queue, **options)

    async def move(self, job: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call(getattr(job, method), *args, **kwargs)

    async def delete(self, job_id: str) -> None:
        """Delete the job; JobNotFound (JobExpired) when there is none."""
        if not await self._call(self.handler.delete, job_id):
            await self.get(job_id)  # raises what is known of it
            raise jobbertrack.JobNotFound(job_id)

    async def retry_all(self, state: str, queue: str | None, limit: int) -> int:
        result: int = await self._call(self.handler.retry_all, state, queue=queue, limit=limit)
        return result

    async def clean(self, state: str, older_than: float, limit: int) -> int:
        result: int = await self._call(self.handler.clean, state, older_than=older_than, limit=limit)
        return result

    # -- the fleet: queues and workers (``Handler.queues`` and the rest) --

    async def queues(self) -> list[str]:
        """Names of the queues with a live job, paused, or with a live worker, sorted."""
        result: list[str] = await self._call(self.handler.queues)
        return list(result)

    async def queue_stats(self, queue: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(self.handler.queue_stats, queue)
        return result

    async def fleet(self) -> list[dict[str, Any]]:
        """Every queue's stats, in ``queues()``'s order (the calls auto-pipelined)."""
        names = await self.queues()
        return list(await asyncio.gather(*(self.queue_stats(name) for name in names)))

    async def pause(self, queue: str) -> None:
        await self._call(self.handler.pause, queue)

    async def resume(self, queue: str) -> None:
        await self._call(self.handler.resume, queue)

    async def workers(self, queue: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(self.handler.workers, queue)
        return list(result)

    async def sweep(self) -> int:
        result: int = await self._call(self.handler.sweep)
        return result

    async def events(self, since: str | None, block: float | None) -> AsyncIterator[jobbertrack.Event]:
        """The handler's events; a sync handler's blocking reads run in a thread."""
        if self.is_async:
            stream: AsyncIterator[jobbertrack.Event] = self.handler.events(since=since, block=block)
            async for event in stream:
                yield event
            return
        iterator: Iterator[jobbertrack.Event] = self.handler.events(since=since, block=block)
        done, lock = object(), threading.Lock()

        def step() -> object:
            with lock:
                return next(iterator, done)

        def close() -> None:
            with lock:  # after a read abandoned on cancel has ended (within ``block``)
                closer = getattr(iterator, "close", None)  # a generator: its blocking connection goes back
                if closer is not None:
                    closer()

        try:
            while True:
                # abandoned on cancel: a blocking read ends by itself within ``block``
                item: object = await to_thread.run_sync(step, abandon_on_cancel=True)
                if not isinstance(item, jobbertrack.Event):
                    return
                yield item
        finally:
            threading.Thread(target=close, name="jobbertrack-events-close", daemon=True).start()

    async def aclose_client(self) -> None:
        """Close the client (for an app that made its own)."""
        client = self.handler.client
        closer = getattr(client, "aclose", None) or getattr(client, "close", None)
        if closer is not None:
            result = closer()
            if inspect.isawaitable(result):
                await result


def is_group(job: Any) -> bool:
    """Whether ``job`` (of either layer) is a group (``Handler.create_group``)."""
    return isinstance(job, (jobbertrack.Group, jobbertrack.aio.Group))


#: Keys every job answer carries (None when the job has no such value yet),
#: whatever ``get_value()`` leaves out: clients read one stable shape.
JOB_KEYS = (
    "state",
    "name",
    "data",
    "input",
    "result",
    "progress",
    "error",
    "created_at",
    "started_at",
    "ended_at",
    "expires_at",
)


def job_json(job: Any) -> dict[str, Any]:
    """A job as the API shows it: ``get_value()`` with its ``id``, and
    ``problems`` always ([] for a healthy record; a malformed one has
    ``"state": null`` and each bad field in ``problems``)."""
    value: dict[str, Any] = {"id": job.id}
    value.update(job.get_value())
    value["id"] = job.id
    for key in JOB_KEYS:
        value.setdefault(key, None)
    value.setdefault("problems", [])
    value.setdefault("tags", [])
    return value


def history_json(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat(timespec="milliseconds") if hasattr(v, "isoformat") else v) for k, v in e.items()}
        for e in entries
    ]


#: A queue's stats as the API shows them (``Handler.queue_stats``), in this order.
QUEUE_KEYS = ("name", "waiting", "delayed", "running", "oldest_wait_s", "paused", "workers")
#: A worker as the API shows it (``Handler.workers``), in this order.
WORKER_KEYS = (
    "id",
    "host",
    "pid",
    "queues",
    "concurrency",
    "started_at",
    "last_seen",
    "jobs",
    "processed",
    "failed",
)


def _plain(value: Any) -> Any:
    """A time as ISO 8601 text, anything else as it is."""
    return value.isoformat(timespec="milliseconds") if hasattr(value, "isoformat") else value


def queue_json(stats: dict[str, Any]) -> dict[str, Any]:
    """A queue's stats with exactly the keys of the contract."""
    return {key: _plain(stats.get(key)) for key in QUEUE_KEYS}


def worker_json(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker with exactly the keys of the contract (lists stay lists)."""
    value = {key: _plain(worker.get(key)) for key in WORKER_KEYS}
    value["queues"] = list(value["queues"] or [])
    value["jobs"] = list(value["jobs"] or [])
    return value


def event_json(event: jobbertrack.Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "job_id": event.job_id,
        "state": str(event.state.value),
        "at": event.at.isoformat(timespec="milliseconds"),
        "progress": event.progress,
        "error": event.error,
        "cursor": event.cursor,
    }


def event_order(event_id: str) -> tuple[int, int, int]:
    """Merge order of an event id ``"<shard>:<ms>-<seq>"``: (ms, seq, shard)."""
    shard, _, position = event_id.partition(":")
    ms, _, seq = position.partition("-")
    return int(ms), int(seq or 0), int(shard)


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Stop ``task`` and wait for its end.

    redis-py's asyncio client can swallow a cancellation that lands while it
    connects (measured with redis-py 8.1: the call returns normally and the
    task reads on, a blocking XREAD for seconds), so the task is cancelled
    again until it has ended."""
    if task is None or task.done():
        return
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.05)
    with contextlib.suppress(asyncio.CancelledError, Exception):  # a stopped task's end is not news
        await task
