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


def _first_error(results: Sequence[Any]) -> BaseException | None:
    return next((r for r in results if isinstance(r, BaseException)), None)


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
    if not calls:
        return []
    if not reg.checked_policy:
        _check_policy(reg)
    results: list[Any] = [None] * len(calls)
    todo = list(range(len(calls)))
    for _attempt in range(3):
        try:
            pipe = reg.client.pipeline(transaction=False)
            for i in todo:
                c = calls[i]
                pipe.evalsha(reg.script(c.script).sha, len(c.keys), *c.keys, *c.args)
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        for i, reply in zip(todo, replies):
            results[i] = reply
        todo = [i for i in todo if _is_noscript(results[i])]
        if not todo:
            break
        try:
            for name in {calls[i].script for i in todo}:
                reg.script(name).sha = reg.client.script_load(source(name, reg.modern))
        except Exception as exc:
            if reg.modern and is_compile_error(exc):
                reg.downgrade()
                todo = list(range(len(calls)))
                continue
            raise translate(exc) from exc
    error = _first_error(results)
    if error is not None:
        raise translate(error) from error
    return results


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
    if not calls:
        return []
    if not reg.checked_policy:
        await _acheck_policy(reg)
    results: list[Any] = [None] * len(calls)
    todo = list(range(len(calls)))
    for _attempt in range(3):
        try:
            pipe = reg.client.pipeline(transaction=False)
            for i in todo:
                c = calls[i]
                pipe.evalsha(reg.script(c.script).sha, len(c.keys), *c.keys, *c.args)
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        for i, reply in zip(todo, replies):
            results[i] = reply
        todo = [i for i in todo if _is_noscript(results[i])]
        if not todo:
            break
        try:
            for name in {calls[i].script for i in todo}:
                reg.script(name).sha = await reg.client.script_load(source(name, reg.modern))
        except Exception as exc:
            if reg.modern and is_compile_error(exc):
                reg.downgrade()
                todo = list(range(len(calls)))
                continue
            raise translate(exc) from exc
    error = _first_error(results)
    if error is not None:
        raise translate(error) from error
    return results
