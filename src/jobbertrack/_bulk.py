"""The plans of the operator's actions on many jobs, ``retry_all`` and
``clean``, written once for both layers (see ``_plans``).

Each pages through one state's index with ``list``'s pages (every shard,
latest expiry first, a cursor that survives the moves it makes) and acts on
a page in one pipelined round of per-job scripts: every script touches one
job's slot and takes a moment, however many jobs there are, and each one
checks the job again (a retry is the table's compare-and-set; ``delete``
takes the state and the age it must have), so a job that changed meanwhile
is passed over, never acted on twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._core.calls import Commands
from ._core.codec import duration_ms
from ._core.transitions import ENDED, MOVES, State
from ._core.wire import fields_from_hash, text
from ._exceptions import JobberTrackError
from ._ops import Plan, Read
from ._plans import list_page

#: Jobs read and acted on per round.
PAGE = 200
#: The most jobs one call acts on.
MAX_LIMIT = 1_000_000


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise JobberTrackError(f"limit must be an int from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


def _state(state: object, allowed: Iterable[State], what: str) -> State:
    names = {s.value: s for s in allowed}
    found = names.get(str(state.value if isinstance(state, State) else state))
    if found is None or not isinstance(state, str):
        raise JobberTrackError(f"{what} takes a state of {sorted(names)}, not {state!r}")
    return found


def retryable(state: object) -> State:
    """The state ``retry_all`` may retry from: one a retry leaves."""
    return _state(state, MOVES["retry"].sources, "retry_all")


def cleanable(state: object) -> State:
    """The state ``clean`` may delete from: an ended one."""
    return _state(state, ENDED, "clean")


def retry_all(commands: Commands, state: State, queue: str | None, limit: int) -> Plan[tuple[int, set[str]]]:
    """Retry up to ``limit`` jobs in ``state`` (of ``queue`` only, when
    given): how many were retried, and the queues they went back on (their
    workers are woken)."""
    retried, queues, cursor = 0, set[str](), None
    while retried < limit:
        _, ids, cursor = yield from list_page(commands, state, min(PAGE, limit - retried), cursor)
        records = yield [Read(commands.keys.job_key(i)) for i in ids]
        on = {i: fields_from_hash(r).get("queue", "") for i, r in zip(ids, records, strict=True) if r}
        wanted = [i for i in ids if i in on and (queue is None or on[i] == queue)]
        if wanted:
            replies = yield [commands.retry(i) for i in wanted]
            done = [i for i, reply in zip(wanted, replies, strict=True) if _ok(reply)]
            retried += len(done)
            queues.update(on[i] for i in done if on[i])
        if cursor is None:
            break
    return retried, queues


def clean(commands: Commands, state: State, older_than: float, limit: int) -> Plan[int]:
    """Delete up to ``limit`` jobs in the ended ``state`` that ended more than
    ``older_than`` seconds ago (by Redis' clock, checked by each delete)."""
    older_ms = 0 if older_than == 0 else duration_ms(older_than, what="older_than")
    deleted, cursor = 0, None
    while deleted < limit:
        # a page holds at most what is left to delete: never more than limit
        _, ids, cursor = yield from list_page(commands, state, min(PAGE, limit - deleted), cursor)
        if ids:
            replies = yield [commands.delete(i, state.value, older_ms) for i in ids]
            deleted += sum(1 for reply in replies if _ok(reply))
        if cursor is None:
            break
    return deleted


def _ok(reply: Any) -> bool:
    return isinstance(reply, list) and bool(reply) and text(reply[0]) == "ok"
