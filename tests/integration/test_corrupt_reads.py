"""Records the library did not write: every read path, in both layers and
on every backend, reads them without crashing (issue 17).

A malformed record reads as a Resource whose ``state`` is None, whose bad
fields read as None and whose ``problems`` names each of them; listings
show it when an index reaches it, and never let it break the others."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.keys import Keyspace

KEYS = Keyspace()
DEEP = "[" * 100_000 + "]" * 100_000

#: field -> a malformed stored value, and the field ``problems`` names.
MALFORMED: dict[str, tuple[str, bytes | str]] = {
    "bogus state": ("state", "bogus"),
    "non-UTF-8 state": ("state", b"wait\xffing"),
    "bad expires": ("expires", "soon"),
    "huge expires": ("expires", "9" * 40),
    "negative created": ("created", "-5"),
    "deep data": ("data", DEEP),
    "data not JSON": ("data", "{nope"),
    "data NaN": ("data", "[NaN]"),
    "data lone surrogate": ("data", '"\\ud800"'),
    "data non-UTF-8": ("data", b'"\xff"'),
    "progress not an object": ("progress", "[1, 2]"),
    "progress wrong shape": ("progress", '{"current": "lots"}'),
    "error not JSON": ("error", "oops"),
    "lease zero": ("lease", "0"),
    "max_runtime words": ("max_runtime", "an hour"),
    "beat float": ("beat", "1.5e12"),
    "name non-UTF-8": ("name", b"\xc3\x28"),
    "empty token": ("token", ""),
}


#: stored field -> the Resource attribute that reads it.
ATTRIBUTE = {
    "state": "state",
    "expires": "expires_at",
    "created": "created_at",
    "beat": "heartbeat_at",
    "data": "data",
    "progress": "progress",
    "error": "error",
    "lease": "lease",
    "max_runtime": "max_runtime",
    "name": "name",
}


def job_key(job_id: str) -> str:
    return KEYS.job_key(job_id)


def every_attribute(job: Any) -> dict[str, Any]:
    names = [
        *("state", "is_final", "data", "name", "progress", "error", "created_at", "started_at"),
        *("ended_at", "expires_at", "heartbeat_at", "lease", "max_runtime", "problems"),
    ]
    out = {}
    for name in names:
        try:
            out[name] = getattr(job, name)
        except jobbertrack.InvalidData:  # ``data`` says so when it is malformed
            assert name == "data" and any(p["field"] == "data" for p in job.problems)
            out[name] = None
    return out


def test_the_issues_reproductions(track: Any, client: Any) -> None:
    job = track.create(600)
    key = job_key(job.id)
    client.hset(key, "state", "bogus")
    found = track.get(job.id)
    assert found.state is None and found.is_final is False
    assert found.problems == [{"field": "state", "problem": "not a state: 'bogus'"}]
    assert [j.id for j in track.list()] == [job.id]  # found through its index: listed, as broken
    assert track.list()[0].state is None
    client.hset(key, "state", "waiting")
    client.hset(key, "expires", "soon")
    found = track.get(job.id)
    assert found.expires_at is None and found.get_value()["expires_at"] is None
    assert {p["field"] for p in found.problems} == {"expires"}
    client.hset(key, "expires", "9" * 13)
    client.hset(key, "data", DEEP)
    found = track.get(job.id)
    with pytest.raises(jobbertrack.InvalidData, match="deeper"):
        found.data  # noqa: B018  (a JobberTrackError, never a RecursionError)
    value = found.get_value()
    assert value["data"] is None and value["state"] is None
    assert value["problems"][0]["field"] == "data" and "deeper" in value["problems"][0]["problem"]


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_read_of_a_malformed_record_answers(case: str, track: Any, client: Any) -> None:
    field, raw = MALFORMED[case]
    job = track.create(600, data={"kept": True}, name="label")
    healthy = track.create(600, name="healthy")
    client.hset(job_key(job.id), field, raw)
    found = track.get(job.id)
    attributes = every_attribute(found)
    assert attributes["state"] is None and attributes["is_final"] is False
    assert [p["field"] for p in found.problems] == [field]
    if field in ATTRIBUTE:
        assert attributes[ATTRIBUTE[field]] is None  # a bad field reads as None (``data`` raises)
    value = found.get_value()
    assert value["state"] is None and value["problems"] == found.problems
    found.history()
    assert track.history(job.id) == found.history()
    (again,) = track.get_many([job.id])
    assert again.problems == found.problems
    listed = track.list()
    assert {j.id for j in listed} == {job.id, healthy.id}  # one record never breaks the others
    assert track.list(limit=1).cursor is not None
    assert sum(track.counts().values()) == 2
    assert track.status(job.id) in ("corrupt", "waiting")
    assert track.get(healthy.id).state == "waiting" and not track.get(healthy.id).problems


def test_status_of_a_record_that_lost_its_state_is_corrupt_not_expired(track: Any, client: Any) -> None:
    job = track.create(600)
    client.hdel(job_key(job.id), "state")
    assert track.status(job.id) == "corrupt"
    found = track.get(job.id)
    assert found is not None and found.state is None
    assert found.problems == [{"field": "state", "problem": "missing"}]
    client.hset(job_key(job.id), "state", "bogus")
    assert track.status(job.id) == "corrupt"


def test_unknown_fields_are_kept_and_shown_under_extra(track: Any, client: Any) -> None:
    job = track.create(600, data=[1])
    client.hset(job_key(job.id), mapping={"importance": "7", "owner": b"\xffme"})
    found = track.get(job.id)
    assert found.state == "waiting" and found.problems == []  # a newer writer's field is no problem
    value = found.get_value()
    assert value["extra"] == {"importance": "7", "owner": "\ufffdme"}
    assert "problems" not in value
    found.start()
    found.finish({"done": 1})
    assert client.hget(job_key(job.id), "importance") == b"7"
    assert client.hget(job_key(job.id), "owner") == b"\xffme"
    assert track.get(job.id).get_value()["extra"]["importance"] == "7"


def test_a_healthy_record_has_no_problems_and_no_extra(track: Any) -> None:
    job = track.create(600, data={"a": [1, {"b": None}]}, name="n").start(lease=30, max_runtime=60)
    job.set_progress(1, 2, "half")
    found = track.get(job.id)
    assert found.problems == [] and found.state == "running"
    assert "problems" not in found.get_value() and "extra" not in found.get_value()
    job.fail("boom")
    assert track.get(job.id).problems == []


def test_waiting_on_a_malformed_record_raises_corrupt_record(track: Any, client: Any) -> None:
    job = track.create(600)
    client.hset(job_key(job.id), "state", "bogus")
    with pytest.raises(jobbertrack.CorruptRecord) as caught:
        track.wait(job.id, timeout=5)
    assert caught.value.job_id == job.id and caught.value.field == "state"
    assert isinstance(caught.value, jobbertrack.JobberTrackError)


def test_a_running_job_with_malformed_times_reads_without_settling(track: Any, client: Any) -> None:
    job = track.create(600).start(lease=0.001)
    client.hset(job_key(job.id), "beat", "yesterday")
    found = track.get(job.id)
    assert found.state is None and found.heartbeat_at is None
    assert [p["field"] for p in found.problems] == ["beat"]
    (again,) = track.get_many([job.id])
    assert again.problems == found.problems
    assert job.id in {j.id for j in track.list("running")}


def test_a_hash_with_only_garbage_reads_as_broken(track: Any, client: Any) -> None:
    job = track.create(600)
    key = job_key(job.id)
    client.delete(key)
    client.hset(key, mapping={b"\xff\xfe": b"\x00\xff", "state": b"\xff"})
    found = track.get(job.id)
    assert found.state is None and found.data is None and found.created_at is None
    assert found.problems == [{"field": "state", "problem": "not UTF-8 text"}]
    assert found.get_value()["extra"] == {"\ufffd\ufffd": "\x00\ufffd"}
    assert found.history() == [{"from": None, "to": "waiting", "at": None}]
    assert job.id in {j.id for j in track.list()}


def test_events_pass_over_an_entry_another_writer_added(
    track: Any, client: Any, loop: asyncio.AbstractEventLoop
) -> None:
    job = track.create(600)
    stream = KEYS.events_key(KEYS.shard_of(job.id))
    client.xadd(stream, {"job": job.id, "state": "exploded", "error": "{"})
    client.xadd(stream, {"job": job.id, "state": "waiting", "progress": DEEP})
    out = track.events()
    if hasattr(out, "__aiter__"):

        async def collect() -> list[Any]:
            return [e async for e in out]

        events = loop.run_until_complete(collect())
    else:
        events = list(out)
    assert [e.state for e in events] == ["waiting", "waiting"]
    assert events[-1].progress is None


def test_corrupt_record_carries_the_job_and_the_field() -> None:
    error = jobbertrack.CorruptRecord("job-1", "expires")
    assert (error.job_id, error.field) == ("job-1", "expires")
    assert "expires" in str(error) and "job-1" in str(error)
    assert jobbertrack.aio.CorruptRecord is jobbertrack.CorruptRecord


def test_the_one_mapper_turns_a_corrupt_reply_into_corrupt_record() -> None:
    from jobbertrack._core.calls import error_for, outcome

    result = outcome([b"corrupt", b"lease"])
    assert result.code == "corrupt" and result.fields is None
    with pytest.raises(jobbertrack.CorruptRecord) as caught:
        result.raise_for("job-2", "running", known=True)
    assert caught.value.field == "lease" and caught.value.job_id == "job-2"
    assert isinstance(error_for("corrupt", "job-3", field="state"), jobbertrack.CorruptRecord)
