"""Running core ``Call``s on a client: the only code that does I/O for the
job scripts.  Sync and async twins side by side; the decisions they share
(what an error means, what to retry) are the pure helpers at the top.

A *plan* is a generator that yields what to send (one ``Op``, or a list
of them for one pipelined round) and gets each reply back: the logic of a
multi-step read (``_plans``) is written once, and ``run_plan`` here (or
``_autopipe.arun_plan``) only carries its steps to Redis.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Sequence
from typing import Any, NamedTuple, TypeVar

from ._client_state import ClientState
from ._core.calls import Call
from ._exceptions import JobberTrackError, RedisCommandError, translate
from ._layout import aensure_layout, ensure_layout
from ._log import log_warning
from ._scripts import is_compile_error

_SAFE_POLICIES = {"noeviction"}


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
#: What a plan yields: one operation, or a list of them (one pipelined round).
Step = Op | list[Op] | list[Call] | list[Read]
T = TypeVar("T")
#: A plan: yields steps, gets each one's reply back, returns its result.
Plan = Generator[Step, Any, T]


def read_keys(ops: Sequence[Op]) -> list[str] | None:
    """The keys of a round of reads only (sent as a plain pipeline of
    HGETALLs), else None."""
    keys = [op.key for op in ops if isinstance(op, Read)]
    return keys if len(keys) == len(ops) else None


class Batch:
    """The decisions of a pipelined run, shared by ``run_many``/``arun_many``.

    Calls go as EVALSHA; a call the server answers with NOSCRIPT (flushed,
    restarted, failed over, or a cluster node seeing the script for the first
    time) is sent again as EVAL, which runs it on the node that owns its keys
    and caches it there.  A compile error on EVAL means Redis < 7: switch to
    header-less scripts and send again."""

    def __init__(self, cs: ClientState, calls: Sequence[Op]) -> None:
        self.cs, self.calls = cs, calls
        self.results: list[Any] = [None] * len(calls)
        self.todo = list(range(len(calls)))
        self.as_eval: set[int] = set()
        self.rounds = 0
        self.sent_modern = cs.modern

    def fill(self, pipe: Any) -> None:
        self.rounds += 1
        self.sent_modern = self.cs.modern  # another task may downgrade meanwhile
        for i in self.todo:
            c = self.calls[i]
            if isinstance(c, Read):
                pipe.hgetall(c.key)
                continue
            script = self.cs.script(c.script)
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
                if self.cs.modern:
                    self.cs.downgrade()
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


def _check_policy(cs: ClientState) -> None:
    cs.checked_policy = True
    try:
        reply = cs.client.config_get("maxmemory-policy")
    except Exception:  # ACL users may not run CONFIG: nothing to check then
        return
    _warn_policy(reply)


def run(cs: ClientState, call: Call) -> Any:
    """Run one call: EVALSHA, or EVAL when the server lacks the script."""
    if not cs.checked_policy:
        _check_policy(cs)
    ensure_layout(cs, (call,))
    modern = cs.modern  # the text sent; another thread may downgrade meanwhile
    script = cs.script(call.script)
    try:
        try:
            return cs.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not _is_noscript(exc):
                raise
            return cs.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if cs.modern:
                cs.downgrade()
            return run(cs, call)
        raise translate(exc) from exc


def run_many(cs: ClientState, calls: Sequence[Op]) -> list[Any]:
    """Run calls in one pipelined round trip (per node); replies in order."""
    if not cs.checked_policy:
        _check_policy(cs)
    ensure_layout(cs, calls)
    batch = Batch(cs, calls)
    while batch.todo:
        pipe = cs.client.pipeline(transaction=False)
        batch.fill(pipe)
        try:
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        batch.take(replies)
    return batch.result()


def read_hash(cs: ClientState, key: str) -> dict[Any, Any]:
    """HGETALL of one key, as the client returned it (bytes or str)."""
    ensure_layout(cs, (Read(key),))
    try:
        reply: dict[Any, Any] = cs.client.hgetall(key)
    except Exception as exc:
        raise translate(exc) from exc
    return reply


def read_hashes(cs: ClientState, keys: Sequence[str]) -> list[dict[Any, Any]]:
    """HGETALL of each key in one pipelined round trip (per node), as the
    client returned them (bytes or str)."""
    ensure_layout(cs, [Read(key) for key in keys])
    pipe = cs.client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    try:
        return list(pipe.execute())
    except Exception as exc:
        raise translate(exc) from exc


def execute(cs: ClientState, step: Step) -> Any:
    """One step of a plan: a lone operation on its own, a list in one round trip."""
    if not isinstance(step, list):
        return read_hash(cs, step.key) if isinstance(step, Read) else run(cs, step)
    if not step:
        return []
    keys = read_keys(step)
    return run_many(cs, step) if keys is None else read_hashes(cs, keys)


def run_plan(cs: ClientState, plan: Plan[T]) -> T:
    """Carry a plan out: each step's reply goes back to it; its result comes out."""
    try:
        step = next(plan)
        while True:
            step = plan.send(execute(cs, step))
    except StopIteration as done:
        result: T = done.value
        return result


# ---------------------------------------------------------------- async


async def _acheck_policy(cs: ClientState) -> None:
    cs.checked_policy = True
    try:
        reply = await cs.client.config_get("maxmemory-policy")
    except Exception:
        return
    _warn_policy(reply)


async def arun_one(cs: ClientState, op: Op) -> Any:
    """One operation on its own round trip (see ``_autopipe`` for sharing)."""
    if not cs.checked_policy:
        await _acheck_policy(cs)
    if isinstance(op, Read):
        return await aread_hash(cs, op.key)
    call = op
    modern = cs.modern  # the text sent; another task may downgrade meanwhile
    script = cs.script(call.script)
    try:
        try:
            return await cs.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not _is_noscript(exc):
                raise
            return await cs.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if cs.modern:
                cs.downgrade()
            return await arun_one(cs, call)
        raise translate(exc) from exc


async def _arun_batch(cs: ClientState, ops: Sequence[Op], *, each: bool = False) -> Batch:
    """Run ``ops`` to completion (NOSCRIPT resends included).  A round that
    fails as a whole raises, or with ``each`` fails only the calls it
    carried: the others' replies stand."""
    if not cs.checked_policy:
        await _acheck_policy(cs)
    batch = Batch(cs, ops)
    while batch.todo:
        pipe = cs.client.pipeline(transaction=False)
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


async def arun_many(cs: ClientState, calls: Sequence[Op]) -> list[Any]:
    """Calls in one pipelined round trip (per node); the first error raises."""
    if cs.layout_todo(calls):
        await aensure_layout(cs, calls)
    return (await _arun_batch(cs, calls)).result()


async def arun_ops(cs: ClientState, ops: Sequence[Op]) -> list[Any]:
    """Operations in one pipelined round trip; each one's reply or its own error."""
    return (await _arun_batch(cs, ops, each=True)).outcomes()


async def aread_hash(cs: ClientState, key: str) -> dict[Any, Any]:
    """HGETALL of one key on its own round trip (see ``_autopipe.arun`` for sharing)."""
    try:
        reply: dict[Any, Any] = await cs.client.hgetall(key)
    except Exception as exc:
        raise translate(exc) from exc
    return reply


async def aread_hashes(cs: ClientState, keys: Sequence[str]) -> list[dict[Any, Any]]:
    pipe = cs.client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    try:
        return list(await pipe.execute())
    except Exception as exc:
        raise translate(exc) from exc
