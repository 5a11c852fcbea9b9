"""The job the calling code runs as, below the classes: the typed faces
are ``jobbertrack.current_job()`` and ``jobbertrack.aio.current_job()``.

``running()`` and ``as_current()`` (both layers), the ``@track.job``
decorator and the Celery and RQ integrations set it for the code they run; it is a context variable,
so each thread and each asyncio task sees its own job (an asyncio task
inherits the job of the code that created it), and it is None elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import Any

_CURRENT: ContextVar[Any] = ContextVar("jobbertrack_current_job", default=None)


def current() -> Any:
    """The current job, of either layer, or None.  The public, typed faces
    are ``jobbertrack.current_job`` and ``jobbertrack.aio.current_job``
    (this module sits below the classes they name)."""
    return _CURRENT.get()


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
