"""The synchronous API: ``Resource``, ``ResourceFactory``, ``Handler``.

Each method builds a call with the core, runs it, and applies the reply;
``aio/`` has the same methods, in the same order, awaited.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ._base import UNSET, HandlerBase, ResourceBase, check_ids, maybe_due, settled, wait_deadline, wake_at
from ._core.calls import Core, error_details, progress_details
from ._core.codec import optional_ms
from ._core.events import Event
from ._core.ids import check_id, new_id
from ._core.listing import Cursor, JobList, ListPlan, count_calls, merge_counts, states_of
from ._core.record import text
from ._core.sweeping import SweepPlan
from ._core.transitions import State
from ._exceptions import InvalidData, InvalidTransition, JobberTrackError, WaitTimeout
from ._log import log_warning
from ._run import read_hash, read_hashes, run, run_many
from ._running import Run, heartbeat_interval
from ._scripts import Registry
from ._watch import iter_events, last_stream_id, wait_for_final


def _read_job(reg: Registry, core: Core, job_id: str) -> Any:
    """A job's record: one HGETALL; read again through the settling ``get``
    script only when it is running and may be past its lease or run time
    (by this host's clock, with a margin), so readers never see a dead
    worker's job as running.  Empty or None when the job is gone."""
    record: Any = read_hash(reg, core.keys.job_key(job_id))
    if maybe_due(record):
        record = settled(run(reg, core.get(job_id)))
    return record


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
        self._apply(run(self._registry, call), "running", call)
        return self

    def finish(self, data: Any = None) -> Resource:
        """running -> finished, storing ``data`` (any JSON value)."""
        call = self._core.transition(self.id, State.FINISHED, data=data)
        self._apply(run(self._registry, call), "finished", call)
        return self

    def fail(self, error: object = None, *, traceback: bool = False) -> Resource:
        """running -> failed, with ``error``: None, a message, an exception
        (its type and message; the traceback if ``traceback=True``), or a
        dict of details merged into the stored error."""
        details = error_details(error, with_traceback=traceback)
        call = self._core.transition(self.id, State.FAILED, error=details)
        self._apply(run(self._registry, call), "failed", call)
        return self

    def heartbeat(self) -> Resource:
        """Show the job's worker is alive (renews its lease)."""
        self._apply(run(self._registry, self._core.touch(self.id)), "running")
        return self

    def set_progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> Resource:
        """Report progress of a running job (also renews its lease)."""
        call = self._core.touch(self.id, progress_details(current, total, message))
        self._apply(run(self._registry, call), "running")
        return self

    def refresh(self) -> Resource:
        """Reload the local copy from Redis (JobExpired if the record is gone)."""
        self._take(_read_job(self._registry, self._core, self.id))
        return self

    def wait(self, timeout: float | None = None) -> Resource:
        """Block until the job is finished or failed, woken by its shard's
        event stream (no polling); WaitTimeout after ``timeout`` seconds,
        JobExpired if its record expires first."""
        key = self._core.keys.events_key(self._core.keys.shard_of(self.id))
        until = wait_deadline(timeout)
        while True:
            after = last_stream_id(self.client, key)  # before the check: no event slips by
            self.refresh()
            if self.is_final:
                return self
            if (
                not wait_for_final(self.client, key, after, self.id, wake_at(self._fields, until))
                and time.monotonic() >= until
            ):
                self.refresh()
                if self.is_final:
                    return self
                raise WaitTimeout(self.id, timeout or 0)

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
        handle = Run(self)
        stop = threading.Event()
        beater = None
        if interval is not None:
            beater = threading.Thread(
                target=self._beat,
                args=(handle, stop, interval),
                name=f"jobbertrack-heartbeat-{self.id}",
                daemon=True,
            )
            beater.start()
        try:
            yield handle
        except BaseException as exc:
            stop.set()
            with contextlib.suppress(JobberTrackError):  # lost already: keep the block's error
                self.fail(exc, traceback=traceback)
            raise
        finally:
            stop.set()
            if beater is not None:
                beater.join()
        try:
            self.finish(handle.result)
        except InvalidData as exc:  # a result that cannot be stored: the job fails, saying why
            with contextlib.suppress(JobberTrackError):
                self.fail(exc)
            raise

    def _beat(self, handle: Run, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.heartbeat()
            except InvalidTransition as exc:  # the job was failed under us
                handle.lost = exc
                return
            except JobberTrackError as exc:  # Redis hiccup: try again next beat
                log_warning("heartbeat of job %s failed: %s", self.id, exc)


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
    """Creates and finds jobs of one namespace, for a ``redis.Redis`` client."""

    _plain_types = (ResourceFactory, Resource)

    def _default_factory(self) -> ResourceFactory:
        return ResourceFactory()

    def create(self, timeout: float | None = None, *, data: Any = UNSET, name: str | None = None) -> Resource:
        """A new job in state ``waiting`` whose record lives ``timeout`` seconds."""
        self._timeout_ms(timeout)  # refuse a bad timeout before the factory runs
        job: Resource = self._adopt(self.resource_factory.create(self.client))
        call = self._create_call(job, timeout, data, name)
        job._apply(run(self._reg, call), "waiting", call)
        return job

    def get(self, id: str) -> Resource | None:
        """The job with this id, or None when it is unknown or expired."""
        job_id = check_id(id)
        job: Resource | None = self._load_fields(job_id, _read_job(self._reg, self._core, job_id))
        return job

    def create_many(
        self,
        count: int,
        timeout: float | None = None,
        *,
        data: Any = UNSET,
        name: str | None = None,
        batch: int = 1000,
    ) -> list[Resource]:
        """``count`` new jobs in one pipelined round trip (per node).  An id
        that already exists raises JobExists after the others were created."""
        jobs, rounds = self._create_plan(count, timeout, data, name, batch)
        by_id = {job.id: job for job in jobs}
        for batches in rounds:
            self._created(by_id, batches, run_many(self._reg, [call for _, call in batches]))
        return jobs

    def get_many(self, ids: Iterable[str]) -> list[Resource | None]:
        """Jobs for ``ids`` in one pipelined round trip (per node), None where
        missing.  Running jobs that may be past their lease or run time are
        read again through the settling script (a second round, only then)."""
        check_ids(ids)
        wanted = [check_id(i) for i in ids]
        records: list[Any] = read_hashes(self._reg, [self._core.keys.job_key(i) for i in wanted])
        due = [n for n, fields in enumerate(records) if maybe_due(fields)]
        if due:
            replies = run_many(self._reg, [self._core.get(wanted[n]) for n in due])
            for n, reply in zip(due, replies, strict=True):
                records[n] = settled(reply)
        return [self._load_fields(i, fields) for i, fields in zip(wanted, records, strict=True)]

    def count(self, state: str | State | Iterable[str | State] | None) -> int:
        """Live jobs in ``state`` (several: their sum; None: all states).
        Expired records are never counted."""
        wanted = states_of(state)
        counts = self.counts()
        return sum(counts[s.value] for s in wanted)

    def counts(self) -> dict[str, int]:
        """Live jobs per state: all four states, one pipelined call per shard."""
        return merge_counts(run_many(self._reg, count_calls(self._core.keys)))

    def status(self, id: str) -> str:
        """The job's state, ``"expired"`` (tombstone) or ``"unknown"``."""
        return text(run(self._reg, self._core.status(id)))

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
        wait_deadline(timeout)  # a bad timeout is refused before any read
        job = self.get(id)
        if job is None:
            raise self._missing(id, self.status(id))
        return job.wait(timeout)

    def sweep(self) -> int:
        """Fail every running job of the namespace whose lease or maximum run
        time has run out, and tidy expired index entries; return how many
        jobs this call failed."""
        plan = SweepPlan(self._core)
        calls = plan.scan_calls()
        while calls:
            plan.after_settle(run_many(self._reg, plan.after_scan(run_many(self._reg, calls))))
            calls = plan.scan_calls()
        return plan.failed

    # Last in the class: below it, `list` would name this method, not the type.
    def list(
        self,
        state: str | State | Iterable[str | State] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobList:
        """One page of live jobs, latest expiry first (newest first for jobs
        sharing a timeout); ``result.cursor`` gets the next page."""
        plan = ListPlan(self._core.keys, states_of(state), limit, Cursor.parse(cursor))
        second = plan.after_first(run_many(self._reg, plan.first_calls()))
        if second:
            plan.after_second(run_many(self._reg, second))
        ids, nxt = plan.result()
        page = plan.keep(self.get_many(ids))
        page.cursor = None if nxt is None else str(nxt)
        return page
