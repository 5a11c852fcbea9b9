"""A job keeps what it was for: its input (``create(data=...)``, ``push``)
and its result (``finish(value)``) are two things, on every backend and
both layers; records written before results had their own field read
sensibly."""

from __future__ import annotations

from typing import Any

import jobbertrack
from tests.helpers import all_keys


def stored(client: Any, track: Any, job_id: str) -> dict[str, str]:
    """The job's hash as Redis holds it."""
    key = next(k for k in all_keys(client) if k.decode().endswith(f":job:{job_id}"))
    return {k.decode(): v.decode() for k, v in client.hgetall(key).items()}


def test_input_and_result_round_trip(track: Any, client: Any) -> None:
    job = track.create(60, data={"file": "f3.csv", "n": 3})
    assert (job.input, job.result, job.data) == ({"file": "f3.csv", "n": 3}, None, {"file": "f3.csv", "n": 3})
    job.start()
    job.finish({"rows": 42})
    for seen in (job, track.get(job.id)):
        assert seen.input == {"file": "f3.csv", "n": 3}  # never changed by a move
        assert seen.result == {"rows": 42}
        assert seen.data == {"rows": 42}  # the seed's meaning: the result once finished
        value = seen.get_value()
        assert (value["input"], value["result"], value["data"]) == (seen.input, seen.result, seen.data)
    record = stored(client, track, job.id)
    assert record["data"] == '{"file":"f3.csv","n":3}' and record["result"] == '{"rows":42}'


def test_a_job_without_input_stores_its_result_once(track: Any, client: Any) -> None:
    job = track.create(60)
    assert job.get_value()["input"] is None and "data" not in job.get_value()
    job.start()
    job.finish("done")
    record = stored(client, track, job.id)
    assert "data" not in record and record["result"] == '"done"'  # no byte stored twice
    assert (track.get(job.id).input, track.get(job.id).result) == (None, "done")


def test_a_null_result_is_a_result(track: Any, client: Any) -> None:
    job = track.create(60, data=[1, 2])
    job.start()
    job.finish()
    seen = track.get(job.id)
    assert (seen.input, seen.result, seen.data) == ([1, 2], None, None)
    assert stored(client, track, job.id)["result"] == "null"
    assert seen.get_value()["result"] is None and seen.get_value()["input"] == [1, 2]


def test_a_failed_job_keeps_its_input_and_has_no_result(track: Any) -> None:
    job = track.create(60, data={"file": "bad.csv"})
    job.start()
    job.fail("parse error")
    seen = track.get(job.id)
    assert (seen.input, seen.result, seen.data) == ({"file": "bad.csv"}, None, {"file": "bad.csv"})


def test_create_many_and_push_store_the_input(track: Any) -> None:
    many = track.create_many(3, 60, data={"batch": 7})
    assert [track.get(j.id).input for j in many] == [{"batch": 7}] * 3
    pushed = track.push({"to": "a@example.com"}, queue="mail", timeout=60)
    assert track.get(pushed.id).input == {"to": "a@example.com"}


def test_a_retry_keeps_the_input(track: Any) -> None:
    job = track.push({"file": "f1.csv"}, queue="retry-input", timeout=60, retries=1, backoff=0)
    first = track.pop_and_start("retry-input")
    assert first is not None and first.input == {"file": "f1.csv"}
    first.fail("upstream timeout")  # a retry: waiting again
    again = track.pop_and_start("retry-input")
    assert again is not None and again.id == job.id and again.input == {"file": "f1.csv"}
    again.finish({"handled": "f1.csv"})
    seen = track.get(job.id)
    assert (seen.input, seen.result) == ({"file": "f1.csv"}, {"handled": "f1.csv"})


def test_a_record_from_before_results_had_a_field_reads_sensibly(track: Any, client: Any) -> None:
    """Before, finish overwrote ``data``: a finished record holding only
    ``data`` shows it as the result (its input was lost then); a waiting or
    failed one's ``data`` is its input."""
    job = track.create(60, data={"file": "old.csv"})
    job.start()
    job.finish({"rows": 1})
    key = next(k for k in all_keys(client) if k.decode().endswith(f":job:{job.id}"))
    client.hdel(key, "result")  # what the previous version left: the result in data
    client.hset(key, "data", '{"rows":1}')
    seen = track.get(job.id)
    assert (seen.input, seen.result, seen.data) == (None, {"rows": 1}, {"rows": 1})
    assert seen.problems == []
    waiting = track.create(60, data={"file": "w.csv"})
    assert (track.get(waiting.id).input, track.get(waiting.id).result) == ({"file": "w.csv"}, None)


def test_set_value_round_trips_both_payloads(track: Any, make_handler: Any) -> None:
    job = track.create(60, data={"in": 1})
    job.start()
    job.finish({"out": 2})
    value = track.get(job.id).get_value()
    copy = jobbertrack.Resource(None, "copy")
    copy.set_value(value)
    assert copy.get_value() | {"id": job.id} == value
    assert (copy.input, copy.result) == ({"in": 1}, {"out": 2})
    seed = jobbertrack.Resource(None, "seed")
    seed.set_value({"state": "finished", "data": {"out": 3}})  # the seed's stored object
    assert (seed.input, seed.result, seed.data) == (None, {"out": 3}, {"out": 3})
