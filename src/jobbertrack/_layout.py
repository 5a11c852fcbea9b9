"""The layout stamp of a namespace (docs/data-model.md, "Layout version"):
checked once per client and namespace, before its first call, and written
(``SET NX``) with its first create; both in one pipelined round trip.  A
namespace holding a layout this version does not know raises
``UnknownLayout`` before anything is read or written.  What was checked
lives in the client's ``ClientState.layouts``; sync and async twins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._client_state import ClientState
from ._core.keys import LAYOUT_VERSION, check_layout, layout_key
from ._core.wire import text
from ._exceptions import translate

if TYPE_CHECKING:
    import asyncio  # imported on first use below: `import jobbertrack` stays light


def _fill(pipe: Any, todo: dict[str, bool]) -> None:
    for namespace, stamp in todo.items():
        if stamp:
            pipe.set(layout_key(namespace), LAYOUT_VERSION, nx=True)
        pipe.get(layout_key(namespace))


def _take(cs: ClientState, todo: dict[str, bool], replies: Sequence[Any]) -> None:
    i = 0
    for namespace, stamp in todo.items():
        i += stamp  # the SET's reply: refused only for a user who may not write, who then reads
        found = replies[i]
        i += 1
        if isinstance(found, BaseException):
            raise translate(found) from found
        check_layout(namespace, None if found is None else text(found))
        cs.layouts[namespace] = cs.layouts.get(namespace) or stamp


def ensure_layout(cs: ClientState, ops: Sequence[Any]) -> None:
    """Check (and with a create, write) the layout stamp of the namespaces
    of ``ops`` this client has not checked yet."""
    todo = cs.layout_todo(ops)
    if todo:
        pipe = cs.client.pipeline(transaction=False)
        _fill(pipe, todo)
        try:
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:
            raise translate(exc) from exc
        _take(cs, todo, replies)


async def aensure_layout(cs: ClientState, ops: Sequence[Any]) -> None:
    """Twin of ``ensure_layout`` for ``redis.asyncio`` clients.  The first
    calls of many tasks await one shared check, and all go on in the same
    turn of the loop (so they still share one auto-pipelined round)."""
    todo = cs.layout_todo(ops)
    if not todo:
        return
    import asyncio

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
    _fill(pipe, todo)
    try:
        replies = await pipe.execute(raise_on_error=False)
    except Exception as exc:
        raise translate(exc) from exc
    _take(cs, todo, replies)
