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
from ._core.listing import Cursor, ListPlan, states_of
from ._core.record import Fields, fields_from_flat
from ._core.sweeping import SweepPlan
from ._core.transitions import State
from ._run import Plan, Read


def settled_record(reply: Any) -> Fields | None:
    """The record in a ``get`` script's reply (the job settled: a stalled
    one failed), None when the job is gone."""
    return fields_from_flat(reply[1]) if len(reply) > 1 else None


def read_record(commands: Commands, clock: RedisClock, job_id: str) -> Plan[Any]:
    """A job's record: one HGETALL; read again through the settling ``get``
    script only when it is running and may be past its lease or run time
    (by this host's clock, with a margin), so readers never see a dead
    worker's job as running.  Empty or None when the job is gone."""
    record = yield Read(commands.keys.job_key(job_id))
    if maybe_due(record, clock, time.time() * 1000):
        record = settled_record((yield commands.get(job_id)))
    return record


def read_records(commands: Commands, clock: RedisClock, job_ids: Sequence[str]) -> Plan[list[Any]]:
    """``read_record`` of many jobs: one pipelined round of HGETALLs, and
    a second one of ``get`` calls only for the jobs that may be due."""
    records = list((yield [Read(commands.keys.job_key(i)) for i in job_ids]))
    host_ms = time.time() * 1000
    due = [n for n, record in enumerate(records) if maybe_due(record, clock, host_ms)]
    if due:
        replies = yield [commands.get(job_ids[n]) for n in due]
        for n, reply in zip(due, replies, strict=True):
            records[n] = settled_record(reply)
    return records


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


def sweep(commands: Commands) -> Plan[int]:
    """Scan every shard for due running jobs and settle them, page after
    page; the number of jobs this sweep failed."""
    plan = SweepPlan(commands)
    calls = plan.scan_calls()
    while calls:
        plan.after_settle((yield plan.after_scan((yield calls))))
        calls = plan.scan_calls()
    return plan.failed
