"""``Handler.work`` in asyncio: one task pops, a task of its own runs each
job (see ``_work_base`` for the contract).  A heartbeat that finds a job
cancelled cancels its task (``JobCancelled`` ends it, the job stays
cancelled); the tasks still running after ``grace`` are cancelled and their
jobs left to the stall rule."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from ._aregistry import AsyncRegistration
from ._exceptions import JobCancelled, WrongType
from ._log import log_warning
from ._work_base import WorkSpec, stop_signals, worker_info

#: ``aio.Handler`` and ``aio.Resource`` (``aio`` imports this module): typed
#: loosely so that no import points upwards.
Handler = Any
Resource = Any


class AsyncWorker:
    """One ``await work()`` call: at most ``concurrency`` jobs run at once."""

    def __init__(self, track: Handler, spec: WorkSpec) -> None:
        if not inspect.iscoroutinefunction(spec.handler) and not inspect.iscoroutinefunction(
            getattr(spec.handler, "__call__", None)  # noqa: B004 - an object whose __call__ is async
        ):
            raise WrongType("jobbertrack.aio's work() needs an async def handler(job)")
        self.track, self.spec = track, spec
        self.registry = AsyncRegistration(track.client, track._core.keys, worker_info(spec))
        self.stats = self.registry.stats
        self.stopping = asyncio.Event()
        self.changed = asyncio.Condition()  # a task ended, or the worker was stopped
        self.tasks: set[asyncio.Task[None]] = set()
        self.abandoning = False
        self._loop = asyncio.get_running_loop()

    def stop(self) -> None:
        """Safe from a signal handler, another thread or a task: the loop is
        woken (its self-pipe) to see it."""
        self._loop.call_soon_threadsafe(self._stop_now)

    def _stop_now(self) -> None:
        self.stopping.set()
        self._loop.create_task(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _free_slot(self) -> bool:
        """Wait for a free slot: True, or False once the worker is stopped."""
        async with self.changed:
            await self.changed.wait_for(
                lambda: self.stopping.is_set() or len(self.tasks) < self.spec.concurrency
            )
        return not self.stopping.is_set()

    async def run(self) -> None:
        async with self.registry:
            with stop_signals(self.stop):
                try:
                    await self._take_jobs()
                finally:
                    await self._wait_running(self.spec.grace)

    async def _take_jobs(self) -> None:
        spec, pending = self.spec, False
        while await self._free_slot():
            job = await self.track.pop_and_start(
                spec.queue, block=spec.pop_block(pending), lease=spec.lease, max_runtime=spec.max_runtime
            )
            if job is not None:
                self._start(job)
                continue
            if spec.burst:
                if self.tasks:  # one of them may fail and come back: wait for it
                    await asyncio.wait(set(self.tasks), return_when=asyncio.FIRST_COMPLETED)
                    continue
                pending = await self.track.queued(spec.queue) > 0
                if not pending:
                    return

    def _start(self, job: Resource) -> None:
        self.registry.begin(job.id)
        task = asyncio.create_task(self._one(job), name=f"jobbertrack-work-{job.id}")
        self.tasks.add(task)

    async def _one(self, job: Resource) -> None:
        outcome = "processed"
        try:
            async with job._as_started(self.spec.interval, traceback=True, abandoned=self._abandoned) as run:
                run.result = await self.spec.handler(job)
        except JobCancelled:
            outcome = "cancelled"
        except asyncio.CancelledError:
            if not self.abandoning:
                raise
            outcome = "failed"  # left to the stall rule
        except Exception as exc:  # the handler's error, stored by fail(): the worker goes on
            outcome = "failed"
            log_warning("job %s failed: %s: %s", job.id, type(exc).__name__, exc)
        finally:
            self.registry.end(job.id, outcome)
            task = asyncio.current_task()
            if task is not None:
                self.tasks.discard(task)
            await self._notify()

    def _abandoned(self) -> bool:
        return self.abandoning

    async def _wait_running(self, timeout: float) -> None:
        """Let the running jobs end, for ``timeout`` seconds at most; the
        ones still running are cancelled and left to the stall rule."""
        if not self.tasks:
            return
        _, late = await asyncio.wait(set(self.tasks), timeout=timeout)
        if late:
            self.abandoning = True
            log_warning(
                "work(): stopped; left running, to the stall rule: %s", ", ".join(sorted(self.stats.running))
            )
            for task in late:
                task.cancel()
            await asyncio.wait(late)


async def work(track: Handler, spec: WorkSpec) -> Any:
    worker = AsyncWorker(track, spec)
    track._workers.add(worker)
    try:
        await worker.run()
    finally:
        track._workers.discard(worker)
