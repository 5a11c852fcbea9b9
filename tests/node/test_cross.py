"""Jobs across languages: jobs made in Node.js are worked from Python and
the reverse, and each side sees the other's jobs exactly as its own, on
every backend (Redis 7, Redis 6.2, the 3-master cluster, the restricted
ACL user)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import jobbertrack
from tests.helpers import wait_for
from tests.node.conftest import NodeDriver, NodeError, as_json


def same_view(js: NodeDriver, py: jobbertrack.Handler, job_id: str) -> dict[str, Any]:
    """The job as each side reads it, checked equal; Node's getValue()."""
    seen = js("get", id=job_id)
    job = py.get(job_id)
    assert job is not None
    assert seen == as_json(job.get_value())
    assert js("status", id=job_id) == py.status(job_id) == seen["state"]
    return seen  # type: ignore[no-any-return]


def test_a_node_job_is_worked_from_python(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = js("create", timeout=60, options={"data": {"input": [1, "é"]}, "name": "export"})
    assert made["state"] == "waiting" and made["data"] == {"input": [1, "é"]} and made["name"] == "export"
    assert same_view(js, py, made["id"]) == made
    job = py.get(made["id"])
    assert job is not None
    job.start(lease=30, max_runtime=600)
    job.set_progress(3, 10, "rendering")
    job.heartbeat()
    seen = same_view(js, py, job.id)
    assert seen["state"] == "running" and seen["lease"] == 30 and seen["max_runtime"] == 600
    assert seen["progress"] == {"current": 3, "total": 10, "message": "rendering"}
    job.finish({"pages": 12})
    seen = same_view(js, py, job.id)
    assert seen["state"] == "finished" and seen["data"] == {"pages": 12}
    assert seen["expires_at"] == made["expires_at"]  # the lifetime survives the moves
    expected = {"waiting": 0, "running": 0, "failed": 0, "finished": 1, "cancelled": 0}
    assert js("counts") == py.counts() == expected


def test_a_python_job_is_worked_from_node(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60, data={"input": 1}, name="import")
    assert js("get", id=job.id) == as_json(job.get_value())
    started = js("move", id=job.id, move="start", options={"lease": 30, "maxRuntime": 600})
    assert started["state"] == "running" and started["lease"] == 30 and started["max_runtime"] == 600
    js("move", id=job.id, move="progress", current=1, total=2, message="half")
    js("move", id=job.id, move="heartbeat")
    assert same_view(js, py, job.id)["progress"] == {"current": 1, "total": 2, "message": "half"}
    done = js("move", id=job.id, move="finish", data={"rows": [1, 2]})
    assert done == same_view(js, py, job.id)
    assert py.get(job.id).data == {"rows": [1, 2]}  # type: ignore[union-attr]
    assert [(h["from"], h["to"]) for h in py.history(job.id)] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "finished"),
    ]
    assert py.history(job.id)[-1]["progress"] == {"current": 1, "total": 2, "message": "half"}


def test_failures_read_the_same_on_both_sides(js: NodeDriver, py: jobbertrack.Handler) -> None:
    a = js("create", timeout=60)["id"]
    js("move", id=a, move="start")
    failed = js("move", id=a, move="fail", error="__Error__")  # a TypeError('bad input')
    assert failed["error"] == {"reason": "error", "message": "TypeError: bad input", "type": "TypeError"}
    assert same_view(js, py, a) == failed
    b = py.create(60)
    b.start()
    b.fail("disk full")
    assert js("get", id=b.id)["error"] == {"reason": "error", "message": "disk full"}
    c = py.create(60)
    js("move", id=c.id, move="start")
    js("move", id=c.id, move="fail", error={"message": "quota", "code": 7})
    assert py.get(c.id).error == {"reason": "error", "message": "quota", "code": 7}  # type: ignore[union-attr]


