"""The synchronous API: ``Resource``, ``ResourceFactory``, ``Handler``.

Each method builds a call with the core, runs it, and applies the reply (or
carries out a plan of ``_base`` / ``_plans``); ``aio.py`` has the same
methods, in the same order, awaited.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ._bulk import check_limit, clean, cleanable, retry_all, retryable
from ._core.calls import UNSET, error_details, not_found, progress_details
from ._core.codec import optional_ms
from ._core.deadlines import wait_deadline
from ._core.events import Event
from ._core.ids import check_id
from ._core.listing import JobList
from ._core.queue import check_queue, queued_calls
from ._core.queue_view import (
    merge_qstats,
    merge_queues,
    pause_calls,
    qstats_calls,
    queues_calls,
    resume_calls,
    served_queues,
)
from ._core.transitions import State
from ._core.wire import text
from ._current import as_current
from ._decorate import JobDecorator, JobSpec
from ._exceptions import InvalidTransition, WaitTimeout
from ._group_base import GroupBase, no_key_with_group
from ._handler_base import HandlerBase
from ._plans import needs_settling, settled_record, status, sweep
from ._queue_base import RESCAN_MS, QueueBase, Waiter, _queue_or_none
from ._registry import Registration
from ._registry import workers as read_workers
from ._resource_base import ResourceBase, ResourceFactoryBase
from ._run import await_wake, claim_rescan, notify, read_hash, run, run_many, run_plan
from ._running import Heartbeats, HeartbeatThread, Run, SharedBeats, end_run, ending, heartbeat_interval
from ._watch import iter_events, last_stream_id, wait_for_final
from ._work import work as run_work
from ._work_base import WorkSpec, registration_info


class Resource(ResourceBase):
    """One job, bound to a Redis client (``redis.Redis``)."""

    def start(self, lease: float | None = None, max_runtime: float | None = None) -> Resource:
        """waiting -> running.  ``lease``: seconds within which the worker must
        show life (heartbeat/progress) or the job is failed as stalled;
        ``max_runtime``: seconds after which it is failed as timed out."""
        call = self._core.transition(
            self.id,
            State.RUNNING,
            lease_ms=optional_ms(lease, "lease"),
            max_runtime_ms=optional_ms(max_runtime, "max_runtime"),
        )
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def finish(self, data: Any = None) -> Resource:
        """running -> finished, storing ``data`` (any JSON value)."""
        call = self._core.transition(self.id, State.FINISHED, data=data)
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def fail(self, error: object = None, *, traceback: bool = False) -> Resource:
        """running -> failed, with ``error``: None, a message, an exception
        (its type and message; the traceback if ``traceback=True``), or a
        dict of details merged into the stored error."""
        details = error_details(error, with_traceback=traceback)
        call = self._core.transition(self.id, State.FAILED, error=details)
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def cancel(self, reason: str | None = None) -> Resource:
        """waiting / running -> cancelled: a waiting job is never taken (its
        queue entry goes in the same step); a running one's worker is
        refused its next call (``JobCancelled``).  ``job.error`` is then
        ``{"reason": "cancelled", "message": reason or "cancelled"}``."""
        call = self._core.cancel(self.id, reason)
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def retry(self, *, delay: float | None = None) -> Resource:
        """failed / cancelled -> waiting, as a new attempt (``attempt`` + 1,
        the ended one kept in ``get_value()["attempts"]``).  A job of a
        queue goes back on it, poppable ``delay`` seconds later; another job
        waits for whoever runs it.  ``finished`` jobs are not retried."""
        call = self._core.retry(self.id, delay)
        self._apply(run(self._client_state, call), call.target, call)
        if self.queue is not None:
            notify(self.client, self._core.keys.wake_key(self.queue))
        return self

    @property
    def cancelled(self) -> bool:
        """Whether the job is cancelled, read from Redis now (a worker's
        check between steps)."""
        return run_plan(self._client_state, status(self._core, self.id)) == State.CANCELLED.value

    def heartbeat(self) -> Resource:
        """Show the job's worker is alive (renews its lease)."""
        call = self._core.touch(self.id)
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def set_progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> Resource:
        """Report progress of a running job (also renews its lease)."""
        call = self._core.touch(self.id, progress_details(current, total, message))
        self._apply(run(self._client_state, call), call.target, call)
        return self

    def refresh(self) -> Resource:
        """Reload the local copy from Redis (JobExpired if the record is gone)."""
        return run_plan(self._client_state, self._refresh_plan())  # type: ignore[no-any-return]

    def wait(self, timeout: float | None = None) -> Resource:
        """Block until the job is finished or failed, woken by its shard's
        event stream (no polling); WaitTimeout after ``timeout`` seconds,
        JobExpired if its record expires first."""
        key = self._core.keys.events_key(self._core.keys.shard_of(self.id))
        until = wait_deadline(timeout, time.monotonic())
        while True:
            after = last_stream_id(self.client, key)  # before the check: no event slips by
            self.refresh()
            if self.is_final:
                return self
            if (
                not wait_for_final(self.client, key, after, self.id, self._wake_at(until))
                and time.monotonic() >= until
            ):
                self.refresh()
                if self.is_final:
                    return self
                raise WaitTimeout(self.id, timeout or 0)

    def keep_alive(
        self,
        every: float | None = None,
        *,
        quiet: bool = False,
        on_lost: Callable[[InvalidTransition], object] | None = None,
    ) -> HeartbeatThread:
        """A context manager that heartbeats this running job from a thread
        while its block runs: every ``every`` seconds (default: a third of
        the job's lease; no lease, no heartbeat).  If the job is lost
        meanwhile (failed as stalled or timed out), beating stops and the
        manager's ``lost`` says why; another error (Redis away) is logged,
        unless ``quiet``, and the next beat tries again.  ``on_lost`` is
        called with the error once the job is lost (``JobCancelled`` when
        it was cancelled: stop the work then).  For code that starts and
        ends the job itself (``running()`` does all three)."""
        return HeartbeatThread(
            Heartbeats(self, heartbeat_interval(self.lease, every), quiet=quiet, on_lost=on_lost)
        )

    @contextlib.contextmanager
    def running(
        self,
        lease: float | None = None,
        max_runtime: float | None = None,
        *,
        heartbeat: float | None = None,
        traceback: bool = False,
    ) -> Iterator[Run]:
        """Start the job, heartbeat in a thread while the block runs, then
        finish it with ``run.result`` or fail it with the block's exception."""
        interval = heartbeat_interval(lease, heartbeat)
        self.start(lease=lease, max_runtime=max_runtime)
        with self._as_started(interval, traceback=traceback) as handle:
            yield handle

    @contextlib.contextmanager
    def _as_started(
        self, interval: float | None, *, traceback: bool = False, shared: SharedBeats | None = None
    ) -> Iterator[Run]:
        """``running()`` of a job started already (``pop_and_start``:
        ``Handler.work``): heartbeats every ``interval`` seconds while the
        block runs (from ``shared``'s thread if given, else a thread of its
        own), then its end."""
        beats = Heartbeats(self, interval)
        handle, error = Run(self, beats), None
        beating = shared.beating(beats) if shared is not None else HeartbeatThread(beats)
        with beating, as_current(self):
            try:
                yield handle
            except BaseException as exc:
                error = exc
        end_run(self, ending(handle, error, traceback))


