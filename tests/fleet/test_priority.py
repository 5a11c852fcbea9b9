"""Priorities (issue 23): ``push(..., priority=)`` pops a higher priority
first and keeps push order within one, across shards, through both layers
on every backend; a delayed or retried job keeps its priority and never
holds back ready jobs of a lower one."""

from __future__ import annotations

import random
from typing import Any

import pytest

from jobbertrack import JobberTrackError

from ..helpers import all_keys


def drain(track: Any, queue: str) -> list[str]:
    popped = []
    while (job := track.pop_and_start(queue, lease=30)) is not None:
        popped.append(job.id)
    return popped


@pytest.mark.parametrize("shards", [16, 64])
def test_a_higher_priority_pops_first_and_push_order_holds_within_one(make_handler: Any, shards: int) -> None:
    track = make_handler(shards=shards)
    rng = random.Random(23)
    levels = [0, 1, 5, -1, -999_999, 999_999, 42]
    pushed = []
    for i in range(200):
        priority = rng.choice(levels)
        pushed.append((priority, track.push(i, queue="p", timeout=60, priority=priority).id))
    expected = [job_id for _, job_id in sorted(pushed, key=lambda p: -p[0])]  # stable: push order within one
    assert drain(track, "p") == expected


def test_a_delayed_high_priority_job_holds_back_no_ready_job(track: Any) -> None:
    late = track.push("late", queue="q", timeout=60, delay=30, priority=100)
    low = track.push("low", queue="q", timeout=60, priority=-5)
    mid = track.push("mid", queue="q", timeout=60)
    assert drain(track, "q") == [mid.id, low.id]
    stats = track.queue_stats("q")
    assert (stats["waiting"], stats["delayed"], stats["running"]) == (0, 1, 2)
    assert late.get_value()["state"] == "waiting"


def test_a_retried_job_keeps_its_priority(make_handler: Any) -> None:
    track = make_handler()
    urgent = track.push("urgent", queue="q", timeout=60, priority=7, retries=1)
    others = [track.push(i, queue="q", timeout=60).id for i in range(3)]
    job = track.pop_and_start("q", lease=30)
    assert job.id == urgent.id
    job.fail("once more")
    # another worker (this one pops what it already saw for up to HINT_TTL_S)
    assert drain(make_handler(), "q") == [urgent.id, *others]
    assert track.get(urgent.id).get_value()["priority"] == 7


def test_a_job_started_by_hand_leaves_its_priority_entry(track: Any) -> None:
    job = track.push("x", queue="q", timeout=60, priority=-3)
    other = track.push("y", queue="q", timeout=60, priority=-3)
    job.start(lease=30)
    assert drain(track, "q") == [other.id]
    assert track.queue_stats("q")["waiting"] == 0


def test_queue_stats_count_every_priority(track: Any) -> None:
    for priority in (3, 0, -2, 3, 999_999):
        track.push(priority, queue="q", timeout=60, priority=priority)
    track.push("later", queue="q", timeout=60, priority=3, delay=30)
    stats = track.queue_stats("q")
    assert (stats["waiting"], stats["delayed"], stats["running"]) == (5, 1, 0)
    assert stats["oldest_wait_s"] >= 0.0
    assert track.queues() == ["q"]


def test_get_value_shows_the_priority(track: Any) -> None:
    assert track.push(1, queue="q", timeout=60, priority=12).get_value()["priority"] == 12
    assert track.push(2, queue="q", timeout=60).get_value()["priority"] == 0


@pytest.mark.parametrize("bad", [1_000_000, -1_000_000, 1.5, "3", True, None])
def test_a_bad_priority_is_refused_and_nothing_is_written(track: Any, client: Any, bad: Any) -> None:
    before = all_keys(client)
    with pytest.raises(JobberTrackError, match="priority"):
        track.push(1, queue="q", timeout=60, priority=bad)
    assert all_keys(client) == before


def test_a_worker_that_pushes_a_higher_priority_takes_it_next(track: Any) -> None:
    backlog = [track.push(i, queue="q", timeout=60).id for i in range(20)]
    assert track.pop_and_start("q", lease=30).id == backlog[0]  # its hints now hold the shards' firsts
    urgent = track.push("urgent", queue="q", timeout=60, priority=1)
    assert drain(track, "q") == [urgent.id, *backlog[1:]]
