"""The work queue (issue 14): push, pop_and_start, queued, retries, delays
and expiry, through both layers (``track``) on every backend."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack import JobberTrackError, WaitTimeout

from ..helpers import all_keys, command_calls, is_cluster, wait_for


def test_push_makes_a_waiting_job_on_its_queue_and_pop_starts_it(track: Any) -> None:
    job = track.push({"n": 1}, timeout=30, name="first")
    assert job.state == "waiting"
    value = job.get_value()
    assert (value["queue"], value["attempt"], value["retries"], value["attempts"]) == ("default", 1, 0, [])
    assert track.queued() == 1 and track.queued("other") == 0
    popped = track.pop_and_start(lease=5, max_runtime=60)
    assert popped.id == job.id and popped.state == "running"
    assert (popped.data, popped.lease, popped.max_runtime) == ({"n": 1}, 5.0, 60.0)
    assert track.get(job.id).state == "running"
    assert track.pop_and_start() is None
    assert track.queued() == 0
    popped.finish("done")
    assert track.wait(job.id, timeout=5).data == "done"


def test_queues_are_separate_and_fifo_within_a_shard(make_handler: Any) -> None:
    track = make_handler(shards=1)
    pushed = [track.push(i, timeout=30, queue="q1").id for i in range(6)]
    other = track.push("x", timeout=30, queue="q2")
    assert track.queued("q1") == 6 and track.queued("q2") == 1
    assert [track.pop_and_start("q1").id for _ in range(6)] == pushed
    assert track.pop_and_start("q1") is None
    assert track.pop_and_start("q2").id == other.id


def test_every_job_of_many_shards_is_popped_once(track: Any) -> None:
    pushed = {track.push(i, timeout=30).id for i in range(40)}
    popped = []
    while (job := track.pop_and_start()) is not None:
        popped.append(job.id)
    assert sorted(popped) == sorted(pushed)


def test_a_bad_push_or_pop_is_refused_before_anything_is_written(track: Any, client: Any) -> None:
    for kwargs in (
        {"queue": ""},
        {"queue": "a\0b"},
        {"retries": -1},
        {"retries": True},
        {"delay": 30},
        {"delay": -1},
        {"backoff": "1"},
    ):
        with pytest.raises(JobberTrackError):
            track.push(timeout=30, **kwargs)
    with pytest.raises(JobberTrackError):
        track.push()  # no timeout and no default
    with pytest.raises(JobberTrackError):
        track.pop_and_start(lease=-1)
    with pytest.raises(JobberTrackError):
        track.pop_and_start(block=-1)
    assert all_keys(client, "jt:*") == []


def test_empty_queue_returns_none_at_once_or_after_block(track: Any) -> None:
    assert track.pop_and_start() is None
    assert track.pop_and_start(block=0.2) is None


def test_a_failed_attempt_goes_back_to_its_queue_until_the_last(track: Any, client: Any) -> None:
    job = track.push({"x": 1}, timeout=30, retries=2)
    for attempt in (1, 2):
        popped = track.pop_and_start(lease=5)
        assert (popped.id, popped.get_value()["attempt"]) == (job.id, attempt)
        popped.fail(f"boom {attempt}")
        assert popped.state == "waiting"  # not failed: it has retries left
        with pytest.raises(WaitTimeout):
            track.wait(job.id, timeout=0.05)  # wait() returns only on the final outcome
    last = track.pop_and_start(lease=5)
    assert last.get_value()["attempt"] == 3
    last.fail(ValueError("final"))
    done = track.wait(job.id, timeout=5)
    assert done.state == "failed" and done.error["message"] == "ValueError: final"
    value = done.get_value()
    assert [a["attempt"] for a in value["attempts"]] == [1, 2]
    assert [a["error"]["message"] for a in value["attempts"]] == ["boom 1", "boom 2"]
    steps = track.history(job.id)
    assert [(s["from"], s["to"]) for s in steps] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "waiting"),
        ("waiting", "running"),
        ("running", "waiting"),
        ("waiting", "running"),
        ("running", "failed"),
    ]
    assert [s.get("message") for s in steps if s["to"] != "running"][1:] == [
        "boom 1",
        "boom 2",
        "ValueError: final",
    ]
    states = [e.state for e in jobbertrack.Handler(client).events() if e.job_id == job.id]
    assert states == ["waiting", "running", "waiting", "running", "waiting", "running", "failed"]


def test_a_stalled_or_overrunning_attempt_is_retried(track: Any) -> None:
    job = track.push(timeout=30, retries=2)
    track.pop_and_start(lease=0.2)  # never heartbeats
    wait_for(lambda: track.get(job.id).state == "waiting")  # the stall rule, on read
    track.pop_and_start(lease=None, max_runtime=0.2)
    wait_for(lambda: track.get(job.id).state == "waiting")
    value = track.get(job.id).get_value()
    assert [a["error"]["reason"] for a in value["attempts"]] == ["stalled", "timeout"]
    for a in value["attempts"]:  # each attempt ended at its deadline, not when a read noticed
        ran = datetime.fromisoformat(a["ended_at"]) - datetime.fromisoformat(a["started_at"])
        assert ran.total_seconds() == pytest.approx(0.2, abs=0.0015)
    assert value["attempt"] == 3 and value["lease"] is None and value["started_at"] is None
    track.pop_and_start(lease=0.2)
    wait_for(lambda: track.get(job.id).state == "failed")  # the last attempt fails for good
    assert track.get(job.id).error["reason"] == "stalled"


def test_a_pop_settles_the_shards_stalled_jobs(track: Any) -> None:
    job = track.push(timeout=30, retries=1)
    track.pop_and_start(lease=0.2)
    again = track.pop_and_start(block=5, lease=5)  # woken at the lease's end, no reader needed
    assert again.id == job.id and again.get_value()["attempt"] == 2


def test_backoff_delays_the_next_attempt(track: Any) -> None:
    job = track.push(timeout=30, retries=1, backoff=0.5)
    track.pop_and_start().fail("once")
    assert track.pop_and_start() is None  # not ready before its backoff
    assert track.queued() == 1
    again = track.pop_and_start(block=5)
    assert again.id == job.id
    failed_at = datetime.fromisoformat(again.get_value()["attempts"][0]["ended_at"]).timestamp()
    assert again.started_at.timestamp() >= failed_at + 0.5 - 0.001  # Redis' own clock: never early


def test_a_delayed_job_is_never_popped_before_its_time(track: Any) -> None:
    job = track.push("later", timeout=30, delay=0.4)
    now = track.push("now", timeout=30)
    assert track.pop_and_start().id == now.id
    assert track.pop_and_start() is None
    assert track.queued() == 1
    popped = track.pop_and_start(block=5)
    assert popped.id == job.id
    ready = popped.created_at.timestamp() + 0.4
    assert popped.started_at.timestamp() >= ready - 0.001  # Redis' own clock: never early


def test_an_expired_job_is_never_popped(track: Any) -> None:
    doomed = [track.push(i, timeout=0.2) for i in range(10)]
    wait_for(lambda: all(track.get(j.id) is None for j in doomed))
    assert track.queued() == 0
    assert track.pop_and_start() is None


def test_a_pop_racing_expiry_never_returns_an_expired_job(track: Any) -> None:
    for round_ in range(5):
        jobs = [track.push(i, timeout=0.05 + 0.01 * i) for i in range(10)]
        while (job := track.pop_and_start()) is not None:
            assert job.started_at < job.expires_at, round_
            assert job.state == "running"
        for j in jobs:
            got = track.get(j.id)
            assert got is None or got.state == "running"


def test_a_blocked_worker_wakes_on_a_push(
    backend: Any, client: Any, layer: str, make_handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if layer == "async":
        pytest.skip("a sync thread drives it (asyncio: test_a_blocked_asyncio_worker_wakes_on_a_push)")
    worker = jobbertrack.Handler(backend.client(client_name="idle-worker"))
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(worker.pop_and_start(block=30)))
    thread.start()
    try:
        nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]

        def blocked() -> bool:
            return any(
                c.get("name") == "idle-worker" and c.get("cmd") == "blpop"
                for n in nodes
                for c in n.client_list()
            )

        wait_for(blocked)
        before = sum(command_calls(client, c) for c in ("evalsha", "eval", "blpop", "set"))
        thread.join(2.5)  # idle for a while: no polling
        after = sum(command_calls(client, c) for c in ("evalsha", "eval", "blpop", "set"))
        assert after - before <= 2  # a blocking read per 5 s (at most 2.5 s here), nothing else
        job = make_handler().push("wake", timeout=30)
        thread.join(10)
        assert got and got[0].id == job.id
        assert "could not wake" not in caplog.text  # the push wrote the wake-up list
    finally:
        thread.join(35)


def test_a_replayed_pop_answers_as_the_first_did(client: Any) -> None:
    from jobbertrack._client_state import client_state
    from jobbertrack._core.calls import Commands
    from jobbertrack._core.queue import pop_call
    from jobbertrack._run import run

    track = jobbertrack.Handler(client, shards=1)
    job = track.push("x", timeout=30)
    member = client.zrange("jt:{0.0}:queue", 0, 0)[0].decode()
    call = pop_call(Commands(track._core.keys), member, "default", 5000, None)
    cs = client_state(client)
    first, again = run(cs, call), run(cs, call)  # as redis-py resends after a lost reply
    assert first[0] == again[0] == b"popped"
    assert track.get(job.id).state == "running"
    other = pop_call(Commands(track._core.keys), member, "default", 5000, None)  # another worker
    assert run(cs, other)[0] == b"taken"


def test_a_pop_that_lost_its_race_starts_the_shards_next_ready_job_in_the_same_script(
    client: Any,
) -> None:
    from jobbertrack._client_state import client_state
    from jobbertrack._core.calls import Commands
    from jobbertrack._core.queue import entry_id, pop_call
    from jobbertrack._run import run

    track = jobbertrack.Handler(client, shards=1)
    jobs = [track.push(i, timeout=30) for i in range(3)]
    member = client.zrange("jt:{0.0}:queue", 0, 0)[0].decode()
    cs = client_state(client)
    mine = pop_call(Commands(track._core.keys), member, "default", 5000, None)
    other = pop_call(Commands(track._core.keys), member, "default", 5000, None)  # saw the same entry
    assert run(cs, mine)[0] == b"popped"
    before = command_calls(client, "evalsha")
    reply = run(cs, other)
    assert command_calls(client, "evalsha") - before == 1
    assert reply[0] == b"instead" and entry_id(reply[2].decode(), "default") == jobs[1].id
    record = dict(zip(reply[1][::2], reply[1][1::2], strict=True))
    assert record[b"state"] == b"running" and record[b"data"] == b"1"
    assert entry_id(reply[3].decode(), "default") == jobs[2].id  # the shard's next entry
    assert [track.get(j.id).state for j in jobs] == ["running", "running", "waiting"]
    again = run(cs, other)  # as redis-py resends after a lost reply: the same job, nothing more
    assert again[0] == b"instead" and again[2] == reply[2]
    assert [track.get(j.id).state for j in jobs] == ["running", "running", "waiting"]
    assert 0 < client.pttl(f"jt:{{0.0}}:popped:{other.token}") <= 60_000
    third = pop_call(Commands(track._core.keys), member, "default", 5000, None)
    assert run(cs, third)[0] == b"instead" and track.get(jobs[2].id).state == "running"
    last = pop_call(Commands(track._core.keys), member, "default", 5000, None)
    assert run(cs, last)[:2] == [b"taken", b""]  # nothing ready: nothing written
    track.pause("default")
    late = track.push("late", timeout=30)
    paused = pop_call(Commands(track._core.keys), member, "default", 5000, None)
    assert run(cs, paused)[0] == b"paused" and track.get(late.id).state == "waiting"


def test_a_worker_whose_hint_another_took_gets_the_next_job_in_one_pop(
    make_handler: Any, client: Any
) -> None:
    a, b = make_handler(shards=1), make_handler(shards=1)
    jobs = [a.push(i, timeout=30) for i in range(3)]
    assert a.pop_and_start().id == jobs[0].id  # a now holds the shard's next entry (jobs[1]) as a hint
    assert b.pop_and_start().id == jobs[1].id
    before = command_calls(client, "evalsha")
    assert a.pop_and_start().id == jobs[2].id
    assert command_calls(client, "evalsha") - before == 1  # one pop: no lost race, no peek


def _waiting_entries(client: Any, queue: str = "default") -> int:
    """The queue's waiting entries in the one shard (its running entries,
    ``<queue> \\x01 …``, are counted by ``queue_stats``)."""
    return int(client.zlexcount("jt:{0.0}:queue", f"[{queue}\0", f"({queue}\1"))


def test_a_corrupt_or_stale_entry_is_dropped_and_the_queue_goes_on(client: Any) -> None:
    track = jobbertrack.Handler(client, shards=1)
    bad, good = track.push(timeout=30), track.push(timeout=30)
    client.hset(f"jt:{{0.0}}:job:{bad.id}", "expires", "soon")  # written by something else
    assert track.pop_and_start().id == good.id
    assert _waiting_entries(client) == 0  # the corrupt job's entry is gone; the job is untouched
    assert client.hget(f"jt:{{0.0}}:job:{bad.id}", "state") == b"waiting"
    # started by hand: leaving waiting drops its entry (HOLDS); failed with a
    # retry, it has a new entry, not ready before its backoff
    job = track.push(timeout=30, retries=1, backoff=5)
    started = track.get(job.id).start()
    assert _waiting_entries(client) == 0
    assert client.hget(f"jt:{{0.0}}:job:{job.id}", "ready") is None
    started.fail("by hand")
    assert _waiting_entries(client) == 1
    assert track.pop_and_start() is None
    assert _waiting_entries(client) == 1 and track.get(job.id).state == "waiting"


def test_a_stale_entry_left_by_an_older_client_never_starts_a_job_early(client: Any) -> None:
    """An entry whose job has moved on (an older client started it by hand
    without dropping the entry, then a retry queued a newer one) is
    dropped by the pop that meets it."""
    track = jobbertrack.Handler(client, shards=1)
    job = track.push(timeout=30, retries=1, backoff=5)
    (old,) = client.zrange("jt:{0.0}:queue", 0, -1)
    track.get(job.id).start().fail("by hand")
    client.zadd("jt:{0.0}:queue", {old: 0})  # as an older client would have left it
    assert _waiting_entries(client) == 2
    assert track.pop_and_start() is None  # the old entry is dropped, the new one not ready
    assert _waiting_entries(client) == 1 and track.get(job.id).state == "waiting"


async def test_a_blocked_asyncio_worker_wakes_on_a_push(
    backend: Any, aclosing: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    worker = jobbertrack.aio.Handler(aclosing(backend.async_client()))
    pusher = jobbertrack.aio.Handler(aclosing(backend.async_client()))
    task = asyncio.create_task(worker.pop_and_start(block=30))
    await asyncio.sleep(0)
    assert not task.done()
    job = await pusher.push("wake", timeout=30)
    got = await asyncio.wait_for(task, 30)
    assert got is not None and got.id == job.id and got.state == "running"
    assert "could not wake" not in caplog.text


def test_a_wait_ending_within_a_millisecond_never_blocks_for_ever(backend: Any, loop: Any) -> None:
    """Redis 6.2 reads ``BLPOP key 0.001`` as 0 ms, that is *for ever*: a
    pop whose deadline was a millisecond away hung until the socket timed
    out.  Every wait whose end is that close returns, in both layers."""
    from jobbertrack._arun import await_wake as await_wake_async
    from jobbertrack._run import await_wake

    sync_client = backend.client(socket_timeout=3)
    async_client = backend.async_client(socket_timeout=3)
    key = "jt:{jt.wakeup}:never-pushed"
    try:
        for left in (0.0005, 0.001, 0.0015, 0.002):
            assert await_wake(sync_client, key, time.monotonic() + left) is False
            woken = loop.run_until_complete(await_wake_async(async_client, key, time.monotonic() + left))
            assert woken is False
    finally:
        sync_client.close()
        loop.run_until_complete(async_client.aclose())
