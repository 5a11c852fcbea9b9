"""jobbertrack: create jobs and track their status in Redis, atomically.

    import redis, jobbertrack
    track = jobbertrack.Handler(redis.Redis())
    job = track.create(60)          # waiting, record lives 60 s
    job.start(); job.finish({"rows": 3})
    track.get(job.id).data          # {'rows': 3}

``jobbertrack.aio`` has the same names for ``redis.asyncio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ._core.events import Event
from ._core.transitions import State
from ._current import current
from ._exceptions import (
    CorruptRecord,
    GroupClosed,
    GroupNotFound,
    InvalidData,
    InvalidJobId,
    InvalidTimeout,
    InvalidTransition,
    InvalidURL,
    JobberTrackError,
    JobCancelled,
    JobExists,
    JobExpired,
    JobNotFound,
    RedisCommandError,
    RedisUnavailable,
    UnknownLayout,
    WaitTimeout,
)
from ._sync import Group, Handler, Resource, ResourceFactory

if TYPE_CHECKING:
    from . import aio as aio

__version__ = "0.1.0"

#: Idiomatic aliases of the seed's names.
Tracker = Handler
Job = Resource


def current_job() -> Resource | aio.Resource | None:
    """The job the calling code runs as (inside ``job.running()`` or
    ``job.as_current()``, a function decorated with ``track.job``, or a
    tracked Celery or RQ task), else None.  Report progress with it:
    ``jobbertrack.current_job().set_progress(3, 10)`` (awaited when the job
    belongs to ``jobbertrack.aio``).  A context variable: each thread and
    each asyncio task sees its own job."""
    return cast("Resource | aio.Resource | None", current())


def connect(url: str | None = None, **kwargs: Any) -> Any:
    """A ``redis.Redis`` for ``url``, or ``$JOBBERTRACK_REDIS_URL``; with
    neither, a private embedded Redis (see ``jobbertrack.embedded``)."""
    from ._connect import connect as _connect

    return _connect(url, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "aio":  # imported on first use: keeps `import jobbertrack` light
        import importlib

        return importlib.import_module(".aio", __name__)
    raise AttributeError(f"module 'jobbertrack' has no attribute {name!r}")


__all__ = [
    "CorruptRecord",
    "Event",
    "Handler",
    "InvalidData",
    "InvalidJobId",
    "InvalidTimeout",
    "InvalidURL",
    "InvalidTransition",
    "Job",
    "JobCancelled",
    "Group",
    "GroupClosed",
    "GroupNotFound",
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
    "UnknownLayout",
    "WaitTimeout",
    "__version__",
    "aio",
    "connect",
    "current_job",
]
