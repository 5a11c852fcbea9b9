"""``Handler.work`` in sync code: the main thread pops, a thread of its
own runs each job (see ``_work_base`` for the contract)."""

from __future__ import annotations

import threading
import time
from typing import Any

from ._core.workers import WorkerInfo
from ._exceptions import JobCancelled
from ._log import log_warning
from ._registry import beat, unregister
from ._work_base import WorkSpec, WorkStats, next_beat, stop_signals, worker_info

#: What this module is given from above (``_sync``, which imports it):
#: ``Handler`` and ``Resource`` of the sync layer, typed loosely so that no
#: import (not even one for typing) points upwards.
Handler = Any
Resource = Any


class Worker:
    """One ``work()`` call: at most ``concurrency`` jobs run at once."""

    def __init__(self, track: Handler, spec: WorkSpec) -> None:
        self.track, self.spec = track, spec
        self.stats = WorkStats()
        self.stopping = threading.Event()
        self.free = threading.Semaphore(spec.concurrency)
        self.idle = threading.Condition()
        self.threads: set[threading.Thread] = set()

    def stop(self) -> None:
        self.stopping.set()
        with self.idle:
            self.idle.notify_all()

    def run(self) -> None:
        with stop_signals(self.stop):
            try:
                self._take_jobs()
            finally:
                self._wait_running(self.spec.grace)

    def _take_jobs(self) -> None:
        spec, pending = self.spec, False
        while not self.stopping.is_set():
            if not self.free.acquire(timeout=spec.block):
                continue  # every thread busy: look at the stop flag again
            if self.stopping.is_set():  # stopped while it waited for a free thread
                self.free.release()
                return
            try:
                job = self.track.pop_and_start(
                    spec.queue, block=spec.pop_block(pending), lease=spec.lease, max_runtime=spec.max_runtime
                )
            except BaseException:
                self.free.release()
                raise
            if job is not None:
                self._start(job)
                continue
            self.free.release()
            if spec.burst:
                with self.idle:
                    if self.threads:  # one of them may fail and come back: wait for it
                        self.idle.wait()
                        continue
                pending = self.track.queued(spec.queue) > 0
                if not pending:
                    return

    def _start(self, job: Resource) -> None:
        thread = threading.Thread(
            target=self._one, args=(job,), name=f"jobbertrack-work-{job.id}", daemon=True
        )
        with self.idle:
            self.threads.add(thread)
        self.stats.begin(job.id)
        thread.start()

    def _one(self, job: Resource) -> None:
        outcome = "processed"
        try:
            with job._as_started(self.spec.interval, traceback=True) as run:
                run.result = self.spec.handler(job)
        except JobCancelled:
            outcome = "cancelled"
        except BaseException as exc:  # the handler's error, stored by fail(): the worker goes on
            outcome = "failed"
            log_warning("job %s failed: %s: %s", job.id, type(exc).__name__, exc)
        finally:
            self.stats.end(job.id, outcome)
            with self.idle:
                self.threads.discard(threading.current_thread())
                self.idle.notify_all()
            self.free.release()

    def _wait_running(self, timeout: float) -> None:
        """Let the running jobs end, for ``timeout`` seconds at most; the
        ones still running are left to the stall rule."""
        with self.idle:
            if not self.idle.wait_for(lambda: not self.threads, timeout):
                running = ", ".join(sorted(self.stats.running))
                log_warning("work(): stopped; left running, to the stall rule: %s", running)


class Registration:
    """The worker's entry in the registry (``_core/workers.py``), beaten by a
    thread of its own while the worker runs, removed when it stops."""

    def __init__(self, track: Handler, stats: WorkStats, info: WorkerInfo) -> None:
        self.client, self.keys = track.client, track._core.keys
        self.stats, self.info = stats, info
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beats, name=f"jobbertrack-registry-{info.id}", daemon=True
        )

    def __enter__(self) -> Registration:
        beat(self.client, self.keys, self.info, self.stats.record(self.info))
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.stats.changed.set()  # wakes the thread
        self.thread.join()
        unregister(self.client, self.keys, self.info)

    def _beats(self) -> None:
        stats, info = self.stats, self.info
        last = time.monotonic()
        while not self.stopped.is_set():
            if not stats.changed.is_set():  # wait for a change, or the period
                stats.changed.wait(max(0.0, last + info.beat_s - time.monotonic()))
            wait = next_beat(stats, info, last, time.monotonic())
            if self.stopped.is_set() or (wait > 0 and self.stopped.wait(wait)):
                return
            beat(self.client, self.keys, info, stats.record(info))
            last = time.monotonic()


def work(track: Handler, spec: WorkSpec) -> Any:
    worker = Worker(track, spec)
    track._workers.add(worker)
    try:
        with Registration(track, worker.stats, worker_info(spec)):
            worker.run()
    finally:
        track._workers.discard(worker)
