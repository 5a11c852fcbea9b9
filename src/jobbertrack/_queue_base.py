"""What the sync and asyncio work-queue methods share: argument
checks, the ``push`` call, and the pop plan bound to a handler.  The
methods themselves (``push``, ``pop_and_start``, ``queued``) live in each
layer's ``Handler``, their waking and blocking I/O in the executors
(``_run.py``, ``_arun.py``); ``_core/queue.py`` holds the logic."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from ._core.codec import optional_ms
from ._core.deadlines import block_deadline
from ._core.fields import create_fields
from ._core.idem import check_key
from ._core.ids import check_id
from ._core.queue import (
    IDLE_RESCAN_S,
    Hints,
    check_priority,
    check_queue,
    check_retries,
    pop_plan,
    push_call,
    seconds_ms,
)
from ._exceptions import JobberTrackError

#: How long the wake-up list of a queue outlives its last push (ms).
WAKE_TTL_MS = 86_400_000


class PopArgs(NamedTuple):
    queue: str
    lease_ms: int | None
    maxrt_ms: int | None
    until: float | None  # monotonic deadline (inf: for ever), None: do not block
    wake_key: str
    rescan_key: str


class QueueBase:
    """The pure half of the queue methods (a base of both ``Handler`` classes)."""

    _core: Any

    if TYPE_CHECKING:  # HandlerBase's, which every Handler also is

        def _timeout_ms(self, timeout: float | None) -> int: ...
        def _adopt(self, resource: Any) -> Any: ...
        def _load(self, job_id: str, record: Any) -> Any: ...
        def _keyed_plan(self, key: str, make_call: Any, lifetime_ms: int) -> Any: ...

    def _push_call(
        self,
        job: Any,
        data: Any,
        queue: str,
        timeout: float | None,
        name: str | None,
        delay: float | None,
        retries: int,
        backoff: float | None,
        priority: int = 0,
        key: str | None = None,
        group: str | None = None,
        **more: object,
    ) -> Any:
        """``name`` and ``more``: the fields set at create (``fields.CREATE_FIELDS``);
        ``key``: a checked idempotency key, stored as the field ``key``;
        ``group``: the group the job joins (its id is in the group's shard).  A job
        with a priority makes this handler's next pop of ``queue`` look at
        every shard again rather than at the entries it already saw."""
        seen = self.__dict__.get("_queue_hints", {}).get(queue) if priority else None
        if seen is not None:
            seen.peeked = float("-inf")
        fields = create_fields({"name": name, **more})
        if key is not None:
            fields["key"] = key
        if group is not None:
            fields["group"] = check_id(group)
        return push_call(
            self._core,
            job.id,
            self._timeout_ms(timeout),
            check_queue(queue),
            seconds_ms(delay, "delay"),
            check_retries(retries),
            seconds_ms(backoff, "backoff"),
            data,
            fields,
            check_priority(priority),
        )

    def _keyed_push_plan(
        self,
        key: object,
        data: Any,
        queue: str,
        timeout: float | None,
        name: str | None,
        delay: float | None,
        retries: int,
        backoff: float | None,
        priority: int = 0,
        tags: object = None,
    ) -> Any:
        """``push(..., key=key)``: the plan of ``HandlerBase._keyed_plan``."""
        checked = check_key(key)

        def make_call(job: Any) -> Any:
            return self._push_call(
                job, data, queue, timeout, name, delay, retries, backoff, priority, checked, tags=tags
            )

        return self._keyed_plan(checked, make_call, self._timeout_ms(timeout))

    def _push_checks(
        self,
        queue: str,
        timeout: float | None,
        delay: float | None,
        retries: int,
        backoff: float | None,
        priority: int = 0,
    ) -> None:
        """Refuse bad arguments before the factory makes an id."""
        check_queue(queue)
        check_retries(retries)
        check_priority(priority)
        if seconds_ms(delay, "delay") >= self._timeout_ms(timeout):
            raise JobberTrackError("delay must be shorter than the job's timeout")
        seconds_ms(backoff, "backoff")

    def _pop_args(
        self, queue: str, block: float | None, lease: float | None, max_runtime: float | None, now: float
    ) -> PopArgs:
        queue = check_queue(queue)
        lease_ms, maxrt_ms = optional_ms(lease, "lease"), optional_ms(max_runtime, "max_runtime")
        keys = self._core.keys
        until = block_deadline(block, now)
        return PopArgs(queue, lease_ms, maxrt_ms, until, keys.wake_key(queue), keys.rescan_key(queue))

    def _hints(self, queue: str) -> Hints:
        hints: Hints = self.__dict__.setdefault("_queue_hints", {}).setdefault(queue, Hints())
        return hints

    def _pop_plan(self, args: PopArgs) -> Generator[Any, Any, tuple[Any, float | None]]:
        """``pop_plan``, its record bound as this handler's Resource."""
        hints = self._hints(args.queue)
        popped, wake_in = yield from pop_plan(
            self._core, args.queue, args.lease_ms, args.maxrt_ms, hints, time.monotonic()
        )
        if popped is None:
            return None, wake_in
        job_id, record = popped
        return self._load(job_id, record), wake_in


def _queue_or_none(queue: str | None) -> str | None:
    """A queue name to filter by (checked as ``push`` checks it), or None."""
    return None if queue is None else check_queue(queue)


class Waiter:
    """How a blocked ``pop_and_start`` waits, without I/O (both layers run
    it): it blocks on the queue's wake-up list until a token comes (a push:
    one worker per token), its deadline, the next ready or due time the
    peeks saw, or its rescan time.  At a rescan time one idle worker of the
    queue claims the rescan (``SET NX PX``) and looks at every shard; the
    others block on.  So an idle worker sends one blocking read per
    ``max_block`` and one claim per ``IDLE_RESCAN_S``, whatever the shard
    count.  A worker a token woke that pops a job while more are ready
    passes a token on (``pass_on``): a burst of pushes wakes idle workers
    one after the other, each by one token."""

    __slots__ = ("args", "rescan_at", "woken")

    def __init__(self, args: PopArgs, now: float) -> None:
        self.args = args
        self.rescan_at = now + IDLE_RESCAN_S
        self.woken = False

    def block_until(self, wake_in: float | None, now: float) -> float | None:
        """Until when (monotonic) to block; None: the caller's time is up."""
        until = self.args.until
        if until is None or now >= until:
            return None
        due = now + wake_in if wake_in is not None else float("inf")
        return min(until, due, self.rescan_at)

    def after_wait(self, token: bool, now: float) -> str:
        """What to do after a blocking read: "pop" (peek again), "claim"
        (the rescan time came: claim it, then "pop", or block again), or
        "done" (the caller's time is up: a push in the meantime would have
        left a token, so there is nothing to look at)."""
        if token:
            self.woken = True
            return "pop"
        if self.args.until is not None and now >= self.args.until:
            return "done"
        if now >= self.rescan_at:
            self.rescan_at = now + IDLE_RESCAN_S
            return "claim"
        return "pop"

    def pass_on(self, hints: Hints) -> bool:
        """Whether to wake another worker after popping: this one was woken
        by a token and saw more ready jobs."""
        return self.woken and bool(hints.ready)


#: How long a rescan claim holds (ms): one idle worker per queue looks at
#: every shard this often.
RESCAN_MS = int(IDLE_RESCAN_S * 1000)
