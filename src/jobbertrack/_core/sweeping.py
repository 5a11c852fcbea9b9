"""The plan of ``Handler.sweep()``, without I/O.

Round after round: scan every shard that may have more to do (``sweep``
script: moves expired index entries to tombstones, returns due running
jobs), then ``settle`` each due job with its own keys.  A shard is scanned
again only while it returned a full page, so the work is proportional to
the expired and due entries, not to the jobs stored.  Several sweepers may
run at once: ``settle`` is atomic and counts only the jobs it failed itself.

A job whose record is malformed (``settle`` replies ``{'corrupt', field}``,
having written nothing) is skipped: logged once per sweep, with the field,
and left where it is; later scans of its shard pass over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._log import log_warning
from .calls import Call, Commands
from .wire import text

PAGE = 500
MAX_ROUNDS = 10_000


class SweepPlan:
    def __init__(self, core: Commands, page: int = PAGE) -> None:
        self.core = core
        self.page = page
        self.shards = list(range(core.keys.shards))
        self.failed = 0
        self.tombstoned = 0
        self.rounds = 0
        self.corrupt: dict[str, str] = {}  # job id -> the malformed field settle named
        self._skip: dict[int, int] = {}  # shard -> its corrupt due jobs (passed over by its scans)
        self._settling: list[str] = []  # the ids of the settle calls last returned

    def scan_calls(self) -> list[Call]:
        """The next round's shard scans ([] when done)."""
        if self.rounds >= MAX_ROUNDS:
            return []
        self.rounds += 1
        calls = [self.core.sweep_shard(s, self.page) for s in self.shards]
        return [self._passing_over(c, s) for c, s in zip(calls, self.shards, strict=True)]

    def _passing_over(self, call: Call, shard: int) -> Call:
        """The scan ``call`` of ``shard``, passing over its corrupt due jobs
        (ARGV[8] of sweep.lua, sent only when there are some)."""
        skip = self._skip.get(shard, 0)
        return call._replace(args=(*call.args, skip)) if skip else call

    def after_scan(self, replies: Sequence[Any]) -> list[Call]:
        """Take the scans' replies; return the settle calls to run."""
        again, due = [], []
        for shard, (moved, ids) in zip(self.shards, replies, strict=True):
            self.tombstoned += int(moved)
            due += [text(i) for i in ids if text(i) not in self.corrupt]
            if int(moved) >= self.core.cleanup_batch or len(ids) >= self.page:
                again.append(shard)
        self.shards = again
        self._settling = due
        return [self.core.settle(i) for i in due]

    def after_settle(self, results: Sequence[Any]) -> None:
        for job_id, result in zip(self._settling, results, strict=True):
            if isinstance(result, list):  # {'corrupt', field}: nothing written
                self._skipped(job_id, text(result[1]) if len(result) > 1 else "?")
            else:
                self.failed += int(result)

    def _skipped(self, job_id: str, field: str) -> None:
        if job_id in self.corrupt:
            return
        self.corrupt[job_id] = field
        shard = self.core.keys.shard_of(job_id)
        self._skip[shard] = self._skip.get(shard, 0) + 1
        log_warning("sweep: skipped job %r: its record's %r field is malformed", job_id, field)
