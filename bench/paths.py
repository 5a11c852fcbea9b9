"""What every benchmarked path shares, and jobbertrack's own paths.

A path runs ``n`` full job lifecycles (create, start, finish with a small
result, get) and returns an ``Outcome``: the wall time and per-step samples.
The harness (``lifecycle.py``) flushes the database, measures memory and
server time around ``run`` and never times anything else.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.transitions import State
from jobbertrack._run import run_many
from jobbertrack.testing import RedisServer

STEPS = ("create", "start", "finish", "get")
TIMEOUT = 3600  # seconds every record lives, on every path
PAYLOAD = {"user": 42, "op": "resize", "size": [640, 480]}  # the job's small input
RESULT = {"rows": 42, "ok": True}  # its small result


@dataclass
class Outcome:
    """One path's run of ``n`` lifecycles."""

    wall: float  # seconds for all n lifecycles
    samples: dict[str, list[float]]  # step -> seconds per call (or per batch)
    keys: list[str]  # the keys that belong to one of its jobs (MEMORY USAGE)
    per_sample: int = 1  # jobs per sample: 1, or the batch size of a pipelined path
    concurrent: bool = False  # samples overlap (asyncio): no per-step rate


@dataclass
class Options:
    batch: int = 100  # jobs per pipelined round
    concurrency: int = 128  # jobs in flight on the asyncio path
    parser_class: Any = None  # None: redis-py's default (hiredis when installed)
    async_parser_class: Any = None


class Path:
    """A way to run the lifecycle workload.  ``open`` connects to database
    ``db`` (and may raise ``Unavailable``), ``run`` does the work (called
    many times, for slices of the workload), ``close`` disconnects."""

    key = ""
    label = ""

    def __init__(self, db: int = 0) -> None:
        self.db = db

    def open(self, server: RedisServer, options: Options) -> None:
        self.options = options
        self.client = with_parser(server.client(db=self.db), options.parser_class)

    def run(self, n: int) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        self.client.close()


class Unavailable(Exception):
    """A path that cannot run here (its package is not installed)."""


def with_parser(client: Any, parser_class: Any) -> Any:
    """``client`` with its connections using ``parser_class`` (before any connects)."""
    if parser_class is not None:
        client.connection_pool.connection_kwargs["parser_class"] = parser_class
    return client


def empty_samples() -> dict[str, list[float]]:
    return {step: [] for step in STEPS}


# ------------------------------------------------------------- jobbertrack


class JtSync(Path):
    key = "jt-sync"
    label = "jobbertrack, sync, one call per step"

    def open(self, server: RedisServer, options: Options) -> None:
        super().open(server, options)
        self.track = jobbertrack.Handler(self.client, namespace="jts")

    def run(self, n: int) -> Outcome:
        track = self.track
        create, start, finish, get = (s := empty_samples())["create"], s["start"], s["finish"], s["get"]
        begin = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            job = track.create(TIMEOUT, data=PAYLOAD)
            t1 = perf_counter()
            job.start()
            t2 = perf_counter()
            job.finish(RESULT)
            t3 = perf_counter()
            track.get(job.id)
            t4 = perf_counter()
            create.append(t1 - t0)
            start.append(t2 - t1)
            finish.append(t3 - t2)
            get.append(t4 - t3)
        wall = perf_counter() - begin
        return Outcome(wall, s, [track._core.keys.job_key(job.id)])


class JtBulk(Path):
    """``create_many`` and ``get_many`` in batches; the two transitions go
    through the library's pipelined runner and ``Resource._apply`` exactly as
    a public ``start_many``/``finish_many`` would (there is none yet)."""

    key = "jt-bulk"
    label = "jobbertrack, bulk: create_many / get_many (batches)"

    def open(self, server: RedisServer, options: Options) -> None:
        super().open(server, options)
        self.track = jobbertrack.Handler(self.client, namespace="jtb")
        self.label = f"jobbertrack, bulk: create_many / get_many, {options.batch} per batch"

    def _move_many(self, jobs: list[Any], target: State, **kwargs: Any) -> None:
        core, cs = self.track._core, self.track._cs
        calls = [core.transition(job.id, target, **kwargs) for job in jobs]
        for job, call, reply in zip(jobs, calls, run_many(cs, calls), strict=True):
            job._apply(reply, target.value, call)

    def run(self, n: int) -> Outcome:
        track, batch = self.track, self.options.batch
        s = empty_samples()
        begin = perf_counter()
        for done in range(0, n, batch):
            t0 = perf_counter()
            jobs = track.create_many(min(batch, n - done), TIMEOUT, data=PAYLOAD)
            t1 = perf_counter()
            self._move_many(jobs, State.RUNNING)
            t2 = perf_counter()
            self._move_many(jobs, State.FINISHED, data=RESULT)
            t3 = perf_counter()
            track.get_many([job.id for job in jobs])
            t4 = perf_counter()
            s["create"].append(t1 - t0)
            s["start"].append(t2 - t1)
            s["finish"].append(t3 - t2)
            s["get"].append(t4 - t3)
        wall = perf_counter() - begin
        return Outcome(wall, s, [track._core.keys.job_key(jobs[-1].id)], per_sample=batch)


class JtAsync(Path):
    key = "jt-async"
    label = "jobbertrack.aio, concurrent jobs on one client"

    def open(self, server: RedisServer, options: Options) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        # redis.asyncio pools hold at most 100 connections unless told otherwise
        client = server.async_client(db=self.db, max_connections=max(100, options.concurrency))
        self.client = with_parser(client, options.async_parser_class)
        self.track = jobbertrack.aio.Handler(self.client, namespace="jta")
        self.label = f"jobbertrack.aio, {options.concurrency} jobs in flight on one client"

    async def _run(self, n: int) -> Outcome:
        track = self.track
        s = empty_samples()
        create, start, finish, get = s["create"], s["start"], s["finish"], s["get"]
        counter = itertools.count()
        last: list[str] = []

        async def worker() -> None:
            while next(counter) < n:
                t0 = perf_counter()
                job = await track.create(TIMEOUT, data=PAYLOAD)
                t1 = perf_counter()
                await job.start()
                t2 = perf_counter()
                await job.finish(RESULT)
                t3 = perf_counter()
                await track.get(job.id)
                t4 = perf_counter()
                create.append(t1 - t0)
                start.append(t2 - t1)
                finish.append(t3 - t2)
                get.append(t4 - t3)
                last[:] = [job.id]

        begin = perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(n, self.options.concurrency))))
        wall = perf_counter() - begin
        return Outcome(wall, s, [track._core.keys.job_key(last[0])], concurrent=True)

    def run(self, n: int) -> Outcome:
        return self.loop.run_until_complete(self._run(n))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
