"""The worker registry's I/O in sync code (``_core/workers.py`` holds what
is written and how it is read; ``_aregistry.py`` is the asyncio twin)."""

from __future__ import annotations

import threading
import time
from typing import Any

from ._core.keys import Keyspace
from ._core.wire import text
from ._core.workers import WorkerInfo, ids_ttl_ms, next_beat, read_workers
from ._exceptions import translate
from ._log import log_warning
from ._work_base import WorkStats


def beat(client: Any, keys: Keyspace, info: WorkerInfo, record: str) -> None:
    """Write the worker's record for two heartbeat periods (a failure is
    only logged: the worker goes on, and shows again at its next beat)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(keys.worker_key(info.id), record, px=info.ttl_ms)
        pipe.sadd(keys.workers_key(), info.id)
        pipe.pexpire(keys.workers_key(), ids_ttl_ms(info))
        pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not register worker %s: %s", info.id, exc)


def unregister(client: Any, keys: Keyspace, info: WorkerInfo) -> None:
    try:
        pipe = client.pipeline(transaction=False)
        pipe.delete(keys.worker_key(info.id))
        pipe.srem(keys.workers_key(), info.id)
        pipe.execute()
    except Exception as exc:  # its record expires by itself
        log_warning("jobbertrack: could not unregister worker %s: %s", info.id, exc)


def workers(client: Any, keys: Keyspace, queue: str | None) -> list[dict[str, Any]]:
    """The live workers (of ``queue`` only, when given); drops the ids of
    the dead ones from the set."""
    try:
        ids = sorted(client.smembers(keys.workers_key()))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.get(keys.worker_key(text(worker_id)))
        live, dead = read_workers(ids, pipe.execute(), queue)
        if dead:
            client.srem(keys.workers_key(), *dead)
    except Exception as exc:
        raise translate(exc) from exc
    return live


class Registration:
    """A worker's entry in the registry while the block runs: written at
    once, beaten by a thread of its own (at its period, and early when the
    jobs it runs change), removed at the end.  ``Handler.register_worker``
    returns one; ``work()`` uses one.  ``begin(job_id)`` and ``end(job_id,
    outcome)`` tell it what the worker runs."""

    def __init__(self, client: Any, keys: Keyspace, info: WorkerInfo, stats: WorkStats | None = None) -> None:
        self.client, self.keys, self.info = client, keys, info
        self.stats = stats or WorkStats()
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beats, name=f"jobbertrack-registry-{info.id}", daemon=True
        )

    @property
    def id(self) -> str:
        return self.info.id

    def begin(self, job_id: str) -> None:
        self.stats.begin(job_id)

    def end(self, job_id: str, outcome: str = "processed") -> None:
        """``outcome``: "processed", "failed" or "cancelled"."""
        self.stats.end(job_id, outcome)

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
            wait = next_beat(stats.changed.is_set(), info, last, time.monotonic())
            if self.stopped.is_set() or (wait > 0 and self.stopped.wait(wait)):
                return
            beat(self.client, self.keys, info, stats.record(info))
            last = time.monotonic()
