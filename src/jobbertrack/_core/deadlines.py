"""Deadlines, without I/O: when a running job is due, when to look at it
again, and how long a wait or a blocking read may last.

Two clocks meet here.  A record's stamps (``started``, ``beat``,
``expires``) are milliseconds of Redis' clock, and Redis decides at its own
millisecond whether a lease or a run time has run out.  This host decides
only whether a plain read *might* be past a deadline (then the read goes
again through the settling ``get`` script, which decides for real), so it
needs a lower bound of Redis' now: ``RedisClock``, one per client.  Waits
and blocking reads run on this host's monotonic clock.  Every function
takes the current time as an argument, so all of this is tested without
sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._exceptions import InvalidTimeout
from .fields import Fields
from .wire import text

#: Clock difference tolerated between this host and Redis when deciding
#: from a plain read whether a job might be past its deadline.
CLOCK_MARGIN_MS = 5000

#: Longer than this (about 31 years) is waiting for ever (and keeps the
#: arithmetic on deadlines finite).
FOREVER_S = 10**9

#: Longest single XREAD BLOCK: stays under socket timeouts.
CHUNK_MS = 1000


def run_deadlines(fields: Fields) -> list[int]:
    """A running job's lease and run-time deadlines (ms of Redis' clock)."""
    if fields.get("state") != "running":
        return []
    out = []
    if "lease" in fields and "beat" in fields:
        out.append(int(fields["beat"]) + int(fields["lease"]))
    if "max_runtime" in fields and "started" in fields:
        out.append(int(fields["started"]) + int(fields["max_runtime"]))
    return out


class RedisClock:
    """How far one server's clock has been seen ahead of this host's, in ms:
    a record's ``started`` or ``beat`` is a past instant of Redis' clock, so
    when it is later than this host's now, this host runs behind by at
    least that much.  Only ever grows (over-estimating costs a script call,
    under-estimating would show a dead worker's job as running).  One per
    client (see ``_client_state``): servers do not share clocks."""

    __slots__ = ("ahead_ms",)

    def __init__(self) -> None:
        self.ahead_ms = 0.0

    def now_ms(self, fields: Fields, host_ms: float) -> float:
        """A lower bound of Redis' now, learning from ``fields``' stamps;
        ``host_ms``: this host's wall clock, in ms."""
        seen = max(int(fields.get("beat", 0)), int(fields.get("started", 0)))
        self.ahead_ms = max(self.ahead_ms, seen - host_ms)
        return host_ms + self.ahead_ms


def maybe_due(record: Mapping[Any, Any], clock: RedisClock, host_ms: float) -> bool:
    """Whether a running job read without settling (an HGETALL reply, bytes
    or str) might be past its lease or run time (then it is read again
    through the settling ``get``)."""
    state = record.get(b"state", record.get("state"))
    if record.get(b"kind", record.get("kind")) in (b"group", "group"):  # its expired children count at a read
        return state in (b"waiting", "waiting", b"running", "running")
    if state not in (b"running", "running"):
        return False
    fields = {text(k): text(v) for k, v in record.items()}
    due = run_deadlines(fields)
    return bool(due) and min(due) <= clock.now_ms(fields, host_ms) + CLOCK_MARGIN_MS


def wake_at(fields: Fields, until: float, clock: RedisClock, mono_now: float, host_s: float) -> float:
    """Monotonic time to look at a job again while waiting for it: the
    caller's deadline ``until``, or earlier when the record expires or its
    lease or maximum run time runs out (a read then settles it).
    ``mono_now``, ``host_s``: this host's monotonic and wall clocks."""
    redis_ms = min([int(fields["expires"]), *run_deadlines(fields)]) + 5  # Redis decides at its own ms
    wall_ms = redis_ms - clock.ahead_ms  # as this host's clock shows that instant
    return min(until, mono_now + (wall_ms / 1000 - host_s))


def _is_seconds(value: object) -> bool:
    """A number of seconds >= 0 (not a bool, not NaN)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0


def wait_deadline(timeout: float | None, mono_now: float) -> float:
    """Monotonic time at which a ``wait(timeout)`` gives up (inf: never)."""
    if timeout is None:
        return float("inf")
    if not _is_seconds(timeout):
        raise InvalidTimeout(f"wait timeout must be a number of seconds >= 0, not {timeout!r}")
    return float("inf") if timeout > FOREVER_S else mono_now + timeout


def block_deadline(block: float | None, mono_now: float) -> float | None:
    """Monotonic time after which waiting for a next event stops (inf:
    never; None: ``block=None``, stop at the end of what is there)."""
    if block is None:
        return None
    if not _is_seconds(block):
        raise InvalidTimeout(f"block must be a number of seconds >= 0 (0: for ever), not {block!r}")
    return float("inf") if block == 0 or block > FOREVER_S else mono_now + block


def chunk_ms(deadline: float, mono_now: float) -> int:
    """How long the next blocking read may block: up to ``CHUNK_MS``, and
    not past ``deadline``."""
    left = deadline - mono_now
    return max(1, min(CHUNK_MS, int(left * 1000))) if left != float("inf") else CHUNK_MS


#: The shortest ``BLPOP`` timeout sent (ms).  Redis 6.2 turns a timeout of
#: seconds into ms as ``(long long)(seconds * 1000.0)``: ``0.001`` comes out
#: as 0, which means *block for ever*.  10 ms is far above that truncation
#: and below the server's own timeout granularity (its 100 ms cron).
MIN_WAKE_MS = 10


def wake_chunk_s(cap_ms: int, deadline: float, mono_now: float) -> float:
    """One blocking read of a queue's wake-up list (``BLPOP``, in seconds):
    up to ``cap_ms`` (longer than ``CHUNK_MS``: an idle worker's cost), not
    past ``deadline``, never under ``MIN_WAKE_MS``."""
    left = deadline - mono_now
    ms = int(left * 1000) if left != float("inf") else cap_ms
    return max(MIN_WAKE_MS, min(cap_ms, ms)) / 1000
