"""Groups (issue 24): a job whose children's counts Redis keeps in the
same script as each child's move; its own state, its follow-up job, its
children's pages, cancel and retry, through both layers on every backend."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import jobbertrack
from jobbertrack import GroupClosed, GroupNotFound, InvalidTransition, JobCancelled

from ..helpers import all_keys, wait_for

STATES = [s.value for s in jobbertrack.State]


def recount(track: Any, ids: list[str]) -> dict[str, int]:
    """The children per state from their records (a child whose record
    is gone before it ended counts as failed, as the group counts it)."""
    seen = Counter(job.state.value if job else "failed" for job in track.get_many(ids))
    return {s: seen.get(s, 0) for s in STATES}


def test_a_group_counts_its_children_as_they_move(track: Any) -> None:
    group = track.create_group(60, name="export")
    assert isinstance(getattr(group, "_target", group), (jobbertrack.Group, jobbertrack.aio.Group))
    assert group.state == "waiting" and group.counts() == dict.fromkeys(STATES, 0)
    pushed = [track.push(i, queue="g", timeout=30, group=group.id) for i in range(3)]
    made = track.create(30, data="x", group=group.id)
    many = track.create_many(2, 30, group=group.id)
    ids = [j.id for j in [*pushed, made, *many]]
    assert group.counts() == {**dict.fromkeys(STATES, 0), "waiting": 6}
    assert group.progress == {"current": 0, "total": 6}
    job = track.pop_and_start("g")
    assert track.get(group.id).state == "running"  # a child started
    job.finish("ok")
    track.pop_and_start("g").fail("no")
    made.start()
    assert (
        group.counts()
        == recount(track, ids)
        == {
            **dict.fromkeys(STATES, 0),
            "waiting": 3,
            "running": 1,
            "failed": 1,
            "finished": 1,
        }
    )
    assert group.progress == {"current": 2, "total": 6}


def test_a_closed_group_ends_with_its_last_child(track: Any) -> None:
    group = track.create_group(60)
    kids = [track.create(30, group=group.id) for _ in range(3)]
    group.close()
    for kid in kids[:-1]:
        kid.start()
        kid.finish(1)
    assert track.get(group.id).state == "running"
    kids[-1].start()
    kids[-1].finish(2)
    ended = track.get(group.id)
    assert ended.state == "finished" and ended.is_final
    value = ended.get_value()
    seen = value["group"]
    assert seen["counts"]["finished"] == 3 and seen["total"] == 3 and seen["closed"]
    assert track.wait(group.id, timeout=5).state == "finished"


def test_an_open_group_waits_for_its_close_and_an_empty_one_ends_at_it(track: Any) -> None:
    group = track.create_group(60)
    kid = track.create(30, group=group.id)
    kid.start()
    kid.finish()
    assert track.get(group.id).state == "running"  # more children may come
    group.close()
    assert track.get(group.id).state == "finished"
    empty = track.create_group(60)
    assert empty.close().state == "finished" and empty.progress == {"current": 0, "total": 0}


def test_a_group_with_a_failed_or_cancelled_child_fails_saying_how_many(track: Any) -> None:
    group = track.create_group(60)
    kids = [track.create(30, group=group.id) for _ in range(4)]
    group.close()
    kids[0].start()
    kids[0].finish()
    kids[1].start()
    kids[1].fail("boom")
    kids[2].cancel("not needed")
    kids[3].start()
    kids[3].fail("again")
    ended = track.get(group.id)
    assert ended.state == "failed"
    assert ended.error["reason"] == "children_failed"
    assert (ended.error["failed"], ended.error["cancelled"]) == (2, 1)


def test_then_pushes_one_follow_up_job_with_the_groups_counts(track: Any) -> None:
    group = track.create_group(60, then={"queue": "after", "data": {"report": 7}, "name": "summary"})
    kids = [track.create(30, group=group.id) for _ in range(2)]
    group.close()
    assert track.queued("after") == 0
    for kid in kids:
        kid.start()
        kid.fail("x") if kid is kids[0] else kid.finish()
    follow = track.pop_and_start("after")
    assert follow is not None and follow.name == "summary"
    assert follow.input == {
        "group": group.id,
        "counts": {**dict.fromkeys(STATES, 0), "failed": 1, "finished": 1, "total": 2},
        "data": {"report": 7},
    }
    assert track.get(group.id).get_value()["group"]["then"]["pushed"] is True
    # the group runs again after a retry and ends again: no second follow-up job
    assert group.retry_failed() == 1
    assert track.get(group.id).state == "running"
    again = track.get(kids[0].id)
    again.start()
    again.finish()
    assert track.get(group.id).state == "finished"
    assert track.queued("after") == 0 and track.pop_and_start("after") is None


def snapshot(client: Any) -> dict[bytes, bytes]:
    """Every key and its serialized value (DUMP: no expiry in it)."""
    return {key: client.dump(key) for key in all_keys(client)}


def test_a_closed_or_unknown_group_refuses_a_child_and_nothing_is_written(track: Any, client: Any) -> None:
    group = track.create_group(60)
    group.close()
    plain = track.create(30)
    before = snapshot(client)
    with pytest.raises(GroupClosed):
        track.create(30, group=group.id)
    with pytest.raises(GroupClosed):
        track.push("x", queue="q", timeout=30, group=group.id)
    with pytest.raises(GroupClosed):
        track.create_many(3, 30, group=group.id)
    with pytest.raises(GroupNotFound):
        track.create(30, group="no-such-group")
    with pytest.raises(GroupNotFound):  # a job that is not a group takes no children
        track.push("x", queue="q", timeout=30, group=plain.id)
    assert snapshot(client) == before


def test_a_child_lives_no_longer_than_its_group_and_shares_its_shard(track: Any) -> None:
    group = track.create_group(10)
    kid = track.create(3600, group=group.id)
    assert kid.expires_at == group.expires_at
    keys = track._core.keys if hasattr(track, "_core") else track._target._core.keys
    assert {keys.shard_of(j.id) for j in [kid, *track.create_many(20, 5, group=group.id)]} == {
        keys.shard_of(group.id)
    }
    assert kid.get_value()["group_id"] == group.id


def test_a_child_that_expires_before_it_ends_counts_as_failed_and_the_group_ends(track: Any) -> None:
    group = track.create_group(60)
    short = track.create(0.2, group=group.id)
    done = track.create(30, group=group.id)
    group.close()
    done.start()
    done.finish()
    wait_for(lambda: track.get(short.id) is None)
    ended = track.get(group.id)  # the first read counts it
    assert ended.state == "failed"
    assert ended.get_value()["group"]["counts"]["failed"] == 1 and ended.error["expired"] == 1
    track.sweep()  # the cleanup of its index entry counts nothing twice
    assert group.counts() == {**dict.fromkeys(STATES, 0), "failed": 1, "finished": 1}


def test_a_sweep_counts_an_expired_child_once(track: Any) -> None:
    group = track.create_group(60)
    short = [track.create(0.2, group=group.id) for _ in range(3)]
    group.close()
    wait_for(lambda: all(track.get(j.id) is None for j in short))
    track.sweep()
    track.sweep()
    assert group.counts() == {**dict.fromkeys(STATES, 0), "failed": 3}
    assert track.get(group.id).state == "failed"


def test_children_page_newest_first_and_by_state(track: Any) -> None:
    group = track.create_group(60)
    ids = [track.create(30, group=group.id).id for _ in range(7)]
    ids += [j.id for j in track.create_many(5, 30, group=group.id)]
    failed = track.get(ids[2])
    failed.start()
    failed.fail("x")
    seen, cursor = [], None
    while True:
        page = group.children(limit=3, cursor=cursor)
        seen += [j.id for j in page]
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    created = [track.get(i).created_at for i in seen]
    assert created == sorted(created, reverse=True)
    assert [j.id for j in group.children(state="failed")] == [failed.id]
    assert [j.id for j in group.children(state="finished")] == []


def test_cancel_ends_waiting_children_and_stops_running_ones(track: Any) -> None:
    group = track.create_group(60)
    waiting = [track.push(i, queue="c", timeout=30, group=group.id) for i in range(3)]
    running = track.pop_and_start("c")
    group.cancel("enough")
    with pytest.raises(JobCancelled):
        running.heartbeat()
    ended = track.get(group.id)
    assert ended.state == "failed" and ended.error["cancelled"] == 3
    assert track.pop_and_start("c") is None
    assert {track.get(j.id).state.value for j in waiting} == {"cancelled"}
    with pytest.raises(GroupClosed):
        track.create(30, group=group.id)


def test_a_group_moves_only_with_its_children(track: Any) -> None:
    group = track.create_group(60)
    with pytest.raises(InvalidTransition):
        track.get(group.id).start()
    with pytest.raises(InvalidTransition):
        track.cancel(group.id)
    assert track.get(group.id).state == "waiting"


def test_create_group_with_children_makes_a_closed_group_in_one_call(track: Any) -> None:
    group = track.create_group(
        60,
        name="fan-out",
        data={"batch": 1},
        children=[{"data": 1, "name": "a"}, {"data": 2, "queue": "fan", "tags": ["x"]}, {"queue": "fan"}],
    )
    value = track.get(group.id).get_value()
    assert value["group"]["closed"] and value["group"]["total"] == 3 and value["input"] == {"batch": 1}
    assert track.queued("fan") == 2
    popped = track.pop_and_start("fan", block=2)
    assert popped.get_value()["group_id"] == group.id
    with pytest.raises(jobbertrack.InvalidData):
        track.create_group(60, children=[{"bogus": 1}])
    with pytest.raises(jobbertrack.InvalidData):
        track.create_group(60, then={"data": 1})


def test_deleting_a_child_takes_it_out_of_the_counts(track: Any) -> None:
    group = track.create_group(60)
    kids = [track.create(30, group=group.id) for _ in range(2)]
    group.close()
    kids[0].start()
    kids[0].finish()
    assert track.delete(kids[1].id)
    ended = track.get(group.id)
    assert ended.state == "finished" and ended.get_value()["group"]["total"] == 1


def test_track_group_reads_a_group_and_refuses_a_job(track: Any) -> None:
    group = track.create_group(60)
    assert track.group(group.id).id == group.id
    plain = track.create(30)
    with pytest.raises(GroupNotFound):
        track.group(plain.id)
    with pytest.raises(jobbertrack.JobNotFound):
        track.group("never-made")
