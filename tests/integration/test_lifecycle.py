"""Progress, failure details, timestamps, leases, stalls, max run time, sweep."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import timezone
from typing import Any

import pytest

import jobbertrack
from jobbertrack import InvalidTransition
from tests.helpers import evalsha_calls, wait_for


def test_progress_round_trip(track: Any) -> None:
    job = track.create(30)
    assert job.progress is None
    job.start()
    job.set_progress(3, 10, "three of ten")
    assert job.progress == {"current": 3, "total": 10, "message": "three of ten"}
    job.set_progress(0.5)
    loaded = track.get(job.id)
    assert loaded.progress == {"current": 0.5, "total": None, "message": None}
    assert loaded.get_value()["progress"] == loaded.progress


@pytest.mark.parametrize("state", ["waiting", "finished", "failed"])
def test_progress_and_heartbeat_only_while_running(track: Any, state: str) -> None:
    job = track.create(30)
    if state != "waiting":
        job.start()
        job.finish() if state == "finished" else job.fail()
    with pytest.raises(InvalidTransition) as info:
        job.set_progress(1, 2)
    assert info.value.current == state
    # the message says what was tried, not a move nobody asked for
    assert str(info.value) == (
        f"cannot report progress: job {job.id!r} is {state!r} (only a running job can)"
    ), str(info.value)
    assert info.value.action == "report progress"
    with pytest.raises(InvalidTransition) as info:
        job.heartbeat()
    assert str(info.value).startswith(f"cannot renew its lease: job {job.id!r} is {state!r}")
    assert track.get(job.id).progress is None


def test_bad_progress_is_refused(track: Any) -> None:
    job = track.create(30)
    job.start()
    for args in [("1",), (float("nan"),), (1, "2"), (1, 2, 3)]:
        with pytest.raises(jobbertrack.InvalidData):
            job.set_progress(*args)


def test_failure_details(track: Any) -> None:
    plain = track.create(30).start().fail()
    jobs = [track.create(30) for _ in range(4)]
    for j in jobs:
        j.start()
    jobs[0].fail()
    jobs[1].fail("out of paper")
    try:
        raise KeyError("missing")
    except KeyError as exc:
        jobs[2].fail(exc)
        jobs[3].fail(exc, traceback=True)
    errors = [track.get(j.id).error for j in jobs]
    assert errors[0] == {"reason": "error", "message": None}
    assert errors[1] == {"reason": "error", "message": "out of paper"}
    assert errors[2]["type"] == "KeyError" and "missing" in errors[2]["message"]
    assert "traceback" not in errors[2]
    assert "raise KeyError" in errors[3]["traceback"]
    assert jobs[1].get_value()["error"] == errors[1]
    assert plain.state == "failed"


def test_timestamps_are_utc_and_ordered(track: Any) -> None:
    job = track.create(30)
    assert job.created_at is not None and job.created_at.tzinfo == timezone.utc
    assert job.started_at is None and job.ended_at is None
    job.start()
    job.finish()
    loaded = track.get(job.id)
    assert loaded.created_at <= loaded.started_at <= loaded.ended_at
    assert abs(loaded.created_at.timestamp() - time.time()) < 60


def test_a_job_without_heartbeats_is_stalled_on_read(track: Any) -> None:
    job = track.create(30)
    job.start(lease=0.3)
    assert track.get(job.id).state == "running"
    stalled = wait_for(lambda: (j := track.get(job.id)).state == "failed" and j)
    assert stalled.error["reason"] == "stalled"
    assert stalled.ended_at is not None


def test_a_stalled_worker_learns_it_lost_the_job(track: Any) -> None:
    job = track.create(30)
    job.start(lease=0.2)
    wait_for(lambda: track.get(job.id).state == "failed")
    for move in (
        job.heartbeat,
        lambda: job.set_progress(1),
        lambda: job.finish("late"),
        lambda: job.fail("late"),
    ):
        with pytest.raises(InvalidTransition) as info:
            move()
        assert info.value.current == "failed"
    final = track.get(job.id)
    assert final.error["reason"] == "stalled"
    assert "data" not in final.get_value()
    assert job.state == "failed"


def test_refresh_and_moves_settle_the_stall_themselves(track: Any) -> None:
    job = track.create(30)
    job.start(lease=0.2)
    wait_for(lambda: track.count("failed") == 1)  # the lease ran out; counting reads no record
    with pytest.raises(InvalidTransition):
        job.finish(1)
    assert job.state == "failed" and job.error["reason"] == "stalled"
    other = track.create(30)
    other.start(lease=0.2)
    wait_for(lambda: track.count("failed") == 2)
    other.refresh()
    assert other.state == "failed"


def test_heartbeats_keep_a_job_alive_past_its_lease(track: Any) -> None:
    job = track.create(30)
    job.start(lease=0.3)
    until = time.monotonic() + 1.2
    while time.monotonic() < until:
        job.heartbeat() if int(time.monotonic() * 10) % 2 else job.set_progress(1, 2)
        assert track.get(job.id).state == "running"
        time.sleep(0.08)
    assert track.sweep() == 0
    job.finish("alive")
    assert track.get(job.id).data == "alive"


def test_max_runtime_fires_even_with_heartbeats(track: Any) -> None:
    job = track.create(30)
    job.start(lease=0.5, max_runtime=0.6)
    started = time.monotonic()

    def beat_and_check() -> bool:
        try:
            job.heartbeat()
        except InvalidTransition:
            return True
        return False

    wait_for(beat_and_check, step=0.05)
    assert time.monotonic() - started >= 0.55
    assert track.get(job.id).error["reason"] == "timeout"


def test_sweep_fails_only_the_due_jobs(track: Any) -> None:
    dead = [track.create(30) for _ in range(5)]
    for j in dead:
        j.start(lease=0.2)
    alive = track.create(30)
    alive.start(lease=30)
    plain = track.create(30)
    plain.start()
    wait_for(lambda: track.count("failed") == 5)  # their leases ran out (counting settles nothing)
    assert track.sweep() == 5
    assert track.sweep() == 0
    assert all(track.get(j.id).error["reason"] == "stalled" for j in dead)
    assert track.get(alive.id).state == "running"
    assert track.get(plain.id).state == "running"


def test_sweep_cost_scales_with_running_jobs_not_stored_ones(make_handler: Any, client: Any) -> None:
    track = make_handler()
    for _ in range(300):
        track.create(60).start().finish()
    track.sweep()  # the first sweep of a client also puts older jobs into the finding indexes
    stalled = [track.create(60) for _ in range(3)]
    for j in stalled:
        j.start(lease=0.1)
    wait_for(lambda: track.count("failed") == 3)
    before = evalsha_calls(client)
    assert track.sweep() == 3
    after = evalsha_calls(client)
    assert after - before == 16 + 3  # one scan per shard, one settle per due job


def _sweeper(url: str, go: Any, out: Any) -> None:
    track = jobbertrack.Handler(jobbertrack.connect(url))
    go.wait()
    out.put(track.sweep())


def test_concurrent_sweepers_count_each_job_once(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    jobs = [track.create(60) for _ in range(200)]
    for j in jobs:
        j.start(lease=0.2)
    wait_for(lambda: track.count("failed") == 200)
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_sweeper, args=(backend.url, go, out)) for _ in range(4)]
    for p in procs:
        p.start()
    go.set()
    total = sum(out.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(10)
    assert total == 200
    assert all(track.get(j.id).state == "failed" for j in jobs)


def test_sweep_racing_a_finishing_worker(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    jobs = [track.create(60) for _ in range(300)]
    for j in jobs:
        j.start(lease=0.25)
    outcome: dict[str, str] = {}
    time.sleep(0.2)

    def finisher() -> None:
        for j in jobs:
            try:
                j.finish({"by": "worker"})
                outcome[j.id] = "finished"
            except InvalidTransition:
                outcome[j.id] = "failed"

    t = threading.Thread(target=finisher)
    t.start()
    swept = 0
    sweeper = backend.client()
    try:
        while t.is_alive():
            swept += jobbertrack.Handler(sweeper).sweep()
    finally:
        t.join()
        sweeper.close()
    swept += track.sweep()
    for j in jobs:
        stored = track.get(j.id)
        assert stored.state == outcome[j.id]
        if stored.state == "finished":
            assert stored.data == {"by": "worker"} and stored.error is None
        else:
            assert stored.error["reason"] == "stalled" and "data" not in stored.get_value()
    assert swept <= sum(1 for v in outcome.values() if v == "failed")


WORKER = """
import sys, time, redis, jobbertrack
track = jobbertrack.Handler(jobbertrack.connect(sys.argv[1]))
job = track.get(sys.argv[2])
with job.running(lease=float(sys.argv[3])) as run:
    print("started", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("via", ["get", "sweep"])
def test_a_killed_worker_process_is_caught_as_stalled(backend: Any, client: Any, via: str) -> None:
    import signal
    import subprocess
    import sys

    track = jobbertrack.Handler(client)
    job = track.create(60)
    lease = 1.0
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, backend.url, job.id, str(lease)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"

    def beat_past_the_lease() -> bool:
        seen = track.get(job.id)
        return bool(seen.heartbeat_at and (seen.heartbeat_at - seen.started_at).total_seconds() > lease)

    wait_for(beat_past_the_lease, limit=lease * 3)  # the beats Redis holds, not a guess of time
    assert track.get(job.id).state == "running"  # its heartbeat thread keeps it alive
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    killed = time.monotonic()
    if via == "get":
        wait_for(lambda: track.get(job.id).state == "failed", limit=lease + 1)
    else:
        wait_for(lambda: track.sweep() == 1, limit=lease + 1)
    assert time.monotonic() - killed <= lease + 1
    assert track.get(job.id).error["reason"] == "stalled"
