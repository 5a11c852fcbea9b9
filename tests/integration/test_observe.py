"""Counts, listing, get_many, status, history: exact, and never showing the expired."""

from __future__ import annotations

import time
from typing import Any

import pytest

import jobbertrack
from tests.helpers import all_keys, command_calls, evalsha_calls, page_through, wait_for


def _ids(jobs: Any) -> list[str]:
    return [j.id for j in jobs]


def test_counts_are_exact_per_state(track: Any) -> None:
    assert track.counts() == {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}
    jobs = track.create_many(12, 60)
    for j in jobs[:7]:
        j.start()
    for j in jobs[:3]:
        j.finish()
    jobs[3].fail()
    assert track.counts() == {"waiting": 5, "running": 3, "failed": 1, "finished": 3, "cancelled": 0}
    assert track.count("running") == 3
    assert track.count(jobbertrack.State.FINISHED) == 3
    with pytest.raises(jobbertrack.JobberTrackError):
        track.count("lost")


def test_expired_jobs_are_never_counted_or_listed_even_before_cleanup(track: Any, client: Any) -> None:
    keep = track.create_many(3, 60)
    short = track.create_many(5, 0.3)
    short[0].start()
    assert track.count("waiting") == 7
    wait_for(lambda: all(track.get(j.id) is None for j in short))
    # the index entries are still there: no cleanup has run ...
    assert sum(client.zcard(k) for k in all_keys(client, "jt:*:idx:*")) == 8
    # ... yet nothing expired is counted or listed
    assert track.counts() == {"waiting": 3, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}
    assert sorted(_ids(track.list())) == sorted(_ids(keep))
    assert track.list(state="running") == []


def test_list_is_newest_first_and_pages_through_everything(track: Any) -> None:
    created = []
    for _ in range(23):
        created.append(track.create(60))
        time.sleep(0.002)  # distinct milliseconds: a visible creation order
    first = track.list(limit=10)
    assert _ids(first) == _ids(reversed(created))[:10]
    seen, cursor, pages = [], None, 0
    while True:
        page = track.list(limit=10, cursor=cursor)
        seen += _ids(page)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == _ids(reversed(created))
    assert pages == 3


def test_list_pages_through_ties_in_one_millisecond(track: Any) -> None:
    jobs = track.create_many(200, 60)  # many share their expiry millisecond
    seen = page_through(track, 7)
    assert sorted(seen) == sorted(_ids(jobs))
    assert len(seen) == len(set(seen))


def test_list_filters_by_state(track: Any) -> None:
    jobs = track.create_many(6, 60)
    for j in jobs[:4]:
        j.start()
    jobs[0].finish()
    jobs[1].fail()
    assert sorted(_ids(track.list("running"))) == sorted(_ids(jobs[2:4]))
    assert sorted(_ids(track.list(["finished", "failed"]))) == sorted(_ids(jobs[:2]))
    assert all(j.state == "waiting" for j in track.list(jobbertrack.State.WAITING))
    with pytest.raises(jobbertrack.JobberTrackError):
        track.list(limit=0)
    with pytest.raises(jobbertrack.JobberTrackError):
        track.list(cursor="garbage")


def test_get_many_is_aligned_with_none_for_missing(track: Any) -> None:
    jobs = track.create_many(5, 60)
    jobs[2].start()
    got = track.get_many([jobs[0].id, "missing", jobs[2].id, jobs[4].id])
    assert [g.id if g else None for g in got] == [jobs[0].id, None, jobs[2].id, jobs[4].id]
    assert got[2].state == "running"
    assert track.get_many([]) == []


def test_status_tells_expired_from_unknown(track: Any) -> None:
    live = track.create(60)
    gone = track.create(0.2)
    assert track.status(live.id) == "waiting"
    assert track.status("never-made") == "unknown"
    wait_for(lambda: track.get(gone.id) is None)
    assert track.status(gone.id) == "expired"
    track.sweep()  # moves the stale index entry to the tombstones
    assert track.status(gone.id) == "expired"
    assert track.get(gone.id) is None
    with pytest.raises(jobbertrack.JobExpired):
        track.wait(gone.id, timeout=1)
    with pytest.raises(jobbertrack.JobNotFound):
        track.wait("never-made", timeout=1)


def test_status_settles_a_stalled_job(track: Any) -> None:
    job = track.create(60)
    job.start(lease=0.2)
    wait_for(lambda: track.status(job.id) == "failed")


def test_history_in_order_with_messages(track: Any) -> None:
    job = track.create(60)
    assert [h["to"] for h in track.history(job.id)] == ["waiting"]
    job.start()
    job.set_progress(5, 10)
    job.fail("boom")
    hist = track.history(job.id)
    assert [(h["from"], h["to"]) for h in hist] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "failed"),
    ]
    assert hist[0]["at"] <= hist[1]["at"] <= hist[2]["at"]
    assert hist[2]["message"] == "boom" and hist[2]["progress"]["current"] == 5
    assert track.history("never-made") == []


def test_listing_is_complete_when_one_shard_holds_everything(make_handler: Any, layer: str) -> None:
    import zlib

    from tests.integration.test_ids import _factory

    crowded = [f"job-{i}" for i in range(2000) if zlib.crc32(f"job-{i}".encode()) % 16 == 3][:60]
    track = make_handler(_factory(layer, crowded))
    for _ in crowded:
        track.create(60)
    seen = page_through(track, 8)
    assert sorted(seen) == sorted(crowded)
    assert len(seen) == len(set(seen))


