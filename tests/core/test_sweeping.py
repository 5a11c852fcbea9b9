"""``SweepPlan`` (``Handler.sweep()``: scan the shards, settle the due jobs), without Redis.

``Shards`` models what the ``sweep`` and ``settle`` scripts read and write
(``_lua/sweep.lua``, ``_lua/settle.lua`` and ``cleanup`` in ``_lua/_lib.lua``):
the state indexes (id -> expiry), the live records, the ``due`` set (id ->
lease or run-time deadline) and the tombstones; the clock stands still.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jobbertrack._core.calls import Commands
from jobbertrack._core.keys import Keyspace, shard_tags
from jobbertrack._core.sweeping import MAX_ROUNDS, SweepPlan
from jobbertrack._core.transitions import State

NOW = 10_000


class Shards:
    def __init__(self, keys: Keyspace) -> None:
        self.keys = keys
        n = keys.shards
        self.index: list[dict[State, dict[str, int]]] = [{s: {} for s in State} for _ in range(n)]
        self.records: list[dict[str, State]] = [{} for _ in range(n)]  # live records only
        self.due: list[dict[str, int]] = [{} for _ in range(n)]
        self.tombs: list[set[str]] = [set() for _ in range(n)]
        self.failed_by_settle: Counter[str] = Counter()

    def add(self, job_id: str, state: State, expires: int, deadline: int | None = None) -> None:
        shard = self.keys.shard_of(job_id)
        self.index[shard][state][job_id] = expires
        if expires >= NOW:
            self.records[shard][job_id] = state
        if deadline is not None:
            self.due[shard][job_id] = deadline

    def shard_of_call(self, call: Any) -> int:
        """The shard every key of the call is in (by its hash tag)."""
        tags = {k[k.index("{") + 1 : k.index("}")] for k in call.keys}
        assert len(tags) == 1, call.keys
        return shard_tags(self.keys.shards).index(tags.pop())

    def run(self, call: Any, batch: int) -> Any:
        return self.sweep(call, batch) if call.script == "sweep" else self.settle(call)

    def sweep(self, call: Any, batch: int) -> list[Any]:
        """sweep.lua: cleanup (at most ``batch`` expired entries per index,
        oldest first), then at most ``page`` due ids, earliest first."""
        shard, page = self.shard_of_call(call), int(call.args[-1])
        moved = 0
        for state, entries in self.index[shard].items():
            gone = sorted((score, i) for i, score in entries.items() if score < NOW)[:batch]
            for _, job_id in gone:
                del entries[job_id]
                if state is State.RUNNING:
                    self.due[shard].pop(job_id, None)
                self.tombs[shard].add(job_id)
            moved += len(gone)
        due = sorted((score, i) for i, score in self.due[shard].items() if score <= NOW)[:page]
        return [moved, [i.encode() for _, i in due]]

    def settle(self, call: Any) -> int:
        """settle.lua: drop the due entry of a gone record; fail a running
        job whose deadline has passed (1), else leave it (0)."""
        assert call.script == "settle"
        job_id = call.job_id
        shard = self.shard_of_call(call)
        assert shard == self.keys.shard_of(job_id)
        state = self.records[shard].get(job_id)
        if state is None:
            self.due[shard].pop(job_id, None)
            return 0
        deadline = self.due[shard].get(job_id)
        if state is not State.RUNNING or deadline is None or deadline > NOW:
            return 0
        self.records[shard][job_id] = State.FAILED
        self.index[shard][State.FAILED][job_id] = self.index[shard][State.RUNNING].pop(job_id)
        del self.due[shard][job_id]
        self.failed_by_settle[job_id] += 1
        return 1

    def heartbeat(self, job_id: str) -> bool:
        """touch: a running job's deadline moves on (its due entry with it)."""
        shard = self.keys.shard_of(job_id)
        if self.records[shard].get(job_id) is not State.RUNNING or job_id not in self.due[shard]:
            return False
        self.due[shard][job_id] = NOW + 1_000
        return True

    def expired_entries(self) -> int:
        return sum(score < NOW for shard in self.index for e in shard.values() for score in e.values())

    def overdue(self) -> set[str]:
        return {i for shard in range(self.keys.shards) for i, d in self.due[shard].items() if d <= NOW}

    def due_running(self) -> set[str]:
        """The live running jobs a sweep must fail."""
        return {
            i
            for shard, records in enumerate(self.records)
            for i, s in records.items()
            if s is State.RUNNING and self.due[shard].get(i, NOW + 1) <= NOW
        }


@st.composite
def namespaces(draw: Any) -> Shards:
    """Jobs in every state, live or expired; running ones with a deadline
    past or to come, or none; and due entries whose record is gone."""
    model = Shards(Keyspace("sw", draw(st.integers(1, 5))))
    for n in range(draw(st.integers(0, 40))):
        state = draw(st.sampled_from(list(State)))
        expires = draw(st.sampled_from([NOW - 50, NOW - 1, NOW, NOW + 500]))
        deadline = None
        if state is State.RUNNING:
            deadline = draw(st.sampled_from([None, NOW - 20, NOW, NOW + 1]))
        model.add(f"job{n}", state, expires, deadline)
    for n in range(draw(st.integers(0, 5))):  # a due entry alone: the record and index entry are gone
        shard = model.keys.shard_of(f"orphan{n}")
        model.due[shard][f"orphan{n}"] = draw(st.sampled_from([NOW - 5, NOW + 5]))
    return model


