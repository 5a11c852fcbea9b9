"""Counting and listing across shards, without I/O.

Listing order: latest *expiry* first, ties by id in descending byte order.
A job's index score is its record's expiry (created + timeout), so for jobs
sharing a timeout this is newest-created first, and an expired record can
never be listed.  A page is one pipelined ``list`` call per shard (each
O(log N + page)), merged here; the cursor names the last job listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .._exceptions import JobberTrackError
from .calls import Call
from .keys import Keyspace
from .transitions import State
from .wire import text

MAX_PAGE = 10_000


def states_of(state: str | State | Iterable[str | State] | None) -> list[State]:
    if state is None:
        return list(State)
    if isinstance(state, (str, State)):
        return [_state(state)]
    if not hasattr(state, "__iter__"):
        raise JobberTrackError(f"state must be a state name or several, not {state!r}")
    states = [_state(s) for s in state]
    if not states:
        raise JobberTrackError("no state given: pass None for all of them")
    return states


def _state(value: str | State) -> State:
    try:
        return State(value)
    except (ValueError, TypeError):
        raise JobberTrackError(f"unknown state {value!r}: use one of {[s.value for s in State]}") from None


def count_calls(keys: Keyspace) -> list[Call]:
    return [Call("count", keys.shard_keys(s), ()) for s in range(keys.shards)]


def merge_counts(replies: Sequence[Any]) -> dict[str, int]:
    """The shards' ``count`` replies (one count per state, in table order), summed."""
    totals = [0] * len(State)
    for reply in replies:
        for i, n in enumerate(reply):
            totals[i] += int(n)
    return {state.value: totals[i] for i, state in enumerate(State)}


class Cursor:
    """Position after the last listed job: ``"<score>:<id>"``."""

    def __init__(self, score: int, job_id: str) -> None:
        self.score, self.job_id = score, job_id

    def __str__(self) -> str:
        return f"{self.score}:{self.job_id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        score, sep, job_id = str(value).partition(":")
        if not sep or not (0 < len(score) <= 20 and score.isascii() and score.isdigit()):
            raise JobberTrackError(f"not a listing cursor: {value!r}")
        return cls(int(score), job_id)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise JobberTrackError(f"limit must be an int from 1 to {MAX_PAGE}, not {limit!r}")


Candidate = tuple[int, bytes, str]  # (score, id bytes, id): sorts in listing order, reversed


class ListPlan:
    """A page in at most two pipelined rounds, touching O(page) entries.

    Round 1 asks every shard for a small share of the page (twice its fair
    share).  A shard that filled its share and whose last entry would still
    be on the page may hold more of the page: round 2 asks only those shards
    for a whole page.  With jobs spread evenly, round 2 is rarely needed."""

    def __init__(self, keys: Keyspace, states: list[State], limit: int, cursor: Cursor | None) -> None:
        _check_limit(limit)
        self.keys, self.limit, self.cursor = keys, limit, cursor
        self.states = {s.value for s in states}
        self.states_arg = " ".join(s.value for s in states)
        share = -(-limit // keys.shards)
        self.first_share = min(limit, 2 * share + 2)
        self.found: dict[str, Candidate] = {}

    def _calls(self, shards: Iterable[int], share: int) -> list[Call]:
        args = (self.states_arg, share, "" if self.cursor is None else self.cursor.score)
        return [Call("list", self.keys.shard_keys(s), args) for s in shards]

    def first_calls(self) -> list[Call]:
        return self._calls(range(self.keys.shards), self.first_share)

    def after_first(self, replies: Sequence[Any]) -> list[Call]:
        """Take round 1; return round 2's calls ([] if the page is settled)."""
        lasts = {s: self._take(reply) for s, reply in enumerate(replies)}
        if self.first_share >= self.limit:
            return []
        page = sorted(self.found.values(), reverse=True)[: self.limit]
        bound = page[-1] if len(page) == self.limit else None
        # A full shard's unread entries all score <= its lowest returned score
        # (each index was cut at the share, so its cut is below the shard's
        # share-th best): it matters only if that score reaches the page.
        again = [
            s for s, last in lasts.items() if last is not None and (bound is None or last[0] >= bound[0])
        ]
        return self._calls(again, self.limit)

    def after_second(self, replies: Sequence[Any]) -> None:
        for reply in replies:
            self._take(reply)

    def _take(self, reply: Any) -> Candidate | None:
        """Add one shard's candidates; return its last one if it filled its share."""
        ties, page = reply
        if self.cursor is not None:
            after = self.cursor.job_id.encode("utf-8")
            for raw in ties:
                job_id = text(raw)
                key = job_id.encode("utf-8", "surrogateescape")
                if key < after:
                    self.found[job_id] = (self.cursor.score, key, job_id)
        taken: list[Candidate] = []
        for i in range(0, len(page), 2):
            job_id = text(page[i])
            item = (int(page[i + 1]), job_id.encode("utf-8", "surrogateescape"), job_id)
            self.found[job_id] = item
            taken.append(item)
        return min(taken) if len(taken) >= self.first_share else None

    def result(self) -> tuple[list[str], Cursor | None]:
        """The page's ids in order, and the next page's cursor (None at the end)."""
        chosen = sorted(self.found.values(), reverse=True)[: self.limit]
        nxt = Cursor(chosen[-1][0], chosen[-1][2]) if len(chosen) == self.limit else None
        return [job_id for _, _, job_id in chosen], nxt

    def keep(self, jobs: Iterable[Any]) -> JobList:
        """The page: the jobs still there and still in a listed state (reading
        a job settles it, so a stalled one listed as running reads failed),
        and the malformed ones found through a listed state's index (their
        ``state`` None, their ``problems`` said)."""
        return JobList(
            job
            for job in jobs
            if job is not None and (job.state in self.states or getattr(job, "problems", None))
        )


class JobList(list[Any]):
    """A page of jobs; ``cursor`` fetches the next page (None at the end)."""

    cursor: str | None = None
