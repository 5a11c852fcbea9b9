"""Auto-pipelining for the asyncio layer.

Calls that coroutines make on one client during the same turn of the event
loop (``start``, ``finish``, ``get``... of many jobs in flight) are sent to
Redis together, in one non-transactional pipeline, instead of one round
trip and one connection each: redis.asyncio spends far more CPU per call
than per pipelined command, and with many jobs in flight the client's CPU,
not Redis, is the limit.  Each caller still gets its own reply or its own
error; a lone call (nothing else pending) is sent as it is, so nothing waits
for company.  Like ioredis' ``enableAutoPipelining``.

On Redis Cluster the pending calls are grouped by the node that owns their
keys, one pipeline per node, so a node that is down fails only its own
calls (a cluster pipeline fails as a whole).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from typing import Any

from ._arun import aensure_layout, aread_hashes, arun_many, arun_one, arun_ops
from ._client_state import ClientState
from ._ops import Op, Plan, Read, Step, T, read_keys
from ._tail import is_cluster

#: Most calls per pipeline; more pending calls go in several, concurrently.
MAX_BATCH = 256


class _Queue:
    """The calls waiting for the next turn of one event loop."""

    __slots__ = ("pending", "scheduled")

    def __init__(self) -> None:
        self.pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self.scheduled = False


class AutoPipe:
    def __init__(self, cs: ClientState) -> None:
        self.cs = cs
        self.cluster = is_cluster(cs.client)
        # One queue per event loop: a loop that stops with calls queued
        # takes them with it instead of stalling the client for the next one.
        self.queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )
        self.tasks: set[asyncio.Task[None]] = set()  # keeps sends alive until done

    async def call(self, op: Op) -> Any:
        loop = asyncio.get_running_loop()
        queue = self.queues.get(loop)
        if queue is None:
            queue = self.queues[loop] = _Queue()
        future: asyncio.Future[Any] = loop.create_future()
        queue.pending.append((op, future))
        if not queue.scheduled:
            queue.scheduled = True
            # an empty context: the send serves many callers, it carries none of theirs
            loop.call_soon(self._flush, loop, queue, context=contextvars.Context())
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        queue.scheduled = False
        pending, queue.pending = queue.pending, []
        for group in self._by_node(pending):
            for start in range(0, len(group), MAX_BATCH):
                task = loop.create_task(self._send(group[start : start + MAX_BATCH]))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    def _by_node(self, pending: list[tuple[Op, asyncio.Future[Any]]]) -> list[list[tuple[Op, Any]]]:
        if not self.cluster or len(pending) == 1:
            return [pending]
        groups: dict[Any, list[tuple[Op, Any]]] = {}
        for entry in pending:
            op = entry[0]
            try:
                node = self.cs.client.get_node_from_key(op.key if isinstance(op, Read) else op.keys[0]).name
            except Exception:  # slots not known yet (a new client): the pipeline will find out
                node = None
            groups.setdefault(node, []).append(entry)
        return list(groups.values())

    async def _send(self, entries: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        live = [(op, fut) for op, fut in entries if not fut.done()]  # a cancelled caller: not sent
        if not live:
            return
        try:
            if len(live) == 1:
                results: list[Any] = [await _result_or_error(arun_one(self.cs, live[0][0]))]
            else:
                results = await arun_ops(self.cs, [op for op, _ in live])
        except asyncio.CancelledError:  # the loop is shutting down
            for _, future in live:
                future.cancel()
            raise
        except Exception as exc:  # not expected: arun_ops reports errors per call
            results = [exc] * len(live)
        for (_, future), result in zip(live, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(_own_copy(result))  # each caller its own traceback
            else:
                future.set_result(result)


def _own_copy(exc: BaseException) -> BaseException:
    """The same error as a new object (its ``__init__`` not run again), so
    raising it in one caller does not change another's traceback."""
    try:
        dup = type(exc).__new__(type(exc), *exc.args)
        dup.args = exc.args
        dup.__dict__.update(exc.__dict__)
        dup.__cause__ = exc.__cause__
        return dup
    except Exception:  # an exotic exception type: share the object
        return exc


async def _result_or_error(awaitable: Any) -> Any:
    """The awaitable's result, or the exception it raised (as a value)."""
    try:
        return await awaitable
    except Exception as exc:
        return exc


def autopipe(cs: ClientState) -> AutoPipe:
    pipe: AutoPipe | None = cs.autopipe
    if pipe is None:
        pipe = cs.autopipe = AutoPipe(cs)
    return pipe


async def arun(cs: ClientState, op: Op) -> Any:
    """Run one operation (a script call or a read), sharing a pipeline with
    concurrent calls: the asyncio layer's ``_run.run``."""
    if cs.layout_todo((op,)):  # the first call on a namespace only
        await aensure_layout(cs, (op,))
    return await autopipe(cs).call(op)


async def aexecute(cs: ClientState, step: Step) -> Any:
    """Twin of ``_run.execute``: a lone operation shares the auto-pipeline."""
    if not isinstance(step, list):
        return await arun(cs, step)
    if not step:
        return []
    keys = read_keys(step)
    if keys is not None and cs.layout_todo(step):  # (arun_many checks its calls)
        await aensure_layout(cs, step)
    return await (arun_many(cs, step) if keys is None else aread_hashes(cs, keys))


async def arun_plan(cs: ClientState, plan: Plan[T]) -> T:
    """Twin of ``_run.run_plan``."""
    try:
        step = next(plan)
        while True:
            step = plan.send(await aexecute(cs, step))
    except StopIteration as done:
        result: T = done.value
        return result
