"""Track RQ jobs as jobbertrack jobs (extra ``rq``).

    from redis import Redis
    from rq import Queue
    import jobbertrack
    from jobbertrack.integrations.rq import track_jobs

    track = jobbertrack.Handler(jobbertrack.connect())
    tracked = track_jobs(track, lease=60)   # at import of a module the workers import too

    def export(user_id):                    # in that module, as RQ wants
        jobbertrack.current_job().set_progress(1, 3, "querying")
        return {"rows": 42}

    rq_job = tracked.enqueue(Queue(connection=Redis()), export, 7)   # queue.enqueue's arguments
    track.wait(rq_job.id, timeout=60).result  # {'rows': 42}: the ids are the same

``enqueue`` creates the job (``waiting``) and enqueues ``export`` wrapped
by ``perform``, under the job's id.  In the work horse, ``perform`` starts
the job (with ``lease``), heartbeats and sets ``current_job()`` while the
function runs; RQ's callbacks then end it: ``on_success`` finishes it with
the return value, ``on_failure`` fails it with the exception's type,
message and traceback (or, when RQ will retry, records the attempt and
leaves it running), ``on_stopped`` fails it when the RQ job is stopped.  A job cancelled
before the work horse begins it never runs its function (the RQ job fails
with ``JobCancelled``); one cancelled while it runs gets RQ's stop command
at the next heartbeat; either way it stays ``cancelled``.  A
work horse killed mid-job stops the heartbeats: with a ``lease`` the job is
failed as ``stalled``.

The worker finds the handler by its namespace, registered by
``track_jobs`` when the worker imports the function's module; failing
that, it uses a ``Handler`` of that namespace on RQ's own connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobbertrack import JobberTrackError, JobCancelled

from . import Attempt, WrongArgument, lifetime, log_warning

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from jobbertrack import Handler

#: The handlers of ``track_jobs``, by namespace: how a worker finds them.
_HANDLERS: dict[str, Any] = {}

#: ``Queue.enqueue`` arguments that this integration sets itself.
_OWN = ("job_id", "on_success", "on_failure", "on_stopped", "args", "kwargs")

#: The keyword arguments ``Queue.enqueue`` keeps for itself (``Queue.parse_args``), the rest go to ``fn``.
RQ_OPTIONS = (
    "job_timeout",
    "description",
    "result_ttl",
    "ttl",
    "failure_ttl",
    "depends_on",
    "at_front",
    "meta",
    "retry",
    "repeat",
    "rate_limit",
    "webhooks",
    "pipeline",
    "unique",
)


class RQTracking:
    """What ``track_jobs`` returns: ``enqueue`` tracks what it enqueues."""

    def __init__(self, handler: Handler, timeout: float | None, lease: float | None) -> None:
        self.handler, self.timeout, self.lease = handler, timeout, lease
        _HANDLERS[handler.namespace] = handler

    def enqueue(self, queue: Queue, fn: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> Job:
        """``queue.enqueue(fn, *args, **kwargs)`` (RQ's options such as
        ``job_timeout`` or ``retry`` included), tracked: the RQ job's id is
        the jobbertrack job's.  ``fn`` is a module-level function or its
        dotted path."""
        from rq import Callback

        taken = [k for k in _OWN if k in kwargs]
        if taken:
            raise WrongArgument(f"enqueue() sets {', '.join(taken)} itself")
        options = {k: kwargs.pop(k) for k in RQ_OPTIONS if k in kwargs}
        ref = fn if isinstance(fn, str) else f"{fn.__module__}.{fn.__qualname__}"
        if ref.startswith("__main__."):  # RQ refuses it too: refused before the job exists
            raise JobberTrackError(f"{ref}: a worker cannot import a function of __main__")
        retry = options.get("retry")
        spec = {
            "namespace": self.handler.namespace,
            "timeout": self.timeout,
            "lease": self.lease,
            "retries": getattr(retry, "max", 0),
        }
        job = self.handler.create(lifetime(self.handler, self.timeout), name=ref)
        options.setdefault("description", ref)
        try:
            return queue.enqueue(
                perform,
                args=(spec, ref, list(args), kwargs),
                job_id=job.id,
                on_success=Callback(on_success),
                on_failure=Callback(on_failure),
                on_stopped=Callback(on_stopped),
                **options,
            )
        except BaseException as exc:  # never enqueued: the job says why
            _abandon(job, exc)
            raise


def _abandon(job: Any, error: BaseException) -> None:
    try:
        job.start()
        job.fail(error)
    except JobberTrackError as exc:
        log_warning("job %s: its enqueue failed and so did failing it: %s", job.id, exc)


def _handler(spec: dict[str, Any], ref: str, connection: Redis) -> Any:
    namespace = spec["namespace"]
    if namespace not in _HANDLERS:
        from rq.utils import import_attribute

        try:
            import_attribute(ref)  # its module registers its handler
        except Exception as exc:
            log_warning("cannot import %s to find its handler: %s", ref, exc)
    if namespace in _HANDLERS:
        return _HANDLERS[namespace]
    import jobbertrack

    return jobbertrack.Handler(connection, namespace=namespace)


def perform(spec: dict[str, Any], ref: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """In the work horse: run ``ref(*args, **kwargs)`` as the job of the
    current RQ job (started, heartbeats, ``current_job()``)."""
    from rq import get_current_job
    from rq.utils import import_attribute

    fn = import_attribute(ref)
    rq_job = get_current_job()
    if rq_job is None:  # called outside a worker
        return fn(*args, **kwargs)
    handler = _handler(spec, ref, rq_job.connection)
    attempt = Attempt(
        handler,
        rq_job.id,
        timeout=spec["timeout"],
        lease=spec["lease"],
        name=ref,
        on_cancel=lambda job_id: _stop(rq_job.connection, job_id),
    ).begin()
    if attempt.cancelled:  # cancelled while it waited: the function never runs
        raise JobCancelled(rq_job.id, "running")
    try:
        return fn(*args, **kwargs)
    finally:
        attempt.end()  # heartbeats stop; RQ's callbacks end the job


def _stop(connection: Redis, job_id: str) -> None:
    """A heartbeat found the job cancelled while its function runs: RQ's
    stop command (the worker kills the work horse; the job stays cancelled)."""
    from rq.command import send_stop_job_command

    send_stop_job_command(connection, job_id)


def _ending(rq_job: Job, connection: Redis) -> Attempt:
    """An Attempt holding the RQ job's running job, to end it."""
    spec, ref = rq_job.args[0], rq_job.args[1]
    handler = _handler(spec, ref, connection)
    return Attempt(handler, rq_job.id, timeout=spec["timeout"], lease=spec["lease"], name=ref).resume()


