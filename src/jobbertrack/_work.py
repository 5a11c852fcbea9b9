"""``Handler.work`` in sync code: the main thread pops, a pool of
``concurrency`` threads runs the jobs, and one more thread beats every
running job's heartbeat (see ``_work_base`` for the contract).  No thread
is started per job: a thread start costs about as much as a job's
pop or finish in Redis, measured by ``make bench-queue``."""

from __future__ import annotations

import queue
import threading
from typing import Any

from ._exceptions import JobCancelled
from ._log import log_warning
from ._registry import Registration
from ._running import SharedBeats
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
        self.running = 0  # jobs handed to the pool and not ended (under idle)
        self.jobs: queue.SimpleQueue[Resource | None] = queue.SimpleQueue()
        self.pool: list[threading.Thread] = []
        self.beats = SharedBeats(f"jobbertrack-heartbeats-{id(self):x}")

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
                for _ in self.pool:  # each thread ends after the job it runs, if any
                    self.jobs.put(None)
                self.beats.close()

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
                    if self.running:  # one of them may fail and come back: wait for it
                        self.idle.wait()
                        continue
                pending = self.track.queued(spec.queue) > 0
                if not pending:
                    return

    def _start(self, job: Resource) -> None:
        with self.idle:
            self.running += 1
            if len(self.pool) < self.spec.concurrency:  # at most one thread per free slot, made once
                thread = threading.Thread(
                    target=self._serve, name=f"jobbertrack-work-{len(self.pool)}", daemon=True
                )
                self.pool.append(thread)
                thread.start()
        self.stats.begin(job.id)
        self.jobs.put(job)

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            self._one(job)

    def _one(self, job: Resource) -> None:
        outcome = "processed"
        try:
            with job._as_started(self.spec.interval, traceback=True, shared=self.beats) as run:
                run.result = self.spec.handler(job)
        except JobCancelled:
            outcome = "cancelled"
        except BaseException as exc:  # the handler's error, stored by fail(): the worker goes on
            outcome = "failed"
            log_warning("job %s failed: %s: %s", job.id, type(exc).__name__, exc)
        finally:
            self.stats.end(job.id, outcome)
            with self.idle:
                self.running -= 1
                self.idle.notify_all()
            self.free.release()

    def _wait_running(self, timeout: float) -> None:
        """Let the running jobs end, for ``timeout`` seconds at most; the
        ones still running are left to the stall rule."""
        with self.idle:
            if not self.idle.wait_for(lambda: not self.running, timeout):
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
