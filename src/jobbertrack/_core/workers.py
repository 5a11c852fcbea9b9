"""The worker registry, without I/O (issue 23).

Every ``track.work()`` call (and ``jobbertrack work``) registers itself:
its id goes into the set ``<ns>:{<ns>.workers}:ids`` and its record, JSON,
into ``<ns>:{<ns>.workers}:w:<id>``, written again at every heartbeat with
an expiry of two heartbeat periods.  A worker that stops cleanly removes
both; one that is killed disappears when its record expires, and the next
reader drops its id from the set (which itself expires two periods after
the last beat of any worker).  So nothing outlives its worker for long.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from .wire import text

#: Longest heartbeat period of the registry (seconds): a worker beats at
#: the heartbeat period of its jobs (a third of the lease), at most this.
MAX_BEAT_S = 10.0
#: Shortest time between two beats (seconds): a worker beats early when the
#: jobs it runs change, so the registry shows them, but not more often.
MIN_GAP_S = 1.0
#: The id set lives at least this long after a beat (ms): one worker with a
#: short period must not shorten it under another's record.
IDS_TTL_MS = 86_400_000


def iso_utc(seconds: float) -> str:
    """Epoch seconds as ISO 8601 UTC, to the ms (as ``get_value()`` writes times)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds")


class WorkerInfo:
    """One registered worker, as this process sees itself."""

    def __init__(self, queues: Sequence[str], concurrency: int, beat_s: float | None) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}.{self.pid}.{os.urandom(3).hex()}"
        self.queues = list(queues)
        self.concurrency = concurrency
        self.started_at = time.time()
        self.beat_s = min(beat_s or MAX_BEAT_S, MAX_BEAT_S)

    @property
    def ttl_ms(self) -> int:
        """How long a beat keeps the record: two heartbeat periods."""
        return max(1, round(2 * self.beat_s * 1000))

    def record(self, jobs: Iterable[str], processed: int, failed: int) -> str:
        """The record written at a beat: what ``workers()`` returns."""
        return json.dumps(
            {
                "id": self.id,
                "host": self.host,
                "pid": self.pid,
                "queues": self.queues,
                "concurrency": self.concurrency,
                "started_at": iso_utc(self.started_at),
                "last_seen": iso_utc(time.time()),
                "jobs": sorted(jobs),
                "processed": processed,
                "failed": failed,
            },
            separators=(",", ":"),
        )


def next_beat(changed: bool, info: WorkerInfo, last: float, now: float) -> float:
    """Seconds until the registry's next beat: its period after the last
    one, or ``MIN_GAP_S`` after it when the running jobs ``changed``."""
    gap = MIN_GAP_S if changed else info.beat_s
    return max(0.0, last + gap - now)


def ids_ttl_ms(info: WorkerInfo) -> int:
    return max(info.ttl_ms, IDS_TTL_MS)


def read_workers(
    ids: Sequence[Any], records: Sequence[Any], queue: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The live workers (those of ``queue`` only, when given), oldest first,
    and the ids whose record is gone (expired: the worker died)."""
    live, dead = [], []
    for worker_id, raw in zip(ids, records, strict=True):
        if raw is None:
            dead.append(text(worker_id))
            continue
        try:
            record = json.loads(text(raw))
        except ValueError:
            dead.append(text(worker_id))  # not a record this version writes
            continue
        if not isinstance(record, dict):
            dead.append(text(worker_id))
            continue
        if queue is None or queue in record.get("queues", ()):
            live.append(record)
    live.sort(key=lambda r: (str(r.get("started_at", "")), str(r.get("id", ""))))
    return live, dead
