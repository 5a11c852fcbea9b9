"""The asyncio API: the same names as ``jobbertrack``, for
``redis.asyncio.Redis``, every I/O method awaited.  Same methods, same
order as ``_sync.py``; all logic lives in the shared core."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Sequence,
)
from datetime import datetime
from typing import Any, Generic, TypeVar

from ._aregistry import AsyncRegistration
from ._aregistry import aworkers as aread_workers
from ._arun import arun_many, await_wake, claim_rescan, notify
from ._autopipe import arun, arun_plan
from ._awatch import WaitHub, aiter_events
from ._awork import work as run_work
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
from ._current import as_current, current
from ._decorate import AsyncJobDecorator, JobSpec
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
from ._group_base import GroupBase, no_key_with_group
from ._handler_base import HandlerBase
from ._ops import Read
from ._plans import needs_settling, settled_record, status, sweep
from ._queue_base import RESCAN_MS, QueueBase, Waiter, _queue_or_none
from ._resource_base import ResourceBase, ResourceFactoryBase
from ._running import Ending, Heartbeats, Run, ending, heartbeat_interval
from ._work_base import WorkSpec, registration_info

T = TypeVar("T")


class Resource(ResourceBase):
    """One job, bound to a ``redis.asyncio.Redis`` client."""

    _asyncio = True

    async def start(self, lease: float | None = None, max_runtime: float | None = None) -> Resource:
        """waiting -> running (see ``jobbertrack.Resource.start``)."""
        call = self._core.transition(
            self.id,
            State.RUNNING,
            lease_ms=optional_ms(lease, "lease"),
            max_runtime_ms=optional_ms(max_runtime, "max_runtime"),
        )
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def finish(self, data: Any = None) -> Resource:
        """running -> finished, storing ``data`` (any JSON value)."""
        call = self._core.transition(self.id, State.FINISHED, data=data)
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def fail(self, error: object = None, *, traceback: bool = False) -> Resource:
        """running -> failed, with ``error``: None, a message, an exception
        (its type and message; the traceback if ``traceback=True``), or a
        dict of details merged into the stored error."""
        details = error_details(error, with_traceback=traceback)
        call = self._core.transition(self.id, State.FAILED, error=details)
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def cancel(self, reason: str | None = None) -> Resource:
        """waiting / running -> cancelled (see ``jobbertrack.Resource.cancel``)."""
        call = self._core.cancel(self.id, reason)
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def retry(self, *, delay: float | None = None) -> Resource:
        """failed / cancelled -> waiting, as a new attempt (see
        ``jobbertrack.Resource.retry``)."""
        call = self._core.retry(self.id, delay)
        self._apply(await arun(self._client_state, call), call.target, call)
        if self.queue is not None:
            await notify(self.client, self._core.keys.wake_key(self.queue))
        return self

    @property
    def cancelled(self) -> Awaitable[bool]:
        """Whether the job is cancelled, read from Redis now: ``await
        job.cancelled`` (a worker's check between steps).  Nothing is read
        until it is awaited; using it as a bool without ``await`` raises."""
        return _AwaitedRead(self._is_cancelled)

    async def _is_cancelled(self) -> bool:
        return await arun_plan(self._client_state, status(self._core, self.id)) == State.CANCELLED.value

    async def heartbeat(self) -> Resource:
        """Show the job's worker is alive (renews its lease)."""
        call = self._core.touch(self.id)
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def set_progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> Resource:
        """Report progress of a running job (also renews its lease)."""
        call = self._core.touch(self.id, progress_details(current, total, message))
        self._apply(await arun(self._client_state, call), call.target, call)
        return self

    async def refresh(self) -> Resource:
        """Reload the local copy from Redis (JobExpired if the record is gone)."""
        return await arun_plan(self._client_state, self._refresh_plan())

    async def wait(self, timeout: float | None = None) -> Resource:
        """Wait until the job is finished or failed, woken by the client's
        shared event hub (no polling); WaitTimeout after ``timeout`` seconds,
        JobExpired if its record expires first."""
        hub = _hub(self)
        until = wait_deadline(timeout, time.monotonic())
        future = await hub.register(self.id)  # before the check: no event slips by
        try:
            await self._first_check(hub)
            while not self.is_final:
                left = self._wake_at(until) - time.monotonic()
                try:
                    await asyncio.wait_for(
                        asyncio.shield(future), None if left == float("inf") else max(0, left)
                    )
                except asyncio.TimeoutError:
                    await hub.refresh(self)  # expiry or lease due: the read settles it
                    if not self.is_final and time.monotonic() >= until:
                        raise WaitTimeout(self.id, timeout or 0) from None
                    continue
                hub.unregister(self.id, future)
                future = await hub.register(self.id)
                await hub.refresh(self)
            return self
        finally:
            hub.unregister(self.id, future)

    async def _first_check(self, hub: WaitHub) -> None:
        try:
            await hub.refresh(self)
        except JobNotFound:
            if self._known:
                raise
            status = await arun(self._client_state, self._core.status(self.id))
            raise not_found(self.id, status) from None

    def keep_alive(
        self,
        every: float | None = None,
        *,
        quiet: bool = False,
        on_lost: Callable[[InvalidTransition], object] | None = None,
    ) -> _HeartbeatTask:
        """An async context manager that heartbeats this running job from a
        task while its block runs (see ``jobbertrack.Resource.keep_alive``)."""
        return _HeartbeatTask(
            Heartbeats(self, heartbeat_interval(self.lease, every), quiet=quiet, on_lost=on_lost)
        )

    @contextlib.asynccontextmanager
    async def running(
        self,
        lease: float | None = None,
        max_runtime: float | None = None,
        *,
        heartbeat: float | None = None,
        traceback: bool = False,
    ) -> AsyncGenerator[Run, None]:
        """Start the job, heartbeat in a task while the block runs, then
        finish it with ``run.result`` or fail it with the block's exception."""
        interval = heartbeat_interval(lease, heartbeat)
        await self.start(lease=lease, max_runtime=max_runtime)
        async with self._as_started(interval, traceback=traceback) as handle:
            yield handle

    @contextlib.asynccontextmanager
    async def _as_started(
        self, interval: float | None, *, traceback: bool = False, abandoned: Callable[[], bool] | None = None
    ) -> AsyncGenerator[Run, None]:
        """``running()`` of a job started already (``Handler.work``); with
        ``abandoned`` true when the block is cancelled, the job is left as
        it is (its heartbeats stop: the stall rule ends it)."""
        beats = Heartbeats(self, interval)
        handle, error = Run(self, beats), None
        async with _HeartbeatTask(beats, stop_block=True) as beating:
            with as_current(self):
                try:
                    yield handle
                except BaseException as exc:
                    error = exc
        error = beating.why_stopped(error)
        if abandoned is not None and error is not None and _is_cancel(error) and abandoned():
            raise error
        try:
            await _end_run(self, ending(handle, error, traceback))
        except asyncio.CancelledError:
            # a cancel sent to a block that ended before it was delivered
            if not beating.stopped or beats.lost is None:
                raise
            beating._consume()
            raise beats.lost from None


class _AwaitedRead(Generic[T]):
    """A read of Redis made when awaited (never a coroutine left unawaited
    by code that only looks at the attribute)."""

    __slots__ = ("_name", "_read")

    def __init__(self, read: Callable[[], Coroutine[Any, Any, T]], name: str = "job.cancelled") -> None:
        self._read, self._name = read, name

    def __await__(self) -> Generator[Any, None, T]:
        return self._read().__await__()

    def __bool__(self) -> bool:
        raise TypeError(f"a read of Redis: use 'await {self._name}'")


def _hub(job: ResourceBase) -> WaitHub:
    hubs = job._client_state.hubs
    hub = hubs.get(job._core.keys.namespace)
    if hub is None or hub.keys is not job._core.keys:
        hub = hubs[job._core.keys.namespace] = WaitHub(job._core.keys, job._client_state)
    return hub


class _HeartbeatTask:
    """Twin of ``_running.HeartbeatThread``: beats in a task while an
    ``async with`` block runs.  ``stop_block`` (``running()``): when a
    heartbeat finds the job cancelled, the block's task is cancelled."""

    def __init__(self, beats: Heartbeats, *, stop_block: bool = False) -> None:
        self.beats = beats
        self.task: asyncio.Task[None] | None = None
        self.block: asyncio.Task[Any] | None = None
        self.stop_block = stop_block
        self.stopped = False  # this cancelled the block's task

    async def _beat(self) -> None:
        beats = self.beats
        while True:
            await asyncio.sleep(beats.interval or 0)
            try:
                await beats.job.heartbeat()
            except JobberTrackError as exc:
                if not beats.go_on(exc):
                    if isinstance(exc, JobCancelled) and self.block is not None:
                        self.stopped = True
                        self.block.cancel()
                    return

    @property
    def lost(self) -> InvalidTransition | None:
        """Why beating stopped, if the job was lost, else None."""
        return self.beats.lost

    def why_stopped(self, error: BaseException | None) -> BaseException | None:
        """The error that ended the block: ``JobCancelled`` in place of the
        ``CancelledError`` this sent it (the block's task goes on)."""
        if self.stopped and self.beats.lost is not None and (error is None or _is_cancel(error)):
            if error is not None:  # delivered; else it comes at the block's owner's next await
                self._consume()
            return self.beats.lost
        return error

    def _consume(self) -> None:
        if self.block is not None and hasattr(self.block, "uncancel"):  # Python 3.11+
            self.block.uncancel()
        self.stopped = False

    async def __aenter__(self) -> _HeartbeatTask:
        if self.beats.interval is not None:
            self.block = asyncio.current_task() if self.stop_block else None
            self.task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _is_cancel(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


async def _end_run(job: Resource, plan: Generator[Ending, None, None]) -> None:
    """Twin of ``_running.end_run``."""
    step: Ending | None = next(plan)
    while step is not None:
        try:
            await getattr(job, step.method)(*step.args, **step.kwargs)
        except JobberTrackError as exc:
            step = plan.throw(exc)
        else:
            step = next(plan, None)


class Group(GroupBase, Resource):
    """A job that tracks a batch of children (``Handler.create_group``):
    its state follows theirs, its counts change in the same step as each
    child's move.  Read it with ``await track.get(id)`` or ``await track.group(id)``."""

    async def counts(self) -> dict[str, int]:
        """The children per state (every state), exact, read in O(1);
        children that expired before they ended count as failed."""
        return await arun_plan(self._client_state, self._counts_plan())

    @property
    def progress(self) -> Awaitable[dict[str, int]]:  # type: ignore[override]  # a group's progress is its children's
        """``await group.progress``: ``{"current": ended children, "total": children}``, read now."""
        return _AwaitedRead(self._read_progress, "group.progress")

    async def _read_progress(self) -> dict[str, int]:
        return await arun_plan(self._client_state, self._progress_plan())

    async def close(self) -> Group:
        """No child may join from now on; once every child has ended, the
        group ends (at once when they all have)."""
        await arun_plan(self._client_state, self._group_plan(close=True))
        return self

    async def children(
        self, state: str | State | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> JobList:
        """A page of the group's live children (in ``state``: one state
        name, None for all), newest first; ``result.cursor`` gets the next."""
        cs = self._client_state
        ids, nxt, records = await arun_plan(cs, self._children_plan(state, limit, cursor))
        found = zip(ids, records, strict=True)
        page = JobList(Resource._read(self.client, i, r, self._core, cs) for i, r in found if r)
        page.cursor = nxt
        return page

    async def cancel(self, reason: str | None = None) -> Group:
        """Close the group, cancel its waiting children and ask its running
        ones to stop (their workers' next call raises ``JobCancelled``); it
        then ends ``failed`` with the cancelled counted in its error."""
        cs = self._client_state
        await arun_plan(cs, self._group_plan(close=True))
        for state in (State.WAITING, State.RUNNING):
            await arun_plan(
                cs, self._act_on_children_plan(state.value, lambda i: self._core.cancel(i, reason))
            )
        await arun_plan(cs, self._group_plan())
        return self

    async def retry_failed(self, *, delay: float | None = None) -> int:
        """Retry every failed child (see ``Resource.retry``): the group runs
        again until they end.  How many were retried."""
        cs = self._client_state
        plan = self._act_on_children_plan("failed", lambda i: self._core.retry(i, delay))
        done, queues = await arun_plan(cs, plan)
        for queue in queues:
            await notify(self.client, self._core.keys.wake_key(queue))
        await arun_plan(cs, self._group_plan())
        return done


class ResourceFactory(ResourceFactoryBase[Resource]):
    """Makes resources.  Override ``create`` to choose your own ids."""

    resource_class: type[Resource] = Resource


class Handler(QueueBase, HandlerBase):
    """Creates and finds jobs of one namespace, for ``redis.asyncio.Redis``."""

    _factory_class = ResourceFactory
    _resource_class = Resource
    _group_class = Group
    _asyncio = True

    async def create(
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
            found: Resource = await arun_plan(
                self._cs, self._keyed_create_plan(timeout_ms, data, name, key, tags=tags)
            )
            return found
        job: Resource = self._new_job(group)
        call = self._create_call(job, timeout_ms, data, name, tags=tags, group=group)
        job._apply(await arun(self._cs, call), call.target, call)
        return job

    async def get(self, id: str) -> Resource | None:
        """The job with this id, or None when it is unknown or expired."""
        job_id = check_id(id)  # read_record's steps, run directly: the most frequent read
        record = await arun(self._cs, Read(self._core.keys.job_key(job_id)))
        if needs_settling(record, self._cs.clock):
            record = settled_record(await arun(self._cs, self._core.get(job_id)), record)
        return self._load(job_id, record)  # type: ignore[no-any-return]

    async def create_many(
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
        """``count`` new jobs in one pipelined round trip (per node).
        ``group``: the open group they join (see ``create``)."""
        plan = self._create_many_plan(count, timeout, data, name, batch, group, tags=tags)
        return await arun_plan(self._cs, plan)

    async def create_group(
        self,
        timeout: float | None = None,
        *,
        name: str | None = None,
        data: Any = UNSET,
        then: dict[str, Any] | None = None,
        children: Iterable[dict[str, Any]] | None = None,
    ) -> Group:
        """A new group (see the sync ``Handler.create_group``)."""
        plan = self._create_group_plan(timeout, name, data, then, children)
        group, queues = await arun_plan(self._cs, plan)
        for queue in queues:
            await notify(self.client, self._core.keys.wake_key(queue))
        made: Group = group
        return made

    async def group(self, id: str) -> Group:
        """The group with this id, read now; ``GroupNotFound`` if there is none."""
        found: Group = self._adopt(Group(self.client, id))
        await arun_plan(self._cs, found._group_plan())
        return found

    async def get_many(self, ids: Iterable[str]) -> list[Resource | None]:
        """Jobs for ``ids`` in one pipelined round trip (per node), None where
        missing.  Running jobs that may be past their lease or run time are
        read again through the settling script (a second round, only then)."""
        return await arun_plan(self._cs, self._get_many_plan(ids))

    async def cancel(self, id: str, reason: str | None = None) -> Resource:
        """Cancel the job ``id`` (see ``Resource.cancel``); the job after."""
        job: Resource = await arun_plan(self._cs, self._act_plan(self._core.cancel(id, reason)))
        return job

    async def retry(self, id: str, *, delay: float | None = None) -> Resource:
        """Retry the job ``id`` (see ``Resource.retry``); the job after."""
        job: Resource = await arun_plan(self._cs, self._act_plan(self._core.retry(id, delay)))
        if job.queue is not None:
            await notify(self.client, self._core.keys.wake_key(job.queue))
        return job

    async def delete(self, id: str) -> bool:
        """Remove the job for good: its record and every index and queue
        entry, in one step.  True if it was there; ``status()`` then says
        ``"deleted"`` while a tombstone remembers it, and a worker's later
        call on it raises ``JobNotFound``."""
        reply = await arun(self._cs, self._core.delete(id))
        return text(reply[0]) == "ok"

    async def retry_all(
        self, state: str | State = "failed", *, queue: str | None = None, limit: int = 1000
    ) -> int:
        """Retry up to ``limit`` jobs in ``state`` (``failed`` or
        ``cancelled``), of ``queue`` only when given, page by page over
        every shard; how many were retried."""
        plan = retry_all(self._core, retryable(state), _queue_or_none(queue), check_limit(limit))
        retried, queues = await arun_plan(self._cs, plan)
        for name in sorted(queues):
            await notify(self.client, self._core.keys.wake_key(name))
        return retried

    async def clean(self, state: str | State, *, older_than: float, limit: int = 1000) -> int:
        """Delete up to ``limit`` jobs in the ended ``state`` that ended more
        than ``older_than`` seconds ago, page by page over every shard; how
        many were deleted."""
        return await arun_plan(self._cs, clean(self._core, cleanable(state), older_than, check_limit(limit)))

    async def count(
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
        return await arun_plan(self._cs, self._counts_plan(state, tag, queue))

    async def counts(
        self, *, tag: str | Iterable[str] | None = None, queue: str | None = None
    ) -> dict[str, int]:
        """Live jobs per state (every state), with ``tag`` and of ``queue``
        when given (see ``count``): one pipelined call per shard."""
        return await arun_plan(self._cs, self._counts_by_state_plan(tag, queue))

    async def status(self, id: str) -> str:
        """The job's state, ``"expired"`` (tombstone), ``"unknown"``, or
        ``"corrupt"`` (a record whose ``state`` is missing or malformed)."""
        return await arun_plan(self._cs, status(self._core, id))

    async def history(self, id: str) -> list[dict[str, Any]]:
        """The job's transitions, oldest first; [] when unknown or expired."""
        job = await self.get(id)
        return [] if job is None else job.history()

    def events(self, since: str | None = None, block: float | None = None) -> AsyncIterator[Event]:
        """The namespace's events (``async for``); see ``jobbertrack.Handler.events``."""
        return aiter_events(self.client, self._core.keys, since, block)

    async def wait(self, id: str, timeout: float | None = None) -> Resource:
        """The job once it is finished or failed (see ``Resource.wait``)."""
        job: Resource = self._adopt(self.resource_factory.load(self.client, check_id(id), {}))
        return await job.wait(timeout)  # its first check is batched with other waiters'

    async def sweep(self) -> int:
        """Fail every running job whose lease or maximum run time has run
        out, and tidy expired index entries; return how many this call failed."""
        return await arun_plan(self._cs, sweep(self._core, self._cs.reindexed))

    def job(
        self, timeout: float | None = None, *, lease: float | None = None, name: str | None = None
    ) -> AsyncJobDecorator:
        """Decorator for async functions: each call (awaited) runs as a new
        job; ``await f.submit(*args)`` runs it in a task and returns the job id."""
        return AsyncJobDecorator(self, JobSpec.of(timeout, lease, name))

    # -- the work queue (its I/O: _arun; its checks and plans: _queue_base) --

    async def push(
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
            found: Resource = await arun_plan(self._cs, self._keyed_push_plan(key, *given, tags))
            if not found.existed:
                await notify(self.client, self._core.keys.wake_key(queue))
            return found
        job: Resource = self._new_job(group)
        call = self._push_call(job, *given, tags=tags, group=group)
        job._apply(await arun(self._cs, call), call.target, call)
        await notify(self.client, self._core.keys.wake_key(queue))
        return job

    async def pop_and_start(
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
            popped: tuple[Resource | None, float | None] = await arun_plan(self._cs, self._pop_plan(args))
            job, wake_in = popped
            if job is not None:
                if waiter.pass_on(self._hints(queue)):
                    await notify(self.client, args.wake_key)
                return job
            while True:
                until = waiter.block_until(wake_in, time.monotonic())
                if until is None:
                    return None
                token = await await_wake(self.client, args.wake_key, until)
                step = waiter.after_wait(token, time.monotonic())
                if step == "done":
                    return None
                if step == "claim" and not await claim_rescan(self.client, args.rescan_key, RESCAN_MS):
                    continue  # another idle worker looks at the shards
                break

    async def work(
        self,
        queue: str,
        handler: Callable[[Resource], Awaitable[Any]],
        *,
        concurrency: int = 1,
        lease: float | None = 60,
        max_runtime: float | None = None,
        burst: bool = False,
        block: float = 5,
        grace: float = 30,
    ) -> None:
        """Pop jobs of ``queue`` and await ``handler(job)`` (an ``async
        def``) for each, in up to ``concurrency`` tasks (see
        ``jobbertrack.Handler.work``); a heartbeat that finds a job
        cancelled cancels its task.  The tasks still running ``grace``
        seconds after a stop are cancelled, their jobs left to the stall rule."""
        spec = WorkSpec.of(queue, handler, concurrency, lease, max_runtime, burst, block, grace)
        await run_work(self, spec)

    def stop_work(self) -> None:
        """Stop every ``work()`` running on this handler (from any thread)."""
        for worker in list(self._workers):
            worker.stop()

    async def queued(self, queue: str = "default") -> int:
        """How many live jobs wait on ``queue`` (delayed ones included), counted exactly."""
        return sum(int(n) for n in await arun_many(self._cs, queued_calls(self._core, check_queue(queue))))

    # -- the fleet: queues and workers seen from above (_core/queue_view.py, _core/workers.py)

    async def queues(self) -> list[str]:
        """The queues of the namespace, sorted: those with a waiting or
        running job, the paused ones and the ones a live worker serves."""
        replies = await arun_many(self._cs, queues_calls(self._core.keys))
        live = await aread_workers(self.client, self._core.keys, None)
        return merge_queues(replies, served_queues(live))

    async def queue_stats(self, queue: str) -> dict[str, Any]:
        """``queue``'s numbers, read from each shard's queue entries (no job
        is read): ``waiting`` (ready to pop), ``delayed``, ``running``,
        ``oldest_wait_s`` (how long the oldest ready job has waited; 0.0
        when none), ``paused`` and ``workers`` (live ones serving it)."""
        queue = check_queue(queue)
        replies = await arun_many(self._cs, qstats_calls(self._core.keys, queue))
        serving = await aread_workers(self.client, self._core.keys, queue)
        return merge_qstats(queue, replies, len(serving))

    async def pause(self, queue: str) -> None:
        """Stop ``queue``'s pops: until ``resume``, ``pop_and_start`` returns
        nothing (blocked workers stay blocked) while pushes are accepted.
        Jobs running go on.  Takes effect in every shard before it returns."""
        await arun_many(self._cs, pause_calls(self._core.keys, check_queue(queue)))

    async def resume(self, queue: str) -> None:
        """Let ``queue``'s pops go on, and wake its blocked workers."""
        queue = check_queue(queue)
        await arun_many(self._cs, resume_calls(self._core.keys, queue))
        await notify(self.client, self._core.keys.wake_key(queue))

    async def workers(self, queue: str | None = None) -> list[dict[str, Any]]:
        """The live workers (``work()`` calls and ``jobbertrack work``
        processes), of ``queue`` only when given: ``id``, ``host``, ``pid``,
        ``queues``, ``concurrency``, ``started_at``, ``last_seen``, ``jobs``
        (the ids it runs now), ``processed`` and ``failed``.  A worker that
        was killed is gone within two of its heartbeat periods."""
        return await aread_workers(self.client, self._core.keys, _queue_or_none(queue))

    def register_worker(
        self, queues: str | Sequence[str], *, concurrency: int = 1, lease: float | None = 60
    ) -> AsyncRegistration:
        """Show a worker of your own in ``workers()`` (as ``work()`` shows
        itself): ``async with track.register_worker("mail") as me:`` registers
        it for the block, beating at a third of ``lease``; ``me.begin(id)``
        and ``me.end(id, "processed" | "failed" | "cancelled")`` tell what it
        runs.  ``jobbertrack work`` uses it."""
        return AsyncRegistration(self.client, self._core.keys, registration_info(queues, concurrency, lease))

    # Last in the class: below it, `list` would name this method, not the type.
    async def list(
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
        plan, ids, nxt = await arun_plan(self._cs, self._list_plan(state, limit, cursor, **filters))
        return self._page(plan, nxt, await self.get_many(ids))


def connect(url: str | None = None, **kwargs: Any) -> Any:
    """A ``redis.asyncio`` client for ``url``, or ``$JOBBERTRACK_REDIS_URL``;
    with neither, the embedded Redis (as ``jobbertrack.connect``)."""
    from ._connect import connect as _connect

    return _connect(url, asyncio=True, **kwargs)


Tracker = Handler
Job = Resource


def current_job() -> Resource | None:
    """The current job when it belongs to this (asyncio) layer, so its
    methods are awaited, else None (see ``jobbertrack.current_job``)."""
    job = current()
    return job if isinstance(job, Resource) else None


__all__ = [
    "CorruptRecord",
    "Event",
    "Group",
    "GroupClosed",
    "GroupNotFound",
    "Handler",
    "InvalidData",
    "InvalidJobId",
    "InvalidTimeout",
    "InvalidURL",
    "InvalidTransition",
    "Job",
    "JobExists",
    "JobExpired",
    "JobNotFound",
    "JobberTrackError",
    "JobCancelled",
    "RedisCommandError",
    "RedisUnavailable",
    "Resource",
    "ResourceFactory",
    "State",
    "Tracker",
    "UnknownLayout",
    "WaitTimeout",
    "connect",
    "current_job",
]
