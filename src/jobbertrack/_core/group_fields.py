"""The record fields of groups and their children (docs/data-model.md,
"Groups"): names only, so ``fields.KNOWN`` can list them."""

from __future__ import annotations

from .transitions import State

#: ``kind`` of a group's record.
GROUP_KIND = "group"
#: A child's field naming its group.
GROUP = "group"
#: Per-state child counts: fields ``n:<state>``, plus these two.
TOTAL, EXPIRED = "n:total", "n:expired"
#: The follow-up job made when a group ends (``then=``).
THEN_FIELDS = ("then_queue", "then_name", "then_data", "then_id", "then_done")
#: Every field a group or a child record may hold besides a job's own.
GROUP_FIELDS = frozenset(
    {"kind", "closed", GROUP, TOTAL, EXPIRED, *THEN_FIELDS, *(f"n:{s.value}" for s in State)}
)
