"""Redis Cluster: one namespace spread over every master, resharding under
load, a dead master.  The behaviour suite itself also runs on a cluster
(the ``backend`` fixture); these are the cluster-only properties."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisClusterServers, find_redis_cli
from tests.conftest import CLUSTER_BINARY
from tests.helpers import fail_fast_bound

pytestmark = pytest.mark.skipif(CLUSTER_BINARY is None, reason="needs redis-server and redis-cli")


@pytest.fixture
def own_cluster() -> Iterator[RedisClusterServers]:
    """A cluster of its own, for tests that reshard or kill a node; keeps
    serving the slots of live masters when one is down."""
    with RedisClusterServers(3, CLUSTER_BINARY, args=["--cluster-require-full-coverage", "no"]) as cluster:
        yield cluster


def _node_id(node: Any) -> str:
    client = node.client()
    try:
        return str(client.execute_command("CLUSTER", "MYID").decode())
    finally:
        client.close()


def test_one_namespace_spreads_over_every_master(own_cluster: RedisClusterServers) -> None:
    backend = own_cluster
    track = jobbertrack.Handler(own_cluster.client())
    for _ in range(10):
        track.create_many(1000, 120)
    per_master = {node.port: len(node.client().keys("jt:*:job:*")) for node in backend.nodes}
    total = sum(per_master.values())
    assert total == 10_000
    split = {port: n / total for port, n in per_master.items()}
    print("job records per master:", {p: f"{s:.1%}" for p, s in split.items()})
    assert all(0.25 <= share <= 0.42 for share in split.values()), split
    assert track.counts()["waiting"] == 10_000
    assert len(track.list(limit=100)) == 100


def _lifecycle_stream(url: str, n: int, done: list[str], errors: list[BaseException]) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))
    for _ in range(n):
        try:
            job = track.create(300)
            job.start()
            job.finish({"id": job.id})
            done.append(job.id)
        except BaseException as exc:  # collected: the test asserts there are none
            errors.append(exc)


def test_resharding_under_a_stream_of_transitions_loses_and_doubles_nothing(
    own_cluster: RedisClusterServers,
) -> None:
    done: list[str] = []
    errors: list[BaseException] = []
    workers = [
        threading.Thread(target=_lifecycle_stream, args=(own_cluster.url, 400, done, errors))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    source, target = own_cluster.nodes[0], own_cluster.nodes[1]
    while len(done) < 50:  # let the stream get going first
        time.sleep(0.01)
    subprocess.run(
        [
            find_redis_cli(own_cluster.binary),
            "--cluster",
            "reshard",
            f"127.0.0.1:{source.port}",
            "--cluster-from",
            _node_id(source),
            "--cluster-to",
            _node_id(target),
            "--cluster-slots",
            "2500",
            "--cluster-yes",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    for w in workers:
        w.join(120)
    assert errors == []
    assert len(done) == 800
    client = own_cluster.client()
    track = jobbertrack.Handler(client)
    jobs = track.get_many(done)
    assert all(j is not None and j.state == "finished" and j.data == {"id": j.id} for j in jobs)
    per_job = Counter(e.job_id for e in track.events())
    assert all(per_job[i] == 3 for i in done)  # waiting, running, finished: once each
    assert track.counts()["finished"] == 800
    moved = {k for k in target.client().keys("jt:{0.13}:*")}
    assert moved, "shard 0 (slot 442) should now live on the target node"


def test_a_dead_master_fails_fast_on_its_slots_only(own_cluster: RedisClusterServers) -> None:
    connect_timeout = 1.0
    client = jobbertrack.connect(own_cluster.url, socket_connect_timeout=connect_timeout)
    bound = fail_fast_bound(connect_timeout, connections=len(own_cluster.nodes))
    track = jobbertrack.Handler(client)
    jobs = track.create_many(300, 120)
    victim = own_cluster.nodes[1]
    owner = {j.id: client.get_node_from_key(track._core.keys.job_key(j.id)).port for j in jobs}
    victim.stop()
    outcome: Counter[tuple[bool, str]] = Counter()
    for job in jobs:
        started = time.monotonic()
        try:
            job.start()
            result = "ok"
        except jobbertrack.RedisUnavailable:
            result = "unavailable"
        assert time.monotonic() - started < bound, "an operation on a dead master must fail fast"
        outcome[(owner[job.id] == victim.port, result)] += 1
    assert outcome[(True, "ok")] == 0 and outcome[(False, "unavailable")] == 0
    assert outcome[(True, "unavailable")] > 0 and outcome[(False, "ok")] > 0
    victim.start()
    deadline = time.monotonic() + 20
    while True:  # the restarted master rejoins; its data was not persisted
        try:
            fresh = track.create_many(60, 120)
            for job in fresh:
                job.start()
            break
        except jobbertrack.RedisUnavailable:
            assert time.monotonic() < deadline, "the cluster did not recover"
            time.sleep(0.2)
    assert all(j.state == "running" for j in fresh)
    assert {owner_port(client, track, j.id) for j in fresh} >= {victim.port}


def owner_port(client: Any, track: Any, job_id: str) -> int:
    return int(client.get_node_from_key(track._core.keys.job_key(job_id)).port)


async def test_a_dead_master_fails_only_its_calls_in_an_asyncio_round(
    own_cluster: RedisClusterServers, aclosing: Any
) -> None:
    """Auto-pipelined asyncio calls are grouped per node: calls for the dead
    master fail fast with RedisUnavailable, never hang or succeed; calls for
    live masters work (redis-py may reset a live node's connection while it
    rediscovers the cluster: those fail as RedisUnavailable, once)."""
    import asyncio

    import jobbertrack.aio

    sync = jobbertrack.connect(own_cluster.url)
    jobs = jobbertrack.Handler(sync).create_many(120, 120)
    keys = jobbertrack.Handler(sync)._core.keys
    victim = own_cluster.nodes[1]
    on_victim = {j.id: sync.get_node_from_key(keys.job_key(j.id)).port == victim.port for j in jobs}
    live = [j for j in jobs if not on_victim[j.id]]
    assert live and len(live) < len(jobs)

    connect_timeout = 2.0
    aclient = aclosing(
        jobbertrack.aio.connect(own_cluster.url, socket_timeout=2, socket_connect_timeout=connect_timeout)
    )
    bound = fail_fast_bound(connect_timeout, connections=len(own_cluster.nodes))
    track = jobbertrack.aio.Handler(aclient)
    await track.get(jobs[0].id)  # the client learns the slots while all are up
    victim.stop()
    started = time.monotonic()
    first = await asyncio.gather(*(track.get(j.id) for j in jobs), return_exceptions=True)
    assert time.monotonic() - started < bound, "a dead master must fail fast"
    again = await asyncio.gather(*(track.get(j.id) for j in live), return_exceptions=True)
    for job, result in zip(jobs, first, strict=True):
        if on_victim[job.id]:
            assert isinstance(result, jobbertrack.RedisUnavailable), result
        else:
            assert isinstance(result, (jobbertrack.aio.Resource, jobbertrack.RedisUnavailable)), result
    assert all(isinstance(r, jobbertrack.aio.Resource) and r.state == "waiting" for r in again), again
