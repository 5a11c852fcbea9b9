"""The work queue, without I/O: checks, the script calls of
``push``, ``pop_and_start`` and ``queued``, and the pop as a plan.

Each shard of a namespace holds the entries of every queue whose jobs it
holds, in its ``queue`` zset (KEYS layout in ``keys.py``; the entry's form
in ``_lua/_lib.lua``, ``qmember``).  A script may touch only the keys it is
given, so a pop is two steps: a pipelined ``peek`` of every shard (each
queue's first entry, Redis' time, due running jobs), then ``pop`` of one
entry with that job's keys, which re-checks everything and starts the job
with its lease in one script.  A lost race takes the shard's first ready
entry instead, in the same script (``instead``); when the shard has none,
it answers with the shard's new first entry, tried next.

Order: within a shard, a queue pops its highest priority first (``push``'s
``priority``), and within a priority strictly by ready time (push time plus
delay, or the retry time).  Across shards a pop takes the first of the
ready first entries it knows of (priority, ready time, then id: ``Hints``), so one
worker pops in push order at any shard count.  Several workers race for
the oldest entry; the loser's script starts the next ready entry of that
shard instead; one whose shard has none takes random known entries for a while
(``CONTENDED_S``), so they spread over the shards: then jobs start in
roughly, not strictly, push order (README, "Order").
"""

from __future__ import annotations

import functools
import random
from collections.abc import Generator
from typing import Any

from .._exceptions import JobberTrackError
from .calls import UNSET, Call, Commands, new_token
from .codec import duration_ms
from .fields import Fields
from .ids import check_id
from .transitions import INITIAL, MOVES
from .wire import text

#: Longest queue name.
MAX_QUEUE = 200
#: Highest priority (and minus the lowest) a push may give.
PRIORITY_MAX = 999_999
#: How often an idle worker looks at the shards when nothing woke it
#: (a job put back by the stall rule in another process, which no push
#: announces); one idle worker of a queue does it (``Waiter``).  A push
#: wakes one blocked worker at once, through the queue's wake-up list.
IDLE_RESCAN_S = 5.0
#: Due running jobs a peek returns per shard (the worker settles them).
DUE_BATCH = 20
_START = MOVES["start"]


def check_queue(queue: object) -> str:
    if not isinstance(queue, str) or not queue or len(queue) > MAX_QUEUE:
        raise JobberTrackError(
            f"queue must be a non-empty str of at most {MAX_QUEUE} characters, not {queue!r}"
        )
    if "\0" in queue or not queue.isprintable():
        raise JobberTrackError(f"queue must be printable text: {queue!r}")
    try:
        queue.encode("utf-8")
    except UnicodeEncodeError:
        raise JobberTrackError(f"queue must be valid unicode text: {queue!r}") from None
    return queue


def check_retries(retries: object) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10_000:
        raise JobberTrackError(f"retries must be an int from 0 to 10000, not {retries!r}")
    return retries


def seconds_ms(value: object, what: str) -> int:
    """A number of seconds >= 0 (None: 0) as whole ms."""
    return 0 if value is None or value == 0 else duration_ms(value, what=what)


def check_priority(priority: object) -> int:
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not -PRIORITY_MAX <= priority <= PRIORITY_MAX
    ):
        raise JobberTrackError(
            f"priority must be an int from {-PRIORITY_MAX} to {PRIORITY_MAX}, not {priority!r}"
        )
    return priority


# A waiting entry is queue NUL level ready(15) NUL expires(15) NUL id, where
# level is "" for priority 0, "!" + 6 digits (PRIORITY_MAX - p) + NUL for
# p > 0 and "~" + 6 digits (-p - 1) + NUL for p < 0 (qmember in _lib.lua).


def _ready_at(member: str, queue: str) -> int:
    """Where the ready time starts in an entry of ``queue``."""
    return len(queue) + (9 if member[len(queue) + 1 : len(queue) + 2] in ("!", "~") else 1)


def entry_ready(member: str, queue: str) -> int:
    """The ready time (ms) in a queue entry."""
    at = _ready_at(member, queue)
    return int(member[at : at + 15])


