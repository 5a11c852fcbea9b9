"""``job.running(...)``: run a block of code as the job.

    with job.running(lease=30) as run:        # starts the job
        run.set_progress(1, 3)                # any Resource method, via run
        run.result = compute()                # finish(data) gets this
    # finished with run.result; on an exception: failed with its details,
    # and the exception goes on.

A background heartbeat (a thread in sync code, a task in asyncio) renews
the lease every ``heartbeat`` seconds (default: a third of the lease) until
the block ends.  If the job is lost meanwhile (declared stalled or timed
out), heartbeats stop and finishing raises ``InvalidTransition``: the block's
result is not stored over the failure.  A job cancelled meanwhile is noticed
at the next heartbeat: in asyncio the block's task is cancelled and
``JobCancelled`` comes out of the ``async with``; in sync code (a thread
cannot be stopped from outside) the block's next call on the job raises
``JobCancelled``, and so does its end: the job stays cancelled, never failed.

The policy is written once here: how often to beat and what a failed beat
means (``Heartbeats``), and how the block ends the job (``ending``).  The
twins only wait and call: ``HeartbeatThread`` and ``end_run`` here, their
asyncio twins in ``aio``.  ``job.keep_alive()`` (public) gives the
heartbeat alone to code that starts and ends the job itself: the CLI's
``run`` and ``work``, the Celery and RQ integrations.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, NamedTuple

from ._core.codec import duration_ms
from ._exceptions import InvalidData, InvalidTransition, JobberTrackError
from ._log import log_warning


def heartbeat_interval(lease: float | None, heartbeat: float | None) -> float | None:
    """Seconds between heartbeats, or None for no background heartbeat."""
    if heartbeat is not None:
        return duration_ms(heartbeat, what="heartbeat") / 1000
    if lease is None:
        return None
    return duration_ms(lease, what="lease") / 3000


class Heartbeats:
    """The background heartbeat of one job: every ``interval`` seconds
    (None: none).  A heartbeat refused as an illegal move means the job was
    lost (failed as stalled or timed out under its worker): beating stops
    and ``lost`` says why.  Any other error (a Redis hiccup) is logged,
    unless ``quiet``, and the next beat tries again."""

    def __init__(
        self,
        job: Any,
        interval: float | None,
        *,
        quiet: bool = False,
        on_lost: Callable[[InvalidTransition], object] | None = None,
    ) -> None:
        self.job, self.interval, self.quiet = job, interval, quiet
        self.lost: InvalidTransition | None = None
        #: Called (in the beating thread or task) once the job is lost:
        #: ``running()`` in asyncio cancels its block, ``jobbertrack run``
        #: stops its command, when the job was cancelled (``JobCancelled``).
        self.on_lost = on_lost

    def go_on(self, error: JobberTrackError) -> bool:
        """Whether to beat again after a heartbeat failed with ``error``."""
        if isinstance(error, InvalidTransition):
            self.lost = error
            if self.on_lost is not None:
                self.on_lost(error)
            return False
        if not self.quiet:
            log_warning("heartbeat of job %s failed: %s", self.job.id, error)
        return True


class HeartbeatThread(threading.Thread):
    """Beats in a thread while a ``with`` block runs (nothing if the
    interval is None); leaving the block stops it and waits for it.  What
    ``Resource.keep_alive()`` returns."""

    def __init__(self, beats: Heartbeats) -> None:
        super().__init__(daemon=True, name=f"jobbertrack-heartbeat-{beats.job.id}")
        self.beats = beats
        self.stopping = threading.Event()

    @property
    def lost(self) -> InvalidTransition | None:
        """Why beating stopped, if the job was lost (failed as stalled or
        timed out under its worker), else None."""
        return self.beats.lost

    def run(self) -> None:
        beats = self.beats
        while not self.stopping.wait(beats.interval):
            try:
                beats.job.heartbeat()
            except JobberTrackError as exc:
                if not beats.go_on(exc):
                    return

    def __enter__(self) -> HeartbeatThread:
        if self.beats.interval is not None:
            self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join()


class SharedBeats:
    """One thread that beats many jobs, each every its own interval: what
    ``Handler.work`` uses in sync code, so a job costs no thread of its own.
    ``beating(beats)`` is the context manager a job's block runs in (as
    ``HeartbeatThread``): leaving it stops that job's beats, and waits for a
    beat in flight, so no beat follows the job's end.  A slow beat (Redis
    retrying) delays the others' by as long; intervals are a third of a
    lease, so they keep a margin for it."""

    def __init__(self, name: str = "jobbertrack-heartbeats") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Heartbeats]] = []
        self._live: set[int] = set()  # id() of the beats still registered
        self._seq = itertools.count()
        self._in_flight: Heartbeats | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextlib.contextmanager
    def beating(self, beats: Heartbeats) -> Generator[Heartbeats, None, None]:
        if beats.interval is None:
            yield beats
            return
        with self._cond:
            self._live.add(id(beats))
            heapq.heappush(self._due, (time.monotonic() + beats.interval, next(self._seq), beats))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
        try:
            yield beats
        finally:
            with self._cond:
                self._live.discard(id(beats))
                self._cond.wait_for(lambda: self._in_flight is not beats)

    def close(self) -> None:
        """Stop the thread once no job is registered (it ends by itself)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _next(self) -> Heartbeats | None:
        """The next beats due, waited for; None once closed and empty."""
        with self._cond:
            while True:
                while self._due and id(self._due[0][2]) not in self._live:
                    heapq.heappop(self._due)  # a job that ended
                if not self._due:
                    if self._closed:
                        return None
                    self._cond.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                beats = heapq.heappop(self._due)[2]
                self._in_flight = beats
                return beats

    def _run(self) -> None:
        while (beats := self._next()) is not None:
            again = True
            try:
                beats.job.heartbeat()
            except JobberTrackError as exc:
                again = beats.go_on(exc)
            finally:
                with self._cond:
                    self._in_flight = None
                    if again and beats.interval is not None and id(beats) in self._live:
                        heapq.heappush(self._due, (time.monotonic() + beats.interval, next(self._seq), beats))
                    self._cond.notify_all()


