"""The asyncio API: the same names as ``jobbertrack``, for
``redis.asyncio.Redis``, every I/O method awaited.  Same methods, same
order as ``_sync.py``; all logic lives in the shared core."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from ._autopipe import aread_hash, arun
from ._awatch import WaitHub, aiter_events
from ._base import UNSET, HandlerBase, ResourceBase, check_ids, maybe_due, settled, wait_deadline, wake_at
from ._core.calls import Core, error_details, progress_details
from ._core.codec import optional_ms
from ._core.events import Event
from ._core.ids import check_id, new_id
from ._core.listing import Cursor, JobList, ListPlan, count_calls, merge_counts, states_of
from ._core.record import text
from ._core.sweeping import SweepPlan
from ._core.transitions import State
from ._exceptions import (
    InvalidData,
    InvalidJobId,
    InvalidTimeout,
    InvalidTransition,
    InvalidURL,
    JobberTrackError,
    JobExists,
    JobExpired,
    JobNotFound,
    RedisCommandError,
    RedisUnavailable,
    WaitTimeout,
)
from ._log import log_warning
from ._run import aread_hashes, arun_many
from ._running import Run, heartbeat_interval
from ._scripts import Registry


async def _aread_job(reg: Registry, core: Core, job_id: str) -> Any:
    """A job's record: one HGETALL; read again through the settling ``get``
    script only when it is running and may be past its lease or run time
    (by this host's clock, with a margin), so readers never see a dead
    worker's job as running.  Empty or None when the job is gone."""
    record: Any = await aread_hash(reg, core.keys.job_key(job_id))
    if maybe_due(record):
        record = settled(await arun(reg, core.get(job_id)))
    return record


class Resource(ResourceBase):
    """One job, bound to a ``redis.asyncio.Redis`` client."""

    _asyncio = True

    async def start(self, lease: float | None = None, max_runtime: float | None = None) -> Resource:
        """waiting -> running (see ``jobbertrack.Resource.start``)."""
        call = self._core.transition(
            self.id,
            State.RUNNING,
            lease_ms=optional_ms(lease, "lease"),
            max_runtime_ms=optional_ms(max_runtime, "max_runtime"),
        )
        self._apply(await arun(self._registry, call), "running", call)
        return self

    async def finish(self, data: Any = None) -> Resource:
        """running -> finished, storing ``data`` (any JSON value)."""
        call = self._core.transition(self.id, State.FINISHED, data=data)
        self._apply(await arun(self._registry, call), "finished", call)
        return self

    async def fail(self, error: object = None, *, traceback: bool = False) -> Resource:
        """running -> failed, with ``error``: None, a message, an exception
        (its type and message; the traceback if ``traceback=True``), or a
        dict of details merged into the stored error."""
        details = error_details(error, with_traceback=traceback)
        call = self._core.transition(self.id, State.FAILED, error=details)
        self._apply(await arun(self._registry, call), "failed", call)
        return self

    async def heartbeat(self) -> Resource:
        """Show the job's worker is alive (renews its lease)."""
        self._apply(await arun(self._registry, self._core.touch(self.id)), "running")
        return self

    async def set_progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> Resource:
        """Report progress of a running job (also renews its lease)."""
        call = self._core.touch(self.id, progress_details(current, total, message))
        self._apply(await arun(self._registry, call), "running")
        return self

    async def refresh(self) -> Resource:
        """Reload the local copy from Redis (JobExpired if the record is gone)."""
        self._take(await _aread_job(self._registry, self._core, self.id))
        return self

    async def wait(self, timeout: float | None = None) -> Resource:
        """Wait until the job is finished or failed, woken by the client's
        shared event hub (no polling); WaitTimeout after ``timeout`` seconds,
        JobExpired if its record expires first."""
        hub = _hub(self)
        until = wait_deadline(timeout)
        future = await hub.register(self.id)  # before the check: no event slips by
        try:
            await self._first_check(hub)
            while not self.is_final:
                left = wake_at(self._fields, until) - time.monotonic()
                try:
                    await asyncio.wait_for(
                        asyncio.shield(future), None if left == float("inf") else max(0, left)
                    )
                except asyncio.TimeoutError:
                    await hub.refresh(self)  # expiry or lease due: the read settles it
                    if not self.is_final and time.monotonic() >= until:
                        raise WaitTimeout(self.id, timeout or 0) from None
                    continue
                hub.unregister(self.id, future)
                future = await hub.register(self.id)
                await hub.refresh(self)
            return self
        finally:
            hub.unregister(self.id, future)

    async def _first_check(self, hub: WaitHub) -> None:
        try:
            await hub.refresh(self)
        except JobNotFound:
            if self._known:
                raise
            status = await arun(self._registry, self._core.status(self.id))
            raise HandlerBase._missing(self.id, status) from None

    @contextlib.asynccontextmanager
    async def running(
        self,
        lease: float | None = None,
        max_runtime: float | None = None,
        *,
        heartbeat: float | None = None,
        traceback: bool = False,
    ) -> AsyncIterator[Run]:
        """Start the job, heartbeat in a task while the block runs, then
        finish it with ``run.result`` or fail it with the block's exception."""
        interval = heartbeat_interval(lease, heartbeat)
        await self.start(lease=lease, max_runtime=max_runtime)
        handle = Run(self)
        beater = None if interval is None else asyncio.create_task(self._beat(handle, interval))
        try:
            yield handle
        except BaseException as exc:
            await _cancel(beater)
            with contextlib.suppress(JobberTrackError):  # lost already: keep the block's error
                await self.fail(exc, traceback=traceback)
            raise
        finally:
            await _cancel(beater)
        try:
            await self.finish(handle.result)
        except InvalidData as exc:  # a result that cannot be stored: the job fails, saying why
            with contextlib.suppress(JobberTrackError):
                await self.fail(exc)
            raise

    async def _beat(self, handle: Run, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.heartbeat()
            except InvalidTransition as exc:  # the job was failed under us
                handle.lost = exc
                return
            except JobberTrackError as exc:  # Redis hiccup: try again next beat
                log_warning("heartbeat of job %s failed: %s", self.id, exc)


def _hub(job: ResourceBase) -> WaitHub:
    hubs = job._registry.hubs
    hub = hubs.get(job._core.keys.namespace)
    if hub is None or hub.keys is not job._core.keys:
        hub = hubs[job._core.keys.namespace] = WaitHub(job._core.keys, job._registry)
    return hub


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ResourceFactory:
    """Makes resources.  Override ``create`` to choose your own ids."""

    resource_class: type[Resource] = Resource

    def create(self, client: Any) -> Resource:
        return self.resource_class(client, new_id())

    def load(self, client: Any, id: str, reply: Any) -> Resource:
        resource = self.resource_class(client, id)
        resource.set_value(reply)
        return resource


class Handler(HandlerBase):
    """Creates and finds jobs of one namespace, for ``redis.asyncio.Redis``."""

    _plain_types = (ResourceFactory, Resource)
    _asyncio = True

    def _default_factory(self) -> ResourceFactory:
        return ResourceFactory()

    async def create(
        self, timeout: float | None = None, *, data: Any = UNSET, name: str | None = None
    ) -> Resource:
        """A new job in state ``waiting`` whose record lives ``timeout`` seconds."""
        self._timeout_ms(timeout)
        job: Resource = self._adopt(self.resource_factory.create(self.client))
        call = self._create_call(job, timeout, data, name)
        job._apply(await arun(self._reg, call), "waiting", call)
        return job

    async def get(self, id: str) -> Resource | None:
        """The job with this id, or None when it is unknown or expired."""
        job_id = check_id(id)
        job: Resource | None = self._load_fields(job_id, await _aread_job(self._reg, self._core, job_id))
        return job

    async def create_many(
        self,
        count: int,
        timeout: float | None = None,
        *,
        data: Any = UNSET,
        name: str | None = None,
        batch: int = 1000,
    ) -> list[Resource]:
        """``count`` new jobs in one pipelined round trip (per node)."""
        jobs, rounds = self._create_plan(count, timeout, data, name, batch)
        by_id = {job.id: job for job in jobs}
        for batches in rounds:
            self._created(by_id, batches, await arun_many(self._reg, [call for _, call in batches]))
        return jobs

    async def get_many(self, ids: Iterable[str]) -> list[Resource | None]:
        """Jobs for ``ids`` in one pipelined round trip (per node), None where
        missing.  Running jobs that may be past their lease or run time are
        read again through the settling script (a second round, only then)."""
        check_ids(ids)
        wanted = [check_id(i) for i in ids]
        records: list[Any] = await aread_hashes(self._reg, [self._core.keys.job_key(i) for i in wanted])
        due = [n for n, fields in enumerate(records) if maybe_due(fields)]
        if due:
            replies = await arun_many(self._reg, [self._core.get(wanted[n]) for n in due])
            for n, reply in zip(due, replies, strict=True):
                records[n] = settled(reply)
        return [self._load_fields(i, fields) for i, fields in zip(wanted, records, strict=True)]

    async def count(self, state: str | State | Iterable[str | State] | None) -> int:
        """Live jobs in ``state``; see ``jobbertrack.Handler.count``."""
        wanted = states_of(state)
        counts = await self.counts()
        return sum(counts[s.value] for s in wanted)

    async def counts(self) -> dict[str, int]:
        """Live jobs per state: all four states, one pipelined call per shard."""
        return merge_counts(await arun_many(self._reg, count_calls(self._core.keys)))

    async def status(self, id: str) -> str:
        """The job's state, ``"expired"`` (tombstone) or ``"unknown"``."""
        return text(await arun(self._reg, self._core.status(id)))

    async def history(self, id: str) -> list[dict[str, Any]]:
        """The job's transitions, oldest first; [] when unknown or expired."""
        job = await self.get(id)
        return [] if job is None else job.history()

    def events(self, since: str | None = None, block: float | None = None) -> AsyncIterator[Event]:
        """The namespace's events (``async for``); see ``jobbertrack.Handler.events``."""
        return aiter_events(self.client, self._core.keys, since, block)

    async def wait(self, id: str, timeout: float | None = None) -> Resource:
        """The job once it is finished or failed (see ``Resource.wait``)."""
        job: Resource = self._adopt(self.resource_factory.load(self.client, check_id(id), {}))
        return await job.wait(timeout)  # its first check is batched with other waiters'

    async def sweep(self) -> int:
        """Fail every running job whose lease or maximum run time has run
        out, and tidy expired index entries; return how many this call failed."""
        plan = SweepPlan(self._core)
        calls = plan.scan_calls()
        while calls:
            plan.after_settle(await arun_many(self._reg, plan.after_scan(await arun_many(self._reg, calls))))
            calls = plan.scan_calls()
        return plan.failed

    # Last in the class: below it, `list` would name this method, not the type.
    async def list(
        self,
        state: str | State | Iterable[str | State] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobList:
        """One page of live jobs, latest expiry first; ``result.cursor`` gets
        the next page (see ``jobbertrack.Handler.list``)."""
        plan = ListPlan(self._core.keys, states_of(state), limit, Cursor.parse(cursor))
        second = plan.after_first(await arun_many(self._reg, plan.first_calls()))
        if second:
            plan.after_second(await arun_many(self._reg, second))
        ids, nxt = plan.result()
        page = plan.keep(await self.get_many(ids))
        page.cursor = None if nxt is None else str(nxt)
        return page


def connect(url: str | None = None, **kwargs: Any) -> Any:
    """A ``redis.asyncio`` client for ``url``, or ``$JOBBERTRACK_REDIS_URL``;
    with neither, the embedded Redis (as ``jobbertrack.connect``)."""
    from ._connect import connect as _connect

    return _connect(url, asyncio=True, **kwargs)


Tracker = Handler
Job = Resource

__all__ = [
    "Event",
    "Handler",
    "InvalidData",
    "InvalidJobId",
    "InvalidTimeout",
    "InvalidURL",
    "InvalidTransition",
    "Job",
    "JobExists",
    "JobExpired",
    "JobNotFound",
    "JobberTrackError",
    "RedisCommandError",
    "RedisUnavailable",
    "Resource",
    "ResourceFactory",
    "State",
    "Tracker",
    "WaitTimeout",
    "connect",
]
