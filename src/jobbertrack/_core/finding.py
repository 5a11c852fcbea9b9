"""Finding jobs: ``list`` with filters (tag, queue, name prefix, creation
time) and in creation order, and ``count`` by tag or queue.  Without I/O.

Each shard answers with ``find.lua``: the live jobs matching the filter,
read from the shard's smallest fitting index (docs/data-model.md, "Finding
jobs"), down to a score it names (``reached``): every entry scoring at least
that has been looked at.  A page is exact once it holds ``limit`` jobs
scoring at least the highest ``reached`` of the shards that have more:
rounds go on until then, or until ``MAX_ROUNDS`` rounds were made; a page
may then be short, and its cursor goes on from where every shard got to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from .._exceptions import InvalidData, JobberTrackError, WrongType
from .calls import Call
from .fields import check_name
from .keys import Keyspace
from .listing import Cursor, JobList, _check_limit, merge_counts
from .queue import check_queue
from .tags import check_tag
from .transitions import State
from .wire import text

#: Rounds of one page before it is returned short (with a cursor going on).
MAX_ROUNDS = 8
#: Entries a shard looks at per call, at least (more for a large page).
BUDGET = 1000
ORDERS = ("created", "expires")


class Filter(NamedTuple):
    """What ``list`` and ``count`` were asked for, checked."""

    states: tuple[State, ...]  # () = every state
    tags: tuple[str, ...] = ()
    queue: str | None = None
    name: str | None = None  # a prefix
    after: int | None = None  # created at or after, ms
    before: int | None = None  # created before, ms
    order: str = "created"

    @property
    def narrow(self) -> bool:
        """Whether it filters on more than the state."""
        return bool(self.tags) or self.queue is not None or self.name is not None or self._timed

    @property
    def _timed(self) -> bool:
        return self.after is not None or self.before is not None

    def args(self) -> tuple[str, ...]:
        """ARGV[5..] of find.lua but want, budget and the cursor (see ``FindPlan``)."""
        return (
            " ".join(s.value for s in self.states),
            self.order,
        )

    def tail(self) -> tuple[str, ...]:
        return (
            "" if self.after is None else str(self.after),
            "" if self.before is None else str(self.before),
            self.queue or "",
            self.name or "",
            *self.tags,
        )


def time_ms(value: object, what: str) -> int | None:
    """A filter's time (a datetime, or epoch seconds) as epoch ms; None stays None.
    A naive datetime is taken as UTC, as the times the library gives."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return round(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WrongType(f"{what} must be a datetime or epoch seconds, not {type(value).__name__}")
    if not -1e13 < value < 1e13:  # also refuses NaN
        raise InvalidData(f"{what} must be a time, not {value!r}")
    return round(value * 1000)


def tags_filter(tag: object) -> tuple[str, ...]:
    """``tag=``: one tag or several (all must match)."""
    if tag is None:
        return ()
    if isinstance(tag, str):
        return (check_tag(tag),)
    if isinstance(tag, bytes) or not isinstance(tag, Iterable):
        raise InvalidData(f"tag must be a tag or a list of tags, not {type(tag).__name__}")
    found = tuple(dict.fromkeys(check_tag(t) for t in tag))
    return found


def make_filter(
    states: Iterable[State],
    every: bool,
    *,
    tag: object = None,
    queue: object = None,
    name: object = None,
    created_after: object = None,
    created_before: object = None,
    order: object = "created",
) -> Filter:
    """The checked filter of a ``list`` or ``count`` call (``every``: no state given)."""
    if order not in ORDERS:
        raise JobberTrackError(f"order must be one of {list(ORDERS)}, not {order!r}")
    prefix = None if name is None else check_name(name)
    return Filter(
        states=() if every else tuple(states),
        tags=tags_filter(tag),
        queue=None if queue is None else check_queue(queue),
        name=prefix or None,
        after=time_ms(created_after, "created_after"),
        before=time_ms(created_before, "created_before"),
        order=str(order),
    )


Candidate = tuple[int, bytes, str]  # (score, id bytes, id): sorts in listing order, reversed


Position = tuple[int, bytes]  # (score, id bytes): a place in listing order


