"""``Handler.work`` in sync code: the main thread pops, a thread of its
own runs each job (see ``_work_base`` for the contract)."""

from __future__ import annotations

import threading
from typing import Any

from ._exceptions import JobCancelled
from ._log import log_warning
from ._registry import Registration
from ._work_base import WorkSpec, WorkStats, stop_signals, worker_info

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


def work(track: Handler, spec: WorkSpec) -> Any:
    worker = Worker(track, spec)
    track._workers.add(worker)
    try:
        with Registration(track.client, track._core.keys, worker_info(spec), worker.stats):
            worker.run()
    finally:
        track._workers.discard(worker)