def test_create_many_in_rounds_and_with_data(track: Any) -> None:
    jobs = track.create_many(2500, 60, data={"batch": True}, name="bulk", batch=1000)
    assert len({j.id for j in jobs}) == 2500
    assert all(j.state == "waiting" and j.data == {"batch": True} for j in jobs)
    assert track.count("waiting") == 2500
    sample = track.get(jobs[1234].id)
    assert sample.name == "bulk" and sample.data == {"batch": True}
    assert sample.created_at == jobs[1234].created_at
    assert track.create_many(0, 60) == []


def test_create_many_refuses_a_taken_id_without_touching_it(make_handler: Any, layer: str) -> None:
    from tests.integration.test_ids import _factory

    first = make_handler(_factory(layer, ["taken"]))
    first.create(60).start()
    track = make_handler(_factory(layer, ["new-1", "taken", "new-2"]))
    with pytest.raises(jobbertrack.JobExists):
        track.create_many(3, 60)
    assert track.get("taken").state == "running"


def test_get_many_settles_a_stalled_job(track: Any) -> None:
    job = track.create(60)
    job.start(lease=0.2)
    other = track.create(60)
    wait_for(lambda: track.count("failed") == 1)  # the lease ran out; counting reads no record
    got = track.get_many([job.id, other.id])
    assert got[0].state == "failed" and got[0].error["reason"] == "stalled"
    assert got[1].state == "waiting"


def test_counts_and_listing_see_a_stall_before_anyone_reads_the_job(track: Any) -> None:
    """Counting writes nothing, yet a running job past its lease counts as
    failed (as reading it would make it); listing failed jobs lists it (so a
    page of the latest failures agrees with the count), listing running
    jobs leaves it out."""
    stalled = track.create(60).start(lease=0.2)
    alive = track.create(60).start(lease=60)
    timed_out = track.create(60).start(max_runtime=0.2)
    expected = {"waiting": 0, "running": 1, "failed": 2, "finished": 0, "cancelled": 0}
    wait_for(lambda: track.counts() == expected)  # the deadlines pass; nobody reads these jobs
    assert (track.count("running"), track.count("failed")) == (1, 2)
    assert {j.id for j in track.list("failed")} == {stalled.id, timed_out.id}  # before any read settled them
    assert [j.id for j in track.list("running")] == [alive.id]
    assert track.counts() == expected  # the same after the listing settled them
    assert {j.id for j in track.list("failed")} == {stalled.id, timed_out.id}


def test_listing_running_pages_past_unsettled_stalls(track: Any) -> None:
    """Overdue jobs left out of a running page do not make it short: every
    live running job is still listed exactly once, page by page."""
    alive = [track.create(60).start(lease=60) for _ in range(7)]
    stalled = [track.create(600).start(lease=0.1) for _ in range(5)]  # expire later: listed first
    wait_for(lambda: track.count("failed") == 5)
    assert sorted(page_through(track, 3, "running")) == sorted(j.id for j in alive)
    assert sorted(page_through(track, 2, "failed")) == sorted(j.id for j in stalled)


def test_a_stall_ends_at_its_deadline_not_when_it_is_read(track: Any) -> None:
    """A stalled job ended at beat + lease and a timed-out one at started +
    max_runtime, however late someone reads it."""
    stalled = track.create(60).start(lease=0.1)
    timed_out = track.create(60).start(max_runtime=0.1, lease=60)
    wait_for(lambda: track.count("failed") == 2)
    time.sleep(0.3)  # a late reader: the times read must not move with it
    for job, span in ((track.get(stalled.id), 0.1), (track.get(timed_out.id), 0.1)):
        assert job.state == "failed"
        assert (job.ended_at - job.started_at).total_seconds() == pytest.approx(span, abs=0.0015)
        assert job.history()[-1]["at"] == job.ended_at
    assert track.get(stalled.id).error["reason"] == "stalled"
    assert track.get(timed_out.id).error["reason"] == "timeout"


def test_get_runs_a_script_only_for_a_job_that_may_be_past_its_lease(make_handler: Any, client: Any) -> None:
    track = make_handler()
    waiting, running, done = track.create(60), track.create(60).start(lease=60), track.create(60)
    done.start().finish({"n": 1})
    stalled = track.create(60).start(lease=0.1)
    wait_for(lambda: track.count("failed") == 1)  # the lease ran out; counting reads no record
    scripts, reads = evalsha_calls(client), command_calls(client, "hgetall")
    assert track.get(waiting.id).state == "waiting"
    assert track.get(running.id).refresh().state == "running"
    assert track.get(done.id).data == {"n": 1}
    assert track.get("never-made") is None
    assert (evalsha_calls(client), command_calls(client, "hgetall")) == (scripts, reads + 5)
    got = track.get(stalled.id)  # read, seen as maybe due, read again through the settling script
    assert got.state == "failed" and got.error["reason"] == "stalled"
    # one HGETALL of ours, one inside the settling script
    assert (evalsha_calls(client), command_calls(client, "hgetall")) == (scripts + 1, reads + 7)


def test_a_host_clock_behind_redis_still_sees_a_stall_on_read(
    make_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads decide by this host's clock whether to run the settling script;
    a record's own Redis stamps correct a clock running behind."""
    import jobbertrack._plans as plans

    track = make_handler()
    job = track.create(60).start(lease=0.2)
    wait_for(lambda: track.count("failed") == 1)  # the lease runs out (Redis' clock)

    class Behind:  # this host's clock 8 s behind Redis' (no NTP)
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def time(self) -> float:
            return time.time() - 8

    monkeypatch.setattr(plans, "time", Behind())
    clock = track._cs.clock  # one per client: what this client's server showed of its clock
    monkeypatch.setattr(clock, "ahead_ms", 0.0)
    assert track.get(job.id).state == "failed"
    assert clock.ahead_ms > 7000
