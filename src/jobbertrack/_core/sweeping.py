"""The plan of ``Handler.sweep()``, without I/O.

Round after round: scan every shard that may have more to do (``sweep``
script: moves expired index entries to tombstones, returns due running
jobs), then ``settle`` each due job with its own keys.  A shard is scanned
again only while it returned a full page, so the work is proportional to
the expired and due entries, not to the jobs stored.  Several sweepers may
run at once: ``settle`` is atomic and counts only the jobs it failed itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .calls import Call, Commands
from .record import text

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

    def scan_calls(self) -> list[Call]:
        """The next round's shard scans ([] when done)."""
        if self.rounds >= MAX_ROUNDS:
            return []
        self.rounds += 1
        return [self.core.sweep_shard(s, self.page) for s in self.shards]

    def after_scan(self, replies: Sequence[Any]) -> list[Call]:
        """Take the scans' replies; return the settle calls to run."""
        again, due = [], []
        for shard, (moved, ids) in zip(self.shards, replies, strict=True):
            self.tombstoned += int(moved)
            due += [text(i) for i in ids]
            if int(moved) >= self.core.cleanup_batch or len(ids) >= self.page:
                again.append(shard)
        self.shards = again
        return [self.core.settle(i) for i in due]

    def after_settle(self, results: Sequence[Any]) -> None:
        self.failed += sum(int(r) for r in results)
