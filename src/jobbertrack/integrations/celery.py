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

Groups and chords: the tasks of a Celery ``group(...)`` (and of a
``chord(...)``'s header) are the children of one jobbertrack group whose id
is the group id Celery gives (``GroupResult.id``; for a chord,
``AsyncResult.parent.id`` of its body), so the batch has one progress bar
and exact counts (``track.group(result.id).counts()``).  The group is
created when its first task is published (its message carries ``group`` and
``group_index``) and closed once Celery has published all its tasks: when
``group.apply_async`` makes the ``GroupResult`` it returns (the app's
``GroupResult`` class is wrapped to tell the tracking; a result made before
any task was published, by ``freeze()``, closes nothing).  It then ends
with its children: ``finished`` when all succeeded, else ``failed`` with
the counts.  Celery's messages do not carry a group's size, which is why
the close comes from the publishing process.

A child's id must fall in its group's shard (one Redis script moves both),
and Celery's task ids are random: so the job of a task published in a
group is not under the bare task id but under ``"<task id>.<n>"``, the
smallest ``n`` that lands in the group's shard.  It is a pure function of
the task and group ids (``tracking.job_id(task_id, group_id)``; the job:
``tracking.find(task_id, group_id)``), so every process finds it, and the
worker tracks a retry or a lost pool process on that same job.  The other
options were worse: two records per task (one under the task id, one in
the group) doubles every write and shows each task twice; task ids cannot
be chosen in the group's shard (Celery draws them before any signal).  A
task alone keeps its task id as job id, as before.

Not children of the group: a chord's body (it carries the header's group
id without an index: its job is under its own task id), the chains of a
group (their last steps carry the group's id, but workers publish them
after the group was: each step is tracked alone, under its task id), a task
published after its group was closed (tracked alone too), and a group
published in eager mode (``task_always_eager``: nothing is published).  A
group whose publisher dies midway stays open: its children end, the group
never does (it expires with its record).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from jobbertrack import GroupClosed, GroupNotFound, JobberTrackError, JobExists

from . import Attempt, WrongArgument, create_as, create_group_as, log_warning, queued

if TYPE_CHECKING:
    from jobbertrack import Handler

#: The signals connected, each to the method of the same name with a leading "_".
SIGNALS = (
    "before_task_publish",
    "task_received",
    "task_prerun",
    "task_success",
    "task_failure",
    "task_retry",
    "task_postrun",
)

