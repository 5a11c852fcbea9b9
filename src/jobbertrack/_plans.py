"""The multi-step operations of both layers, written once, as plans.

A plan (see ``_run``) is a generator: it yields what to send (one ``Op``,
or a list for one pipelined round), gets each reply back, and returns its
result.  It decides everything and sends nothing; ``_run.run_plan`` (sync)
and ``_autopipe.arun_plan`` (asyncio) carry its steps to Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from ._core.calls import Commands
from ._core.deadlines import RedisClock, maybe_due
from ._core.finding import Filter, FindPlan, merge_tallies, tally_calls
from ._core.listing import Cursor, ListPlan, count_calls, merge_counts, states_of
from ._core.sweeping import SweepPlan
from ._core.transitions import State
from ._core.wire import fields_from_flat, text
from ._ops import Plan, Read


def settled_record(reply: Any, record: Any = None) -> Any:
    """The record in a ``get`` script's reply (the job settled: a stalled
    one failed), None when the job is gone; ``record``, the one read
    before, when the script refused a malformed record (``{'corrupt',
    field}``: the reader then shows its problems)."""
    if text(reply[0]) == "corrupt":
        return record
    return fields_from_flat(reply[1]) if len(reply) > 1 else None


def _maybe_due(record: Any, clock: RedisClock, host_ms: float) -> bool:
    """``maybe_due``; False for a record whose times are malformed (it is
    read as it is, with its problems)."""
    try:
        return maybe_due(record, clock, host_ms)
    except (ValueError, TypeError, OverflowError):
        return False


def needs_settling(record: Any, clock: RedisClock) -> bool:
    """Whether a record just read must be read again through the settling
    ``get`` script: it is running and may be past its lease or run time (by
    this host's clock, with a margin), so readers never see a dead worker's
    job as running.  ``Handler.get`` of both layers and ``read_record``."""
    return _maybe_due(record, clock, time.time() * 1000)


def read_record(commands: Commands, clock: RedisClock, job_id: str) -> Plan[Any]:
    """A job's record: one HGETALL, read again through the settling ``get``
    script when it ``needs_settling``.  Empty or None when the job is gone."""
    record = yield Read(commands.keys.job_key(job_id))
    if needs_settling(record, clock):
        record = settled_record((yield commands.get(job_id)), record)
    return record


def read_records(commands: Commands, clock: RedisClock, job_ids: Sequence[str]) -> Plan[list[Any]]:
    """``read_record`` of many jobs: one pipelined round of HGETALLs, and
    a second one of ``get`` calls only for the jobs that may be due."""
    records = list((yield [Read(commands.keys.job_key(i)) for i in job_ids]))
    host_ms = time.time() * 1000
    due = [n for n, record in enumerate(records) if _maybe_due(record, clock, host_ms)]
    if due:
        replies = yield [commands.get(job_ids[n]) for n in due]
        for n, reply in zip(due, replies, strict=True):
            records[n] = settled_record(reply, records[n])
    return records


#: What ``status`` says of a record that exists but whose ``state`` is
#: missing or not a state (or that a script refused as malformed).
CORRUPT = "corrupt"


def status(commands: Commands, job_id: str) -> Plan[str]:
    """``status``: the ``status`` script's word; when it says the job is
    gone ("expired" or "unknown") but a hash is still at the job's key (it
    lost its ``state``), or it names no state, ``CORRUPT``."""
    reply = yield commands.status(job_id)
    said = text(reply) if isinstance(reply, (str, bytes)) else CORRUPT  # {'corrupt', field}
    if said in ("expired", "deleted", "unknown") and (yield Read(commands.keys.job_key(job_id))):
        return CORRUPT
    return said if said in _WORDS else CORRUPT


_WORDS = frozenset({*(s.value for s in State), "expired", "deleted", "unknown"})


def list_page(
    commands: Commands,
    state: str | State | Iterable[str | State] | None,
    limit: int,
    cursor: str | None,
) -> Plan[tuple[ListPlan, list[str], str | None]]:
    """The ids of one page of ``list`` (one round per shard, a second only
    for shards that may hold more of the page), and the next page's cursor."""
    plan = ListPlan(commands.keys, states_of(state), limit, Cursor.parse(cursor))
    second = plan.after_first((yield plan.first_calls()))
    if second:
        plan.after_second((yield second))
    ids, nxt = plan.result()
    return plan, ids, None if nxt is None else str(nxt)


def find_page(
    commands: Commands, wanted: Filter, limit: int, cursor: str | None
) -> Plan[tuple[FindPlan, list[str], str | None]]:
    """The ids of one page of a filtered ``list`` (or one in creation
    order), in rounds of one ``find`` call per shard that may hold more of
    it, and the next page's cursor."""
    plan = FindPlan(commands.keys, wanted, limit, Cursor.parse(cursor))
    calls = plan.calls()
    while calls:
        plan.take((yield calls))
        calls = plan.calls()
    ids, nxt = plan.result()
    return plan, ids, None if nxt is None else str(nxt)


def filtered_counts(commands: Commands, wanted: Filter) -> Plan[dict[str, int]]:
    """Live jobs per state matching ``wanted`` (every state, or its own): by
    the tallies for one tag or one queue alone (O(1) per shard), by the
    counts of the state indexes for no filter, else by listing every match."""
    if not wanted.narrow:
        return merge_counts((yield count_calls(commands.keys)))
    if (
        not wanted.name
        and not wanted.after
        and not wanted.before
        and len(wanted.tags) + (wanted.queue is not None) == 1
    ):
        kind, value = ("tag", wanted.tags[0]) if wanted.tags else ("queue", str(wanted.queue))
        return merge_tallies((yield tally_calls(commands.keys, kind, value)))
    totals = {state.value: 0 for state in State}
    for state in wanted.states or tuple(State):  # each state apart: a listing settles no job
        cursor: Cursor | None = None
        while True:
            plan = FindPlan(commands.keys, wanted._replace(states=(state,), order="count"), 10_000, cursor)
            calls = plan.calls()
            while calls:
                plan.take((yield calls))
                calls = plan.calls()
            ids, cursor = plan.result()
            totals[state.value] += len(ids)
            if cursor is None:
                break
    return totals


#: Jobs a ``reindex`` call looks at.
REINDEX_BATCH = 1000


def sweep(commands: Commands) -> Plan[int]:
    """Put the jobs made before the finding indexes into them (once per
    shard: ``reindex`` then says done at once), then scan every shard for
    due running jobs and settle them, page after page; the number of jobs
    this sweep failed."""
    shards = list(range(commands.keys.shards))
    while shards:
        replies = yield [commands.reindex_shard(s, REINDEX_BATCH) for s in shards]
        shards = [s for s, done in zip(shards, replies, strict=True) if int(done) != 1]
    plan = SweepPlan(commands)
    calls = plan.scan_calls()
    while calls:
        plan.after_settle((yield plan.after_scan((yield calls))))
        calls = plan.scan_calls()
    return plan.failed
