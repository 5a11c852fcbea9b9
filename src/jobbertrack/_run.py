"""Running core ``Call``s on a client: the only code that does I/O for the
job scripts.  Sync and async twins side by side; the decisions they share
(what an error means, what to retry) are the pure helpers at the top.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

from ._core.calls import Call
from ._exceptions import JobberTrackError, RedisCommandError, RedisUnavailable
from ._log import log_warning
from ._scripts import Registry, is_compile_error

_SAFE_POLICIES = {"noeviction"}


def translate(exc: BaseException) -> BaseException:
    """The jobbertrack error for an exception from redis-py (or ``exc``)."""
    import redis.exceptions as rx

    if isinstance(exc, JobberTrackError):
        return exc
    unavailable = (
        rx.ConnectionError,
        rx.TimeoutError,
        OSError,
        rx.ClusterDownError,
        rx.TryAgainError,
        rx.MasterDownError,
        rx.ReadOnlyError,
        rx.BusyLoadingError,
        rx.RedisClusterException,  # not a RedisError: e.g. a slot no node serves
    )
    if isinstance(exc, unavailable):
        return RedisUnavailable(f"Redis is unavailable: {exc}")
    if isinstance(exc, RuntimeError) and "Event loop is closed" in str(exc):
        return RedisUnavailable(
            "the redis.asyncio client's connections belong to an event loop that has ended: "
            "make the client inside the loop that uses it, or aclose() it before that loop ends"
        )
    if isinstance(exc, rx.RedisError):
        return RedisCommandError(f"Redis refused the command: {exc}")
    return exc


def _is_noscript(result: Any) -> bool:
    import redis.exceptions as rx

    return isinstance(result, rx.NoScriptError)


def _warn_policy(policy_reply: Any) -> None:
    if not isinstance(policy_reply, dict):
        return
    policy = policy_reply.get("maxmemory-policy") or policy_reply.get(b"maxmemory-policy")
    if isinstance(policy, bytes):
        policy = policy.decode()
    if policy and policy not in _SAFE_POLICIES:
        message = (
            f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may evict "
            "job records (they all carry a TTL) and jobs would vanish early. Use 'noeviction'."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        log_warning("%s", message)


class Read(NamedTuple):
    """HGETALL of one key, as an operation that can share a pipeline with
    script calls (asyncio auto-pipelining)."""

    key: str


Op = Call | Read


class Batch:
    """The decisions of a pipelined run, shared by ``run_many``/``arun_many``.

    Calls go as EVALSHA; a call the server answers with NOSCRIPT (flushed,
    restarted, failed over, or a cluster node seeing the script for the first
    time) is sent again as EVAL, which runs it on the node that owns its keys
    and caches it there.  A compile error on EVAL means Redis < 7: switch to
    header-less scripts and send again."""

    def __init__(self, reg: Registry, calls: Sequence[Op]) -> None:
        self.reg, self.calls = reg, calls
        self.results: list[Any] = [None] * len(calls)
        self.todo = list(range(len(calls)))
        self.as_eval: set[int] = set()
        self.rounds = 0
        self.sent_modern = reg.modern

    def fill(self, pipe: Any) -> None:
        self.rounds += 1
        self.sent_modern = self.reg.modern  # another task may downgrade meanwhile
        for i in self.todo:
            c = self.calls[i]
            if isinstance(c, Read):
                pipe.hgetall(c.key)
                continue
            script = self.reg.script(c.script)
            if i in self.as_eval:
                pipe.execute_command("EVAL", script.script, len(c.keys), *c.keys, *c.args)
            else:
                pipe.execute_command("EVALSHA", script.sha, len(c.keys), *c.keys, *c.args)

    def take(self, replies: Sequence[Any]) -> None:
        """Record replies; what needs sending again stays in ``todo``."""
        for i, reply in zip(self.todo, replies, strict=True):
            self.results[i] = reply
        again = []
        for i in self.todo:
            result = self.results[i]
            if _is_noscript(result):
                self.as_eval.add(i)
                again.append(i)
            elif isinstance(result, Exception) and self.sent_modern and is_compile_error(result):
                if self.reg.modern:
                    self.reg.downgrade()
                again = list(range(len(self.calls)))
                self.as_eval = set(again)
                break
        self.todo = again
        if self.todo and self.rounds >= 4:
            raise RedisCommandError("Redis keeps refusing jobbertrack's scripts")

    def result(self) -> list[Any]:
        error = next((r for r in self.results if isinstance(r, BaseException)), None)
        if error is not None:
            raise translate(error) from error
        return self.results

    def fail_todo(self, error: BaseException) -> None:
        """The round failed as a whole: its calls get ``error``; done ones keep their reply."""
        for i in self.todo:
            self.results[i] = error
        self.todo = []

    def outcomes(self) -> list[Any]:
        """Each reply, or the jobbertrack error of that one call (a value)."""
        return [translate(r) if isinstance(r, BaseException) else r for r in self.results]


# ----------------------------------------------------------------- sync


def _check_policy(reg: Registry) -> None:
    reg.checked_policy = True
    try:
        reply = reg.client.config_get("maxmemory-policy")
    except Exception:  # ACL users may not run CONFIG: nothing to check then
        return
    _warn_policy(reply)


def run(reg: Registry, call: Call) -> Any:
    """Run one call: EVALSHA, or EVAL when the server lacks the script."""
    if not reg.checked_policy:
        _check_policy(reg)
    modern = reg.modern  # the text sent; another thread may downgrade meanwhile
    script = reg.script(call.script)
    try:
        try:
            return reg.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not _is_noscript(exc):
                raise
            return reg.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if reg.modern:
                reg.downgrade()
            return run(reg, call)
        raise translate(exc) from exc


def run_many(reg: Registry, calls: Sequence[Call]) -> list[Any]:
    """Run calls in one pipelined round trip (per node); replies in order."""
    if not reg.checked_policy:
        _check_policy(reg)
    batch = Batch(reg, calls)
    while batch.todo:
        pipe = reg.client.pipeline(transaction=False)
        batch.fill(pipe)
        try:
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        batch.take(replies)
    return batch.result()


def read_hash(reg: Registry, key: str) -> dict[Any, Any]:
    """HGETALL of one key, as the client returned it (bytes or str)."""
    try:
        reply: dict[Any, Any] = reg.client.hgetall(key)
    except Exception as exc:
        raise translate(exc) from exc
    return reply


def read_hashes(reg: Registry, keys: Sequence[str]) -> list[dict[Any, Any]]:
    """HGETALL of each key in one pipelined round trip (per node), as the
    client returned them (bytes or str)."""
    pipe = reg.client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    try:
        return list(pipe.execute())
    except Exception as exc:
        raise translate(exc) from exc


# ---------------------------------------------------------------- async


async def _acheck_policy(reg: Registry) -> None:
    reg.checked_policy = True
    try:
        reply = await reg.client.config_get("maxmemory-policy")
    except Exception:
        return
    _warn_policy(reply)


async def arun_one(reg: Registry, op: Op) -> Any:
    """One operation on its own round trip (see ``_autopipe`` for sharing)."""
    if not reg.checked_policy:
        await _acheck_policy(reg)
    if isinstance(op, Read):
        return await aread_hash(reg, op.key)
    call = op
    modern = reg.modern  # the text sent; another task may downgrade meanwhile
    script = reg.script(call.script)
    try:
        try:
            return await reg.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not _is_noscript(exc):
                raise
            return await reg.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if reg.modern:
                reg.downgrade()
            return await arun_one(reg, call)
        raise translate(exc) from exc


async def _arun_batch(reg: Registry, ops: Sequence[Op], *, each: bool = False) -> Batch:
    """Run ``ops`` to completion (NOSCRIPT resends included).  A round that
    fails as a whole raises, or with ``each`` fails only the calls it
    carried: the others' replies stand."""
    if not reg.checked_policy:
        await _acheck_policy(reg)
    batch = Batch(reg, ops)
    while batch.todo:
        pipe = reg.client.pipeline(transaction=False)
        batch.fill(pipe)
        try:
            batch.take(await pipe.execute(raise_on_error=False))
        except Exception as exc:
            if not each:
                if isinstance(exc, JobberTrackError):
                    raise
                raise translate(exc) from exc
            batch.fail_todo(translate(exc))
    return batch


async def arun_many(reg: Registry, calls: Sequence[Call]) -> list[Any]:
    """Calls in one pipelined round trip (per node); the first error raises."""
    return (await _arun_batch(reg, calls)).result()


async def arun_ops(reg: Registry, ops: Sequence[Op]) -> list[Any]:
    """Operations in one pipelined round trip; each one's reply or its own error."""
    return (await _arun_batch(reg, ops, each=True)).outcomes()


async def aread_hash(reg: Registry, key: str) -> dict[Any, Any]:
    try:
        reply: dict[Any, Any] = await reg.client.hgetall(key)
    except Exception as exc:
        raise translate(exc) from exc
    return reply


async def aread_hashes(reg: Registry, keys: Sequence[str]) -> list[dict[Any, Any]]:
    pipe = reg.client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    try:
        return list(await pipe.execute())
    except Exception as exc:
        raise translate(exc) from exc
