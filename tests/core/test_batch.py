"""The bookkeeping of a pipelined round (``_ops.Batch``), without I/O: a
client object is needed only for its per-client state; nothing is sent."""

from __future__ import annotations

import redis
import redis.exceptions as rx

import jobbertrack
from jobbertrack._client_state import ClientState
from jobbertrack._core.calls import Commands
from jobbertrack._ops import Batch, Read


def test_a_failed_resend_round_fails_only_the_calls_it_carried() -> None:
    cs = ClientState(redis.Redis(host="127.0.0.1", port=1))  # never connected
    core = Commands()
    batch = Batch(cs, [core.get("a"), core.get("b"), Read("jt:{x}:job:c")])
    batch.take([[b"ok", []], rx.NoScriptError("NOSCRIPT"), {b"state": b"waiting"}])
    assert batch.todo == [1] and batch.as_eval == {1}  # sent again, as EVAL
    batch.fail_todo(jobbertrack.RedisUnavailable("connection lost"))
    out = batch.outcomes()
    assert out[0] == [b"ok", []] and out[2] == {b"state": b"waiting"}
    assert isinstance(out[1], jobbertrack.RedisUnavailable)


def test_a_redis_error_of_one_call_is_that_calls_own() -> None:
    cs = ClientState(redis.Redis(host="127.0.0.1", port=1))
    batch = Batch(cs, [Read("k1"), Read("k2")])
    batch.take([rx.ResponseError("WRONGTYPE"), {b"state": b"running"}])
    out = batch.outcomes()
    assert isinstance(out[0], jobbertrack.RedisCommandError) and out[1] == {b"state": b"running"}
