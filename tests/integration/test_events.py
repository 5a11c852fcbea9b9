"""The event stream, wait(), and memory that comes back after expiry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._client_state import client_state
from jobbertrack.testing import RedisServer
from tests.helpers import all_keys, connections, is_cluster, wait_for


def _events(track: Any, **kwargs: Any) -> list[Any]:
    out = track.events(**kwargs)
    if hasattr(out, "__aiter__"):
        raise TypeError("use the sync layer")
    return list(out)


def test_every_transition_writes_one_event(client: Any) -> None:
    track = jobbertrack.Handler(client)
    a = track.create(60)
    a.start(lease=30)
    a.heartbeat()  # no event
    a.set_progress(1, 2, "half")
    a.finish("ok")
    b = track.create(60)
    b.start()
    b.fail("bad")
    with pytest.raises(jobbertrack.InvalidTransition):
        b.finish()  # refused: no event
    c = track.create(60)
    c.start(lease=0.1)
    swept = []
    wait_for(lambda: swept.append(track.sweep()) or sum(swept))  # once the lease has run out
    assert sum(swept) == 1
    events = _events(track)
    by_job = {
        j.id: [(e.state.value, e.progress, (e.error or {}).get("reason")) for e in events if e.job_id == j.id]
        for j in (a, b, c)
    }
    assert by_job[a.id] == [
        ("waiting", None, None),
        ("running", None, None),
        ("running", {"current": 1, "total": 2, "message": "half"}, None),
        ("finished", None, None),
    ]
    assert by_job[b.id] == [("waiting", None, None), ("running", None, None), ("failed", None, "error")]
    assert by_job[c.id] == [("waiting", None, None), ("running", None, None), ("failed", None, "stalled")]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert len({e.id for e in events}) == len(events)


def test_replay_from_any_point(client: Any) -> None:
    track = jobbertrack.Handler(client)
    for j in track.create_many(40, 60):
        j.start()
    events = _events(track)
    assert len(events) == 80
    for i in (0, 17, 41, 79):
        assert _events(track, since=events[i].cursor) == events[i + 1 :]
        assert [e.id for e in _events(track, since=events[i].id)] == [e.id for e in events[i + 1 :]]


def test_events_come_in_the_order_they_happened(client: Any) -> None:
    """Merged across shards by the server's clock, not by shard number."""
    track = jobbertrack.Handler(client)
    a, b = track.create(60), track.create(60)
    a.start()
    b.start()
    b.finish()
    a.finish()
    mine = [(e.job_id, e.state) for e in _events(track) if e.job_id in (a.id, b.id)]
    expected = [(a.id, "waiting"), (b.id, "waiting"), (a.id, "running"), (b.id, "running")]
    expected += [(b.id, "finished"), (a.id, "finished")]
    if not is_cluster(client):  # on a cluster each master has its own clock
        assert mine == expected
    else:
        assert sorted(mine) == sorted(expected)


def test_resuming_after_an_event_id_misses_nothing_written_later(client: Any) -> None:
    """A consumer that keeps only the last event's id (not its cursor) and
    resumes after it sees every later event, even one written in the same
    millisecond on a shard that sorts before it."""
    track = jobbertrack.Handler(client)
    last = None
    for _ in range(200):
        job = track.create(60)
        new = _events(track, since=last.id) if last is not None else _events(track)
        assert [(e.job_id, e.state) for e in new][-1:] == [(job.id, "waiting")]
        if not is_cluster(client):
            assert len(new) == 1  # nothing repeated either
        last = new[-1]


class _OneId(jobbertrack.ResourceFactory):
    def create(self, client: Any) -> jobbertrack.Resource:
        return self.resource_class(client, "clock-went-back")


def test_an_event_is_written_even_when_its_stream_holds_a_later_id(client: Any) -> None:
    """The scripts pick stream ids from Redis' clock; if the stream already
    holds a later one (as after the clock stepped back), Redis picks it."""
    track = jobbertrack.Handler(client, _OneId())
    keys = track._core.keys
    stream = keys.events_key(keys.shard_of("clock-went-back"))
    later = f"{int(time.time() * 1000) + 3_600_000}-5"
    client.xadd(stream, {"job": "from-the-future", "state": "waiting"}, id=later)
    job = track.create(60)
    job.start()
    mine = [e for e in _events(track) if e.job_id == job.id]
    assert [e.state for e in mine] == ["waiting", "running"]

    def stream_id(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("-"))

    assert all(stream_id(e.id.split(":")[1]) > stream_id(later) for e in mine)  # as Redis chose


