"""Groups across languages (issue 24/25): a group made in Node.js with
children pushed from Python and popped by Node (and the reverse) has the
counts each side reads; a Node child of a Python group lands in its shard;
closed and unknown groups are refused alike; the follow-up job is pushed
once and popped by the other side; on every backend (Redis 7, Redis 6.2,
the 3-master cluster, the restricted ACL user)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.calls import Commands
from jobbertrack._core.fields import KNOWN
from jobbertrack._core.group_fields import GROUP_FIELDS
from tests.helpers import all_keys
from tests.node.conftest import NodeDriver, as_json
from tests.node.test_package import node_eval

STATES = [s.value for s in jobbertrack.State]


def zero(**counts: int) -> dict[str, int]:
    return {**dict.fromkeys(STATES, 0), **counts}


def same_group(js: NodeDriver, py: jobbertrack.Handler, group_id: str) -> dict[str, Any]:
    """The group as each side reads it (group() on both), checked equal:
    Node's getValue()."""
    seen = js("group", id=group_id)
    assert seen["isGroup"]
    group = py.group(group_id)
    assert seen["value"] == as_json(group.get_value())
    assert seen["closed"] == group.closed
    counts = js("groupCall", id=group_id, call="counts")
    assert counts == group.counts() == seen["value"]["group"]["counts"]
    assert js("groupCall", id=group_id, call="progress") == group.progress
    return seen["value"]  # type: ignore[no-any-return]


