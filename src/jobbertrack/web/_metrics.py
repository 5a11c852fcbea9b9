"""Prometheus metrics, one registry per app (never the process-global one).

- ``jobbertrack_jobs{state}``: a gauge, read from ``counts()`` at scrape time;
- ``jobbertrack_transitions_total{state}`` and ``jobbertrack_failures_total{reason}``:
  counted from the event stream since this process started;
- ``jobbertrack_job_run_seconds`` / ``jobbertrack_job_wait_seconds``: histograms
  of ended - started and started - created, from the records of jobs seen
  starting or ending (read in batches, off the follower's path).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

import jobbertrack

from ._activity import QueueThroughput, is_transition
from ._backend import Backend, cancel

BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
STATES = tuple(s.value for s in jobbertrack.State)  # the table's order
CONTENT_TYPE = CONTENT_TYPE_LATEST
BATCH = 200  # jobs read per get_many for the histograms
QUEUE_STATES = ("waiting", "delayed", "running")  # jobbertrack_queue_jobs's states
QUEUE_ENDS = ("finished", "failed")  # the endings the Queues page counts


class Metrics:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Gauge("jobbertrack_jobs", "Live jobs per state.", ["state"], registry=self.registry)
        self.transitions = Counter(
            "jobbertrack_transitions",
            "State changes seen in the event stream since this process started.",
            ["state"],
            registry=self.registry,
        )
        self.failures = Counter(
            "jobbertrack_failures",
            "Failed jobs seen since this process started, by reason (error, stalled, timeout).",
            ["reason"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "jobbertrack_job_run_seconds",
            "Time from start to end of jobs seen ending.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.wait_seconds = Histogram(
            "jobbertrack_job_wait_seconds",
            "Time from creation to start of jobs seen starting.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.queue_jobs = Gauge(
            "jobbertrack_queue_jobs",
            "Jobs of each queue: waiting (ready to pop), delayed, running.",
            ["queue", "state"],
            registry=self.registry,
        )
        self.queue_oldest_wait = Gauge(
            "jobbertrack_queue_oldest_wait_seconds",
            "How long the oldest ready job of each queue has waited (0 when none is ready).",
            ["queue"],
            registry=self.registry,
        )
        self.queue_workers = Gauge(
            "jobbertrack_workers",
            "Live workers taking jobs of each queue.",
            ["queue"],
            registry=self.registry,
        )
        self.throughput = QueueThroughput()
        for state in STATES:
            self.transitions.labels(state)
        self._pending: dict[str, set[str]] = {"start": set(), "end": set()}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def on_event(self, event: jobbertrack.Event) -> None:
        """Called by the follower for every new event."""
        if not is_transition(event):
            return
        state = event.state.value
        self.transitions.labels(state).inc()
        if state == "failed":
            self.failures.labels(str((event.error or {}).get("reason") or "error")).inc()
        if state == "running":
            self._note("start", event.job_id)
        elif event.state.is_final:
            self._note("end", event.job_id)

    def _note(self, kind: str, job_id: str) -> None:
        if sum(len(s) for s in self._pending.values()) < 100_000:
            self._pending[kind].add(job_id)
        self._wake.set()
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: timings wait for the next event
                self._task = asyncio.get_running_loop().create_task(self._timings())

    async def _timings(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for kind in ("start", "end"):
                ids = list(self._pending[kind])[:BATCH]
                self._pending[kind].difference_update(ids)
                if not ids:
                    continue
                try:
                    jobs = await self.backend.get_many(ids)
                except jobbertrack.JobberTrackError:
                    continue
                for job in jobs:
                    if job is not None:
                        self._observe(kind, job)
            if any(self._pending.values()):
                self._wake.set()

    def _observe(self, kind: str, job: Any) -> None:
        if kind == "start" and job.started_at and job.created_at:
            self.wait_seconds.observe(max((job.started_at - job.created_at).total_seconds(), 0.0))
        elif kind == "end" and job.ended_at and job.started_at:
            self.run_seconds.observe(max((job.ended_at - job.started_at).total_seconds(), 0.0))
        if kind == "end" and job.ended_at and job.queue and job.state in QUEUE_ENDS:
            self.throughput.add(job.queue, str(job.state), job.ended_at.timestamp())

    async def render(self) -> bytes:
        counts = await self.backend.counts()
        for state, n in counts.items():
            self.jobs.labels(state).set(n)
        fleet = await self.backend.fleet()
        # a queue gone since the last scrape goes from the output too
        for gauge in (self.queue_jobs, self.queue_oldest_wait, self.queue_workers):
            gauge.clear()
        for stats in fleet:
            name = str(stats["name"])
            for state in QUEUE_STATES:
                self.queue_jobs.labels(name, state).set(stats[state])
            self.queue_oldest_wait.labels(name).set(stats["oldest_wait_s"])
            self.queue_workers.labels(name).set(stats["workers"])
        return bytes(generate_latest(self.registry))

    async def stop(self) -> None:
        await cancel(self._task)
