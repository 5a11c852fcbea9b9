"""The asyncio API: the same names as ``jobbertrack``, for
``redis.asyncio.Redis``, every I/O method awaited.  Same methods, same
order as ``_sync.py``; all logic lives in the shared core."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from ._base import UNSET, HandlerBase, ResourceBase
from ._core.calls import error_details, progress_details
from ._core.codec import optional_ms
from ._core.ids import check_id, new_id
from ._core.sweeping import SweepPlan
from ._core.transitions import State
from ._exceptions import (
    InvalidData,
    InvalidJobId,
    InvalidTimeout,
    InvalidTransition,
    JobberTrackError,
    JobExists,
    JobExpired,
    JobNotFound,
    RedisCommandError,
    RedisUnavailable,
    WaitTimeout,
)
from ._run import arun, arun_many
from ._running import Run, heartbeat_interval, log


class Resource(ResourceBase):
    """One job, bound to a ``redis.asyncio.Redis`` client."""

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
        """running -> failed, with ``error`` (None, a message or an exception)."""
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
        self._apply(await arun(self._registry, self._core.get(self.id)), "get")
        return self

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
        await self.finish(handle.result)

    async def _beat(self, handle: Run, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.heartbeat()
            except InvalidTransition as exc:  # the job was failed under us
                handle.lost = exc
                return
            except JobberTrackError as exc:  # Redis hiccup: try again next beat
                log.warning("heartbeat of job %s failed: %s", self.id, exc)


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
        job: Resource | None = self._load(id, await arun(self._reg, self._core.get(check_id(id))))
        return job

    async def get_many(self, ids: Iterable[str]) -> list[Resource | None]:
        """Jobs for ``ids`` in one pipelined round trip, None where missing."""
        wanted = list(ids)
        replies = await arun_many(self._reg, self._core.get_many(wanted))
        return [self._load(i, r) for i, r in zip(wanted, replies, strict=True)]

    async def sweep(self) -> int:
        """Fail every running job whose lease or maximum run time has run
        out, and tidy expired index entries; return how many this call failed."""
        plan = SweepPlan(self._core)
        calls = plan.scan_calls()
        while calls:
            plan.after_settle(await arun_many(self._reg, plan.after_scan(await arun_many(self._reg, calls))))
            calls = plan.scan_calls()
        return plan.failed


Tracker = Handler
Job = Resource

__all__ = [
    "Handler",
    "InvalidData",
    "InvalidJobId",
    "InvalidTimeout",
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
]
