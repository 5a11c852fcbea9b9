"""Tracking the tasks of a runner: ``integrations.celery`` and ``integrations.rq``.

Each imports its runner only when used (``import jobbertrack`` imports
neither).  What they share is here: creating a job under the runner's own
task id, and ``Attempt``, one run of a task in a worker as its job.

The rules both follow:

- the job is created ``waiting`` under the runner's task id when the task is
  queued (or when a worker first sees it, if it was queued untracked);
- a worker beginning the task starts the job (with ``lease``), heartbeats
  while the task runs, and makes it ``current_job()``;
- success finishes it with the task's result, failure fails it with the
  exception's type, message and traceback;
- a retry is an attempt, not a failure: the job stays ``running`` and its
  progress message says which attempt failed and why; the next attempt
  carries on with the same job, and its success clears that message (a
  success never reads like a failure);
- a job cancelled before its task begins is never run by it (Celery: the
  task is skipped and marked revoked; RQ: the function is not called and the
  RQ job fails saying so); one cancelled while its task runs is noticed at
  the next heartbeat (``on_cancel``: Celery's ``terminate=True`` revokes the
  task with terminate, RQ sends its stop command), and in any case the
  task's next ``current_job()`` call raises ``JobCancelled``; the job stays
  ``cancelled``, whatever the task does after;
- a job already finished or failed is never moved again: a task the runner
  delivers twice (Celery's ``acks_late`` after a lost worker) runs untracked
  the second time, and a job that was declared stalled stays failed;
- tracking never breaks the task: an error of jobbertrack (Redis away, say)
  is logged on the ``jobbertrack`` logger and the task runs on.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import re
from collections.abc import Callable
from typing import Any

from jobbertrack import InvalidData, InvalidTransition, JobberTrackError, JobCancelled, JobExists, State

_log = logging.getLogger("jobbertrack")
log_warning = _log.warning


class WrongArgument(JobberTrackError, TypeError):
    """An integration was given what it cannot use (an asyncio handler for a
    runner that runs tasks synchronously, a field it sets itself)."""


#: The lifetime of a tracked task's record when neither the integration nor
#: the handler gives one: a day, as ``jobbertrack run``.
DEFAULT_TIMEOUT = 86_400.0


class _GivenId:
    """A resource factory making one resource, with the given id."""

    def __init__(self, inner: Any, job_id: str) -> None:
        self.inner, self.job_id = inner, job_id

    def create(self, client: Any) -> Any:
        return self.inner.load(client, self.job_id, {})

    def load(self, client: Any, id: str, reply: Any) -> Any:
        return self.inner.load(client, id, reply)


def create_as(
    handler: Any, job_id: str, timeout: float | None, name: str | None, *, group: str | None = None
) -> Any:
    """A new waiting job with id ``job_id`` (``JobExists`` if taken), made by
    the handler's own factory so its Resource class is kept; ``group``: the
    open group it joins (``job_id`` must then fall in the group's shard)."""
    once = copy.copy(handler)
    once.resource_factory = _GivenId(handler.resource_factory, job_id)
    if group is None:
        return once.create(lifetime(handler, timeout), name=name)
    return once.create(lifetime(handler, timeout), name=name, group=group)


def create_group_as(handler: Any, group_id: str, timeout: float | None, name: str | None) -> Any:
    """A new open group with id ``group_id`` (``JobExists`` if taken)."""
    once = copy.copy(handler)
    once.resource_factory = _GivenId(handler.resource_factory, group_id)
    return once.create_group(lifetime(handler, timeout), name=name)


def lifetime(handler: Any, timeout: float | None) -> float:
    """The record lifetime of a tracked task: ``timeout``, else the handler's
    default, else a day."""
    return timeout or handler.default_timeout or DEFAULT_TIMEOUT


def queued(handler: Any, job_id: str, timeout: float | None, name: str | None) -> None:
    """The task was queued: its job is created waiting, unless it exists
    (a retry or a resend queues the same id again)."""
    try:
        create_as(handler, job_id, timeout, name)
    except JobExists:
        pass
    except JobberTrackError as exc:
        log_warning("job %s: not created when its task was queued: %s", job_id, exc)


#: The progress message of a job whose attempt failed and will be retried.
RETRY_NOTE = "attempt {attempt} failed, retrying: {reason}"
_RETRY_NOTE = re.compile(r"attempt \d+ failed, retrying: ")


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Attempt:
    """One run of a task, in a worker, as its job: ``begin`` starts (or
    carries on) the job, then ``succeeded``, ``failed`` or ``retrying`` says
    how the run ended, and ``end`` stops the heartbeats and restores
    ``current_job()``.  ``job`` is None when this run is not tracked."""

    def __init__(
        self,
        handler: Any,
        job_id: str,
        *,
        timeout: float | None,
        lease: float | None,
        name: str | None,
        on_cancel: Callable[[str], object] | None = None,
    ) -> None:
        self.handler, self.job_id = handler, job_id
        self.timeout, self.lease, self.name = timeout, lease, name
        self.on_cancel = on_cancel  # called with the job id when a heartbeat finds the job cancelled
        self.cancelled = False  # the job was cancelled before this run began: do not run the task
        self.job: Any = None
        self._beats: Any = None  # job.keep_alive(), while the run goes on
        self._current: contextlib.AbstractContextManager[None] | None = None  # job.as_current()

    def begin(self) -> Attempt:
        try:
            job = self.handler.get(self.job_id)
            if job is None:  # queued by code that does not track, or its record expired
                job = create_as(self.handler, self.job_id, self.timeout, self.name)
            if job.state == State.WAITING:
                with contextlib.suppress(InvalidTransition):  # another worker won: job shows what it did
                    job.start(lease=self.lease)
        except JobberTrackError as exc:
            log_warning("job %s: not tracked: %s", self.job_id, exc)
            return self
        if job.state == State.CANCELLED:
            self.cancelled = True
            return self
        if job.state != State.RUNNING:
            state = getattr(job.state, "value", job.state)
            log_warning("job %s is %s already: this run of its task is not tracked", job.id, state)
            return self
        self.job = job
        self._beats = job.keep_alive(on_lost=self._lost)  # every third of the lease it was started with
        self._beats.__enter__()
        self._current = job.as_current()  # entered here, left by end(), from other signals
        self._current.__enter__()
        return self

    def _lost(self, error: Exception) -> None:
        """The heartbeat found the job lost: when it was cancelled, tell the runner."""
        if isinstance(error, JobCancelled) and self.on_cancel is not None:
            try:
                self.on_cancel(self.job_id)
            except Exception as exc:  # tracking never breaks the task
                log_warning("job %s was cancelled, and stopping its task failed: %s", self.job_id, exc)

    def resume(self) -> Attempt:
        """Hold the job to end it from another process than the one that ran
        it (no heartbeats): only if it is running."""
        try:
            job = self.handler.get(self.job_id)
        except JobberTrackError as exc:
            log_warning("job %s: cannot read it to end it: %s", self.job_id, exc)
            return self
        self.job = job if job is not None and job.state == State.RUNNING else None
        return self

    def succeeded(self, result: Any) -> None:
        """Finish the job with ``result``; a result that is not JSON fails it, saying why."""
        job = self._take()
        progress = getattr(job, "progress", None) or {}
        if _RETRY_NOTE.match(str(progress.get("message") or "")):  # an earlier attempt's note: gone
            _call(job, "set_progress", progress.get("current") or 0, progress.get("total"))
        try:
            _call(job, "finish", result)
        except InvalidData as exc:
            _call(job, "fail", exc)

    def failed(self, error: object) -> None:
        """Fail the job with the exception's type, message and traceback (or
        with ``error``'s details: see ``Resource.fail``)."""
        _call(self._take(), "fail", error, traceback=True)

    def retrying(self, reason: object, attempt: int) -> None:
        """Attempt ``attempt`` (from 1) failed and the runner will try again:
        the job stays running, its progress message says so."""
        job = self._take()
        if job is not None:
            progress = job.progress or {}
            message = _clip(RETRY_NOTE.format(attempt=attempt, reason=reason))
            _call(job, "set_progress", progress.get("current") or 0, progress.get("total"), message)

    def end(self) -> None:
        """Stop the heartbeats (if still on) and restore ``current_job()``."""
        self._take()
        if self._current is not None:
            self._current.__exit__(None, None, None)  # from another context than entered in: none is current
            self._current = None

    def _take(self) -> Any:
        """The job, now ended by this run: no more heartbeats, no second ending."""
        if self._beats is not None:
            self._beats.__exit__(None, None, None)
            self._beats = None
        job, self.job = self.job, None
        return job


def _call(job: Any, method: str, *args: Any, **kwargs: Any) -> None:
    """``job.method(...)``, an error of jobbertrack logged (the job was lost
    meanwhile, or Redis is away); InvalidData goes on (a result not stored)."""
    if job is None:
        return
    try:
        getattr(job, method)(*args, **kwargs)
    except JobberTrackError as exc:
        if isinstance(exc, InvalidData) and method == "finish":
            raise  # the caller fails the job, saying why
        log_warning("job %s: %s refused: %s", job.id, method, exc)