class Group(GroupBase, Resource):
    """A job that tracks a batch of children (``Handler.create_group``):
    its state follows theirs, its counts change in the same step as each
    child's move.  Read it with ``track.get(id)`` or ``track.group(id)``."""

    def counts(self) -> dict[str, int]:
        """The children per state (every state), exact, read in O(1);
        children that expired before they ended count as failed."""
        return run_plan(self._client_state, self._counts_plan())

    @property
    def progress(self) -> dict[str, int]:  # type: ignore[override]  # a group's progress is its children's
        """``{"current": ended children, "total": children}``, read now."""
        return run_plan(self._client_state, self._progress_plan())

    def close(self) -> Group:
        """No child may join from now on; once every child has ended, the
        group ends (at once when they all have)."""
        run_plan(self._client_state, self._group_plan(close=True))
        return self

    def children(
        self, state: str | State | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> JobList:
        """A page of the group's live children (in ``state``: one state
        name, None for all), newest first; ``result.cursor`` gets the next."""
        ids, nxt, records = run_plan(self._client_state, self._children_plan(state, limit, cursor))
        cs = self._client_state
        found = zip(ids, records, strict=True)
        page = JobList(Resource._read(self.client, i, r, self._core, cs) for i, r in found if r)
        page.cursor = nxt
        return page

    def cancel(self, reason: str | None = None) -> Group:
        """Close the group, cancel its waiting children and ask its running
        ones to stop (their workers' next call raises ``JobCancelled``); it
        then ends ``failed`` with the cancelled counted in its error."""
        cs = self._client_state
        run_plan(cs, self._group_plan(close=True))
        for state in (State.WAITING, State.RUNNING):
            run_plan(cs, self._act_on_children_plan(state.value, lambda i: self._core.cancel(i, reason)))
        run_plan(cs, self._group_plan())
        return self

    def retry_failed(self, *, delay: float | None = None) -> int:
        """Retry every failed child (see ``Resource.retry``): the group runs
        again until they end.  How many were retried."""
        cs = self._client_state
        done, queues = run_plan(
            cs, self._act_on_children_plan("failed", lambda i: self._core.retry(i, delay))
        )
        for queue in queues:
            notify(self.client, self._core.keys.wake_key(queue))
        run_plan(cs, self._group_plan())
        return done


class ResourceFactory(ResourceFactoryBase[Resource]):
    """Makes resources.  Override ``create`` to choose your own ids."""

    resource_class: type[Resource] = Resource


class Handler(QueueBase, HandlerBase):
    """Creates and finds jobs of one namespace, for a ``redis.Redis`` client."""

    _factory_class = ResourceFactory
    _resource_class = Resource
    _group_class = Group

    def create(
        self,
        timeout: float | None = None,
        *,
        data: Any = UNSET,
        name: str | None = None,
        key: str | None = None,
        tags: Iterable[str] | None = None,
        group: str | None = None,
    ) -> Resource:
        """A new job in state ``waiting`` whose record lives ``timeout`` seconds.
        ``key``: an idempotency key; while a job made with it lives, that job
        is returned (``existed`` True) and nothing is written.  ``group``: the
        id of an open group the job joins as a child (it lives no longer
        than its group)."""
        timeout_ms = self._timeout_ms(timeout)  # a bad timeout is refused before the factory runs
        if key is not None:
            no_key_with_group(group)
            found: Resource = run_plan(
                self._cs, self._keyed_create_plan(timeout_ms, data, name, key, tags=tags)
            )
            return found
        job: Resource = self._new_job(group)
        call = self._create_call(job, timeout_ms, data, name, tags=tags, group=group)
        job._apply(run(self._cs, call), call.target, call)
        return job

    def get(self, id: str) -> Resource | None:
        """The job with this id, or None when it is unknown or expired."""
        job_id = check_id(id)  # read_record's steps, run directly: the most frequent read
        record = read_hash(self._cs, self._core.keys.job_key(job_id))
        if needs_settling(record, self._cs.clock):
            record = settled_record(run(self._cs, self._core.get(job_id)), record)
        return self._load(job_id, record)  # type: ignore[no-any-return]

    def create_many(
        self,
        count: int,
        timeout: float | None = None,
        *,
        data: Any = UNSET,
        name: str | None = None,
        batch: int = 1000,
        tags: Iterable[str] | None = None,
        group: str | None = None,
    ) -> list[Resource]:
        """``count`` new jobs in one pipelined round trip (per node).  An id
        that already exists raises JobExists after the others were created.
        ``group``: the open group they join (see ``create``)."""
        return run_plan(self._cs, self._create_many_plan(count, timeout, data, name, batch, group, tags=tags))

    def create_group(
        self,
        timeout: float | None = None,
        *,
        name: str | None = None,
        data: Any = UNSET,
        then: dict[str, Any] | None = None,
        children: Iterable[dict[str, Any]] | None = None,
    ) -> Group:
        """A new group: a job whose children join it with ``create``/``push``/
        ``create_many(..., group=group.id)`` until ``group.close()``.  Its
        state follows its children's; it ends once closed with every child
        ended.  ``then={"queue": q, "data": ..., "name": ...}``: when it ends,
        one follow-up job is pushed on ``q`` in the same step, its data
        ``{"group": id, "counts": {...}, "data": ...}``.  ``children``: specs
        (``data``, ``name``, ``queue`` to push it, ``tags``, ``timeout``,
        ``retries``, ``backoff``, ``priority``, ``delay``) made with the group,
        which is then closed."""
        group, queues = run_plan(self._cs, self._create_group_plan(timeout, name, data, then, children))
        for queue in queues:
            notify(self.client, self._core.keys.wake_key(queue))
        made: Group = group
        return made

    def group(self, id: str) -> Group:
        """The group with this id, read now; ``GroupNotFound`` if there is none."""
        found: Group = self._adopt(Group(self.client, id))
        run_plan(self._cs, found._group_plan())
        return found

    def get_many(self, ids: Iterable[str]) -> list[Resource | None]:
        """Jobs for ``ids`` in one pipelined round trip (per node), None where
        missing.  Running jobs that may be past their lease or run time are
        read again through the settling script (a second round, only then)."""
        return run_plan(self._cs, self._get_many_plan(ids))

    def cancel(self, id: str, reason: str | None = None) -> Resource:
        """Cancel the job ``id`` (see ``Resource.cancel``); the job after."""
        job: Resource = run_plan(self._cs, self._act_plan(self._core.cancel(id, reason)))
        return job

    def retry(self, id: str, *, delay: float | None = None) -> Resource:
        """Retry the job ``id`` (see ``Resource.retry``); the job after."""
        job: Resource = run_plan(self._cs, self._act_plan(self._core.retry(id, delay)))
        if job.queue is not None:
            notify(self.client, self._core.keys.wake_key(job.queue))
        return job

    def delete(self, id: str) -> bool:
        """Remove the job for good: its record and every index and queue
        entry, in one step.  True if it was there; ``status()`` then says
        ``"deleted"`` while a tombstone remembers it, and a worker's later
        call on it raises ``JobNotFound``."""
        reply = run(self._cs, self._core.delete(id))
        return text(reply[0]) == "ok"

    def retry_all(self, state: str | State = "failed", *, queue: str | None = None, limit: int = 1000) -> int:
        """Retry up to ``limit`` jobs in ``state`` (``failed`` or
        ``cancelled``), of ``queue`` only when given, page by page over
        every shard; how many were retried."""
        plan = retry_all(self._core, retryable(state), _queue_or_none(queue), check_limit(limit))
        retried, queues = run_plan(self._cs, plan)
        for name in sorted(queues):
            notify(self.client, self._core.keys.wake_key(name))
        return retried

    def clean(self, state: str | State, *, older_than: float, limit: int = 1000) -> int:
        """Delete up to ``limit`` jobs in the ended ``state`` that ended more
        than ``older_than`` seconds ago, page by page over every shard; how
        many were deleted."""
        return run_plan(self._cs, clean(self._core, cleanable(state), older_than, check_limit(limit)))

    def count(
        self,
        state: str | State | Iterable[str | State] | None = None,
        *,
        tag: str | Iterable[str] | None = None,
        queue: str | None = None,
    ) -> int:
        """Live jobs in ``state`` (several: their sum; None: all states),
        with ``tag`` (a list: all of them) and of ``queue`` when given.
        Expired records are never counted.  One tag or one queue alone costs
        O(1) per shard (its tallies); both, or several tags, a listing."""
        return run_plan(self._cs, self._counts_plan(state, tag, queue))

    def counts(self, *, tag: str | Iterable[str] | None = None, queue: str | None = None) -> dict[str, int]:
        """Live jobs per state (every state), with ``tag`` and of ``queue``
        when given (see ``count``): one pipelined call per shard."""
        return run_plan(self._cs, self._counts_by_state_plan(tag, queue))

    def status(self, id: str) -> str:
        """The job's state, ``"expired"`` (tombstone), ``"unknown"``, or
        ``"corrupt"`` (a record whose ``state`` is missing or malformed)."""
        return run_plan(self._cs, status(self._core, id))

    def history(self, id: str) -> list[dict[str, Any]]:
        """The job's transitions (from, to, at, message/progress), oldest
        first, in one round trip; [] when unknown or expired."""
        job = self.get(id)
        return [] if job is None else job.history()

    def events(self, since: str | None = None, block: float | None = None) -> Iterator[Event]:
        """The namespace's events, oldest retained first (or after ``since``:
        an ``Event.id``, an ``Event.cursor``, or ``"$"`` for only new ones).  ``block=None`` stops at the end;
        ``block=S`` waits up to S seconds for each next event; ``block=0``
        waits forever."""
        return iter_events(self.client, self._core.keys, since, block)

    def wait(self, id: str, timeout: float | None = None) -> Resource:
        """The job once it is finished or failed (see ``Resource.wait``)."""
        wait_deadline(timeout, time.monotonic())  # a bad timeout is refused before any read
        job = self.get(id)
        if job is None:
            raise not_found(id, self.status(id))
        return job.wait(timeout)

    def sweep(self) -> int:
        """Fail every running job of the namespace whose lease or maximum run
        time has run out, and tidy expired index entries; return how many
        jobs this call failed."""
        return run_plan(self._cs, sweep(self._core, self._cs.reindexed))

    def job(
        self, timeout: float | None = None, *, lease: float | None = None, name: str | None = None
    ) -> JobDecorator:
        """Decorator: each call of the function runs as a new job (created
        with ``timeout`` and ``name``, default the function's name; run inside
        ``running(lease=...)``) and returns its result; ``f.submit(executor,
        *args)`` runs it on an executor and returns the job id at once."""
        return JobDecorator(self, JobSpec.of(timeout, lease, name))

    # -- the work queue (its I/O: _run; its checks and plans: _queue_base) --

    def push(
        self,
        data: Any = None,
        *,
        queue: str = "default",
        timeout: float | None = None,
        name: str | None = None,
        delay: float | None = None,
        retries: int = 0,
        backoff: float | None = None,
        priority: int = 0,
        key: str | None = None,
        tags: Iterable[str] | None = None,
        group: str | None = None,
    ) -> Resource:
        """A new ``waiting`` job on ``queue``, made and queued in one atomic
        script.  ``delay``: seconds before it may be popped; ``retries``:
        attempts allowed after a failed one, each ``backoff`` seconds later;
        ``priority`` (-999999 to 999999): a higher one pops first, in push
        order within one.  ``data=None`` stores no data (as ``create``
        without data).  ``key``: an idempotency key, as ``create``'s.
        ``group``: the id of an open group the job joins (see ``create``)."""
        self._push_checks(queue, timeout, delay, retries, backoff, priority)
        given = (UNSET if data is None else data, queue, timeout, name, delay, retries, backoff, priority)
        if key is not None:
            no_key_with_group(group)
            found: Resource = run_plan(self._cs, self._keyed_push_plan(key, *given, tags))
            if not found.existed:
                notify(self.client, self._core.keys.wake_key(queue))
            return found
        job: Resource = self._new_job(group)
        call = self._push_call(job, *given, tags=tags, group=group)
        job._apply(run(self._cs, call), call.target, call)
        notify(self.client, self._core.keys.wake_key(queue))
        return job

    def pop_and_start(
        self,
        queue: str = "default",
        *,
        block: float | None = None,
        lease: float | None = 60,
        max_runtime: float | None = None,
    ) -> Resource | None:
        """The oldest poppable job of ``queue``, started with ``lease`` and
        ``max_runtime`` in the same atomic step, or None.  ``block=None``:
        do not wait; ``block=S``: wait up to S seconds; ``block=0``: for
        ever.  Waiting blocks on the queue's wake-up list: a push wakes one worker."""
        args = self._pop_args(queue, block, lease, max_runtime, time.monotonic())
        waiter = Waiter(args, time.monotonic())
        while True:
            popped: tuple[Resource | None, float | None] = run_plan(self._cs, self._pop_plan(args))
            job, wake_in = popped
            if job is not None:
                if waiter.pass_on(self._hints(queue)):
                    notify(self.client, args.wake_key)
                return job
            while True:
                until = waiter.block_until(wake_in, time.monotonic())
                if until is None:
                    return None
                token = await_wake(self.client, args.wake_key, until)
                step = waiter.after_wait(token, time.monotonic())
                if step == "done":
                    return None
                if step == "claim" and not claim_rescan(self.client, args.rescan_key, RESCAN_MS):
                    continue  # another idle worker looks at the shards
                break

    def work(
        self,
        queue: str,
        handler: Callable[[Resource], Any],
        *,
        concurrency: int = 1,
        lease: float | None = 60,
        max_runtime: float | None = None,
        burst: bool = False,
        block: float = 5,
        grace: float = 30,
    ) -> None:
        """Pop jobs of ``queue`` and run ``handler(job)`` for each, in up to
        ``concurrency`` threads, as ``running()`` runs a block: heartbeats
        (a third of ``lease``), ``current_job()``, the return value stored by
        ``finish``, an exception given to ``fail`` (a job pushed with
        retries goes back on its queue), a cancel honoured (the handler's
        next call on its job raises ``JobCancelled``).  Runs until
        ``stop_work()`` or SIGTERM/SIGINT (in the main thread): then takes
        no new job and lets the running ones end within ``grace`` seconds.
        ``burst=True``: returns once the queue is empty and nothing it runs
        can come back.  ``block``: seconds one pop waits (how soon a stop
        is seen while idle)."""
        spec = WorkSpec.of(queue, handler, concurrency, lease, max_runtime, burst, block, grace)
        run_work(self, spec)

    def stop_work(self) -> None:
        """Stop every ``work()`` running on this handler (see ``work``)."""
        for worker in list(self._workers):
            worker.stop()

    def queued(self, queue: str = "default") -> int:
        """How many live jobs wait on ``queue`` (delayed ones included), counted exactly."""
        return sum(int(n) for n in run_many(self._cs, queued_calls(self._core, check_queue(queue))))

    # -- the fleet: queues and workers seen from above (_core/queue_view.py, _core/workers.py)

    def queues(self) -> list[str]:
        """The queues of the namespace, sorted: those with a waiting or
        running job, the paused ones and the ones a live worker serves."""
        replies = run_many(self._cs, queues_calls(self._core.keys))
        live = read_workers(self.client, self._core.keys, None)
        return merge_queues(replies, served_queues(live))

    def queue_stats(self, queue: str) -> dict[str, Any]:
        """``queue``'s numbers, read from each shard's queue entries (no job
        is read): ``waiting`` (ready to pop), ``delayed``, ``running``,
        ``oldest_wait_s`` (how long the oldest ready job has waited; 0.0
        when none), ``paused`` and ``workers`` (live ones serving it)."""
        queue = check_queue(queue)
        replies = run_many(self._cs, qstats_calls(self._core.keys, queue))
        serving = read_workers(self.client, self._core.keys, queue)
        return merge_qstats(queue, replies, len(serving))

    def pause(self, queue: str) -> None:
        """Stop ``queue``'s pops: until ``resume``, ``pop_and_start`` returns
        nothing (blocked workers stay blocked) while pushes are accepted.
        Jobs running go on.  Takes effect in every shard before it returns."""
        run_many(self._cs, pause_calls(self._core.keys, check_queue(queue)))

    def resume(self, queue: str) -> None:
        """Let ``queue``'s pops go on, and wake its blocked workers."""
        queue = check_queue(queue)
        run_many(self._cs, resume_calls(self._core.keys, queue))
        notify(self.client, self._core.keys.wake_key(queue))

    def workers(self, queue: str | None = None) -> list[dict[str, Any]]:
        """The live workers (``work()`` calls and ``jobbertrack work``
        processes), of ``queue`` only when given: ``id``, ``host``, ``pid``,
        ``queues``, ``concurrency``, ``started_at``, ``last_seen``, ``jobs``
        (the ids it runs now), ``processed`` and ``failed``.  A worker that
        was killed is gone within two of its heartbeat periods."""
        return read_workers(self.client, self._core.keys, _queue_or_none(queue))

    def register_worker(
        self, queues: str | Sequence[str], *, concurrency: int = 1, lease: float | None = 60
    ) -> Registration:
        """Show a worker of your own in ``workers()`` (as ``work()`` shows
        itself): ``with track.register_worker("mail") as me:`` registers
        it for the block, beating at a third of ``lease``; ``me.begin(id)``
        and ``me.end(id, "processed" | "failed" | "cancelled")`` tell what it
        runs.  ``jobbertrack work`` uses it."""
        return Registration(self.client, self._core.keys, registration_info(queues, concurrency, lease))

    # Last in the class: below it, `list` would name this method, not the type.
    def list(
        self,
        state: str | State | Iterable[str | State] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        *,
        tag: str | Iterable[str] | None = None,
        queue: str | None = None,
        name: str | None = None,
        created_after: datetime | float | None = None,
        created_before: datetime | float | None = None,
        order: str = "created",
    ) -> JobList:
        """One page of live jobs, newest created first (``order="expires"``:
        latest expiry first); ``result.cursor`` gets the next page.  Filters:
        ``tag`` (one, or a list all of which a job has), ``queue``, ``name``
        (a prefix of the job's name), ``created_after`` (inclusive) and
        ``created_before`` (exclusive), datetimes or epoch seconds.  A page
        costs O(log n + page) per shard when one filter narrows it (the
        smallest index is read); a page the filters make sparse may come
        back short, its cursor going on."""
        filters = dict(
            tag=tag,
            queue=queue,
            name=name,
            created_after=created_after,
            created_before=created_before,
            order=order,
        )
        plan, ids, nxt = run_plan(self._cs, self._list_plan(state, limit, cursor, **filters))
        return self._page(plan, nxt, self.get_many(ids))
