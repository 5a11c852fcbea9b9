"""Running core ``Call``s on a client: the only code that does I/O for the
job scripts.  Sync and async twins side by side; the decisions they share
(what an error means, what to retry) are the pure helpers at the top.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

from ._core.calls import Call
from ._exceptions import JobberTrackError, RedisCommandError, RedisUnavailable
from ._scripts import Registry, is_compile_error, source

log = logging.getLogger("jobbertrack")

_SAFE_POLICIES = {"noeviction"}


def translate(exc: BaseException) -> BaseException:
    """The jobbertrack error for an exception from redis-py (or ``exc``)."""
    import redis.exceptions as rx

    if isinstance(exc, JobberTrackError):
        return exc
    if isinstance(exc, (rx.ConnectionError, rx.TimeoutError, OSError)):
        return RedisUnavailable(f"Redis is unavailable: {exc}")
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
        log.warning(message)


class Batch:
    """The decisions of a pipelined run, shared by ``run_many``/``arun_many``:
    which calls to (re)send, which scripts to load after NOSCRIPT."""

    def __init__(self, reg: Registry, calls: Sequence[Call]) -> None:
        self.reg, self.calls = reg, calls
        self.results: list[Any] = [None] * len(calls)
        self.todo = list(range(len(calls)))
        self.rounds = 0

    def fill(self, pipe: Any) -> None:
        self.rounds += 1
        for i in self.todo:
            c = self.calls[i]
            pipe.evalsha(self.reg.script(c.script).sha, len(c.keys), *c.keys, *c.args)

    def take(self, replies: Sequence[Any]) -> set[str]:
        """Record replies; return the scripts the server lacked."""
        for i, reply in zip(self.todo, replies, strict=True):
            self.results[i] = reply
        self.todo = [i for i in self.todo if _is_noscript(self.results[i])]
        if self.todo and self.rounds >= 3:
            raise RedisCommandError("Redis keeps forgetting jobbertrack's scripts (NOSCRIPT)")
        return {self.calls[i].script for i in self.todo}

    def loaded(self, name: str, sha: Any) -> None:
        self.reg.script(name).sha = sha.decode() if isinstance(sha, bytes) else sha

    def load_failed(self, exc: Exception) -> None:
        if self.reg.modern and is_compile_error(exc):
            self.reg.downgrade()  # Redis < 7: resend everything, header-less
            self.todo = list(range(len(self.calls)))
            return
        raise translate(exc) from exc

    def result(self) -> list[Any]:
        error = next((r for r in self.results if isinstance(r, BaseException)), None)
        if error is not None:
            raise translate(error) from error
        return self.results


# ----------------------------------------------------------------- sync


def _check_policy(reg: Registry) -> None:
    reg.checked_policy = True
    try:
        reply = reg.client.config_get("maxmemory-policy")
    except Exception:  # ACL users may not run CONFIG: nothing to check then
        return
    _warn_policy(reply)


def run(reg: Registry, call: Call) -> Any:
    """Run one call; redis-py's Script reloads the script after NOSCRIPT."""
    if not reg.checked_policy:
        _check_policy(reg)
    try:
        return reg.script(call.script)(call.keys, call.args)
    except Exception as exc:
        if reg.modern and is_compile_error(exc):
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
        for name in batch.take(replies):
            try:
                batch.loaded(name, reg.client.script_load(source(name, reg.modern)))
            except Exception as exc:
                batch.load_failed(exc)
    return batch.result()


# ---------------------------------------------------------------- async


async def _acheck_policy(reg: Registry) -> None:
    reg.checked_policy = True
    try:
        reply = await reg.client.config_get("maxmemory-policy")
    except Exception:
        return
    _warn_policy(reply)


async def arun(reg: Registry, call: Call) -> Any:
    if not reg.checked_policy:
        await _acheck_policy(reg)
    try:
        return await reg.script(call.script)(call.keys, call.args)
    except Exception as exc:
        if reg.modern and is_compile_error(exc):
            reg.downgrade()
            return await arun(reg, call)
        raise translate(exc) from exc


async def arun_many(reg: Registry, calls: Sequence[Call]) -> list[Any]:
    if not reg.checked_policy:
        await _acheck_policy(reg)
    batch = Batch(reg, calls)
    while batch.todo:
        pipe = reg.client.pipeline(transaction=False)
        batch.fill(pipe)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        for name in batch.take(replies):
            try:
                batch.loaded(name, await reg.client.script_load(source(name, reg.modern)))
            except Exception as exc:
                batch.load_failed(exc)
    return batch.result()
