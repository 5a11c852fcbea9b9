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
from ._core.queue import Hints, check_queue, check_retries, pop_plan, push_call, seconds_ms
from ._exceptions import JobberTrackError

#: How long the wake-up stream of a queue outlives its last push (ms).
WAKE_TTL_MS = 86_400_000


class PopArgs(NamedTuple):
    queue: str
    lease_ms: int | None
    maxrt_ms: int | None
    until: float | None  # monotonic deadline (inf: for ever), None: do not block
    wake_key: str


class QueueBase:
    """The pure half of the queue methods (a base of both ``Handler`` classes)."""

    _core: Any

    if TYPE_CHECKING:  # HandlerBase's, which every Handler also is

        def _timeout_ms(self, timeout: float | None) -> int: ...
        def _adopt(self, resource: Any) -> Any: ...
        def _load(self, job_id: str, record: Any) -> Any: ...

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
        **more: object,
    ) -> Any:
        """``name`` and ``more``: the fields set at create (``fields.CREATE_FIELDS``)."""
        return push_call(
            self._core,
            job.id,
            self._timeout_ms(timeout),
            check_queue(queue),
            seconds_ms(delay, "delay"),
            check_retries(retries),
            seconds_ms(backoff, "backoff"),
            data,
            create_fields({"name": name, **more}),
        )

    def _push_checks(
        self, queue: str, timeout: float | None, delay: float | None, retries: int, backoff: float | None
    ) -> None:
        """Refuse bad arguments before the factory makes an id."""
        check_queue(queue)
        check_retries(retries)
        if seconds_ms(delay, "delay") >= self._timeout_ms(timeout):
            raise JobberTrackError("delay must be shorter than the job's timeout")
        seconds_ms(backoff, "backoff")

    def _pop_args(
        self, queue: str, block: float | None, lease: float | None, max_runtime: float | None, now: float
    ) -> PopArgs:
        queue = check_queue(queue)
        lease_ms, maxrt_ms = optional_ms(lease, "lease"), optional_ms(max_runtime, "max_runtime")
        return PopArgs(queue, lease_ms, maxrt_ms, block_deadline(block, now), self._core.keys.wake_key(queue))

    def _pop_plan(self, args: PopArgs) -> Generator[Any, Any, tuple[Any, float | None]]:
        """``pop_plan``, its record bound as this handler's Resource."""
        hints = self.__dict__.setdefault("_queue_hints", {}).setdefault(args.queue, Hints())
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


def wake_deadline(args: PopArgs, wake_in: float | None, now: float, rescan: float) -> float:
    """Monotonic time until which an idle worker blocks on the wake-up
    stream: its deadline, the next known ready or due time, or a rescan."""
    until = args.until if args.until is not None else now
    return min(until, now + (rescan if wake_in is None else min(wake_in, rescan)))
