"""The synchronous executor: the only code that does I/O for the job
scripts of ``redis.Redis`` clients.  It runs calls (``run``), pipelined
rounds (``run_many``) and plans (``run_plan``), checks a namespace's layout
before its first call (``ensure_layout``) and carries the work queue's
wake-ups (``notify``, ``await_wake``).  What it sends and what a reply
means are decided in ``_ops.py``; the asyncio executor is ``_arun.py`` and
``_autopipe.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ._client_state import ClientState
from ._core.calls import Call, split_woken
from ._core.deadlines import wake_chunk_s
from ._exceptions import translate
from ._layout import layout_fill, layout_take
from ._log import log_warning
from ._ops import Batch, Op, Plan, Read, Step, T, is_noscript, read_keys, warn_policy
from ._queue_base import WAKE_TTL_MS
from ._scripts import is_compile_error
from ._tail import max_block_ms


def _check_policy(cs: ClientState) -> None:
    cs.checked_policy = True
    try:
        reply = cs.client.config_get("maxmemory-policy")
    except Exception:  # ACL users may not run CONFIG: nothing to check then
        return
    warn_policy(reply)


def run(cs: ClientState, call: Call) -> Any:
    """Run one call: EVALSHA, or EVAL when the server lacks the script."""
    if not cs.checked_policy:
        _check_policy(cs)
    ensure_layout(cs, (call,))
    modern = cs.modern  # the text sent; another thread may downgrade meanwhile
    script = cs.script(call.script)
    try:
        try:
            reply = cs.client.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
        except Exception as exc:
            if not is_noscript(exc):
                raise
            reply = cs.client.eval(script.script, len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if modern and is_compile_error(exc):
            if cs.modern:
                cs.downgrade()
            return run(cs, call)
        raise translate(exc) from exc
    if not call.wakes:
        return reply
    woken, reply = split_woken(call, reply)
    for key in woken:  # a group's follow-up job was pushed: wake one of its queue's workers
        notify(cs.client, key)
    return reply


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
    for key in batch.woken():  # a group's follow-up job was pushed: wake one of its queue's workers
        notify(cs.client, key)
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


# -- the layout check (docs/data-model.md, "Layout version")


def ensure_layout(cs: ClientState, ops: Sequence[Any]) -> None:
    """Check (and with a create, write) the layout stamp of the namespaces
    of ``ops`` this client has not checked yet."""
    todo = cs.layout_todo(ops)
    if todo:
        pipe = cs.client.pipeline(transaction=False)
        layout_fill(pipe, todo)
        try:
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        layout_take(cs, todo, replies)


# -- the work queue's wake-ups (``Handler.push``, ``pop_and_start``; ``Waiter``)

#: How long one blocking read of a wake-up list may block (ms), under the
#: socket timeout: an idle worker sends one such read this often.
WAKE_BLOCK_MS = 5000


def notify(client: Any, key: str) -> None:
    """Wake one blocked worker of a queue: a token on its wake-up list,
    which holds at most one (a hint: a failure is only logged, the push
    itself has succeeded and an idle worker rescans now and then)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lpush(key, "1")
        pipe.ltrim(key, 0, 0)
        pipe.pexpire(key, WAKE_TTL_MS)
        pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not wake workers of %s: %s", key, exc)


def await_wake(client: Any, key: str, deadline: float) -> bool:
    """Block on a queue's wake-up list until a token comes (True: taken, so
    no other worker wakes for it) or ``deadline`` (monotonic) passes."""
    cap = max_block_ms(client, WAKE_BLOCK_MS)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return False
        try:
            reply = client.blpop([key], timeout=wake_chunk_s(cap, deadline, now))
        except Exception as exc:
            raise translate(exc) from exc
        if reply:
            return True


def claim_rescan(client: Any, key: str, ms: int) -> bool:
    """Whether this worker is the one to look at every shard now."""
    try:
        return bool(client.set(key, "1", nx=True, px=ms))
    except Exception as exc:
        raise translate(exc) from exc