def entry_priority(member: str, queue: str) -> int:
    """The priority in a queue entry (0 for an entry without a level)."""
    mark, digits = member[len(queue) + 1 : len(queue) + 2], member[len(queue) + 2 : len(queue) + 8]
    if mark == "!":
        return PRIORITY_MAX - int(digits)
    if mark == "~":
        return -int(digits) - 1
    return 0


def entry_id(member: str, queue: str) -> str:
    return member[_ready_at(member, queue) + 32 :]


@functools.lru_cache(maxsize=4096)  # a hint is weighed at every pop while it waits: parse it once
def entry_order(member: str, queue: str) -> tuple[int, int, str]:
    """Where an entry stands in its queue across shards: highest priority
    first, then its ready time, then its job id (default ids grow within one
    client's ms)."""
    return -entry_priority(member, queue), entry_ready(member, queue), entry_id(member, queue)


def push_call(
    core: Commands,
    job_id: str,
    timeout_ms: int,
    queue: str,
    delay_ms: int,
    retries: int,
    backoff_ms: int,
    data: Any,
    fields: Fields,
    priority: int = 0,
) -> Call:
    if delay_ms >= timeout_ms:
        raise JobberTrackError(f"delay ({delay_ms} ms) must be shorter than the timeout ({timeout_ms} ms)")
    stored = None if data is UNSET else core.json(data)
    pairs = [x for kv in fields.items() for x in kv] + (["data", stored] if stored is not None else [])
    token = new_token()
    args = (
        *(job_id, token, core.event_cap, core.tomb_ttl_ms, timeout_ms, queue, delay_ms, retries, backoff_ms),
        priority,
    )
    sets = {**fields, "queue": queue, "retries": str(retries), "backoff": str(backoff_ms)}
    if priority:
        sets["priority"] = str(priority)
    return Call(
        "push", core.keys.job_keys(job_id), (*args, *pairs), stored, job_id, INITIAL.value, token, sets
    )


def pop_call(core: Commands, member: str, queue: str, lease_ms: int | None, maxrt_ms: int | None) -> Call:
    job_id = check_id(entry_id(member, queue))
    token = new_token()
    lease = "" if lease_ms is None else lease_ms
    maxrt = "" if maxrt_ms is None else maxrt_ms
    args = (job_id, token, core.event_cap, core.tomb_ttl_ms, queue, member, lease, maxrt)
    return Call("pop", core.keys.job_keys(job_id), args, None, job_id, _START.target.value, token)


def peek_calls(core: Commands, queue: str) -> list[Call]:
    args = ("", "", core.event_cap, core.tomb_ttl_ms, queue, DUE_BATCH)
    return [Call("peek", core.keys.shard_keys(s), args) for s in range(core.keys.shards)]


def queued_calls(core: Commands, queue: str) -> list[Call]:
    return [Call("queued", core.keys.shard_keys(s), (queue,)) for s in range(core.keys.shards)]


class Hints:
    """What one handler saw of one queue: the first entry of each shard
    that was ready at its last peek (and the next one of a shard it popped
    from), tried before peeking every shard again (a busy worker then sends
    one script per job, not one per shard).  A hint may be stale: the
    ``pop`` script checks everything again.  Peeks happen at least every
    ``HINT_TTL_S``, so due running jobs are still settled and an entry whose
    delay ran out is seen.

    Order: ``take`` gives the oldest known entry (ready time, then id, which
    orders one client's jobs made in one ms), so one worker pops in push
    order across the shards.  Many workers would all race for that one
    entry: the script of a pop that lost it starts the shard's next ready
    entry instead (``instead``), and after a pop that found the shard with
    none (``taken``, ``contended``) a handler keeps to the shard it last
    popped from while that shard has ready entries, else takes a random
    known entry, for ``CONTENDED_S``: the workers spread over the shards,
    each draining its own, instead of racing for one entry (each such lost
    race costs a whole ``pop`` script)."""

    __slots__ = ("contended", "peeked", "ready", "sticky")

    def __init__(self) -> None:
        self.ready: list[str] = []
        self.peeked = float("-inf")  # monotonic time of the last peek
        self.contended = float("-inf")  # monotonic time of the last lost race
        self.sticky: str | None = None  # the next entry of the shard this handler last popped from

    def take(self, queue: str, now: float) -> str | None:
        try:
            if not self.ready:
                return None
            if now - self.contended < CONTENDED_S:
                # contended: stay on the shard it popped from last (the others
                # stay on theirs), else a random one, so workers spread out
                if self.sticky is not None and self.sticky in self.ready:
                    self.ready.remove(self.sticky)
                    return self.sticky
                return self.ready.pop(random.randrange(len(self.ready)))
            first = min(range(len(self.ready)), key=lambda i: entry_order(self.ready[i], queue))
            return self.ready.pop(first)
        except (IndexError, ValueError):  # another thread took the last one
            return None


