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


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat(timespec="milliseconds")