def test_a_node_group_of_python_children_popped_by_node(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = js("createGroup", timeout=60, options={"name": "export", "data": {"n": 3}})
    assert made["isGroup"] and not made["closed"]
    gid = made["value"]["id"]
    assert made["value"]["state"] == "waiting" and made["value"]["name"] == "export"
    assert made["value"]["group"] == {
        "counts": zero(),
        "total": 0,
        "closed": False,
        "expired": 0,
        "then": None,
    }
    assert "extra" not in made["value"]  # the group's fields are known ones
    assert made["value"] == as_json(py.get(gid).get_value())  # type: ignore[union-attr]
    pushed = [py.push(i, queue="g", timeout=30, group=gid) for i in range(3)]
    made_one = py.create(30, data="x", group=gid)
    many = py.create_many(2, 30, group=gid)
    shard = py._core.keys.shard_of(gid)
    assert {py._core.keys.shard_of(j.id) for j in [*pushed, made_one, *many]} == {shard}
    assert same_group(js, py, gid)["group"]["counts"] == zero(waiting=6)
    first = js("pop", queue="g")
    assert first["group_id"] == gid and "extra" not in first
    assert js("get", id=first["id"]) == as_json(py.get(first["id"]).get_value())  # type: ignore[union-attr]
    assert py.get(gid).state == "running"  # type: ignore[union-attr]  # a child started
    js("move", id=first["id"], move="finish", data="ok")
    second = js("pop", queue="g")
    js("move", id=second["id"], move="fail", error="no")
    seen = same_group(js, py, gid)
    assert seen["group"]["counts"] == zero(waiting=4, failed=1, finished=1)
    assert js("groupCall", id=gid, call="progress") == {"current": 2, "total": 6}
    page = js("groupCall", id=gid, call="children", args=[{"state": "waiting", "limit": 2}])
    python = py.group(gid).children("waiting", limit=2)
    assert page["ids"] == [j.id for j in python] and page["cursor"] == python.cursor
    rest = js("groupCall", id=gid, call="children", args=["waiting", {"limit": 2, "cursor": page["cursor"]}])
    assert rest["ids"] == [j.id for j in py.group(gid).children("waiting", limit=2, cursor=python.cursor)]
    assert len(set(page["ids"] + rest["ids"])) == 4
    everyone = js("groupCall", id=gid, call="children", args=[{"limit": 50}])
    assert sorted(everyone["ids"]) == sorted(j.id for j in [*pushed, made_one, *many])
    assert everyone["cursor"] is None
    closed = js("groupCall", id=gid, call="close")
    assert closed["closed"] and py.group(gid).closed
    js("move", id=js("pop", queue="g")["id"], move="finish")
    for job in [made_one, *many]:
        job.start()
        job.finish()
    assert py.get(gid).state == "failed"  # type: ignore[union-attr]  # one child failed
    seen = same_group(js, py, gid)
    assert seen["state"] == "failed" and seen["group"]["counts"] == zero(failed=1, finished=5)
    assert seen["error"] == {"reason": "children_failed", "failed": 1, "cancelled": 0, "expired": 0}


def test_a_python_group_of_node_children_popped_by_python(js: NodeDriver, py: jobbertrack.Handler) -> None:
    group = py.create_group(60, name="import")
    pushed = [
        js("push", data={"n": i}, options={"queue": "h", "timeout": 30, "group": group.id}) for i in range(3)
    ]
    made = js("create", timeout=30, options={"data": 1, "group": group.id})
    many = js("createMany", count=2, timeout=30, options={"group": group.id, "name": "bulk"})
    kids = [*pushed, made, *many]
    shard = py._core.keys.shard_of(group.id)
    assert {py._core.keys.shard_of(k["id"]) for k in kids} == {shard}  # in the group's shard
    for kid in kids:
        assert kid["group_id"] == group.id and "extra" not in kid
        assert kid == as_json(py.get(kid["id"]).get_value())  # type: ignore[union-attr]
    assert group.counts() == zero(waiting=6) == js("groupCall", id=group.id, call="counts")
    assert py.get(group.id).get_value()["group"]["total"] == 6  # type: ignore[union-attr]
    job = py.pop_and_start("h")
    assert job is not None and job.get_value()["group_id"] == group.id
    job.finish("done")
    failing = py.pop_and_start("h")
    assert failing is not None
    failing.fail("broken")
    js("move", id=made["id"], move="start")
    same_group(js, py, group.id)
    assert group.counts() == zero(waiting=3, running=1, failed=1, finished=1)
    retried = js("groupCall", id=group.id, call="retryFailed")
    assert retried == 1 and group.counts() == zero(waiting=4, running=1, finished=1)
    again = py.pop_and_start("h")
    assert again is not None
    cancelled = js("groupCall", id=group.id, call="cancel", args=["enough"])
    assert cancelled["closed"] and cancelled["value"]["state"] == "failed"
    seen = same_group(js, py, group.id)
    assert seen["group"]["counts"] == zero(finished=1, cancelled=5)
    assert seen["error"] == {"reason": "children_failed", "failed": 0, "cancelled": 5, "expired": 0}
    with pytest.raises(jobbertrack.JobCancelled):
        again.finish()  # its worker is refused: the group's cancel reached it


def test_node_children_of_a_python_group_land_in_its_shard_with_a_factory(
    make_node: Any, py: jobbertrack.Handler
) -> None:
    js = make_node(ids="kid-")  # a user's factory: kid-1, kid-2, ...
    groups = [py.create_group(60) for _ in range(4)]
    for group in groups:
        shard = py._core.keys.shard_of(group.id)
        kid = js("create", timeout=30, options={"group": group.id})
        pushed = js("push", data=1, options={"queue": "f", "timeout": 30, "group": group.id})
        kids = [kid, pushed, *js("createMany", count=3, timeout=30, options={"group": group.id})]
        assert all(k["id"].startswith("kid-") for k in kids)
        assert {py._core.keys.shard_of(k["id"]) for k in kids} == {shard}
        assert group.counts() == zero(waiting=5)
    made = js("createGroup", timeout=60, options={"children": [{"data": 1}, {"data": 2, "queue": "f"}]})
    assert made["value"]["id"].startswith("kid-") and made["closed"]
    gid = made["value"]["id"]
    ids = [c["id"] for c in js("groupCall", id=gid, call="children")["values"]]
    assert len(ids) == 2 and {py._core.keys.shard_of(i) for i in ids} == {py._core.keys.shard_of(gid)}


def test_closed_and_unknown_groups_are_refused_in_node(js: NodeDriver, py: jobbertrack.Handler) -> None:
    group = py.create_group(60)
    py.create(30, group=group.id)
    group.close()
    before = py.counts()
    for op, request in [
        ("create", {"timeout": 30, "options": {"group": group.id}}),
        ("push", {"data": 1, "options": {"queue": "c", "timeout": 30, "group": group.id}}),
        ("createMany", {"count": 2, "timeout": 30, "options": {"group": group.id}}),
    ]:
        refused = js.error(op, **request)
        assert refused["name"] == "GroupClosed" and refused["isJobberTrackError"]
        assert refused["jobId"] == group.id
        with pytest.raises(jobbertrack.GroupClosed) as info:
            py.create(30, group=group.id)
        assert refused["message"] == str(info.value)
    plain = py.create(60)
    for missing in ("never-made", plain.id):
        refused = js.error("create", timeout=30, options={"group": missing})
        assert refused["name"] == "GroupNotFound" and refused["isJobNotFound"] and refused["jobId"] == missing
        with pytest.raises(jobbertrack.GroupNotFound) as gone:
            py.push(1, queue="c", timeout=30, group=missing)
        assert refused["message"] == str(gone.value)
        assert (
            js.error("push", data=1, options={"queue": "c", "timeout": 30, "group": missing})["name"]
            == "GroupNotFound"
        )
    refused = js.error("group", id=plain.id)
    assert refused["name"] == "GroupNotFound" and refused["isJobNotFound"]
    with pytest.raises(jobbertrack.GroupNotFound) as info:
        py.group(plain.id)
    assert refused["message"] == str(info.value)
    refused = js.error("group", id="never-made")
    assert refused["name"] == "JobNotFound"
    with pytest.raises(jobbertrack.JobNotFound):
        py.group("never-made")
    keyed = js.error("create", timeout=30, options={"group": group.id, "key": "k"})
    assert keyed["name"] == "JobberTrackError" and "key" in keyed["message"]
    assert (
        js.error("push", data=1, options={"timeout": 30, "group": group.id, "key": "k"})["name"]
        == "JobberTrackError"
    )
    assert py.counts() == {**before, "waiting": before["waiting"] + 1}  # plain only: nothing else written
    assert group.counts() == zero(waiting=1)


def test_the_follow_up_job_is_pushed_once_and_popped_by_python(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    made = js(
        "createGroup",
        timeout=60,
        options={
            "name": "nightly",
            "then": {"queue": "after", "data": {"report": True}, "name": "summary"},
            "children": [{"data": 1, "queue": "work", "retries": 1, "name": "a"}, {"data": 2, "tags": ["t"]}],
        },
    )
    gid = made["value"]["id"]
    assert made["closed"] and made["value"]["group"]["total"] == 2
    then = made["value"]["group"]["then"]
    assert then["queue"] == "after" and then["name"] == "summary" and then["pushed"] is False
    assert py._core.keys.shard_of(then["id"]) == py._core.keys.shard_of(gid)
    assert "extra" not in made["value"]
    raw = client.hgetall(py._core.keys.job_key(gid))
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    assert fields["kind"] == "group" and fields["then_queue"] == "after" and fields["then_name"] == "summary"
    assert json.loads(fields["then_data"]) == {"report": True} and fields["then_id"] == then["id"]
    kids = py.group(gid).children()
    assert sorted(k.get_value()["input"] for k in kids) == [1, 2]
    assert {k.queue for k in kids} == {"work", None}
    worked = py.pop_and_start("work")
    assert worked is not None and worked.name == "a"
    worked.finish()
    assert py.pop_and_start("after") is None  # not before the group ends
    other = next(k for k in kids if k.queue is None)
    js("move", id=other.id, move="start")
    woken = py._core.keys.wake_key("after")
    assert client.llen(woken) == 0
    js("move", id=other.id, move="finish", data="ok")
    assert py.get(gid).state == "finished"  # type: ignore[union-attr]
    assert client.llen(woken) == 1  # Node's move ended the group: a worker of its follow-up queue is woken
    follow = py.pop_and_start("after")
    assert follow is not None and follow.id == then["id"] and follow.name == "summary"
    assert follow.input == {
        "group": gid,
        "counts": {**zero(finished=2), "total": 2},
        "data": {"report": True},
    }
    assert py.pop_and_start("after") is None and js("pop", queue="after") is None  # once
    assert same_group(js, py, gid)["group"]["then"] == {**then, "pushed": True}


def test_a_node_group_s_then_job_is_popped_by_node_for_a_python_group(
    js: NodeDriver, py: jobbertrack.Handler
) -> None:
    group = py.create_group(60, then={"queue": "next", "data": [1]}, children=[{"data": "x", "queue": "w"}])
    assert js("get", id=group.id) == as_json(group.get_value())
    kid = js("pop", queue="w")
    js("move", id=kid["id"], move="finish")
    follow = js("pop", queue="next")
    assert follow["id"] == group.get_value()["group"]["then"]["id"]
    assert follow["input"] == {"group": group.id, "counts": {**zero(finished=1), "total": 1}, "data": [1]}
    assert js("pop", queue="next") is None


def test_create_group_refuses_bad_arguments_and_writes_nothing(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    bad = [
        {"then": {"data": 1}},
        {"then": {"queue": "q", "when": 1}},
        {"then": "q"},
        {"children": [{"data": 1, "colour": "red"}]},
        {"children": {"data": 1}},
        {"children": [1]},
        {"children": [{"queue": "q", "delay": 99}]},
        {"children": [{"name": 3}]},
        {"nmae": "x"},
    ]
    for options in bad:
        refused = js.error("createGroup", timeout=60, options=options)
        assert refused["isJobberTrackError"], options
    assert js.error("createGroup", timeout=-1)["name"] == "InvalidTimeout"
    assert all_keys(client) == []  # not even the layout stamp


def test_node_s_group_fields_and_calls_are_python_s(node: str) -> None:
    """Node lists the group fields as known (the manifest does not carry
    them: lib/groups.cjs mirrors _core/group_fields.py) and builds the
    group, children and create calls Python builds."""
    program = """
    const { GROUP_FIELDS } = require('./lib/groups.cjs');
    const { KNOWN } = require('./lib/record.cjs');
    const { Commands } = require('./lib/calls.cjs');
    const groups = require('./lib/groups.cjs');
    const c = new Commands();
    const strip = (call) => [call.script, call.keys, call.args.slice(0, 1).concat(call.args.slice(2))];
    const then = groups.thenFields({ queue: 'q', name: 'n', data: { a: 1 } }, (v, w) => c.json(v, w));
    console.log(JSON.stringify({
      fields: GROUP_FIELDS,
      known: [...KNOWN],
      read: strip(c.group('g1')),
      close: strip(c.group('g1', true)),
      children: strip(c.children('g1', 'waiting', 50, '000000000000001\\u0000x', 2000)),
      made: strip(c.create('g1', 60000, { name: 'n', data: 1, groupPairs: groups.groupFields(then, 't1') })),
      child: strip(c.create('k1', 60000, { data: 1, group: 'g1' })),
      cursor: groups.childrenCursor('000000000000042\\u0000a:b'),
      after: groups.childrenAfter('42:a:b'),
    }));
    """
    got = node_eval(node, program)
    c = Commands()

    def strip(call: Any) -> list[Any]:
        args = [str(a) for a in call.args]
        return [call.script, list(call.keys), args[:1] + args[2:]]

    assert sorted(got["fields"]) == sorted(GROUP_FIELDS)
    assert set(got["known"]) == set(KNOWN)
    assert got["read"] == strip(c.group("g1"))
    assert got["close"] == strip(c.group("g1", close=True))
    assert got["children"] == strip(c.children("g1", "waiting", 50, "000000000000001\0x", 2000))
    fields = {
        "name": "n",
        "kind": "group",
        "then_queue": "q",
        "then_name": "n",
        "then_data": '{"a":1}',
        "then_id": "t1",
    }
    assert got["made"] == strip(c.create("g1", 60000, 1, fields))
    assert got["child"] == strip(c.create("k1", 60000, 1, {"group": "g1"}))
    assert got["cursor"] == "42:a:b" and got["after"] == "000000000000042\0a:b"
