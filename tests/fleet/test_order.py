"""Order across shards (issue 23): one producer and one worker see push
order at any shard count; delayed jobs take their place by ready time."""

from __future__ import annotations

import time
from typing import Any

import pytest


@pytest.mark.parametrize("shards", [16, 64])
def test_one_producer_and_one_worker_see_push_order(make_handler: Any, shards: int) -> None:
    track = make_handler(shards=shards)
    pushed = [track.push(i, queue="fifo", timeout=60).id for i in range(300)]
    popped = []
    while (job := track.pop_and_start("fifo", lease=30)) is not None:
        popped.append(job.id)
    assert popped == pushed


def test_a_delayed_job_pops_after_the_jobs_ready_before_it(make_handler: Any) -> None:
    track = make_handler(shards=16)
    late = track.push("late", queue="q", timeout=60, delay=0.2)
    first = [track.push(i, queue="q", timeout=60).id for i in range(20)]
    time.sleep(0.25)  # the delay must run out: a time, not an event
    after = [track.push(i, queue="q", timeout=60).id for i in range(20)]
    popped = []
    while (job := track.pop_and_start("q", lease=30)) is not None:
        popped.append(job.id)
    assert popped == [*first, late.id, *after]


def test_a_retried_job_goes_behind_the_jobs_already_ready(make_handler: Any) -> None:
    track = make_handler(shards=16)
    ids = [track.push(i, queue="q", timeout=60, retries=1).id for i in range(10)]
    job = track.pop_and_start("q", lease=30)
    assert job.id == ids[0]
    job.fail("once more")
    popped = []
    while (job := track.pop_and_start("q", lease=30)) is not None:
        popped.append(job.id)
    assert popped == [*ids[1:], ids[0]]
