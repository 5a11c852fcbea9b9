"""The sans-I/O core, without Redis."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

import jobbertrack
from jobbertrack._core import calls, codec, ids, keys, record, transitions, wire
from jobbertrack._core.transitions import SOURCES, State


def test_crc16_matches_redis_cluster_reference() -> None:
    assert keys.crc16(b"123456789") == 0x31C3  # the reference value in the cluster spec
    # the slots Redis' own docs show for CLUSTER KEYSLOT somekey / foo{hash_tag}
    assert keys.slot_of("somekey") == 11058
    assert keys.slot_of("hash_tag") == 2515


def test_shard_tags_spread_evenly_over_slots() -> None:
    for shards in (1, 3, 16, 64):
        tags = keys.shard_tags(shards)
        assert len(set(tags)) == shards
        for i, tag in enumerate(tags):
            assert i * 16384 // shards <= keys.slot_of(tag) < (i + 1) * 16384 // shards


def test_three_equal_masters_get_a_fair_share_of_shards() -> None:
    ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
    per_master = Counter(
        next(m for m, (lo, hi) in enumerate(ranges) if lo <= keys.slot_of(t) <= hi)
        for t in keys.shard_tags(16)
    )
    assert all(5 <= per_master[m] <= 6 for m in range(3))


def test_job_keys_share_one_hash_tag_whatever_the_id() -> None:
    space = keys.Keyspace("jt", 16)
    for job_id in ["plain", "{evil}", "}{", "a{b}c", "{}"]:
        ks = space.job_keys(job_id)
        tags = {k[k.index("{") + 1 : k.index("}")] for k in ks}
        assert len(tags) == 1
        assert ks[0].endswith(":job:" + job_id)


def test_namespace_rules() -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        keys.Keyspace("a{b}")
    with pytest.raises(jobbertrack.JobberTrackError):
        keys.Keyspace("")
    with pytest.raises(jobbertrack.JobberTrackError):
        keys.Keyspace("ok", shards=0)


def test_jobs_spread_over_shards() -> None:
    space = keys.Keyspace()
    counts = Counter(space.shard_of(ids.new_id()) for _ in range(16_000))
    assert len(counts) == 16
    assert min(counts.values()) > 700


def test_transition_table() -> None:
    assert transitions.can_move(State.WAITING, State.RUNNING)
    assert transitions.can_move(State.RUNNING, State.FINISHED)
    assert transitions.can_move(State.RUNNING, State.FAILED)
    allowed = {(s, t) for t, sources in SOURCES.items() for s in sources}
    for s in State:
        for t in State:
            assert transitions.can_move(s, t) == ((s, t) in allowed)
    assert len(allowed) == 7  # start, finish, fail; cancel from two; retry from two
    assert transitions.can_move(State.WAITING, State.CANCELLED) and transitions.can_move(
        State.FAILED, State.WAITING
    )
    assert not transitions.can_move(State.FINISHED, State.WAITING)  # a finished job is never retried
    assert State.RUNNING == "running" and str(State.FAILED) == "failed"
    assert "running --> finished: finish" in transitions.mermaid_diagram()


def test_durations() -> None:
    assert codec.duration_ms(1) == 1000
    assert codec.duration_ms(0.0001) == 1
    assert codec.duration_ms(2.5) == 2500
    for bad in (0, -1, "1", None, float("nan"), float("inf"), True):
        with pytest.raises(jobbertrack.InvalidTimeout):
            codec.duration_ms(bad)


def test_json_limits() -> None:
    assert codec.encode_json({"a": "é"}) == '{"a":"é"}'
    with pytest.raises(jobbertrack.InvalidData):
        codec.encode_json("x" * 11, limit=10)
    with pytest.raises(jobbertrack.InvalidData):
        codec.encode_json("\ud800")


def test_record_value_round_trip() -> None:
    fields = {
        "state": "failed",
        "created": "1700000000000",
        "started": "1700000001000",
        "ended": "1700000002500",
        "expires": "1700000060000",
        "data": json.dumps([1, 2]),
        "error": json.dumps({"reason": "error", "message": "x"}),
        "lease": "5000",
        "progress": json.dumps({"current": 1, "total": 2, "message": None}),
        "name": "n",
    }
    value = record.to_value("id1", fields)
    assert value["created_at"] == "2023-11-14T22:13:20.000+00:00"
    assert value["lease"] == 5.0 and value["max_runtime"] is None
    back = record.from_value(value)
    assert record.to_value("id1", back) == value
    assert wire.ms_to_datetime("0") == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_outcome_maps_codes_to_errors() -> None:
    with pytest.raises(jobbertrack.InvalidTransition) as bad:
        calls.Outcome("bad", {"state": "finished"}).raise_for("j", "running", known=True)
    assert (bad.value.job_id, bad.value.current, bad.value.target) == ("j", "finished", "running")
    calls.Outcome("ok", {}).raise_for("j", "running", known=True)
    with pytest.raises(jobbertrack.InvalidTransition):
        calls.Outcome("bad", {"state": "finished"}).raise_for("j", "running", known=True)
    with pytest.raises(jobbertrack.JobExpired):
        calls.Outcome("gone", None).raise_for("j", "running", known=True)
    with pytest.raises(jobbertrack.JobNotFound) as info:
        calls.Outcome("gone", None).raise_for("j", "running", known=False)
    assert type(info.value) is jobbertrack.JobNotFound
    with pytest.raises(jobbertrack.JobExists):
        calls.Outcome("exists", None).raise_for("j", "waiting", known=False)


def test_error_details() -> None:
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        details = calls.error_details(exc, with_traceback=True)
    assert details["reason"] == "error"
    assert details["type"] == "ValueError"
    assert details["message"] == "ValueError: bad input"
    assert "Traceback" in details["traceback"]
    assert "traceback" not in calls.error_details(ValueError("x"))
    assert calls.error_details("plain")["message"] == "plain"
    assert calls.error_details(None) == {"reason": "error", "message": None}


def test_tokens_are_unique() -> None:
    assert len({calls.new_token() for _ in range(10_000)}) == 10_000
