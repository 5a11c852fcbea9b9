"""``jobbertrack.current_job()``: the job the calling code runs as.

``running()`` (both layers), the ``@track.job`` decorator and the Celery
and RQ integrations set it for the code they run; it is a context variable,
so each thread and each asyncio task sees its own job (an asyncio task
inherits the job of the code that created it), and it is None elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from . import aio
    from ._sync import Resource

_CURRENT: ContextVar[Any] = ContextVar("jobbertrack_current_job", default=None)


def current_job() -> Resource | aio.Resource | None:
    """The job the calling code runs as (inside ``job.running()``, a function
    decorated with ``track.job``, or a tracked Celery or RQ task), else None.
    Report progress with it: ``jobbertrack.current_job().set_progress(3, 10)``
    (awaited when the job belongs to ``jobbertrack.aio``)."""
    return cast("Resource | aio.Resource | None", _CURRENT.get())


def current_async_job() -> aio.Resource | None:
    """``jobbertrack.aio.current_job()``: the current job when it belongs to
    the asyncio layer (so its methods are awaited), else None."""
    job = _CURRENT.get()
    return cast("aio.Resource | None", job if getattr(job, "_asyncio", False) else None)


def enter(job: Any) -> Token[Any]:
    """Make ``job`` the current job; ``leave`` with the token restores the previous one."""
    return _CURRENT.set(job)


def leave(token: Token[Any]) -> None:
    try:
        _CURRENT.reset(token)
    except ValueError:  # left from another context than it was entered in
        _CURRENT.set(None)


@contextlib.contextmanager
def as_current(job: Any) -> Iterator[None]:
    """``job`` is the current job while the block runs."""
    token = enter(job)
    try:
        yield
    finally:
        leave(token)
