"""A group's follow-up job wakes a worker of its queue, as a push does
(issue 24's ``then`` without polling): the script that ends the group
names the queue in its reply (``WOKE`` in _groups.lua) and the caller puts
a token on that queue's wake-up list, whichever call ended the group: a
child's last move, a close after every child ended, a group's cancel."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jobbertrack

from ..helpers import is_cluster, wait_for

#: Far below the 5 s rescan that would stand in for a wake-up that never came.
WOKEN_S = 2.5


def tokens(client: Any, track: Any, queue: str) -> int:
    """The tokens on ``queue``'s wake-up list (at most one)."""
    return int(client.llen(track._core.keys.wake_key(queue)))


def blocked(client: Any) -> int:
    """Clients the server(s) hold blocked (a worker in ``BLPOP``)."""
    nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]
    return sum(1 for n in nodes for c in n.client_list() if "b" in c.get("flags", ""))


def fresh_queue() -> str:
    return f"after-{uuid.uuid4().hex[:8]}"


def test_the_last_childs_move_wakes_the_follow_up_jobs_queue(track: Any, client: Any) -> None:
    queue = fresh_queue()
    group = track.create_group(60, then={"queue": queue})
    kids = [track.create(30, group=group.id) for _ in range(2)]
    group.close()
    kids[0].start()
    kids[0].finish()
    assert tokens(client, track, queue) == 0  # the group has not ended: nothing pushed, nobody woken
    kids[1].start()
    ended = kids[1].fail("no")
    assert ended.state == "failed" and ended.error["message"] == "no"  # the reply, read as before
    assert tokens(client, track, queue) == 1
    follow = track.pop_and_start(queue)
    assert follow is not None and follow.input["group"] == group.id


def test_a_close_that_ends_the_group_wakes_the_follow_up_jobs_queue(track: Any, client: Any) -> None:
    queue = fresh_queue()
    group = track.create_group(60, then={"queue": queue})
    kid = track.create(30, group=group.id)
    kid.start()
    kid.finish()
    assert tokens(client, track, queue) == 0
    closed = group.close()
    assert closed.state == "finished" and closed.get_value()["group"]["closed"]  # the reply, read as before
    assert tokens(client, track, queue) == 1
    assert track.pop_and_start(queue) is not None


def test_a_group_cancel_wakes_the_follow_up_jobs_queue(track: Any, client: Any) -> None:
    queue = fresh_queue()
    group = track.create_group(60, then={"queue": queue})
    kids = [track.create(30, group=group.id) for _ in range(3)]
    kids[0].start()
    group.cancel("enough")  # closes it, cancels every child in pipelined rounds
    assert track.get(group.id).state == "failed"
    assert tokens(client, track, queue) == 1
    follow = track.pop_and_start(queue)
    assert follow is not None and follow.input["counts"]["cancelled"] == 3


def test_a_blocked_worker_takes_the_follow_up_job_when_the_group_ends(backend: Any, client: Any) -> None:
    """End to end: a worker already blocked on the follow-up job's queue
    gets it at once, not at its next rescan."""
    track = jobbertrack.Handler(client)
    worker = jobbertrack.Handler(backend.client())
    queue = fresh_queue()
    group = track.create_group(60, then={"queue": queue, "name": "summary"})
    kid = track.create(30, group=group.id)
    group.close()
    kid.start()
    got: list[Any] = []
    popping = threading.Thread(target=lambda: got.append(worker.pop_and_start(queue, block=20)))
    popping.start()
    try:
        wait_for(lambda: blocked(client) >= 1)  # it peeked, found nothing and blocks on the wake-up list
        ended = time.monotonic()
        kid.finish()
        popping.join(20)
        assert not popping.is_alive()
        assert got[0] is not None and got[0].name == "summary"
        assert time.monotonic() - ended < WOKEN_S  # woken, not found at the rescan 5 s after it blocked
    finally:
        popping.join(20)
        worker.client.close()
