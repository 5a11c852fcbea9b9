"""The work queue's methods of the synchronous ``Handler``; the
asyncio twin is ``_queue_aio.py``.  Only I/O here: the rest is
``_queue_base`` and ``_core/queue.py``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._core.calls import UNSET
from ._core.deadlines import chunk_ms
from ._core.queue import IDLE_RESCAN_S, check_queue, queued_calls
from ._core.record import text
from ._log import log_warning
from ._queue_base import WAKE_TTL_MS, QueueBase, wake_deadline
from ._run import run, run_many, run_plan, translate
from ._tail import entries_of, max_block_ms
from ._watch import last_stream_id


def notify(client: Any, key: str) -> None:
    """Tell blocked workers of a push (a hint: a failure is only logged, the
    push itself has succeeded and idle workers rescan now and then)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(key, {"push": "1"}, maxlen=1, approximate=False)
        pipe.pexpire(key, WAKE_TTL_MS)
        pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not wake workers of %s: %s", key, exc)


def await_wake(client: Any, key: str, after: str, deadline: float) -> str:
    """Block on the wake-up stream until an entry after ``after`` arrives
    or ``deadline`` (monotonic) passes; the newest id seen."""
    cap = max_block_ms(client)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return after
        try:
            reply = client.xread({key: after}, count=1, block=min(cap, chunk_ms(deadline, now)))
        except Exception as exc:
            raise translate(exc) from exc
        for _key, entries in entries_of(reply):
            if entries:
                return text(entries[-1][0])


if TYPE_CHECKING:
    from ._sync import Resource


class QueueMethods(QueueBase):
    """``push``, ``pop_and_start`` and ``queued`` of ``jobbertrack.Handler``."""

    client: Any
    resource_factory: Any
    _cs: Any

    def push(
        self,
        data: Any = None,
        *,
        queue: str = "default",
        timeout: float | None = None,
        name: str | None = None,
        delay: float | None = None,
        retries: int = 0,
        backoff: float | None = None,
    ) -> Resource:
        """A new ``waiting`` job on ``queue``, made and queued in one atomic
        script.  ``delay``: seconds before it may be popped; ``retries``:
        attempts allowed after a failed one, each ``backoff`` seconds later.
        ``data=None`` stores no data (as ``create`` without data)."""
        self._push_checks(queue, timeout, delay, retries, backoff)
        job: Resource = self._adopt(self.resource_factory.create(self.client))
        call = self._push_call(
            job, UNSET if data is None else data, queue, timeout, name, delay, retries, backoff
        )
        job._apply(run(self._cs, call), call.target, call)
        notify(self.client, self._core.keys.wake_key(queue))
        return job

    def pop_and_start(
        self,
        queue: str = "default",
        *,
        block: float | None = None,
        lease: float | None = 60,
        max_runtime: float | None = None,
    ) -> Resource | None:
        """The oldest poppable job of ``queue``, started with ``lease`` and
        ``max_runtime`` in the same atomic step, or None.  ``block=None``:
        do not wait; ``block=S``: wait up to S seconds; ``block=0``: for
        ever.  Waiting blocks on the queue's wake-up stream (no polling)."""
        args = self._pop_args(queue, block, lease, max_runtime, time.monotonic())
        after = None if args.until is None else last_stream_id(self.client, args.wake_key)
        while True:
            popped: tuple[Resource | None, float | None] = run_plan(self._cs, self._pop_plan(args))
            job, wake_in = popped
            now = time.monotonic()
            if job is not None or after is None or now >= (args.until or 0):
                return job
            deadline = wake_deadline(args, wake_in, now, IDLE_RESCAN_S)
            after = await_wake(self.client, args.wake_key, after, deadline)

    def queued(self, queue: str = "default") -> int:
        """How many live jobs wait on ``queue`` (delayed ones included), counted exactly."""
        return sum(int(n) for n in run_many(self._cs, queued_calls(self._core, check_queue(queue))))