#: How many grouped tasks a worker's main process remembers the group of
#: (see ``CeleryTracking._task_received``) before it forgets the ones it no
#: longer holds.
_RECEIVED_KEPT = 1024


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
        # The Celery groups whose tasks this process is publishing: group id ->
        # True when this tracking made the jobbertrack group (it closes it).
        self._groups: dict[str, bool] = {}
        # In a worker's main process, the group of each grouped task it holds
        # (received, not yet known ended): task id -> group id.
        self._received: dict[str, str] = {}
        self._received_cap = _RECEIVED_KEPT  # twice what the last pruning kept, at least _RECEIVED_KEPT
        self._lock = threading.Lock()
        self._uid = f"jobbertrack-{id(self)}"

    def job_id(self, task_id: str, group: str | None = None) -> str | None:
        """The id of the job that tracks Celery task ``task_id``: the task id
        itself, or for a task published in Celery group (or chord header)
        ``group``, ``"<task id>.<n>"`` with the smallest ``n`` that puts it in
        the group's shard (a child lives in its group's shard).  None when no
        such id can be stored (a task id too long): the task is then tracked
        under its task id, outside the group."""
        if group is None:
            return task_id
        try:
            return str(self.handler.child_id(task_id, group))
        except JobberTrackError:  # too long an id, or one that cannot be stored
            return None

    def find(self, task_id: str, group: str | None = None) -> Any:
        """The job tracking Celery task ``task_id`` (of Celery group
        ``group``, if it was published in one), or None."""
        return self.handler.get(self._job_of(task_id, group))

    def _job_of(self, task_id: str, group: str | None) -> str:
        """The id of the job of a task about to run (or that ran): the one in
        its group when the task joined it, else the task id."""
        job_id = self.job_id(task_id, group)
        if job_id is None or job_id == task_id:
            return task_id
        try:
            if self.handler.get(job_id) is not None:
                return job_id
        except JobberTrackError:
            return job_id  # Redis away: the attempt logs it
        return task_id  # published untracked, or it could not join: tracked under the task id

    def tracks(self, name: object) -> bool:
        """Whether tasks named ``name`` are tracked (all but Celery's own by default)."""
        if not isinstance(name, str):
            return False
        return not name.startswith("celery.") if self.tasks is None else name in self.tasks

    def connect(self) -> CeleryTracking:
        from celery import signals

        for name in SIGNALS:
            getattr(signals, name).connect(getattr(self, f"_{name}"), weak=False, dispatch_uid=self._uid)
        self._hook_group_results()
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
            hooks = vars(self.app).get(_GROUP_HOOKS) or []
            if self._group_published in hooks:
                hooks.remove(self._group_published)

    # -- receivers ------------------------------------------------------------

    def _before_task_publish(
        self, sender: Any = None, headers: Any = None, body: Any = None, **_: Any
    ) -> None:
        headers = headers if isinstance(headers, dict) else {}
        task_id = headers.get("id") or (body.get("id") if isinstance(body, dict) else None)
        if not self.tracks(sender) or not isinstance(task_id, str) or headers.get("retries"):
            return  # a retry is published under the same id: its job exists
        group = _group_of(headers.get("group"), headers.get("group_index"))
        if group is not None and _continues_a_chain(body):
            group = None  # published by a worker, after its group was: see _continues_a_chain
        if group is None or not self._join(group, task_id, sender):
            queued(self.handler, task_id, self.timeout, sender)

    def _join(self, group: str, task_id: str, name: str) -> bool:
        """Create the job of a task published in Celery group ``group`` as a
        child of the jobbertrack group of that id, which the group's first
        task creates.  False when it cannot join (the group is closed or
        unknown, the id cannot be stored): it is then tracked alone."""
        job_id = self.job_id(task_id, group)
        if job_id is None:
            return False
        try:
            with self._lock:
                known = group in self._groups
            if not known:
                try:
                    create_group_as(self.handler, group, self.timeout, name)
                    made = True
                except JobExists:  # another tracking (or process) made it: it closes it
                    made = False
                with self._lock:
                    self._groups.setdefault(group, made)
            create_as(self.handler, job_id, self.timeout, name, group=group)
        except JobExists:
            pass  # published again: its job exists
        except (GroupClosed, GroupNotFound):  # e.g. a task published after its group's end
            with self._lock:
                if self._groups.get(group) is False:
                    del self._groups[group]
            return False
        except JobberTrackError as exc:
            log_warning("job %s: not created when its task was queued in group %s: %s", job_id, group, exc)
        return True

    # -- closing a group once Celery has published all its tasks --------------

    def _hook_group_results(self) -> None:
        """Join the hooks run when the app makes a ``GroupResult`` (installed
        once per app, shared by every tracking): ``group.apply_async`` (and
        so a chord's header) makes its result once every task of the group
        is published, with every task's result in it."""
        app = self.app
        with self._lock:
            hooks = vars(app).get(_GROUP_HOOKS)
            if hooks is None:
                hooks = []
                base = app.GroupResult

                class GroupResult(base):  # type: ignore[misc, valid-type]
                    def __init__(self, *args: Any, **kwargs: Any) -> None:
                        super().__init__(*args, **kwargs)
                        for hook in list(hooks):
                            hook(self)

                GroupResult.__name__ = GroupResult.__qualname__ = base.__name__
                app.GroupResult = GroupResult
                setattr(app, _GROUP_HOOKS, hooks)
            if self._group_published not in hooks:
                hooks.append(self._group_published)

    def _group_published(self, result: Any) -> None:
        """The app made the result of group ``result.id``: if this tracking
        made its jobbertrack group while its tasks were published, they all
        are now: close it (it ends once its children have).  A result made
        before any task was published (``freeze()``) finds no group here."""
        group = getattr(result, "id", None)
        if not isinstance(group, str):
            return
        with self._lock:
            made = self._groups.pop(group, False)
        if not made:
            return
        try:
            self.handler.group(group).close()
        except JobberTrackError as exc:
            log_warning("group %s: not closed once its tasks were published: %s", group, exc)

    def _ours(self, task: Any) -> bool:
        return self.tracks(getattr(task, "name", None)) and getattr(task, "app", None) is self.app

    def _task_received(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        """A worker's main process took a task from the broker: remember the
        group of a tracked grouped one.  Should its pool process be lost, the
        main process reports the failure, and Celery before 5.6 gives that
        ``task_failure`` no request to read the group from.  Forgotten when
        that failure comes, or once the worker no longer holds the task
        (checked when the map doubles, from ``_RECEIVED_KEPT`` up)."""
        task_id = getattr(request, "id", None)
        group = _group_of_request(request)
        if group is None or not isinstance(task_id, str):
            return
        if not self.tracks(getattr(request, "task_name", None)):
            return
        with self._lock:
            self._received[task_id] = group
            if len(self._received) > self._received_cap:
                from celery.worker import state

                held = state.requests
                self._received = {t: g for t, g in self._received.items() if t in held or t == task_id}
                self._received_cap = max(_RECEIVED_KEPT, 2 * len(self._received))

    def _task_prerun(self, sender: Any = None, task_id: Any = None, **_: Any) -> None:
        if self._ours(sender) and isinstance(task_id, str):
            request = getattr(sender, "request", None)
            attempt = Attempt(
                self.handler,
                self._job_of(task_id, _group_of_request(request)),
                timeout=self.timeout,
                lease=self.lease,
                name=sender.name,
                on_cancel=(lambda _job_id: self._stop(task_id)) if self.terminate else None,
            )
            self._attempts[task_id] = attempt.begin()
            self._hook_backend(sender)

    def _current(self, sender: Any, task_id: Any = None) -> Attempt | None:
        if task_id is None:
            task_id = getattr(getattr(sender, "request", None), "id", None)
        if not isinstance(task_id, str) or task_id in self._reported:
            return None  # the backend hook wrote its end
        return self._attempts.get(task_id)

    def _task_success(self, sender: Any = None, result: Any = None, **_: Any) -> None:
        attempt = self._current(sender)
        if attempt is not None:
            attempt.succeeded(result)

    def _task_failure(self, sender: Any = None, task_id: Any = None, exception: Any = None, **_: Any) -> None:
        if task_id in self._reported:
            return
        attempt = self._current(sender, task_id)
        if attempt is None and self._ours(sender) and isinstance(task_id, str):
            # reported by the worker's main process: its pool process was lost
            # (WorkerLostError); Celery pushed the task's request for this signal
            request = getattr(sender, "request", None)
            group = _group_of_request(request) if getattr(request, "id", None) == task_id else None
            with self._lock:
                received = self._received.pop(task_id, None)
            job_id = self._job_of(task_id, group or received)
            attempt = Attempt(self.handler, job_id, timeout=None, lease=None, name=None).resume()
        if attempt is not None:
            attempt.failed(exception)

    def _task_retry(self, sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
        attempt = self._current(sender, getattr(request, "id", None))
        if attempt is not None:
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
#: The attribute of a Celery app holding the hooks run when it makes a ``GroupResult``.
_GROUP_HOOKS = "_jobbertrack_group_results"


def _group_of(group: object, index: object) -> str | None:
    """The Celery group a task was published in, from its message's
    ``group`` and ``group_index``, which the tasks of a group and of a
    chord's header carry.  A chord's body carries the header's group id
    without an index: it is no task of the group."""
    if isinstance(group, str) and group and isinstance(index, int) and not isinstance(index, bool):
        return group
    return None


def _continues_a_chain(body: Any) -> bool:
    """Whether a message is the next step of a chain, published by the
    worker that ran the step before (its body's ``chain``: the steps left, a
    list, where a task published by ``group.apply_async`` has None).  The
    last step of a chain inside a group carries the group's id and index,
    but the group was published long before (its ``GroupResult`` made, the
    steps not yet run): no jobbertrack group would close for it, so it is
    tracked alone."""
    embed = body[2] if isinstance(body, (tuple, list)) and len(body) == 3 else None
    return isinstance(embed, dict) and isinstance(embed.get("chain"), list)


def _group_of_request(request: Any) -> str | None:
    """``_group_of`` a running task's request."""
    return _group_of(getattr(request, "group", None), getattr(request, "group_index", None))


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
