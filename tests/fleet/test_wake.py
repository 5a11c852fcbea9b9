"""Wake one (issue 23): a push wakes one blocked worker of its queue, the
others stay blocked without a peek, and idle workers cost Redis little
whatever the shard count: measured with Redis' own command counters."""

from __future__ import annotations

import threading
import time
from typing import Any

import jobbertrack

from ..helpers import is_cluster, wait_for

IDLE = 10


def _nodes(client: Any) -> list[Any]:
    return [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]


def _blocked(client: Any, prefix: str) -> int:
    return sum(
        1
        for node in _nodes(client)
        for c in node.client_list()
        if c.get("name", "").startswith(prefix) and c.get("cmd") == "blpop"
    )


#: What a client sends (Redis' counters also count the commands a script runs)
SENT = (
    "evalsha",
    "eval",
    "blpop",
    "set",
    "get",
    "lpush",
    "ltrim",
    "pexpire",
    "xread",
    "xrevrange",
    "smembers",
)


def _calls(client: Any) -> dict[str, int]:
    """Calls per command since the last reset, summed over the nodes."""
    out: dict[str, int] = {}
    for node in _nodes(client):
        for name, stats in node.info("commandstats").items():
            out[name] = out.get(name, 0) + int(stats["calls"])
    return out


def _sent(client: Any) -> dict[str, int]:
    """The calls of the commands clients send."""
    return {k: v for k, v in _calls(client).items() if k.removeprefix("cmdstat_") in SENT}


def _idle_workers(backend: Any, queue: str, got: list[Any], block: float) -> list[threading.Thread]:
    threads = []
    for n in range(IDLE):
        worker = jobbertrack.Handler(backend.client(client_name=f"idle-{n}"))
        thread = threading.Thread(target=lambda w=worker: got.append(w.pop_and_start(queue, block=block)))
        thread.start()
        threads.append(thread)
    return threads


def test_a_push_wakes_one_idle_worker_and_the_others_stay_blocked(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    track.push("warm", queue="warm", timeout=60)  # every script loaded: no NOSCRIPT round counted below
    track.pop_and_start("warm").finish()
    got: list[Any] = []
    threads = _idle_workers(backend, "one", got, block=30)
    try:
        wait_for(lambda: _blocked(client, "idle-") == IDLE, limit=15)
        for node in _nodes(client):
            node.config_resetstat()
        job = track.push("x", queue="one", timeout=60)
        wait_for(lambda: len(got) == 1, limit=10)
        assert got[0].id == job.id
        wait_for(lambda: _blocked(client, "idle-") == IDLE - 1, limit=10)
        calls = _calls(client)
        shards = 16  # the handler's default
        # the push (one script), then one worker's peek of every shard and its
        # pop; the nine others took no token and looked at nothing (one of
        # them may have looked at every shard once, for the 5 s rescan, if
        # this machine was slow enough to reach it); all waking: 10 peeks
        scripts = calls.get("cmdstat_evalsha", 0) + calls.get("cmdstat_eval", 0)
        assert scripts <= 1 + shards + 1 + shards < IDLE * shards
        assert calls.get("cmdstat_lpush", 0) == 1
    finally:
        for n in range(IDLE):
            track.push(n, queue="one", timeout=60)  # one token each, one after the other: they all end
        for thread in threads:
            thread.join(30)
    assert len(got) == IDLE and all(job is not None for job in got)


def test_a_burst_of_pushes_wakes_every_idle_worker(backend: Any, client: Any) -> None:
    got: list[Any] = []
    threads = _idle_workers(backend, "burst", got, block=30)
    track = jobbertrack.Handler(client)
    try:
        wait_for(lambda: _blocked(client, "idle-") == IDLE, limit=15)
        pushed = {track.push(n, queue="burst", timeout=60).id for n in range(IDLE)}
        for thread in threads:
            thread.join(10)  # woken by tokens passed on, well before the 5 s rescan's turn
        assert {job.id for job in got if job is not None} == pushed
    finally:
        for thread in threads:
            thread.join(30)


def test_idle_workers_cost_about_one_command_a_second_whatever_the_shards(backend: Any, client: Any) -> None:
    got: list[Any] = []
    threads = _idle_workers(backend, "quiet", got, block=12)
    try:
        wait_for(lambda: _blocked(client, "idle-") == IDLE, limit=15)
        for node in _nodes(client):
            node.config_resetstat()
        began = time.monotonic()
        for thread in threads:
            thread.join(30)  # they give up at their 12 s block: idle all along
        idle_s = time.monotonic() - began
        sent = _sent(client)
        total = sum(sent.values())
        # per worker: a blocking read and a rescan claim every 5 s; once per
        # 5 s one of them looks at every shard (one script each)
        assert total <= IDLE * idle_s * 1.0, (total, idle_s, sent)
        assert got == [None] * IDLE
    finally:
        for thread in threads:
            thread.join(30)
