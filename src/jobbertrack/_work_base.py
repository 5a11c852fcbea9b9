"""What ``Handler.work`` of both layers shares: its checked arguments, its
counters, when a ``burst`` worker is done, and how a stop signal reaches it.

``track.work(queue, handler)`` pops jobs of ``queue`` and runs
``handler(job)`` for each, up to ``concurrency`` at once (threads in sync
code, tasks in asyncio), as ``running()`` runs a block: the lease renewed
in the background, ``current_job()`` set, the return value stored by
``finish``, an exception given to ``fail`` (so a job pushed with retries
goes back on its queue), a cancel honoured (the handler's next call on the
job raises ``JobCancelled``; in asyncio its task is cancelled at the next
heartbeat).  A stop (SIGTERM or SIGINT in the main thread, or
``track.stop_work()``) takes no new job and lets the running ones end
within ``grace`` seconds; the ones still running then are left to the
stall rule (their heartbeats stop when the process ends).  The executors
are ``_work.py`` (threads) and ``aio.py`` (tasks).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NamedTuple

from ._core.codec import duration_ms, optional_ms
from ._core.queue import check_queue
from ._core.workers import WorkerInfo
from ._exceptions import JobberTrackError, WrongType
from ._running import heartbeat_interval

#: ``burst``: while only delayed entries or retries wait on the queue, how
#: long one pop blocks before the queue is counted again.
BURST_WAIT = 1.0
MAX_CONCURRENCY = 10_000
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkSpec(NamedTuple):
    queue: str
    handler: Callable[[Any], Any]
    concurrency: int
    lease: float | None
    max_runtime: float | None
    burst: bool
    block: float
    grace: float

    @classmethod
    def of(
        cls,
        queue: object,
        handler: object,
        concurrency: object,
        lease: float | None,
        max_runtime: float | None,
        burst: bool,
        block: float,
        grace: float,
    ) -> WorkSpec:
        """Every argument checked before a job is taken."""
        if not callable(handler):
            raise WrongType(f"work() needs a callable handler(job), not {type(handler).__name__}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise JobberTrackError(f"concurrency must be an int, not {concurrency!r}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise JobberTrackError(f"concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
        optional_ms(lease, "lease")
        optional_ms(max_runtime, "max_runtime")
        duration_ms(block, what="block")
        if grace != 0:
            duration_ms(grace, what="grace")
        return cls(check_queue(queue), handler, concurrency, lease, max_runtime, bool(burst), block, grace)

    @property
    def interval(self) -> float | None:
        """Seconds between a running job's heartbeats: a third of the lease."""
        return heartbeat_interval(self.lease, None)

    def pop_block(self, pending: bool) -> float | None:
        """How long the next pop may wait: ``block``; a ``burst`` worker
        does not wait, unless delayed entries or retries are pending."""
        if not self.burst:
            return self.block
        return BURST_WAIT if pending else None


class WorkStats:
    """What one ``work()`` call has done: jobs it ran to ``finish``
    (``processed``), jobs whose handler failed (``failed``), jobs cancelled
    under it (``cancelled``), and the ids it runs now.  ``changed`` is set
    whenever the running ids change (the registry beats early then)."""

    def __init__(self) -> None:
        self.processed = 0
        self.failed = 0
        self.cancelled = 0
        self.running: set[str] = set()
        self.changed = threading.Event()
        self._lock = threading.Lock()

    def begin(self, job_id: str) -> None:
        with self._lock:
            self.running.add(job_id)
        self.changed.set()

    def end(self, job_id: str, outcome: str) -> None:
        """``outcome``: "processed", "failed" or "cancelled"."""
        with self._lock:
            self.running.discard(job_id)
            setattr(self, outcome, getattr(self, outcome) + 1)
        self.changed.set()

    def record(self, info: WorkerInfo) -> str:
        """The registry record of now (clears ``changed``)."""
        self.changed.clear()
        with self._lock:
            jobs = list(self.running)
        return info.record(jobs, self.processed, self.failed)


def worker_info(spec: WorkSpec) -> WorkerInfo:
    """How a ``work()`` call registers: its queue, concurrency and period."""
    return WorkerInfo([spec.queue], spec.concurrency, spec.interval)


def registration_info(queues: object, concurrency: object, lease: float | None) -> WorkerInfo:
    """``register_worker``'s arguments, checked: a queue name or a list of
    them, the jobs it runs at once, the lease of its jobs (its heartbeat
    period is a third of it, as theirs)."""
    names = [queues] if isinstance(queues, str) else queues
    if not isinstance(names, (list, tuple)) or not names:
        raise JobberTrackError(f"queues must be a queue name or a non-empty list of them, not {queues!r}")
    checked = list(dict.fromkeys(check_queue(q) for q in names))
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise JobberTrackError(f"concurrency must be an int, not {concurrency!r}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise JobberTrackError(f"concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    optional_ms(lease, "lease")
    return WorkerInfo(checked, concurrency, heartbeat_interval(lease, None))


@contextmanager
def stop_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call ``stop`` while the block runs (in the main
    thread only: elsewhere signals are not ours to take); a second SIGINT
    raises KeyboardInterrupt, for whoever will not wait."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and signal.SIGINT in asked:
            raise KeyboardInterrupt
        asked.append(signum)
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