def sweep(model: Shards, commands: Commands, page: int) -> tuple[SweepPlan, int]:
    """``Handler.sweep()``'s loop; also returns how many rounds scanned."""
    plan = SweepPlan(commands, page)
    calls, rounds = plan.scan_calls(), 0
    while calls:
        rounds += 1
        settles = plan.after_scan([model.run(c, commands.cleanup_batch) for c in calls])
        plan.after_settle([model.run(c, commands.cleanup_batch) for c in settles])
        calls = plan.scan_calls()
    return plan, rounds


@settings(max_examples=150, deadline=None)
@given(model=namespaces(), page=st.integers(1, 6), batch=st.integers(1, 6))
def test_a_sweep_fails_each_due_job_once_tidies_everything_and_stops(
    model: Shards, page: int, batch: int
) -> None:
    to_fail, expired = model.due_running(), model.expired_entries()
    per_shard = [
        sum(score < NOW for e in model.index[s].values() for score in e.values()) // batch
        + sum(d <= NOW for d in model.due[s].values()) // page
        for s in range(model.keys.shards)
    ]
    plan, rounds = sweep(model, Commands(model.keys, cleanup_batch=batch), page)
    assert plan.failed == len(to_fail)
    assert set(model.failed_by_settle) == to_fail and set(model.failed_by_settle.values()) <= {1}
    assert plan.tombstoned == expired and model.expired_entries() == 0
    assert model.overdue() == set()
    assert rounds <= 1 + max(per_shard)  # a shard is scanned again only after a full page
    assert plan.scan_calls() == []


@settings(deadline=None)
@given(model=namespaces(), page=st.integers(1, 4), batch=st.integers(1, 4), data=st.data())
def test_concurrent_sweepers_count_each_failed_job_once_between_them(
    model: Shards, page: int, batch: int, data: Any
) -> None:
    """Two sweeps interleaved round by round, with heartbeats arriving
    between a scan and its settles: each due job is failed by one of them,
    and a job that beat in time is not failed at all."""
    commands = Commands(model.keys, cleanup_batch=batch)
    plans = [SweepPlan(commands, page), SweepPlan(commands, page)]
    to_fail = model.due_running()
    calls = [p.scan_calls() for p in plans]
    beat: set[str] = set()
    while any(calls):
        i = data.draw(st.sampled_from([i for i, c in enumerate(calls) if c]))
        settles = plans[i].after_scan([model.run(c, batch) for c in calls[i]])
        for call in data.draw(st.lists(st.sampled_from(settles), max_size=2)) if settles else []:
            if model.heartbeat(call.job_id):
                beat.add(call.job_id)
        plans[i].after_settle([model.run(c, batch) for c in settles])
        calls[i] = plans[i].scan_calls()
    assert plans[0].failed + plans[1].failed == len(to_fail - beat)
    assert set(model.failed_by_settle) == to_fail - beat and set(model.failed_by_settle.values()) <= {1}
    assert model.overdue() == set() and model.expired_entries() == 0


def test_only_shards_that_returned_a_full_page_are_scanned_again() -> None:
    commands = Commands(Keyspace("sw", 3), cleanup_batch=10)
    plan = SweepPlan(commands, page=2)
    assert [c.script for c in plan.scan_calls()] == ["sweep"] * 3
    settles = plan.after_scan([[10, []], [0, [b"a", b"b"]], [9, [b"c"]]])
    assert [c.job_id for c in settles] == ["a", "b", "c"]
    assert all(c.script == "settle" for c in settles)
    plan.after_settle([1, 0, 1])
    assert (plan.failed, plan.tombstoned) == (2, 19)
    again = plan.scan_calls()
    assert again == [commands.sweep_shard(0, 2), commands.sweep_shard(1, 2)]
    assert plan.after_scan([[0, []], [0, [b"d"]]]) == [commands.settle("d")]
    plan.after_settle([1])
    assert plan.scan_calls() == [] and plan.failed == 3


def test_a_shard_that_never_runs_dry_still_stops() -> None:
    """A due entry the settle rule leaves in place (say, its record's state
    and its due entry disagree) would be returned on every scan: the plan
    gives up after MAX_ROUNDS rather than loop for ever."""
    plan = SweepPlan(Commands(Keyspace("sw", 1)), page=1)
    calls, rounds = plan.scan_calls(), 0
    while calls:
        rounds += 1
        plan.after_settle([0 for _ in plan.after_scan([[0, [b"stuck"]]])])
        calls = plan.scan_calls()
    assert rounds == MAX_ROUNDS and plan.failed == 0
