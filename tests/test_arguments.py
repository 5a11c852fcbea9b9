"""Wrong arguments get a JobberTrackError (often also a TypeError or
ValueError) before anything is sent: no Redis is needed to see it."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import redis.asyncio

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.events import start_positions
from jobbertrack._core.listing import Cursor

NEVER = "redis://127.0.0.1:1/0"  # nothing listens: a call that reached Redis would fail differently


def test_a_client_of_the_other_layer_is_refused_up_front() -> None:
    with pytest.raises(TypeError, match=r"needs a redis\.Redis") as info:
        jobbertrack.Handler(redis.asyncio.Redis.from_url(NEVER))
    assert isinstance(info.value, jobbertrack.JobberTrackError)
    with pytest.raises(jobbertrack.JobberTrackError, match=r"needs a redis\.asyncio\.Redis"):
        jobbertrack.aio.Handler(redis.Redis.from_url(NEVER))
    for not_a_client in (None, 5, "redis://x"):
        with pytest.raises(jobbertrack.JobberTrackError, match="redis-py client"):
            jobbertrack.Handler(not_a_client)


@pytest.mark.parametrize("factory", [5, object(), "factory"])
def test_a_factory_without_create_and_load_is_refused(factory: Any) -> None:
    with pytest.raises(jobbertrack.JobberTrackError, match="create"):
        jobbertrack.Handler(redis.Redis.from_url(NEVER), factory)


@pytest.mark.parametrize(
    "options",
    [
        {"max_events": "x"},
        {"max_events": 0},
        {"max_events": 1.5},
        {"max_tombstones": -1},
        {"max_data_bytes": 10**12},
        {"max_data_bytes": True},
        {"tombstone_ttl": "x"},
        {"tombstone_ttl": float("nan")},
        {"tombstone_ttl": 1e300},
        {"tombstone_ttl": 10**30},
        {"namespace": "a{b}"},
        {"shards": 0},
    ],
)
def test_bad_handler_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        jobbertrack.Handler(redis.Redis.from_url(NEVER), **options)


@pytest.mark.parametrize("timeout", [10**30, 1e300, 2**60])
def test_absurdly_long_timeouts_are_refused(timeout: Any) -> None:
    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.InvalidTimeout, match="too long"):
        track.create(timeout)
    with pytest.raises(jobbertrack.InvalidTimeout):
        track.set_default_timeout(timeout)


@pytest.mark.parametrize("ids", [None, 5, "abc", b"abc"])
def test_get_many_wants_an_iterable_of_ids(ids: Any) -> None:
    with pytest.raises(TypeError) as info:
        jobbertrack.Handler(redis.Redis.from_url(NEVER)).get_many(ids)
    assert isinstance(info.value, jobbertrack.JobberTrackError)


@pytest.mark.parametrize("since", ["3:abc", "3:1-x", "c:a-b,a-b", "3:²-0", "3:" + "9" * 5000, "c:", "x"])
def test_bad_event_positions_are_refused(since: str) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        start_positions(since, 16)


@pytest.mark.parametrize("cursor", ["x", "²:id", "9" * 5000 + ":id", ":id"])
def test_bad_listing_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        Cursor.parse(cursor)


@pytest.mark.parametrize("block", ["x", -1, float("nan"), True, [1]])
def test_bad_event_blocks_are_refused(block: Any) -> None:
    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.InvalidTimeout):
        next(iter(track.events(block=block)))


@pytest.mark.parametrize("timeout", ["5", -1, float("nan"), True])
def test_bad_wait_timeouts_are_refused(timeout: Any) -> None:
    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.InvalidTimeout):
        track.wait("some-id", timeout)


def test_a_name_that_is_not_text_is_refused() -> None:
    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.JobberTrackError):
        track.create(60, name=5)  # type: ignore[arg-type]
    with pytest.raises(jobbertrack.InvalidData):
        track.create(60, name="\ud800")


@pytest.mark.parametrize("options", [{"namespace": "\ud800"}, {"shards": True}])
def test_namespaces_must_be_text_and_shards_an_int(options: dict[str, Any]) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        jobbertrack.Handler(redis.Redis.from_url(NEVER), **options)


@pytest.mark.parametrize("state", [5, object(), [], ["running", "bogus"]])
def test_bad_states_are_refused_before_counting(state: Any) -> None:
    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.JobberTrackError):
        track.count(state)
    with pytest.raises(jobbertrack.JobberTrackError):
        track.list(state)


def test_an_event_id_with_a_non_ascii_digit_is_refused() -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        start_positions("²:0-0", 16)


def test_progress_too_large_for_a_float_is_refused() -> None:
    from jobbertrack._core.calls import progress_details

    with pytest.raises(jobbertrack.InvalidData):
        progress_details(10**400)


def test_stored_text_that_is_not_json_reads_as_invalid_data() -> None:
    """Only another client bypassing the checks could store it."""
    job = jobbertrack.Resource(None, "x")
    job.set_value({"state": b"finished", "data": b"not json{"})
    with pytest.raises(jobbertrack.InvalidData):
        job.data  # noqa: B018


def test_set_value_refuses_an_infinite_time() -> None:
    with pytest.raises(jobbertrack.InvalidData):
        jobbertrack.Resource(None, "x").set_value({"id": "x", "created_at": float("inf")})


def test_huge_or_unprintable_exceptions_still_make_error_details() -> None:
    from jobbertrack._core.calls import MAX_ERROR_TEXT, error_details

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    assert error_details(Unprintable())["message"] == "Unprintable: <unprintable>"
    try:
        raise ValueError("x" * 2_000_000)
    except ValueError as exc:
        details = error_details(exc, with_traceback=True)
    assert MAX_ERROR_TEXT < len(details["message"]) < MAX_ERROR_TEXT + 100
    assert details["message"].startswith("ValueError: xxx")
    assert details["traceback"].endswith("\n")  # the end (the error line) is kept


def test_a_resource_on_a_client_of_the_other_layer_is_refused() -> None:
    with pytest.raises(jobbertrack.JobberTrackError, match=r"Resource needs a redis\.Redis"):
        jobbertrack.Resource(redis.asyncio.Redis.from_url(NEVER), "x")
    with pytest.raises(TypeError, match=r"Resource needs a redis\.asyncio\.Redis"):
        jobbertrack.aio.Resource(redis.Redis.from_url(NEVER), "x")
    jobbertrack.Resource(redis.Redis.from_url(NEVER), "x")  # the right layer: fine


def test_names_have_a_length_limit() -> None:
    from jobbertrack._core.fields import MAX_NAME

    track = jobbertrack.Handler(redis.Redis.from_url(NEVER))
    with pytest.raises(jobbertrack.InvalidData, match="at most"):
        track.create(60, name="n" * (MAX_NAME + 1))