async def test_blocking_reads_stay_under_a_short_socket_timeout(backend: Any, aclosing: Any) -> None:
    """wait() and events(block=...) block in slices shorter than the client's
    socket timeout, so a quiet stream never reads as Redis not answering."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    track = jobbertrack.Handler(
        backend.client(socket_timeout=0.4, retry=Retry(NoBackoff(), 0)), default_timeout=60
    )
    job = track.create().start()
    with pytest.raises(jobbertrack.WaitTimeout):
        track.wait(job.id, 1.0)
    assert _events(track, since="$", block=0.9) == []
    atrack = jobbertrack.aio.Handler(
        aclosing(backend.async_client(socket_timeout=0.4, retry=AsyncRetry(NoBackoff(), 0)))
    )
    with pytest.raises(jobbertrack.WaitTimeout):
        await atrack.wait(job.id, 1.0)
    assert [e async for e in atrack.events(since="$", block=0.9)] == []


def test_block_waits_for_new_events(client: Any, backend: Any) -> None:
    track = jobbertrack.Handler(client)
    track.create(60)
    start = _events(track)[-1].cursor
    seen: list[Any] = []

    def follow() -> None:
        for event in jobbertrack.Handler(backend.client()).events(since=start, block=2):
            seen.append(event)
            if len(seen) == 2:
                return

    t = threading.Thread(target=follow)
    t.start()
    job = track.create(60)
    job.start()
    t.join(10)
    assert [(e.job_id, e.state) for e in seen] == [(job.id, "waiting"), (job.id, "running")]
    started = time.monotonic()
    assert _events(track, since=_events(track)[-1].cursor, block=0.3) == []
    assert time.monotonic() - started >= 0.25


def test_streams_are_capped(client: Any) -> None:
    track = jobbertrack.Handler(client, max_events=160)  # 10 per shard
    track.create_many(3000, 60)
    for _ in range(40):
        track.create(60)
    total = sum(client.xlen(k) for k in all_keys(client, "jt:*:events"))
    assert total == 160  # exactly: every shard got more than its 10
    assert len(_events(track)) == total
    newest = _events(track)[-40:]  # the cap drops the oldest
    assert len({e.job_id for e in newest}) == 40


def test_large_caps_are_kept_in_whole_stream_nodes(client: Any) -> None:
    """Above 200 entries per shard a stream is trimmed a node at a time
    (``MAXLEN ~ cap - 100``): it never holds more than its cap, and keeps
    at least the cap less one node (docs/data-model.md, Key lifetimes)."""
    keys = jobbertrack.Handler(client)._core.keys
    shard = keys.shard_of("a")
    ids = iter([f"job{i}" for i in range(100_000) if keys.shard_of(f"job{i}") == shard][:700])

    class OneShard(jobbertrack.ResourceFactory):
        def create(self, client: Any) -> jobbertrack.Resource:
            return jobbertrack.Resource(client, next(ids))

    track = jobbertrack.Handler(client, OneShard(), max_events=16 * 300)  # 300 per shard
    events = next(k for k in keys.shard_keys(shard) if k.endswith(":events"))
    lengths = []
    for _ in range(700):
        track.create(60)
        lengths.append(client.xlen(events))
    assert max(lengths) <= 300
    assert min(lengths[300:]) >= 200
    assert len(set(lengths[300:])) > 1  # trimmed as it goes, not stuck at one length


def test_wait_returns_at_once_for_an_ended_job(track: Any) -> None:
    job = track.create(60)
    job.start()
    job.finish("done")
    assert track.wait(job.id, timeout=0).data == "done"


FINISHER = """
import sys, time, redis, jobbertrack
track = jobbertrack.Handler(jobbertrack.connect(sys.argv[1]))
job = track.get(sys.argv[2])
job.start()
print("started", flush=True)
sys.stdin.readline()
job.finish({"from": "another process"})
"""


def test_a_waiter_is_woken_by_a_finish_in_another_process(track: Any, backend: Any) -> None:
    job = track.create(60)
    proc = subprocess.Popen(
        [sys.executable, "-c", FINISHER, backend.url, job.id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "started"
    threading.Timer(0.3, lambda: (proc.stdin.write("go\n"), proc.stdin.flush())).start()
    started = time.monotonic()
    done = track.wait(job.id, timeout=10)
    assert done.state == "finished" and done.data == {"from": "another process"}
    assert time.monotonic() - started < 5
    proc.wait(10)
    proc.stdin.close()
    proc.stdout.close()


def test_wait_times_out_with_a_timeout_error(track: Any) -> None:
    job = track.create(60)
    started = time.monotonic()
    with pytest.raises(jobbertrack.WaitTimeout) as info:
        track.wait(job.id, timeout=0.3)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, jobbertrack.JobberTrackError)
    assert 0.25 <= time.monotonic() - started < 3
    with pytest.raises(jobbertrack.WaitTimeout):
        job.wait(0.1)


def test_wait_sees_a_dead_worker_as_failed(track: Any) -> None:
    job = track.create(60)
    job.start(lease=0.3)
    done = track.wait(job.id, timeout=5)  # nobody sweeps: wait itself looks when the lease ends
    assert done.state == "failed" and done.error["reason"] == "stalled"


def test_wait_on_a_job_that_expires_meanwhile(track: Any) -> None:
    job = track.create(0.4)
    with pytest.raises(jobbertrack.JobExpired):
        track.wait(job.id)


async def test_a_hundred_asyncio_waiters_share_a_connection(backend: Any, client: Any, aclosing: Any) -> None:
    aclient = aclosing(backend.async_client(client_name="hundred-waiters"))
    track = jobbertrack.aio.Handler(aclient)
    jobs = await track.create_many(100, 60)
    for j in jobs:
        await j.start()
    waiters = [asyncio.create_task(track.wait(j.id, timeout=20)) for j in jobs]
    hubs = client_state(aclient).hubs

    async def all_waiting() -> None:
        """Every waiter registered with the hub and checked its job once
        (the batched refresh is done): all now wait through the hub."""
        while not (
            track.namespace in hubs
            and sum(len(f) for f in hubs[track.namespace].waiters.values()) == 100
            and not hubs[track.namespace]._pending
            and hubs[track.namespace]._flusher is not None
            and hubs[track.namespace]._flusher.done()
        ):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_waiting(), 10)
    await track.get(jobs[0].id)  # a round trip: the hub's XREAD is on its way
    assert not any(w.done() for w in waiters)
    connected = connections(client, "hundred-waiters")
    # standalone: the hub's XREAD and one for the batched checks;
    # cluster: one blocking XREAD per shard (each shard is its own slot)
    # plus a few per master for commands: still far fewer than waiters
    assert connected <= (2 if not is_cluster(client) else 16 + 3 * 5)
    finisher = jobbertrack.Handler(backend.client())
    for j in finisher.get_many([j.id for j in jobs]):
        assert j is not None
        j.finish(j.id)
    done = await asyncio.gather(*waiters)
    assert [d.data for d in done] == [j.id for j in jobs]


async def test_asyncio_events_and_wait_errors(aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    job = await track.create(60)
    await job.start()
    events = [e async for e in track.events()]
    assert [e.state for e in events if e.job_id == job.id] == ["waiting", "running"]
    with pytest.raises(jobbertrack.WaitTimeout):
        await track.wait(job.id, timeout=0.2)
    with pytest.raises(jobbertrack.JobNotFound):
        await track.wait("never-made", timeout=0.2)
    short = await track.create(0.3)
    with pytest.raises(jobbertrack.JobExpired):
        await short.wait()


async def test_an_asyncio_client_that_waited_is_freed(backend: Any, client: Any) -> None:
    """The wait hub lives in the client's registry, which holds the client
    weakly: once the caller drops the client, nothing of ours keeps it.

    On a cluster this also waits for the hub to close its shard readers as
    their XREADs return, where redis-py can lose a cancellation: before the
    readers stopped on a flag too, it hung about one run in three.

    The client is closed in a ``finally`` rather than by a fixture, which
    would keep it alive."""
    import gc
    import weakref

    async def use_and_drop() -> weakref.ref[Any]:
        aclient = backend.async_client()
        try:
            track = jobbertrack.aio.Handler(aclient)
            job = await track.create(60)
            await job.start()
            waiter = asyncio.create_task(track.wait(job.id, timeout=20))
            while not client_state(aclient).hubs:  # the waiter has registered
                await asyncio.sleep(0)
            await track.get(job.id)  # a round trip: the hub has started reading
            jobbertrack.Handler(client).get(job.id).finish("done")
            assert (await waiter).data == "done"
            hub = client_state(aclient).hubs[track.namespace]
            assert hub.task is not None
            await hub.task  # no waiter left: it stops after its current read
        finally:
            await aclient.aclose()
        return weakref.ref(aclient)

    ref = await use_and_drop()
    gc.collect()
    assert ref() is None


def _blocked_reads(client: Any, name: str) -> int:
    nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]
    return sum(1 for n in nodes for c in n.client_list() if c.get("name") == name and c.get("cmd") == "xread")


async def test_cancelling_a_blocked_asyncio_reader_ends_it(backend: Any, client: Any, aclosing: Any) -> None:
    """A task blocked in ``events(block=...)`` ends when cancelled, and takes
    its readers (one per shard on a cluster) with it."""
    aclient = aclosing(backend.async_client(client_name="blocked-reader"))
    track = jobbertrack.aio.Handler(aclient)
    readers = 16 if is_cluster(client) else 1
    for _ in range(3):
        # block far longer than the test takes: it must end by the cancel,
        # not by its own deadline (CI runs saw a lost cancel read on to its
        # 30 s deadline: StopAsyncIteration)
        task = asyncio.create_task(anext(aiter(track.events(since="$", block=3600))))
        while _blocked_reads(client, "blocked-reader") < readers:  # all in flight
            assert not task.done(), task
            await asyncio.sleep(0.01)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=10)
        assert done, "the cancel was lost: the reader reads on"  # redis-py can swallow it (_acancel)
        with pytest.raises(asyncio.CancelledError):
            task.result()
    await aclient.aclose()
    wait_for(lambda: _blocked_reads(client, "blocked-reader") == 0)  # the server sees the sockets close


def _used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _keys_without_ttl(client: Any) -> set[bytes]:
    return {k for k in all_keys(client, "*") if client.ttl(k) == -1}


def test_retention_memory_returns_to_baseline(server: RedisServer) -> None:
    with RedisServer(server.binary) as own:
        client = own.client()
        track = jobbertrack.Handler(client)
        track.create(0.05)  # warm up: every script used below loaded, policy checked
        wait_for(lambda: track.counts()["waiting"] == 0)
        track.sweep()
        baseline, no_ttl = _used_memory(client), _keys_without_ttl(client)
        created = sum(len(track.create_many(1000, 1)) for _ in range(20))
        assert created == 20_000
        assert int(client.info("memory")["used_memory_peak"]) > baseline + 2_000_000  # they were stored
        wait_for(
            lambda: track.counts() == {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}
        )
        track.sweep()
        # only the bounded tombstone sets remain, and the namespace's layout stamp
        wait_for(lambda: client.dbsize() <= 16 + 1, limit=10)
        assert all(k.endswith(b":tomb") for k in all_keys(client, "*") if k != b"jt:{layout}")
        assert _keys_without_ttl(client) == no_ttl == {b"jt:{layout}"}  # a few bytes, kept on purpose
        # Redis shrinks its own tables in its background cron: give it a moment
        wait_for(lambda: _used_memory(client) <= baseline * 1.10, limit=10, step=0.2)


def test_since_now_skips_what_was_there(client: Any, backend: Any) -> None:
    track = jobbertrack.Handler(client)
    track.create_many(5, 60)
    assert list(track.events(since="$")) == []
    seen: list[Any] = []
    ready = threading.Event()

    def follow() -> None:
        events = jobbertrack.Handler(backend.client()).events(since="$", block=5)
        ready.set()
        for event in events:  # the generator reads the newest ids on first next()
            seen.append(event)
            return

    t = threading.Thread(target=follow)
    t.start()
    ready.wait(5)
    deadline = time.monotonic() + 10
    job = None
    while t.is_alive() and time.monotonic() < deadline:
        job = track.create(60)  # keep writing until the follower, once started, sees one
        t.join(0.2)
    assert job is not None and len(seen) == 1
    assert seen[0].state == "waiting" and seen[0].job_id != ""
    assert seen[0].job_id not in {j.job_id for j in list(track.events())[:5]}
