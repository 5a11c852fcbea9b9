"""A group survives Redis being killed mid-run (issue 24): under
``appendfsync always`` every acknowledged move is on disk with its group's
counts, because both are written by one script; after the restart the
counts equal a recount of the children, and the run finishes exactly."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer

from ..helpers import wait_for
from .test_group_races import RECOUNT

N = 600
FIELDS = [f"n:{s.value}" for s in jobbertrack.State]


def _recount(client: Any, track: jobbertrack.Handler, group_id: str) -> tuple[list[int], list[int]]:
    pairs = client.eval(RECOUNT, 1, track._core.keys.job_key(group_id), group_id, *FIELDS)
    return pairs[0::2], pairs[1::2]


def _run(own: RedisServer, done: list[str], stop: threading.Event) -> None:
    track = jobbertrack.Handler(own.client(retry=None))
    while not stop.is_set():
        try:
            job = track.pop_and_start("g", block=0.5, lease=60)
            if job is None:
                continue
            job.fail("odd") if job.input % 3 == 0 else job.finish(job.input)
            done.append(job.id)
        except jobbertrack.RedisUnavailable:
            return


@pytest.mark.slow
def test_a_groups_counts_equal_a_recount_after_redis_is_killed(server: RedisServer) -> None:
    with RedisServer(server.binary, args=["--appendonly", "yes", "--appendfsync", "always"]) as own:
        client = own.client()
        track = jobbertrack.Handler(client)
        group = track.create_group(600, then={"queue": "after"})
        for i in range(N):
            track.push(i, queue="g", timeout=600, group=group.id)
        group.close()
        done: list[str] = []
        stop = threading.Event()
        threads = [threading.Thread(target=_run, args=(own, done, stop)) for _ in range(3)]
        for t in threads:
            t.start()
        wait_for(lambda: len(done) >= N // 3, limit=60)
        own.signal(signal.SIGKILL)
        assert own.process is not None
        own.process.wait(10)
        for t in threads:
            t.join(30)
        own.start()
        client = own.client()
        track = jobbertrack.Handler(client)
        counted, seen = _recount(client, track, group.id)
        assert counted == seen and sum(seen) == N
        ended = sum(seen[2:])  # failed, finished, cancelled: every acknowledged move survived
        assert ended >= len(done)
        # a job running when Redis died is still running: its worker is gone, the stall rule
        # would end it after its lease; here the test ends it as a worker would, and the rest
        # run to the end
        for job in group.children(state="running", limit=100):
            job.fail("odd") if job.input % 3 == 0 else job.finish("after the restart")
        threads = [threading.Thread(target=_run, args=(own, done, stop)) for _ in range(3)]
        for t in threads:
            t.start()
        wait_for(lambda: track.get(group.id).is_final, limit=120)
        stop.set()
        for t in threads:
            t.join(30)
        counted, seen = _recount(client, track, group.id)
        assert counted == seen
        final = track.get(group.id)
        assert final.state == "failed" and final.get_value()["group"]["total"] == N
        assert final.error["failed"] == len(range(0, N, 3))
        assert track.queued("after") == 1
