"""Track Celery tasks as jobs, through Celery's signals (extra ``celery``).

    from celery import Celery
    import jobbertrack
    from jobbertrack.integrations.celery import track_tasks

    app = Celery("shop", broker="redis://localhost:6379/1")
    track = jobbertrack.Handler(jobbertrack.connect())
    track_tasks(app, track, lease=60)      # in the module both web app and workers import

    @app.task
    def export(user_id):
        jobbertrack.current_job().set_progress(1, 3, "querying")
        return {"rows": 42}

    result = export.delay(7)               # result.id is the job's id
    track.wait(result.id, timeout=60).result  # {"rows": 42}

Each tracked task gets a job under its Celery task id: ``waiting`` when
published (``before_task_publish``), ``running`` when a worker begins it
(``task_prerun``), ``finished`` with its return value, ``failed`` with the
exception's type, message and traceback.  A retry is an attempt: the job
stays running and its progress message says which attempt failed and why;
the next attempt carries on with it, and a success clears that note.

The job's end is written *before* Celery stores the task's result: Celery
sends ``task_success``, ``task_failure`` and ``task_retry`` only after the
result is stored (and ``AsyncResult.get()`` may already have returned), so
the tracking hooks the worker's result backend (its ``store_result``, for
the tracked tasks of this worker only) and writes the job's end first; a
result Celery cannot encode is left to Celery, which then stores (and so
tracks) the failure.  Those signals remain the path for tasks without a
result backend (``ignore_result``) and the hook's fallback.  A worker killed mid-task stops the
heartbeats, so with a ``lease`` the job is failed as ``stalled``; without
one it stays ``running`` until its record expires.  See
``jobbertrack.integrations`` for the rules shared with RQ.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import Attempt, WrongArgument, queued

if TYPE_CHECKING:
    from jobbertrack import Handler

#: The signals connected, each to the method of the same name with a leading "_".
SIGNALS = ("before_task_publish", "task_prerun", "task_success", "task_failure", "task_retry", "task_postrun")


class CeleryTracking:
    """What ``track_tasks`` returns: the receivers it connected (undone by
    ``disconnect()``) and the runs in progress in this worker process."""

    def __init__(
        self,
        app: Any,
        handler: Handler,
        tasks: Iterable[Any] | None,
        timeout: float | None,
        lease: float | None,
        terminate: bool = False,
    ) -> None:
        self.app, self.handler, self.timeout, self.lease = app, handler, timeout, lease
        self.terminate = terminate
        self.tasks = None if tasks is None else frozenset(getattr(t, "name", t) for t in tasks)
        self._attempts: dict[str, Attempt] = {}
        self._reported: set[str] = set()  # tasks whose end the backend hook wrote
        self._hooked: list[list[Callable[..., None]]] = []  # the hook lists this tracking joined
        self._lock = threading.Lock()
        self._uid = f"jobbertrack-{id(self)}"

    @staticmethod
    def job_id(task_id: str) -> str:
        """The id of the job that tracks Celery task ``task_id``: the same."""
        return task_id

    def tracks(self, name: object) -> bool:
        """Whether tasks named ``name`` are tracked (all but Celery's own by default)."""
        if not isinstance(name, str):
            return False
        return not name.startswith("celery.") if self.tasks is None else name in self.tasks

    def connect(self) -> CeleryTracking:
        from celery import signals

        for name in SIGNALS:
            getattr(signals, name).connect(getattr(self, f"_{name}"), weak=False, dispatch_uid=self._uid)
        if self.app.finalized:
            self._guard_tasks()
        else:  # the tasks are all known once the app is finalized (a worker does it before it runs any)
            self.app.on_after_finalize.connect(self._guard_tasks, weak=False, dispatch_uid=self._uid)
        return self

    def _guard_tasks(self, **_: Any) -> None:
        """Wrap the ``run`` of each tracked task so that a task whose job was
        cancelled before it began is skipped.  Celery's tracer calls the
        ``run`` it finds when it is built (when a worker starts), after
        ``task_prerun``, whose receivers cannot skip a task themselves."""
        for name, task in list(self.app.tasks.items()):
            if self.tracks(name) and not getattr(task.run, _GUARDED, False):
                task.run = _guard(task, task.run, self)

    def cancelled_before(self, task_id: object) -> bool:
        """Whether this worker's run of ``task_id`` found its job cancelled."""
        attempt = self._attempts.get(task_id) if isinstance(task_id, str) else None
        return attempt is not None and attempt.cancelled

    def _stop(self, task_id: str) -> None:
        """A heartbeat found the running task's job cancelled: with
        ``terminate``, revoke the task, terminating its process."""
        self.app.control.revoke(task_id, terminate=True)

    def disconnect(self) -> None:
        """Stop tracking (runs in progress end untracked)."""
        from celery import signals

        for name in SIGNALS:
            getattr(signals, name).disconnect(getattr(self, f"_{name}"), dispatch_uid=self._uid)
        with self._lock:
            for hooks in self._hooked:
                if self._before_store in hooks:
                    hooks.remove(self._before_store)
            self._hooked.clear()

    # -- receivers ------------------------------------------------------------

    def _before_task_publish(
        self, sender: Any = None, headers: Any = None, body: Any = None, **_: Any
    ) -> None:
        headers = headers if isinstance(headers, dict) else {}
        task_id = headers.get("id") or (body.get("id") if isinstance(body, dict) else None)
        if not self.tracks(sender) or not isinstance(task_id, str) or headers.get("retries"):
            return  # a retry is published under the same id: its job exists
        queued(self.handler, task_id, self.timeout, sender)

    def _ours(self, task: Any) -> bool:
        return self.tracks(getattr(task, "name", None)) and getattr(task, "app", None) is self.app

    def _task_prerun(self, sender: Any = None, task_id: Any = None, **_: Any) -> None:
        if self._ours(sender) and isinstance(task_id, str):
            attempt = Attempt(
                self.handler,
                task_id,
                timeout=self.timeout,
                lease=self.lease,
                name=sender.name,
                on_cancel=self._stop if self.terminate else None,
            )
            self._attempts[task_id] = attempt.begin()
            self._hook_backend(sender)

    def _current(self, sender: Any, task_id: Any = None) -> Attempt | None:
        if task_id is None:
            task_id = getattr(getattr(sender, "request", None), "id", None)
        return self._attempts.get(task_id) if isinstance(task_id, str) else None

    def _task_success(self, sender: Any = None, result: Any = None, **_: Any) -> None:
        attempt = self._current(sender)
        if attempt is not None and attempt.job_id not in self._reported:
            attempt.succeeded(result)

    def _task_failure(self, sender: Any = None, task_id: Any = None, exception: Any = None, **_: Any) -> None:
        if task_id in self._reported:
            return
        attempt = self._current(sender, task_id)
        if attempt is None and self._ours(sender) and isinstance(task_id, str):
            # reported by the worker's main process: its pool process was lost (WorkerLostError)
            attempt = Attempt(self.handler, task_id, timeout=None, lease=None, name=None).resume()
        if attempt is not None:
            attempt.failed(exception)

    def _task_retry(self, sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
        attempt = self._current(sender, getattr(request, "id", None))
        if attempt is not None and attempt.job_id not in self._reported:
            attempt.retrying(_said(getattr(reason, "exc", None) or reason), _attempt_of(request))

    def _task_postrun(self, sender: Any = None, task_id: Any = None, **_: Any) -> None:
        attempt = self._attempts.pop(task_id, None) if isinstance(task_id, str) else None
        self._reported.discard(task_id)
        if attempt is not None:
            attempt.end()

    # -- the result backend's hook --------------------------------------------

    def _hook_backend(self, task: Any) -> None:
        """Join the hooks run before the task's backend stores a result
        (installed once per backend object, shared by every tracking)."""
        try:
            backend = task.backend
            store = backend.store_result
        except Exception:  # no usable backend: the signals do the work
            return
        with self._lock:
            hooks = vars(backend).get(_HOOKS)
            if hooks is None:
                hooks = []

                def store_result(task_id: Any, result: Any, state: Any, *args: Any, **kwargs: Any) -> Any:
                    for hook in list(hooks):
                        hook(backend, task_id, result, state, kwargs.get("request"))
                    return store(task_id, result, state, *args, **kwargs)

                backend.store_result = store_result
                setattr(backend, _HOOKS, hooks)
            if self._before_store not in hooks:
                hooks.append(self._before_store)
                self._hooked.append(hooks)

    def _before_store(self, backend: Any, task_id: Any, result: Any, state: Any, request: Any) -> None:
        """Write the job's end for a final (or retry) result Celery is about
        to store, if this worker runs that task; never raises."""
        attempt = self._attempts.get(task_id) if isinstance(task_id, str) else None
        if attempt is None or task_id in self._reported:
            return
        try:
            if state == "SUCCESS":
                backend.encode(backend.encode_result(result, state))  # what Celery cannot encode, it fails
                attempt.succeeded(result)
            elif state == "FAILURE":
                attempt.failed(result)
            elif state == "RETRY" and result is not None:
                attempt.retrying(_said(result), _attempt_of(request))
            else:
                return
        except Exception:  # Celery's own path (and its signal) decides
            return
        self._reported.add(task_id)


#: The attribute of a result backend holding the hooks run before it stores.
_HOOKS = "_jobbertrack_before_store"
#: The attribute marking a task's ``run`` wrapped by ``_guard``.
_GUARDED = "_jobbertrack_guarded"


def _guard(task: Any, run: Callable[..., Any], tracking: CeleryTracking) -> Callable[..., Any]:
    """``run``, skipped when the job of the task's current request was
    cancelled before it began: the task is marked revoked (as Celery's own
    ``revoke`` would: ``AsyncResult.get()`` raises ``TaskRevokedError``) and
    ends ignored, never run."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        request = task.request
        if tracking.cancelled_before(getattr(request, "id", None)):
            from celery.exceptions import Ignore

            with contextlib.suppress(Exception):  # no result backend: nothing to mark
                task.backend.mark_as_revoked(request.id, "cancelled", request=request)
            raise Ignore()
        return run(*args, **kwargs)

    setattr(guarded, _GUARDED, True)
    guarded.__wrapped__ = run  # type: ignore[attr-defined]
    return guarded


def _said(cause: object) -> str:
    return f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(cause)


def _attempt_of(request: Any) -> int:
    """The 1-based number of the attempt ``request`` runs."""
    return int(getattr(request, "retries", 0) or 0) + 1


def track_tasks(
    app: Any,
    handler: Handler,
    *,
    tasks: Iterable[Any] | None = None,
    timeout: float | None = None,
    lease: float | None = None,
    terminate: bool = False,
) -> CeleryTracking:
    """Track the tasks of Celery ``app`` as jobs of ``handler`` (a
    ``jobbertrack.Handler``), each under its Celery task id.  Call it where
    both the code that sends tasks and the workers run it (the module that
    defines the app).  ``tasks``: the tasks (or their names) to track, None
    for all but Celery's own; ``timeout``: the lifetime of each record
    (default: the handler's default timeout, else a day); ``lease``: seconds
    within which a worker must show life, or the job is failed as stalled
    (heartbeats are sent while a task runs).

    A task whose job is cancelled before a worker begins it is skipped
    (marked revoked, never run).  One cancelled while it runs is noticed at
    the next heartbeat: with ``terminate=True`` the task is revoked with
    ``terminate`` (its pool process gets SIGTERM: prefork pools only);
    without, its next ``current_job()`` call raises ``JobCancelled``.  The
    job stays ``cancelled`` either way."""
    if getattr(handler, "_asyncio", False):
        raise WrongArgument("track_tasks() needs a jobbertrack.Handler: Celery runs tasks synchronously")
    handler.job(timeout, lease=lease)  # refuses bad values here, not in a worker
    return CeleryTracking(app, handler, tasks, timeout, lease, terminate).connect()


__all__ = ["CeleryTracking", "track_tasks"]
