"""The asyncio API: the same names as ``jobbertrack``, for
``redis.asyncio.Redis``, every I/O method awaited.  Same methods, same
order as ``_sync.py``; all logic lives in the shared core."""

from __future__ import annotations

from typing import Any

from ._base import UNSET, HandlerBase, ResourceBase
from ._core.calls import error_details, progress_details
from ._core.codec import optional_ms
from ._core.ids import check_id, new_id
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
from ._run import arun


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
        reply = await arun(self._reg, self._core.get(check_id(id)))
        if len(reply) < 2:
            return None
        job: Resource = self._adopt(self.resource_factory.load(self.client, id, reply[1]))
        return job


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
