"""The pure parts the two layers share, without Redis: deadlines and the
per-client clock, the plans of multi-step reads, the loop of ``events()``,
and how ``running()`` ends a job."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import jobbertrack
from jobbertrack._core.calls import Commands
from jobbertrack._core.deadlines import (
    CHUNK_MS,
    CLOCK_MARGIN_MS,
    RedisClock,
    block_deadline,
    chunk_ms,
    maybe_due,
    run_deadlines,
    wait_deadline,
    wake_at,
    wake_chunk_s,
)
from jobbertrack._core.events import Event
from jobbertrack._core.keys import Keyspace
from jobbertrack._follow import BlockingRead, StreamReads, events_plan
from jobbertrack._ops import Read
from jobbertrack._plans import read_records
from jobbertrack._running import Ending, Heartbeats, Run, ending

RUNNING = {"state": "running", "started": "1000", "beat": "5000", "lease": "2000", "max_runtime": "60000"}


def test_run_deadlines_are_the_lease_and_the_run_time_of_a_running_job() -> None:
    assert run_deadlines(RUNNING) == [7000, 61000]
    assert run_deadlines({**RUNNING, "state": "waiting"}) == []
    assert run_deadlines({"state": "running", "started": "1"}) == []


def test_maybe_due_reads_bytes_or_str_with_a_margin_for_the_clocks() -> None:
    record = {**RUNNING, "lease": "20000"}  # due at 25 s of Redis' clock
    as_bytes = {k.encode(): v.encode() for k, v in record.items()}
    before = 25_000 - CLOCK_MARGIN_MS - 1  # this host's ms just before the margin starts
    assert not maybe_due(as_bytes, RedisClock(), before) and not maybe_due(record, RedisClock(), before)
    assert maybe_due(as_bytes, RedisClock(), before + 1) and maybe_due(record, RedisClock(), before + 1)
    assert not maybe_due({"state": "waiting"}, RedisClock(), 10**12)
    fresh = {"state": "running", "started": "20000", "beat": "21000", "lease": "4000"}  # due at 25 s
    behind = RedisClock()  # this host's clock 10 s behind Redis': by it, the lease has 14 s left...
    assert maybe_due(fresh, behind, 11_000) and behind.ahead_ms == 10_000  # ...but the beat shows it


def test_the_clock_learns_from_stamps_and_only_grows() -> None:
    clock = RedisClock()
    assert clock.now_ms({"beat": "9000"}, 1000) == 9000  # Redis was seen at 9000: this host is 8 s behind
    assert clock.ahead_ms == 8000
    assert clock.now_ms({"beat": "1"}, 2000) == 10_000  # an old stamp teaches nothing
    assert RedisClock().ahead_ms == 0  # one per client: another starts afresh


@given(ahead=st.integers(0, 10**6), host=st.integers(0, 10**9), stamps=st.lists(st.integers(0, 2 * 10**9)))
def test_the_clock_never_goes_below_a_stamp_seen(ahead: int, host: int, stamps: list[int]) -> None:
    clock = RedisClock()
    clock.ahead_ms = ahead
    for stamp in stamps:
        assert clock.now_ms({"started": str(stamp)}, host) >= max(stamp, host + ahead)


def test_wake_at_is_the_first_of_the_deadline_the_expiry_and_the_run_deadlines() -> None:
    clock = RedisClock()
    fields = {**RUNNING, "expires": "100000"}
    # host wall clock 6 s, monotonic 50 s: the lease (7 s, +5 ms) comes 1.005 s later
    assert wake_at(fields, until=1000.0, clock=clock, mono_now=50.0, host_s=6.0) == pytest.approx(51.005)
    assert wake_at(fields, until=50.5, clock=clock, mono_now=50.0, host_s=6.0) == 50.5
    clock.ahead_ms = 1000  # Redis 1 s ahead: its 7 s is this host's 6 s
    assert wake_at(fields, 1000.0, clock, 50.0, 6.0) == pytest.approx(50.005)


def test_wait_and_block_deadlines() -> None:
    assert wait_deadline(None, 5.0) == float("inf") and wait_deadline(2, 5.0) == 7.0
    assert wait_deadline(10**10, 5.0) == float("inf")
    assert block_deadline(None, 5.0) is None and block_deadline(0, 5.0) == float("inf")
    assert block_deadline(1.5, 5.0) == 6.5
    for bad in (-1, True, "1", float("nan")):
        with pytest.raises(jobbertrack.InvalidTimeout):
            wait_deadline(bad, 0)  # type: ignore[arg-type]
        with pytest.raises(jobbertrack.InvalidTimeout):
            block_deadline(bad, 0)  # type: ignore[arg-type]
    assert (
        chunk_ms(float("inf"), 0) == CHUNK_MS and chunk_ms(10.0, 9.9995) == 1 and chunk_ms(10.0, 9.5) == 500
    )


def test_a_wake_up_read_never_asks_redis_for_under_ten_ms() -> None:
    # Redis 6.2 truncates BLPOP's 0.001 s to 0 ms, its "block for ever"
    assert [wake_chunk_s(5000, 10.0 + left, 10.0) for left in (0.0, 0.0009, 0.001, 0.0101)] == [
        0.01,
        0.01,
        0.01,
        0.01,
    ]
    assert wake_chunk_s(5000, 10.5, 10.0) == 0.5
    assert wake_chunk_s(5000, float("inf"), 10.0) == wake_chunk_s(5000, 99.0, 10.0) == 5.0


def _drive(plan: Any, replies: list[Any]) -> tuple[list[Any], Any]:
    """Run a plan against canned replies: the steps it yielded, its result."""
    steps, reply = [], None
    try:
        while True:
            step = plan.send(reply)
            steps.append(step)
            reply = replies.pop(0)
    except StopIteration as done:
        return steps, done.value


def test_reading_many_jobs_settles_only_those_that_may_be_due() -> None:
    commands = Commands(Keyspace("t", 4))
    due = {b"state": b"running", b"beat": b"0", b"lease": b"1"}
    calm = {b"state": b"waiting"}
    settled = [b"ok", [b"state", b"failed"]]
    steps, records = _drive(
        read_records(commands, RedisClock(), ["a", "b", "c"]), [[calm, due, {}], [settled]]
    )
    assert steps[0] == [Read(commands.keys.job_key(i)) for i in "abc"]
    assert [call.job_id for call in steps[1]] == ["b"] and steps[1][0].script == "get"
    assert records == [calm, {"state": "failed"}, {}]
    steps, records = _drive(read_records(commands, RedisClock(), ["a"]), [[calm]])
    assert len(steps) == 1 and records == [calm]  # nothing due: one round


def _entry(ms: int, job: str, state: str) -> list[Any]:
    return [f"{ms}-0".encode(), [b"job", job.encode(), b"state", state.encode()]]


def test_events_plan_fetches_merges_then_stops_at_the_end_without_block() -> None:
    keys = Keyspace("t", 2)
    plan = events_plan(keys, None, None, clock=lambda: 0.0)
    fetch = plan.send(None)
    assert isinstance(fetch, StreamReads) and fetch.command == "xrange" and len(fetch.calls) == 2
    first = plan.send([[_entry(2, "b", "waiting")], [_entry(1, "a", "waiting")]])
    assert isinstance(first, Event) and first.job_id == "a"  # merge order: by time, across shards
    second = plan.send(None)
    assert isinstance(second, Event) and second.job_id == "b"
    with pytest.raises(StopIteration):
        plan.send(None)


def test_events_plan_asks_for_the_newest_ids_first_for_since_now_then_blocks_until_its_deadline() -> None:
    keys = Keyspace("t", 2)
    now = [0.0]
    plan = events_plan(keys, "$", 2.0, clock=lambda: now[0])
    newest = plan.send(None)
    assert isinstance(newest, StreamReads) and newest.command == "xrevrange"
    fetch = plan.send([[_entry(5, "x", "running")], []])
    assert isinstance(fetch, StreamReads) and [args[1] for args in fetch.calls] == ["(5-0", "(0-0"]
    block = plan.send([[], []])  # nothing after the newest ids
    assert isinstance(block, BlockingRead) and block.block_ms == CHUNK_MS
    assert block.streams == {keys.events_key(0): "5-0", keys.events_key(1): "0-0"}
    now[0] = 1.5
    block = plan.send([])  # nothing arrived
    assert isinstance(block, BlockingRead) and block.block_ms == 500  # not past the deadline
    now[0] = 2.0
    with pytest.raises(StopIteration):
        plan.send([])


class _Job:
    id = "j"


def _ending(
    result: Any, error: BaseException | None, fails: list[BaseException | None], made: list[Ending]
) -> list[Ending]:
    """The calls ``ending`` makes (into ``made``) when each call fails as ``fails`` says."""
    run = Run(_Job(), Heartbeats(_Job(), None))
    run.result = result
    plan = ending(run, error, traceback=True)
    step = next(plan)
    while True:
        made.append(step)
        failure = fails.pop(0)
        try:
            step = plan.throw(failure) if failure else plan.send(None)
        except StopIteration:
            return made


def test_running_finishes_with_the_result_or_fails_with_the_error() -> None:
    assert _ending(7, None, [None], []) == [Ending("finish", (7,), {})]
    boom, made = ValueError("boom"), list[Ending]()
    with pytest.raises(ValueError):
        _ending(None, boom, [None], made)
    assert made == [Ending("fail", (boom,), {"traceback": True})]
    made.clear()
    with pytest.raises(ValueError):  # a refused fail (the job was lost) keeps the block's error
        _ending(None, boom, [jobbertrack.InvalidTransition("j", "failed", "failed")], made)
    assert len(made) == 1


def test_running_fails_with_invalid_data_when_the_result_cannot_be_stored() -> None:
    bad, made = jobbertrack.InvalidData("not JSON"), list[Ending]()
    with pytest.raises(jobbertrack.InvalidData):
        _ending(object(), None, [bad, None], made)
    assert [m.method for m in made] == ["finish", "fail"] and made[1].args == (bad,)
    lost, made = jobbertrack.InvalidTransition("j", "failed", "finished"), []
    with pytest.raises(jobbertrack.InvalidTransition):  # lost meanwhile: finishing says so, nothing more
        _ending(1, None, [lost], made)
    assert [m.method for m in made] == ["finish"]


def test_heartbeats_stop_when_lost_and_go_on_after_a_hiccup() -> None:
    beats = Heartbeats(_Job(), 1.0, quiet=True)
    assert beats.go_on(jobbertrack.RedisUnavailable("down")) and beats.lost is None
    lost = jobbertrack.InvalidTransition("j", "failed", "running")
    assert not beats.go_on(lost) and beats.lost is lost
    assert Run(_Job(), beats).lost is lost
