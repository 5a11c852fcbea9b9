"""Redis holds the state table: a script called by hand (raw EVAL of the
files as they are on disk, as a client in another language or an old,
lying or buggy one would call them) cannot bring a rule of its own.  A
forged move name, target, list of allowed sources or set of states is
refused with an error reply, and no key of the job's shard changes."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from jobbertrack._core.calls import Call
from jobbertrack._core.queue import peek_calls, pop_call
from jobbertrack._core.transitions import MOVES, State
from tests.integration.test_corrupt_scripts import COMMANDS, KEYS, assert_unchanged, run_raw, shard_snapshot


def forged(call: Call, *args: str | int) -> Call:
    """``call`` with ARGV 5 on replaced by ``args``."""
    return call._replace(args=(*call.args[:4], *args))


def refused(client: Any, call: Call) -> None:
    before = shard_snapshot(client, call.job_id)
    with pytest.raises(redis.ResponseError):
        run_raw(client, call)
    assert_unchanged(before, shard_snapshot(client, call.job_id))


def test_a_transition_takes_only_a_move_of_the_table(track: Any, client: Any) -> None:
    waiting = track.create(60)
    finish = COMMANDS.transition(waiting.id, State.FINISHED)
    # the old arguments (target, then its allowed sources), set to skip a step
    refused(client, forged(finish, "finished", "waiting"))
    refused(client, forged(finish, "finished", "waiting running", "", "", "", "", ""))
    # a move the table lacks, a target given as a move, and a right name with extra rules
    for name in ("teleport", "running", "finished", "", "START"):
        refused(client, forged(finish, name))
    refused(client, forged(finish, "finish", "", "", "", "", "waiting"))
    # the table's own name: compare-and-set against the table's sources
    assert run_raw(client, forged(finish, "finish"))[0] == b"bad"
    assert track.get(waiting.id).state == "waiting"
    assert run_raw(client, COMMANDS.transition(waiting.id, State.RUNNING))[0] == b"ok"
    assert track.get(waiting.id).state == "running"


def test_every_move_of_the_table_is_known_to_redis(track: Any, client: Any) -> None:
    """Each name of MOVES reaches its target from its sources, called raw."""
    for name, move in MOVES.items():
        job = track.create(60)
        paths = {
            State.WAITING: [],
            State.RUNNING: [State.RUNNING],
            State.FAILED: [State.RUNNING, State.FAILED],
            State.CANCELLED: [State.CANCELLED],
        }
        path = paths[next(iter(sorted(move.sources)))]
        for step in path:
            run_raw(client, COMMANDS.transition(job.id, step))
        reply = run_raw(client, forged(COMMANDS.transition(job.id, move.target), name))
        assert reply[0] == b"ok", (name, reply)
        assert track.get(job.id).state == move.target


def test_a_touch_takes_no_list_of_states(track: Any, client: Any) -> None:
    waiting = track.create(60)
    beat = COMMANDS.touch(waiting.id, {"current": 1})
    refused(client, forged(beat, "waiting", '{"current":1,"total":null,"message":null}'))
    assert run_raw(client, beat)[0] == b"bad"  # not ALIVE: the table's, not the caller's


def test_a_pop_takes_no_target_or_sources(track: Any, client: Any) -> None:
    job = track.push(timeout=60, queue="forge")
    peek = peek_calls(COMMANDS, "forge")[KEYS.shard_of(job.id)]
    member = run_raw(client, peek)[1].decode()
    pop = pop_call(COMMANDS, member, "forge", None, None)
    refused(client, forged(pop, *pop.args[4:], "finished", "waiting"))
    assert run_raw(client, pop)[0] == b"popped"
    assert track.get(job.id).state == "running"