def test_an_illegal_move_is_refused_alike(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job = py.create(60)
    job.start()
    job.finish("done")
    refused = js.error("move", id=job.id, move="start")
    assert refused["name"] == "InvalidTransition" and refused["isJobberTrackError"]
    with pytest.raises(jobbertrack.InvalidTransition) as info:
        py.get(job.id).start()  # type: ignore[union-attr]
    python = info.value
    assert (refused["jobId"], refused["current"], refused["target"]) == (python.job_id, "finished", "running")
    assert (python.current, python.target) == ("finished", "running")
    assert refused["message"] == str(python)
    waiting = js("create", timeout=60)["id"]
    refused = js.error("move", id=waiting, move="finish", data=1)
    assert (refused["name"], refused["current"], refused["target"]) == (
        "InvalidTransition",
        "waiting",
        "finished",
    )
    refused = js.error("move", id=waiting, move="progress", current=1)
    assert (refused["name"], refused["current"], refused["target"]) == (
        "InvalidTransition",
        "waiting",
        "running",
    )
    with pytest.raises(jobbertrack.InvalidTransition) as info:
        py.get(waiting).set_progress(1)  # type: ignore[union-attr]
    assert refused["message"] == str(info.value)  # says what was tried, on both sides
    assert str(info.value).startswith("cannot report progress")
    refused = js.error("move", id=waiting, move="heartbeat")
    with pytest.raises(jobbertrack.InvalidTransition) as info:
        py.get(waiting).heartbeat()  # type: ignore[union-attr]
    assert refused["message"] == str(info.value) and refused["action"] == info.value.action
    assert same_view(js, py, waiting)["state"] == "waiting"  # refused: nothing written


def test_missing_and_expired_jobs_mean_the_same(js: NodeDriver, py: jobbertrack.Handler) -> None:
    assert js("get", id="never-made") is None and py.get("never-made") is None
    assert js("status", id="never-made") == py.status("never-made") == "unknown"
    refused = js.error("move", id="never-made", move="start")
    assert refused["name"] == "JobNotFound"
    with pytest.raises(jobbertrack.JobNotFound) as info:
        jobbertrack.Resource(py.client, "never-made").start()
    assert refused["message"] == str(info.value)
    short = js("create", timeout=0.05)["id"]
    wait_for(lambda: py.status(short) == "expired")
    assert js("status", id=short) == "expired"
    refused = js.error("move", id=short, move="start")  # its copy knew it existed
    assert refused["name"] == "JobExpired"


def test_stalled_jobs_settle_alike(js: NodeDriver, py: jobbertrack.Handler) -> None:
    a = js("create", timeout=60)["id"]
    js("move", id=a, move="start", options={"lease": 0.2})  # and never a heartbeat
    job = wait_for(lambda: (j := py.get(a)) is not None and j.state == "failed" and j)
    assert job.error["reason"] == "stalled"
    assert js("get", id=a)["error"]["reason"] == "stalled"
    b = py.create(60)
    b.start(max_runtime=0.2)
    seen = wait_for(lambda: (v := js("get", id=b.id))["state"] == "failed" and v)
    assert seen["error"]["reason"] == "timeout"
    assert py.get(b.id).error["reason"] == "timeout"  # type: ignore[union-attr]
    c = js("create", timeout=60)["id"]
    js("move", id=c, move="start", options={"lease": 0.2})
    wait_for(lambda: py.counts()["failed"] == 3)  # counted as failed before any read settles it
    expected = {"waiting": 0, "running": 0, "failed": 3, "finished": 0, "cancelled": 0}
    assert js("counts") == py.counts() == expected
    assert py.sweep() == 1  # c, settled by Python's sweep
    assert js("get", id=c)["error"]["reason"] == "stalled"


def test_listing_counts_history_and_events_mix_both_sides(js: NodeDriver, py: jobbertrack.Handler) -> None:
    ids = {}
    for side in ("node", "python"):
        for state in ("waiting", "running", "finished", "failed", "cancelled"):
            job_id = js("create", timeout=60)["id"] if side == "node" else py.create(60).id
            ids[(side, state)] = job_id
    for (side, state), job_id in ids.items():
        worker = "python" if side == "node" else "node"  # each job worked by the other side
        moves = {
            "waiting": [],
            "running": ["start"],
            "finished": ["start", "finish"],
            "failed": ["start", "fail"],
            "cancelled": ["start", "cancel"],
        }
        for move in moves[state]:
            if worker == "node":
                js("move", id=job_id, move=move)
            else:
                getattr(py.get(job_id), move)()
    expected = {"waiting": 2, "running": 2, "failed": 2, "finished": 2, "cancelled": 2}
    assert js("counts") == py.counts() == expected
    listed = {job.id: job.state for job in py.list(limit=100)}
    assert listed == {job_id: state for (_, state), job_id in ids.items()}
    for state in expected:
        assert {j.id for j in py.list(state)} == {ids[("node", state)], ids[("python", state)]}
    for (_, state), job_id in ids.items():
        assert [h["to"] for h in py.history(job_id)] == {
            "waiting": ["waiting"],
            "running": ["waiting", "running"],
            "finished": ["waiting", "running", "finished"],
            "failed": ["waiting", "running", "failed"],
            "cancelled": ["waiting", "running", "cancelled"],
        }[state]
    seen: dict[str, list[str]] = {}
    for event in py.events():
        seen.setdefault(event.job_id, []).append(event.state)
    assert seen == {job_id: [h["to"] for h in py.history(job_id)] for job_id in ids.values()}


def test_python_waits_for_a_job_node_finishes(js: NodeDriver, py: jobbertrack.Handler) -> None:
    job_id = js("create", timeout=60)["id"]
    js("move", id=job_id, move="start")
    result: list[Any] = []
    waiter = threading.Thread(target=lambda: result.append(py.wait(job_id, timeout=30)))
    waiter.start()
    js("move", id=job_id, move="finish", data="from node")
    waiter.join(60)
    assert not waiter.is_alive()
    assert result[0].state == "finished" and result[0].data == "from node"


def test_node_reads_what_python_set_value_reads(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    job = py.create(60, data=[1, 2], name="n")
    job.start(lease=10)
    value = as_json(job.get_value())
    from_value = js("setValue", id=job.id, reply=value)
    assert from_value["value"] == value and from_value["state"] == "running" and from_value["data"] == [1, 2]
    stored = {k.decode(): v.decode() for k, v in client.hgetall(py._core.keys.job_key(job.id)).items()}
    from_hash = js("setValue", id=job.id, reply=stored)
    assert from_hash["value"] == value
    seed = js(
        "setValue", id="x", reply={"state": "finished", "data": "some data"}
    )  # the seed's stored object
    assert seed["state"] == "finished" and seed["data"] == "some data"


def test_a_record_neither_wrote_reads_alike(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    """A malformed record (docs/data-model.md, "Reading a record the library
    did not write"): the same problems, the same refusal of a move."""
    job = py.create(60, data={"ok": 1})
    key = py._core.keys.job_key(job.id)
    client.hset(key, mapping={"state": "bogus", "data": "{", "colour": "blue"})
    seen = js("get", id=job.id)
    assert seen == as_json(py.get(job.id).get_value())  # type: ignore[union-attr]
    assert seen["state"] is None and seen["extra"] == {"colour": "blue"}
    assert {p["field"] for p in seen["problems"]} == {"state", "data"}
    assert js("status", id=job.id) == py.status(job.id) == "corrupt"
    refused = js.error("move", id=job.id, move="start")
    assert (refused["name"], refused["field"]) == ("CorruptRecord", "state")
    with pytest.raises(jobbertrack.CorruptRecord) as info:
        py.get(job.id).start()  # type: ignore[union-attr]
    assert refused["message"] == str(info.value)


def test_ids_from_a_node_factory_are_python_s_ids_too(make_node: Any, py: jobbertrack.Handler) -> None:
    """The seed's ResourceFactory: a factory that only chooses ids."""
    js = make_node(ids="order-")
    made = js("create", timeout=60)
    assert made["id"] == "order-1"
    job = py.get("order-1")
    assert job is not None and job.state == "waiting"
    job.start()
    assert js("get", id="order-1")["state"] == "running"
    with pytest.raises(NodeError) as info:
        make_node(ids="order-")("create", timeout=60)  # a second factory making order-1 again
    assert info.value.name == "JobExists" and info.value.details["jobId"] == "order-1"
    assert py.get("order-1").state == "running"  # type: ignore[union-attr]  # left as it was


def test_a_timeout_given_as_text_is_named_as_text(js: NodeDriver) -> None:
    refused = js.error("create", timeout="60")
    assert refused["name"] == "InvalidTimeout"
    assert refused["message"] == 'timeout must be a number of seconds, not the string "60"'
    assert "> 0" in js.error("create", timeout=-1)["message"]


def test_a_pushed_job_reads_alike_through_its_attempts(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """Node knows the queue's fields: a job pushed, popped and retried from
    Python, failed and worked from Node, reads the same on both sides at
    every step (getValue() equal to get_value())."""
    job = py.push({"file": "f1.csv"}, queue="cross", timeout=60, retries=2, backoff=0, name="import")
    seen = same_view(js, py, job.id)
    assert (seen["queue"], seen["attempt"], seen["retries"], seen["attempts"]) == ("cross", 1, 2, [])
    assert py.pop_and_start("cross", lease=30) is not None
    assert same_view(js, py, job.id)["state"] == "running"
    failed = js("move", id=job.id, move="fail", error="upstream timeout")  # a retry, made by Redis
    seen = same_view(js, py, job.id)
    assert failed == seen and (seen["state"], seen["attempt"]) == ("waiting", 2)
    assert [a["error"]["message"] for a in seen["attempts"]] == ["upstream timeout"]
    assert py.queued("cross") == 1
    js("move", id=job.id, move="start")  # by hand, from Node: leaving waiting drops the entry
    assert py.queued("cross") == 0 and py.pop_and_start("cross") is None
    js("move", id=job.id, move="finish", data={"rows": 3})
    seen = same_view(js, py, job.id)
    assert (seen["state"], seen["data"], seen["attempt"]) == ("finished", {"rows": 3}, 2)
    back = js("setValue", id=job.id, reply=seen)  # the queue fields survive a round trip
    assert back["value"] == seen


def test_node_makes_any_move_of_the_table_by_its_name(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """``job.move(name)`` in Node: a move added to the table (read from the
    scripts' manifest) needs no change of the Node client."""
    from jobbertrack._core.transitions import MOVES

    job = py.create(60)
    started = js("moveByName", id=job.id, name="start", options={"lease": 30})
    assert started["state"] == MOVES["start"].target.value and started["lease"] == 30
    failed = js("moveByName", id=job.id, name="fail", options={"error": "disk full"})
    assert failed == same_view(js, py, job.id)
    assert failed["state"] == "failed" and failed["error"] == {"reason": "error", "message": "disk full"}
    refused = js.error("moveByName", id=job.id, name="explode")
    assert refused["name"] == "InvalidData" and refused["isJobberTrackError"]
    assert "start" in refused["message"]


def test_input_and_result_read_alike(js: NodeDriver, py: jobbertrack.Handler) -> None:
    """A Python job finished from Node, and a Node job finished from Python:
    both sides read the same input and result."""
    job = py.create(60, data={"file": "f3.csv"})
    js("move", id=job.id, move="start")
    done = js("move", id=job.id, move="finish", data={"rows": 42})
    assert (done["input"], done["result"], done["data"]) == ({"file": "f3.csv"}, {"rows": 42}, {"rows": 42})
    assert done == same_view(js, py, job.id)
    assert (py.get(job.id).input, py.get(job.id).result) == ({"file": "f3.csv"}, {"rows": 42})  # type: ignore[union-attr]
    made = js("create", timeout=60, options={"data": [1, 2]})
    assert (made["input"], made["result"]) == ([1, 2], None)
    other = py.get(made["id"])
    assert other is not None
    other.start()
    other.finish(None)
    seen = same_view(js, py, made["id"])
    assert (seen["input"], seen["result"], seen["state"]) == ([1, 2], None, "finished")
