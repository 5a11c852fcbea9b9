"""The seed's model: moves, refused moves, data, timeouts, expiry."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack import InvalidTransition, State
from tests.helpers import all_keys


def snapshot(client: Any) -> dict[bytes, Any]:
    """Every key with its type-specific content, to prove nothing changed."""
    out: dict[bytes, Any] = {}
    for key in all_keys(client, "*"):
        kind = client.type(key)
        if kind == b"hash":
            out[key] = client.hgetall(key)
        elif kind == b"zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"stream":
            out[key] = client.xrange(key)
    return out


def test_lifecycle_waiting_running_finished(track: Any) -> None:
    job = track.create(30)
    assert isinstance(job.id, str) and job.id
    assert job.state == "waiting" and job.state is State.WAITING
    job.start()
    assert job.state == "running"
    job.finish("some data")
    assert job.state == "finished"
    assert job.data == "some data"
    same = track.get(job.id)
    assert same.state == "finished"
    assert same.data == "some data"
    assert same.get_value()["state"] == "finished"
    assert same.get_value()["data"] == "some data"


def test_fail_from_running(track: Any) -> None:
    job = track.create(30)
    job.start()
    job.fail("disk full")
    assert job.state == "failed"
    stored = track.get(job.id)
    assert stored.state == "failed"
    assert stored.error["message"] == "disk full"
    assert "data" not in stored.get_value()


ILLEGAL = [
    ("waiting", "finish"),
    ("waiting", "fail"),
    ("running", "start"),
    ("finished", "start"),
    ("finished", "finish"),
    ("finished", "fail"),
    ("failed", "start"),
    ("failed", "finish"),
    ("failed", "fail"),
]
TARGET = {"start": "running", "finish": "finished", "fail": "failed"}


def _bring_to(job: Any, state: str) -> None:
    if state != "waiting":
        job.start()
    if state == "finished":
        job.finish(1)
    elif state == "failed":
        job.fail()


@pytest.mark.parametrize(("state", "move"), ILLEGAL)
def test_illegal_moves_are_refused_and_write_nothing(track: Any, client: Any, state: str, move: str) -> None:
    job = track.create(30)
    _bring_to(job, state)
    stale = track.get(job.id)
    before = snapshot(client)
    with pytest.raises(InvalidTransition) as info:
        getattr(job, move)()
    assert info.value.job_id == job.id
    assert info.value.current == state
    assert info.value.target == TARGET[move]
    for word in (job.id, state, TARGET[move]):
        assert word in str(info.value)
    assert isinstance(info.value, jobbertrack.JobberTrackError)
    assert snapshot(client) == before
    assert job.state == state
    assert stale.state == state


def test_refused_move_shows_what_redis_holds(track: Any) -> None:
    job = track.create(30)
    other = track.get(job.id)
    other.start()
    other.finish("theirs")
    assert job.state == "waiting"  # local copies are not live
    with pytest.raises(InvalidTransition) as info:
        job.start()
    assert info.value.current == "finished"
    assert job.state == "finished"  # ... but a call syncs them
    assert job.data == "theirs"  # the data too
    assert job.get_value() == track.get(job.id).get_value()


def test_a_refused_move_drops_stale_local_data(track: Any) -> None:
    job = track.create(30, data="initial")
    other = track.get(job.id)
    job.start()
    job.finish("final")
    with pytest.raises(InvalidTransition):
        other.start()  # other still holds "initial"
    assert other.data == "final"
    with pytest.raises(InvalidTransition):
        other.heartbeat()  # touch refuses a finished job the same way
    assert other.get_value() == track.get(job.id).get_value()


def test_two_handles_race_exactly_one_wins(track: Any) -> None:
    job = track.create(30)
    rival = track.get(job.id)
    job.start()
    with pytest.raises(InvalidTransition):
        rival.start()
    assert rival.state == "running"


JSON_VALUES = [
    "text",
    "",
    0,
    -17,
    2**63 + 5,
    3.141592653589793,
    1e-300,
    True,
    False,
    None,
    [],
    {},
    [1, "two", 3.0, None, {"four": [4]}],
    {"nested": {"deep": [True, False]}, "unicode": "żółw 🐢 日本"},
    "nul\x00inside\x00",
    'quotes " and \\ backslashes and \n newlines',
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_finish_data_round_trips_exactly(track: Any, value: Any) -> None:
    job = track.create(30)
    job.start()
    job.finish(value)
    assert job.data == value
    loaded = track.get(job.id)
    assert loaded.data == value
    assert type(loaded.data) is type(value)
    assert loaded.get_value()["data"] == value


@pytest.mark.parametrize("bad", [object(), {1, 2}, math.nan, math.inf, b"bytes", {"k": object()}])
def test_unserialisable_data_is_refused_before_writing(track: Any, client: Any, bad: Any) -> None:
    job = track.create(30)
    job.start()
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData):
        job.finish(bad)
    assert snapshot(client) == before
    assert track.get(job.id).state == "running"
    assert job.state == "running"


def test_oversized_data_is_refused(make_handler: Any, client: Any) -> None:
    track = make_handler(max_data_bytes=1000)
    job = track.create(30)
    job.start()
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData, match="1000"):
        job.finish("é" * 600)  # 1,200 bytes of UTF-8
    assert snapshot(client) == before
    job.finish("é" * 400)
    assert track.get(job.id).data == "é" * 400


def test_oversized_initial_data_creates_nothing(make_handler: Any, client: Any) -> None:
    track = make_handler(max_data_bytes=10)
    with pytest.raises(jobbertrack.InvalidData):
        track.create(30, data="x" * 20)
    assert client.dbsize() == 0


def test_create_with_initial_data_and_name(track: Any) -> None:
    job = track.create(30, data={"input": [1, 2]}, name="resize")
    assert job.data == {"input": [1, 2]}
    loaded = track.get(job.id)
    assert loaded.data == {"input": [1, 2]}
    assert loaded.name == "resize"


def test_create_without_timeout_or_default_is_refused(track: Any, client: Any) -> None:
    with pytest.raises(jobbertrack.InvalidTimeout, match="set_default_timeout"):
        track.create()
    assert client.dbsize() == 0


@pytest.mark.parametrize("bad", [0, -1, -0.5, "10", None, math.nan, math.inf, True, [5]])
def test_bad_timeouts_are_refused(track: Any, client: Any, bad: Any) -> None:
    with pytest.raises(jobbertrack.InvalidTimeout):
        track.create(bad)
    with pytest.raises(jobbertrack.InvalidTimeout):
        track.set_default_timeout(bad)
    assert client.dbsize() == 0


def test_default_timeout_applies(track: Any, client: Any) -> None:
    track.set_default_timeout(60)
    job = track.create()
    ttl = client.pttl(
        track._target._core.keys.job_key(job.id)
        if hasattr(track, "_target")
        else track._core.keys.job_key(job.id)
    )
    assert 55_000 < ttl <= 60_000
    short = track.create(2.5)  # an explicit timeout wins; floats are fine
    assert short.expires_at is not None and short.created_at is not None
    assert (short.expires_at - short.created_at).total_seconds() == pytest.approx(2.5)


def _job_key(track: Any, job_id: str) -> str:
    core = track._target._core if hasattr(track, "_target") else track._core
    return str(core.keys.job_key(job_id))


def test_lifetime_survives_every_transition(track: Any, client: Any) -> None:
    job = track.create(20)
    key = _job_key(track, job.id)
    ttl0 = client.pttl(key)
    job.start(lease=5)
    ttl1 = client.pttl(key)
    job.heartbeat()
    job.set_progress(1, 2)
    job.finish({"done": True})
    ttl2 = client.pttl(key)
    assert 0 < ttl2 <= ttl1 <= ttl0 <= 20_000
    assert job.expires_at == track.get(job.id).expires_at


def _wait_until_gone(track: Any, job_id: str, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while track.get(job_id) is not None:
        assert time.monotonic() < deadline, "record did not expire"
        time.sleep(0.05)


def test_expired_record_reads_as_none_and_refuses_moves(track: Any, client: Any) -> None:
    job = track.create(0.3)
    job.start()
    _wait_until_gone(track, job.id)
    assert client.exists(_job_key(track, job.id)) == 0
    with pytest.raises(jobbertrack.JobExpired):
        job.finish("late")
    assert client.exists(_job_key(track, job.id)) == 0  # nothing recreated


async def test_a_fresh_handle_on_an_expired_id_says_expired(backend: Any, client: Any, aclient: Any) -> None:
    """A handle that never saw the job (``Resource(client, id)``) still gets
    JobExpired, not JobNotFound, while Redis remembers the id (an index
    entry or a tombstone: ``status()`` says "expired")."""
    track = jobbertrack.Handler(backend.app_client() if hasattr(backend, "app_client") else client)
    job = track.create(0.3)
    job.start()
    _wait_until_gone(track, job.id)
    assert track.status(job.id) == "expired"
    for move in ("start", "finish", "heartbeat"):
        with pytest.raises(jobbertrack.JobExpired):
            getattr(jobbertrack.Resource(track.client, job.id), move)()
    with pytest.raises(jobbertrack.JobExpired):
        await jobbertrack.aio.Resource(aclient, job.id).finish()
    assert track.status(job.id) == "expired"  # nothing recreated


def test_unknown_ids(track: Any) -> None:
    assert track.get("never-made") is None


def test_moving_a_job_that_never_existed_says_not_found(client: Any) -> None:
    job = jobbertrack.Resource(client, "never-made")
    with pytest.raises(jobbertrack.JobNotFound) as info:
        job.start()
    assert not isinstance(info.value, jobbertrack.JobExpired)
    assert "never-made" in str(info.value)
    assert client.dbsize() == 0


def test_refresh_reloads(track: Any) -> None:
    job = track.create(30)
    other = track.get(job.id)
    job.start()
    assert other.state == "waiting"
    other.refresh()
    assert other.state == "running"


def test_get_value_set_value_round_trip(track: Any, client: Any) -> None:
    job = track.create(30, data=[1])
    job.start(lease=10, max_runtime=60)
    job.set_progress(3, 10, "a third")
    job.finish({"rows": 3})
    value = job.get_value()
    copy = track.get(job.id)
    copy.set_value(value)
    assert copy.get_value() == value
    raw = client.hgetall(_job_key(track, job.id))
    copy.set_value(raw)  # what Redis returned, bytes and all
    assert copy.get_value() == track.get(job.id).get_value()
    assert copy.state == "finished" and copy.data == {"rows": 3}
    text = {k.decode(): v.decode() for k, v in raw.items()}  # decode_responses=True
    copy.set_value(text)
    assert copy.get_value() == track.get(job.id).get_value()


@pytest.mark.parametrize("data", ["some data", {"rows": 42}, [1, "two"], None, 7])
def test_set_value_takes_the_seeds_state_and_data(data: Any) -> None:
    """The seed's stored object was just ``{state, data}``."""
    job = jobbertrack.Resource(None, "seed-like")
    job.set_value({"state": "finished", "data": data})
    assert (job.state, job.data) == ("finished", data)
    assert job.get_value()["data"] == data


@pytest.mark.parametrize("bad", [None, 5, "text", {"state": "bogus"}, {"state": "finished", "data": {1, 2}}])
def test_set_value_refuses_what_it_cannot_read(bad: Any) -> None:
    job = jobbertrack.Resource(None, "x")
    with pytest.raises(jobbertrack.InvalidData):
        job.set_value(bad)
