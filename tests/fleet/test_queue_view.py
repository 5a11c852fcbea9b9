"""Queues seen from above (issue 23): ``queues()``, ``queue_stats()``,
``pause()`` and ``resume()``, through both layers on every backend."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import jobbertrack
from jobbertrack import JobberTrackError

from ..helpers import all_keys


def test_queue_stats_count_waiting_delayed_and_running_without_reading_a_job(track: Any) -> None:
    pushed = {track.push({"n": n}, queue="mail", timeout=60).id for n in (1, 2)}
    track.push({"n": 3}, queue="mail", timeout=60, delay=30)
    track.push({"n": 4}, queue="pdf", timeout=60)
    assert track.queues() == ["mail", "pdf"]
    stats = track.queue_stats("mail")
    assert stats == {
        "name": "mail",
        "waiting": 2,
        "delayed": 1,
        "running": 0,
        "oldest_wait_s": stats["oldest_wait_s"],
        "paused": False,
        "workers": 0,
    }
    assert 0.0 <= stats["oldest_wait_s"] < 30
    running = [track.pop_and_start("mail", lease=30) for _ in range(2)]
    assert {j.id for j in running} == pushed  # the delayed one is not ready
    stats = track.queue_stats("mail")
    assert (stats["waiting"], stats["delayed"], stats["running"]) == (0, 1, 2)
    assert stats["oldest_wait_s"] == 0.0  # nothing ready waits
    running[0].finish("ok")
    running[1].cancel("enough")
    stats = track.queue_stats("mail")
    assert (stats["waiting"], stats["delayed"], stats["running"]) == (0, 1, 0)
    pdf = track.queue_stats("pdf")
    assert (pdf["waiting"], pdf["delayed"], pdf["running"]) == (1, 0, 0)
    empty = track.queue_stats("nobody")
    assert (empty["waiting"], empty["delayed"], empty["running"], empty["paused"]) == (0, 0, 0, False)


def test_the_oldest_wait_grows_with_the_wait(track: Any) -> None:
    track.push(1, queue="slow", timeout=60)
    first = track.queue_stats("slow")["oldest_wait_s"]
    time.sleep(0.2)  # the quantity under test is an elapsed time
    assert track.queue_stats("slow")["oldest_wait_s"] >= first + 0.15


def test_running_counts_follow_every_way_out_of_running(track: Any) -> None:
    a = track.push(1, queue="q", timeout=60, retries=1)
    b = track.push(2, queue="q", timeout=60)
    c = track.push(3, queue="q", timeout=60)
    jobs = {j.id: j for j in (track.pop_and_start("q", lease=30) for _ in range(3))}
    assert track.queue_stats("q")["running"] == 3
    jobs[a.id].fail("boom")  # a retry left: back to waiting
    assert track.queue_stats("q")["running"] == 2 and track.queue_stats("q")["waiting"] == 1
    track.delete(b.id)
    assert track.queue_stats("q")["running"] == 1
    jobs[c.id].fail("boom")  # no retry left: failed
    stats = track.queue_stats("q")
    assert (stats["waiting"], stats["running"]) == (1, 0)
    again = track.pop_and_start("q", lease=30)
    assert again.id == a.id and track.queue_stats("q")["running"] == 1
    again.finish()
    assert track.queue_stats("q")["running"] == 0


def test_a_job_started_by_hand_counts_as_running_on_its_queue(track: Any) -> None:
    job = track.push(1, queue="q", timeout=60)
    job.start(lease=30)
    stats = track.queue_stats("q")
    assert (stats["waiting"], stats["running"]) == (0, 1)


def test_a_stalled_job_stops_counting_as_running_once_settled(track: Any) -> None:
    track.push(1, queue="q", timeout=60)
    track.pop_and_start("q", lease=0.05)
    time.sleep(0.1)  # the lease must run out: a deadline, not an event
    track.sweep()
    assert track.queue_stats("q")["running"] == 0


def test_pause_stops_pops_and_keeps_pushes_and_resume_lets_them_go_on(track: Any) -> None:
    for i in range(3):
        track.push(i, queue="q", timeout=60)
    track.pause("q")
    assert track.queue_stats("q")["paused"] is True
    assert track.pop_and_start("q") is None
    assert track.pop_and_start("q", block=0.2) is None
    track.push(3, queue="q", timeout=60)
    assert track.queued("q") == 4 and track.queue_stats("q")["waiting"] == 4
    assert track.queues() == ["q"]
    track.pause("q")  # twice is once
    track.resume("q")
    assert track.queue_stats("q")["paused"] is False
    popped = [track.pop_and_start("q") for _ in range(4)]
    assert all(j is not None for j in popped)
    track.resume("q")  # resuming a queue that is not paused does nothing


def test_a_paused_queue_is_listed_even_without_jobs(track: Any) -> None:
    assert track.queues() == []
    track.pause("idle")
    assert track.queues() == ["idle"]
    track.resume("idle")
    assert track.queues() == []


def test_a_bad_queue_name_is_refused_and_writes_nothing(track: Any, client: Any) -> None:
    for bad in ("", "a\0b", "x" * 201, 5, None):
        for call in (track.pause, track.resume, track.queue_stats):
            with pytest.raises(JobberTrackError):
                call(bad)
    with pytest.raises(JobberTrackError):
        track.workers("")
    assert all_keys(client, "jt:*") == []


def test_pause_outlives_the_expiry_of_every_job_and_resume_lets_the_key_expire(
    make_handler: Any, client: Any
) -> None:
    track = make_handler(shards=1)
    track.push(1, queue="q", timeout=0.3)
    track.pause("q")
    (key,) = all_keys(client, "jt:*:queue")
    assert client.pttl(key) == -1  # held while paused
    time.sleep(0.4)  # the job's lifetime must pass: an expiry, not an event
    assert track.queue_stats("q")["paused"] is True
    track.push(2, queue="q", timeout=30)
    assert client.pttl(key) == -1
    assert track.pop_and_start("q") is None
    track.resume("q")
    assert 0 < client.pttl(key) <= 30_000 + 86_400_000 + 3_600_000
    assert track.pop_and_start("q").data == 2


def test_pops_started_after_pause_returns_take_nothing(backend: Any, client: Any) -> None:
    """A busy worker pops from the entries it saw (hints): the pause must
    stop those too, in every shard, the moment pause() returns."""
    track = jobbertrack.Handler(client)
    for i in range(300):
        track.push(i, queue="busy", timeout=60)
    worker = jobbertrack.Handler(jobbertrack.connect(backend.url))
    paused = threading.Event()
    after: list[Any] = []
    before = 0

    def pop_all() -> None:
        nonlocal before
        for _ in range(400):
            was_paused = paused.is_set()
            job = worker.pop_and_start("busy", lease=30)
            if was_paused:
                after.append(job)
            elif job is not None:
                before += 1

    thread = threading.Thread(target=pop_all)
    thread.start()
    while before < 20 and thread.is_alive():
        time.sleep(0.001)
    track.pause("busy")
    paused.set()
    thread.join(60)
    assert after and all(job is None for job in after)
    assert track.queue_stats("busy")["running"] == before
    track.resume("busy")
    assert worker.pop_and_start("busy") is not None


def test_resume_wakes_a_worker_blocked_on_a_paused_queue(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    track.pause("q")
    track.push(1, queue="q", timeout=60)
    worker = jobbertrack.Handler(jobbertrack.connect(backend.url))
    got: list[Any] = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: got.append(worker.pop_and_start("q", block=20)))
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # paused: the push did not let it pop
    track.resume("q")
    thread.join(10)
    assert got and got[0] is not None and got[0].data == 1
    assert time.monotonic() - started < 5  # woken by the resume, not by its 5 s rescan