#: How long a handler that lost a race for an entry takes random ones.
CONTENDED_S = 1.0
#: Longest time a handler pops from its hints without peeking every shard.
HINT_TTL_S = 1.0


def _try(
    core: Commands,
    queue: str,
    lease_ms: int | None,
    maxrt_ms: int | None,
    member: str,
    hints: Hints,
    mono_now: float,
) -> Generator[Any, Any, Any]:
    """Pop ``member``, then the entries that follow it on its shard while
    they are ready; the popped reply, or None."""
    for _tries in range(8):
        reply = yield pop_call(core, member, queue, lease_ms, maxrt_ms)
        status, now = text(reply[0]), int(reply[-1])
        nxt = text(reply[-2])
        if status == "paused":  # pause.lua: no entry of the queue is taken until resume
            hints.ready.clear()
            return None
        if status in ("popped", "instead"):  # instead: it was taken, the shard's first ready entry was
            hints.sticky = None
            if nxt and entry_ready(nxt, queue) <= now:
                hints.ready.append(nxt)
                hints.sticky = nxt
            return (entry_id(text(reply[2]) if status == "instead" else member, queue), reply[1])
        if status == "taken":  # another worker took it: spread out for a while
            hints.contended = mono_now
        if status == "early" or not nxt or entry_ready(nxt, queue) > now:
            return None
        member = nxt
    return None


def _read_peeks(peeks: list[Any], queue: str) -> tuple[list[str], list[float]]:
    """The ready first entries of the shards, and in how many seconds each
    other first entry becomes ready or a running job comes due."""
    ready, later = [], []
    for reply in peeks:
        now, first, next_due = int(reply[0]), text(reply[1]), text(reply[2])
        if first and entry_ready(first, queue) <= now:
            ready.append(first)
        elif first:
            later.append((entry_ready(first, queue) - now) / 1000)
        if next_due:
            later.append(max(0.0, (int(float(next_due)) - now) / 1000))
    return ready, later


def pop_plan(
    core: Commands,
    queue: str,
    lease_ms: int | None,
    maxrt_ms: int | None,
    hints: Hints | None = None,
    mono_now: float = 0.0,
) -> Generator[Any, Any, tuple[Any, float | None]]:
    """One attempt to pop: ``((id, record), None)`` with the started job's
    id and record (a flat reply), or ``(None, wake_in)``: nothing is
    poppable now, and in ``wake_in`` seconds an entry becomes ready or a
    running job comes due (None: nothing known; a push wakes the caller).
    ``hints``: the caller's ``Hints`` for this queue (kept between calls);
    ``mono_now``: this host's monotonic time."""
    hints = hints or Hints()
    if mono_now - hints.peeked < HINT_TTL_S:
        while (member := hints.take(queue, mono_now)) is not None:
            popped = yield from _try(core, queue, lease_ms, maxrt_ms, member, hints, mono_now)
            if popped is not None:
                return popped, None
    hints.peeked = mono_now
    for _ in range(3):
        peeks = yield peek_calls(core, queue)
        due = [text(i) for reply in peeks for i in reply[3]]
        if due:  # the stall rule: a job with retries left goes back on its queue
            yield [core.settle(i) for i in due]
            peeks = yield peek_calls(core, queue)
        ready, later = _read_peeks(peeks, queue)
        if not ready:
            hints.ready = []
            return None, (min(later) + 0.002 if later else None)
        hints.ready = ready
        popped = None
        while popped is None and (member := hints.take(queue, mono_now)) is not None:
            popped = yield from _try(core, queue, lease_ms, maxrt_ms, member, hints, mono_now)
        if popped is not None:
            return popped, None
    return None, 0.0
