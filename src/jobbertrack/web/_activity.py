"""Transitions and failures per minute over a sliding window (the overview's chart)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import jobbertrack


def is_transition(event: jobbertrack.Event) -> bool:
    """A change of state (create, start, finish, fail), not a progress report."""
    return event.progress is None or event.state.value != "running"


class Activity:
    def __init__(self, window: float = 3600.0) -> None:
        self.window = window
        self.started = time.time()
        self.first_seen: float | None = None  # the oldest event counted
        self._minutes: dict[int, list[int]] = {}

    def add(self, event: jobbertrack.Event) -> None:
        if not is_transition(event):
            return
        at = event.at.timestamp()
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at
        bucket = self._minutes.setdefault(int(at // 60), [0, 0])
        bucket[0] += 1
        if event.state.value == "failed":
            bucket[1] += 1
        self._trim()

    def _trim(self) -> None:
        oldest = int((time.time() - self.window) // 60)
        for minute in [m for m in self._minutes if m < oldest]:
            del self._minutes[minute]

    def series(self, now: float | None = None) -> dict[str, Any]:
        """The window's minutes, oldest first: ``{"from", "to", "minutes":
        [{"at", "transitions", "failures"}, ...]}``, times in ISO 8601 (UTC,
        milliseconds) as on every other route; ``at`` starts its minute."""
        now = time.time() if now is None else now
        last = int(now // 60)
        count = int(self.window // 60)
        first = last - count + 1
        minutes = [
            {
                "at": iso(m * 60),
                "transitions": self._minutes.get(m, [0, 0])[0],
                "failures": self._minutes.get(m, [0, 0])[1],
            }
            for m in range(first, last + 1)
        ]
        return {"from": iso(first * 60), "to": iso((last + 1) * 60), "minutes": minutes}


class QueueThroughput:
    """Jobs of each queue that ended, per minute over a sliding window (the
    Queues page's throughput column).  Fed with the records the metrics
    already read for their histograms (``Metrics``): an event names no
    queue, and no job is read for this alone.  So it counts what this
    process saw end since it started (at most ``window`` seconds back)."""

    def __init__(self, window: float = 3600.0) -> None:
        self.window = window
        self.started = time.time()
        self._minutes: dict[str, dict[int, list[int]]] = {}  # queue -> minute -> [finished, failed]

    def add(self, queue: str, state: str, at: float) -> None:
        if at < time.time() - self.window:
            return
        bucket = self._minutes.setdefault(queue, {}).setdefault(int(at // 60), [0, 0])
        bucket[0 if state == "finished" else 1] += 1
        self._trim()

    def _trim(self) -> None:
        oldest = int((time.time() - self.window) // 60)
        for queue, minutes in list(self._minutes.items()):
            for minute in [m for m in minutes if m < oldest]:
                del minutes[minute]
            if not minutes:
                del self._minutes[queue]

    def series(self, now: float | None = None) -> dict[str, Any]:
        """``{"window_s", "since", "queues": {name: {"finished": n, "failed": n}}}``:
        the jobs of each queue that ended over the window, ``since`` being
        where the count starts (the window's start, or this process's)."""
        now = time.time() if now is None else now
        self._trim()
        oldest = int((now - self.window) // 60)
        queues: dict[str, dict[str, int]] = {}
        for queue, minutes in sorted(self._minutes.items()):
            kept = [b for m, b in minutes.items() if m >= oldest]
            queues[queue] = {"finished": sum(b[0] for b in kept), "failed": sum(b[1] for b in kept)}
        since = max(self.started, now - self.window)
        return {"window_s": self.window, "since": iso(since), "queues": queues}


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat(timespec="milliseconds")