class Run:
    """The handle a ``running()`` block gets: the job plus a result slot."""

    def __init__(self, job: Any, beats: Heartbeats) -> None:
        self.job = job
        self.result: Any = None
        self._beats = beats

    @property
    def lost(self) -> BaseException | None:
        """Why heartbeats stopped, if they did (the job was lost)."""
        return self._beats.lost

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)

    def __repr__(self) -> str:
        return f"<Run of {self.job!r}>"


class Ending(NamedTuple):
    """A call that ends the job: the Resource method and its arguments."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def ending(run: Run, error: BaseException | None, traceback: bool) -> Generator[Ending, None, None]:
    """How a ``running()`` block ends its job, as the calls to make; a call
    that fails raises here.  Finish with ``run.result``; fail with the
    block's error, or with InvalidData when the result cannot be stored;
    then that error goes on.  A ``fail`` that fails is let be (the job was
    lost already, or Redis is away): the error that ended the block
    matters more."""
    if error is None:
        try:
            yield Ending("finish", (run.result,), {})
            return
        except InvalidData as exc:  # a result that cannot be stored: the job fails, saying why
            with contextlib.suppress(JobberTrackError):
                yield Ending("fail", (exc,), {})
            raise
    with contextlib.suppress(JobberTrackError):
        yield Ending("fail", (error,), {"traceback": traceback})
    raise error


def end_run(job: Any, plan: Generator[Ending, None, None]) -> None:
    """Make the calls of ``ending`` on ``job``, each error back into it."""
    step: Ending | None = next(plan)
    while step is not None:
        try:
            getattr(job, step.method)(*step.args, **step.kwargs)
        except JobberTrackError as exc:
            step = plan.throw(exc)
        else:
            step = next(plan, None)