class FindPlan:
    """One page of a filtered listing, in rounds of one ``find`` call per
    shard that may still hold part of it."""

    def __init__(self, keys: Keyspace, wanted: Filter, limit: int, cursor: Cursor | None) -> None:
        _check_limit(limit)
        self.keys, self.filter, self.limit, self.cursor = keys, wanted, limit, cursor
        share = -(-limit // keys.shards)
        self.want = min(limit, 2 * share + 2)
        self.found: dict[str, Candidate] = {}
        # per shard still to read: where to go on after (score, id), None from the top
        self.tops: dict[int, tuple[int, str] | None] = {
            s: None if cursor is None else (cursor.score, cursor.job_id) for s in range(keys.shards)
        }
        self.reached: dict[int, tuple[Position, str]] = {}  # shard -> (position, id) of its last look
        self.rounds = 0
        self.asked: list[int] = []

    def calls(self) -> list[Call]:
        """The next round's calls ([]: the page is settled)."""
        if self.rounds and self._settled():
            return []
        self.rounds += 1
        head = self.filter.args()
        budget = max(BUDGET, 4 * self.want)
        out = []
        self.asked = self._wanted_shards()
        for shard in self.asked:
            top = self.tops[shard]
            args = (
                "",
                "",
                "",
                "",
                *head,
                self.want,
                budget,
                "" if top is None else top[0],
                "" if top is None else top[1],
                *self.filter.tail(),
            )
            out.append(Call("find", self.keys.shard_keys(shard), args))
        return out

    def _wanted_shards(self) -> list[int]:
        if self.rounds == 1:
            return list(self.tops)
        best = sorted(self.found.values(), reverse=True)
        bound = best[self.limit - 1][:2] if len(best) >= self.limit else None
        shards = [s for s, (at, _) in self.reached.items() if bound is None or at >= bound]
        # what the page still lacks, spread over them (twice over: shards differ)
        missing = self.limit - len(self._final())
        self.want = min(self.limit, 2 * -(-missing // max(1, len(shards))) + 2)
        return shards

    def take(self, replies: Sequence[Any]) -> None:
        for shard, reply in zip(self.asked, replies, strict=True):
            matches, reached = reply
            for i in range(0, len(matches), 2):
                job_id = text(matches[i])
                item = (int(matches[i + 1]), job_id.encode("utf-8", "surrogateescape"), job_id)
                if self._after_cursor(item):
                    self.found[job_id] = item
            marks = [(int(reached[i]), text(reached[i + 1])) for i in range(0, len(reached), 2)]
            if marks:  # go on after the highest place a key got to: every key has read that far
                score, job_id = max(marks, key=lambda m: (m[0], m[1].encode("utf-8", "surrogateescape")))
                self.reached[shard] = ((score, job_id.encode("utf-8", "surrogateescape")), job_id)
                self.tops[shard] = (score, job_id)
            else:
                self.reached.pop(shard, None)

    def _after_cursor(self, item: Candidate) -> bool:
        c = self.cursor
        if c is None:
            return True
        after = c.job_id.encode("utf-8", "surrogateescape")
        return item[0] < c.score or (item[0] == c.score and item[1] < after)

    def _boundary(self) -> tuple[Position, str] | None:
        return max(self.reached.values()) if self.reached else None

    def _final(self) -> list[Candidate]:
        bound = self._boundary()
        return sorted((c for c in self.found.values() if bound is None or c[:2] >= bound[0]), reverse=True)

    def _settled(self) -> bool:
        return self._boundary() is None or len(self._final()) >= self.limit or self.rounds >= MAX_ROUNDS

    def result(self) -> tuple[list[str], Cursor | None]:
        """The page's ids in order, and the next page's cursor (None at the end)."""
        final = self._final()
        if len(final) >= self.limit:
            chosen = final[: self.limit]
            return [c[2] for c in chosen], Cursor(chosen[-1][0], chosen[-1][2])
        bound = self._boundary()
        return [c[2] for c in final], None if bound is None else Cursor(bound[0][0], bound[1])

    def keep(self, jobs: Iterable[Any]) -> JobList:
        """The page: the jobs still there and still in a listed state (as
        ``ListPlan.keep``: reading a job settles it)."""
        states = {s.value for s in self.filter.states or tuple(State)}
        return JobList(
            job for job in jobs if job is not None and (job.state in states or getattr(job, "problems", None))
        )


def tally_calls(keys: Keyspace, kind: str, value: str) -> list[Call]:
    """One ``tally`` call per shard: the counts of one tag or queue per state."""
    return [Call("tally", keys.shard_keys(s), ("", "", "", "", kind, value)) for s in range(keys.shards)]


def merge_tallies(replies: Sequence[Any]) -> dict[str, int]:
    return merge_counts(replies)
