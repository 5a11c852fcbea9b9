"""The asyncio executor's own round trips: one op (``arun_one``), a
pipelined round (``arun_many``, ``arun_ops``), the layout check
(``aensure_layout``: many tasks await one) and the work queue's wake-ups.
Calls of the same turn of the event loop share one round through
``_autopipe.py`` (``arun``, ``arun_plan``), built on these.  Twin of
``_run.py``; the decisions are ``_ops.py``'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from ._acancel import uncancellable_by_redis
from ._client_state import ClientState
from ._core.calls import split_woken
from ._core.deadlines import wake_chunk_s
from ._exceptions import JobberTrackError, translate
from ._layout import layout_fill, layout_take
from ._log import log_warning
from ._ops import Batch, Op, Read, is_noscript, warn_policy
from ._queue_base import WAKE_TTL_MS
from ._scripts import is_compile_error
from ._tail import max_block_ms


async def _acheck_policy(cs: ClientState) -> None:
    cs.checked_policy = True
    try:
        reply = await cs.client.config_get("maxmemory-policy")
    except Exception:
        return
    warn_policy(reply)


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
            reply = await cs.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not is_noscript(exc):
                raise
            reply = await cs.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if cs.modern:
                cs.downgrade()
            return await arun_one(cs, call)
        raise translate(exc) from exc
    if not call.wakes:
        return reply
    woken, reply = split_woken(call, reply)
    for key in woken:  # a group's follow-up job was pushed: wake one of its queue's workers
        await notify(cs.client, key)
    return reply


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
    for key in batch.woken():  # a group's follow-up job was pushed: wake one of its queue's workers
        await notify(cs.client, key)
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


# -- the layout check (docs/data-model.md, "Layout version")


async def aensure_layout(cs: ClientState, ops: Sequence[Any]) -> None:
    """Twin of ``ensure_layout`` for ``redis.asyncio`` clients.  The first
    calls of many tasks await one shared check, and all go on in the same
    turn of the loop (so they still share one auto-pipelined round)."""
    todo = cs.layout_todo(ops)
    if not todo:
        return
    loop = asyncio.get_running_loop()
    checks = cs.layout_checks.get(loop)
    if checks is None:
        checks = cs.layout_checks[loop] = {}
    key = tuple(sorted(todo.items()))
    check = checks.get(key)
    if check is None:
        check = checks[key] = loop.create_task(_acheck(cs, todo))
        check.add_done_callback(lambda done: _forget(checks, key, done))
    await asyncio.shield(check)  # a cancelled caller leaves the check to the others


def _forget(checks: dict[Any, Any], key: Any, done: asyncio.Task[None]) -> None:
    checks.pop(key, None)
    if not done.cancelled():
        done.exception()  # retrieved: every caller that still waits gets it


async def _acheck(cs: ClientState, todo: dict[str, bool]) -> None:
    pipe = cs.client.pipeline(transaction=False)
    layout_fill(pipe, todo)
    try:
        replies = await pipe.execute(raise_on_error=False)
    except Exception as exc:
        raise translate(exc) from exc
    layout_take(cs, todo, replies)


# -- the work queue's wake-ups (``Handler.push``, ``pop_and_start``; ``Waiter``)

#: How long one blocking read of a wake-up list may block (ms), under the
#: socket timeout: an idle worker sends one such read this often.
WAKE_BLOCK_MS = 5000


async def notify(client: Any, key: str) -> None:
    """Wake one blocked worker of a queue: a token on its wake-up list,
    which holds at most one (a hint: a failure is only logged, the push
    itself has succeeded and an idle worker rescans now and then)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lpush(key, "1")
        pipe.ltrim(key, 0, 0)
        pipe.pexpire(key, WAKE_TTL_MS)
        await pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not wake workers of %s: %s", key, exc)


async def await_wake(client: Any, key: str, deadline: float) -> bool:
    """Block on a queue's wake-up list until a token comes (True: taken, so
    no other worker wakes for it) or ``deadline`` (monotonic) passes."""
    cap = max_block_ms(client, WAKE_BLOCK_MS)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return False
        try:
            read = client.blpop([key], timeout=wake_chunk_s(cap, deadline, now))
            reply = await uncancellable_by_redis(read)
        except Exception as exc:
            raise translate(exc) from exc
        if reply:
            return True


async def claim_rescan(client: Any, key: str, ms: int) -> bool:
    """Whether this worker is the one to look at every shard now."""
    try:
        return bool(await client.set(key, "1", nx=True, px=ms))
    except Exception as exc:
        raise translate(exc) from exc
