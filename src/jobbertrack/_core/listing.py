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
from .record import text
from .transitions import State

_POS = {State.WAITING: 2, State.RUNNING: 3, State.FAILED: 4, State.FINISHED: 5}
_STATE_AT = {pos: state for state, pos in _POS.items()}
MAX_PAGE = 10_000


def states_of(state: str | State | Iterable[str | State] | None) -> list[State]:
    if state is None:
        return list(State)
    if isinstance(state, (str, State)):
        return [_state(state)]
    return [_state(s) for s in state]


def _state(value: str | State) -> State:
    try:
        return State(value)
    except ValueError:
        raise JobberTrackError(f"unknown state {value!r}: use one of {[s.value for s in State]}") from None


def count_calls(keys: Keyspace) -> list[Call]:
    return [Call("count", keys.shard_keys(s), ()) for s in range(keys.shards)]


def merge_counts(replies: Sequence[Any]) -> dict[str, int]:
    totals = [0, 0, 0, 0]
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
        if not sep or not score.isdigit():
            raise JobberTrackError(f"not a listing cursor: {value!r}")
        return cls(int(score), job_id)


def list_calls(keys: Keyspace, states: list[State], limit: int, cursor: Cursor | None) -> list[Call]:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise JobberTrackError(f"limit must be an int from 1 to {MAX_PAGE}, not {limit!r}")
    positions = " ".join(str(_POS[s]) for s in states)
    args = (positions, limit, "" if cursor is None else cursor.score)
    return [Call("list", keys.shard_keys(s), args) for s in range(keys.shards)]


def merge_page(replies: Sequence[Any], limit: int, cursor: Cursor | None) -> tuple[list[str], Cursor | None]:
    """The ids of the page, in order, and the cursor of the next page
    (None when this page is the last)."""
    found: list[tuple[int, bytes, str]] = []
    for shard_reply in replies:
        for _pos, ties, page in shard_reply:
            if cursor is not None:
                after = cursor.job_id.encode("utf-8")
                for raw in ties:
                    job_id = text(raw)
                    key = job_id.encode("utf-8", "surrogateescape")
                    if key < after:
                        found.append((cursor.score, key, job_id))
            for i in range(0, len(page), 2):
                job_id = text(page[i])
                found.append((int(float(page[i + 1])), job_id.encode("utf-8", "surrogateescape"), job_id))
    found.sort(reverse=True)
    chosen = found[:limit]
    nxt = Cursor(chosen[-1][0], chosen[-1][2]) if len(chosen) == limit else None
    return [job_id for _, _, job_id in chosen], nxt


class JobList(list[Any]):
    """A page of jobs; ``cursor`` fetches the next page (None at the end)."""

    cursor: str | None = None