def on_success(rq_job: Job, connection: Redis, result: Any, *args: Any, **kwargs: Any) -> None:
    """RQ's success callback: finish the job with the function's result."""
    _ending(rq_job, connection).succeeded(result)


def on_failure(rq_job: Job, connection: Redis, kind: Any, value: Any, traceback: Any) -> None:
    """RQ's failure callback: fail the job, or record the attempt when RQ retries."""
    attempt = _ending(rq_job, connection)
    # RQ retries a failed job while it has retries left: the test of its
    # worker, made here (newer RQ calls it ``Job.should_retry``, RQ 2.0 has no such property).
    retries_left = rq_job.retries_left
    if retries_left is not None and retries_left > 0:
        spec = rq_job.args[0]
        number = max(1, int(spec.get("retries") or 0) - int(retries_left) + 1)
        attempt.retrying(f"{kind.__name__}: {value}", number)
    else:
        attempt.failed(value)


def on_stopped(rq_job: Job, connection: Redis) -> None:
    """RQ's stopped callback (``send_stop_job_command``): fail the job."""
    _ending(rq_job, connection).failed({"type": "JobStopped", "message": "stopped: the RQ job was stopped"})


def track_jobs(handler: Handler, *, timeout: float | None = None, lease: float | None = None) -> RQTracking:
    """Track RQ jobs enqueued with the returned object's ``enqueue`` as jobs
    of ``handler`` (a ``jobbertrack.Handler``).  Call it at import of a
    module the workers import (the one defining the functions): that is how
    a worker finds the handler.  ``timeout``: each record's lifetime
    (default: the handler's default timeout, else a day); ``lease``: seconds
    within which the work horse must show life (heartbeats are sent while the
    function runs), or the job is failed as stalled."""
    if getattr(handler, "_asyncio", False):
        raise WrongArgument("track_jobs() needs a jobbertrack.Handler: RQ runs functions synchronously")
    handler.job(timeout, lease=lease)  # refuses bad values here, not in a worker
    return RQTracking(handler, timeout, lease)


__all__ = ["RQTracking", "on_failure", "on_stopped", "on_success", "perform", "track_jobs"]
