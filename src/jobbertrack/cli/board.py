"""The live view shared by ``watch`` and ``demo``: recent jobs and counts,
kept current by the event stream, and how to draw them; ``watch`` adds a
line of queue depths.

Events say which jobs changed; the board then reads those jobs (one
pipelined ``get_many``) and the counts, so what it shows is what Redis
holds, and a stalled job is settled (failed) by the read.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

import jobbertrack

from .output import now_utc
from .render import counts_line, jobs_table, queues_line

STATES = [s.value for s in jobbertrack.State]
COLUMNS = ("id", "name", "state", "progress", "updated", "detail")
#: Longest time between two reads of the queue depths when no event comes:
#: a delayed job becoming ready, or a pause, is no job event.
QUEUES_EVERY = 2.0


class Board:
    """Jobs shown most recently changed first.  With ``only``, the board
    follows those jobs alone and counts them itself (the demo); otherwise
    it follows the whole namespace and shows Redis' counts."""

    def __init__(self, track: jobbertrack.Handler, rows: int, only: Iterable[str] | None = None) -> None:
        self.track = track
        self.rows = rows
        self.only = None if only is None else list(only)
        self.jobs: dict[str, jobbertrack.Resource] = {}  # least recently changed first
        self.changed: dict[str, datetime] = {}
        self.counts = dict.fromkeys(STATES, 0)
        self.events = 0
        #: ``queue_stats`` of every queue (the whole namespace only)
        self.queues: list[dict[str, Any]] = []
        self._queues_read = 0.0

    def load(self) -> None:
        if self.only is not None:
            found = [job for job in self.track.get_many(self.only) if job is not None]
        else:
            found = list(reversed(self.track.list(limit=self.rows)))
        self._take(found)

    def apply(self, events: list[Any]) -> None:
        """Take a batch of events: re-read the jobs they name, and the counts."""
        ids: dict[str, datetime] = {}
        for event in events:
            if self.only is None or event.job_id in self.jobs:
                ids.pop(event.job_id, None)
                ids[event.job_id] = event.at  # keeps the order of the last change
        self.events += len(events)
        read = dict(zip(ids, self.track.get_many(list(ids)), strict=True))
        # A child's move changes its group's counts with no event of the
        # group's own: read those groups too, as changed last (at their
        # child's move), so a group stays above its busy children.
        groups: dict[str, datetime] = {}
        for job_id, job in read.items():
            parent = None if job is None else job.get_value().get("group_id")
            if isinstance(parent, str) and (self.only is None or parent in self.jobs):
                groups[parent] = max(ids[job_id], groups.get(parent, ids[job_id]))
        unread = [group_id for group_id in groups if group_id not in read]
        if unread:
            read.update(zip(unread, self.track.get_many(unread), strict=True))
        for group_id, at in groups.items():
            ids[group_id] = max(at, ids.pop(group_id, at))
        self.changed.update(ids)
        found = [read[job_id] for job_id in ids]
        for job_id, job in zip(ids, found, strict=True):
            self.jobs.pop(job_id, None)
            if job is None:  # expired meanwhile
                self.changed.pop(job_id, None)
        self._take([job for job in found if job is not None])

    def _take(self, jobs: list[jobbertrack.Resource]) -> None:
        for job in jobs:
            self.jobs[job.id] = job
        if self.only is None:
            for job_id in list(self.jobs)[: max(0, len(self.jobs) - self.rows)]:
                del self.jobs[job_id]
                self.changed.pop(job_id, None)
            self.counts = self.track.counts()
            self.read_queues()
        else:
            tally = Counter(str(job.state) for job in self.jobs.values())
            self.counts = {state: tally[state] for state in STATES}

    def read_queues(self, *, unless_within: float = 0.0) -> None:
        """Read the queue depths, unless they were read less than
        ``unless_within`` seconds ago (the whole namespace only)."""
        if self.only is not None or time.monotonic() - self._queues_read < unless_within:
            return
        self.queues = [self.track.queue_stats(name) for name in self.track.queues()]
        self._queues_read = time.monotonic()

    @property
    def all_ended(self) -> bool:
        """Every job followed has ended (meaningful with ``only``)."""
        return all(job.is_final for job in self.jobs.values())

    def updated(self, job: jobbertrack.Resource) -> datetime | None:
        return self.changed.get(job.id) or job.ended_at or job.started_at or job.created_at

    def render(self, title: str, footer: str) -> RenderableType:
        now = now_utc()
        shown = list(reversed(self.jobs.values()))[: self.rows]
        table = jobs_table(((job, self.updated(job)) for job in shown), COLUMNS, now)
        head = Text(title, style="bold").append(f"   {now.astimezone():%H:%M:%S}", style="dim")
        lines: list[RenderableType] = [head, counts_line(self.counts)]
        if self.queues:
            lines.append(queues_line(self.queues))
        return Group(*lines, table, Text(footer, style="dim"))
