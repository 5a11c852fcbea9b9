"""Building script calls and reading their replies.  Pure: no I/O.

A ``Call`` names a script (a file of ``jobbertrack/_lua``), its KEYS and
ARGV.  The sync and asyncio layers run it and hand the reply back to
``outcome``; ``error_for`` (through ``Outcome.raise_for``) is the one place
where a script's status becomes an exception.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from .._exceptions import (
    CorruptRecord,
    GroupClosed,
    GroupNotFound,
    InvalidData,
    InvalidTransition,
    JobberTrackError,
    JobCancelled,
    JobExists,
    JobExpired,
    JobNotFound,
)
from . import ids
from .codec import DEFAULT_MAX_DATA_BYTES, duration_ms, encode_json
from .fields import Fields
from .ids import check_id
from .keys import Keyspace
from .transitions import ALIVE, INITIAL, MOVE_INTO, MOVES, State
from .wire import fields_from_flat, text


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


#: No fields: the default of ``Call.sets`` (never mutated).
NO_FIELDS: Mapping[str, str] = MappingProxyType({})


class Call(NamedTuple):
    """One script call: which script, its KEYS and ARGV, and what the caller
    needs to read its reply (never read back from ``args``)."""

    script: str
    keys: tuple[str, ...]
    args: tuple[str | int, ...]
    data: str | None = None  # the JSON data the call stores, if it succeeds
    job_id: str = ""  # the job it acts on ('' for a call on a whole shard)
    target: str = ""  # the state it moves the job to, or needs it in ('' for reads)
    token: str = ""  # recorded on the job when the call takes effect ('' for reads)
    sets: Mapping[str, str] = NO_FIELDS  # other fields it writes as given (create: name)
    clears: tuple[str, ...] = ()  # fields it deletes
    action: str = ""  # what a refusal says was tried, when not a move ("report progress")
    stores: str = "data"  # the field ``data`` lands in: the input (create, push), the result (a move)
    wakes: str = ""  # the wake-up lists' prefix, when the reply may name queues to wake (split_woken)


def error_for(
    status: str,
    job_id: str,
    *,
    target: str = "?",
    current: str = "?",
    known: bool = False,
    field: str = "?",
    action: str = "",
) -> JobberTrackError:
    """The one mapping from a script's reply status to the error it means.
    ``current``: the state found ("bad"); ``known``: the caller has seen the
    job exist, so "gone" means expired; ``field``: the malformed field a
    script named (``{'corrupt', field}``); ``action``: what was tried, when
    not a move.  "unknown" is the ``status`` script's word for "gone"."""
    if status == "corrupt":
        return CorruptRecord(job_id, field)
    if status == "bad":
        return _refused(job_id, current, target, action)
    if status in ("gone", "unknown"):
        return JobExpired(job_id) if known else JobNotFound(job_id)
    if status == "deleted":  # a tombstone of delete.lua
        return JobNotFound(job_id, f"job {job_id!r} was deleted")
    # expired: Redis still remembers the id; {'nogroup', id}: no group of the
    # id a create named (or read as one); {'closed', id}: it takes no more children
    simple = {"expired": JobExpired, "exists": JobExists, "nogroup": GroupNotFound, "closed": GroupClosed}
    if status in simple:
        return simple[status](field if status in ("nogroup", "closed") and field != "?" else job_id)
    return JobberTrackError(f"unexpected reply from Redis: {status!r}")


def _refused(job_id: str, current: str, target: str, action: str) -> InvalidTransition:
    """A move or a touch the state found does not allow; ``JobCancelled``
    when the job was cancelled (its worker, finding out)."""
    if current == "cancelled" and target != "cancelled":
        return JobCancelled(job_id, target, action or None)
    return InvalidTransition(job_id, current, target, action or None)


def not_found(job_id: str, status: Any) -> JobNotFound:
    """The error for a job a read did not find, by what the ``status``
    script then said of it ("expired", "unknown", or a state if it was
    created since)."""
    said = text(status)
    error = error_for(said if said in ("expired", "deleted") else "unknown", job_id)
    assert isinstance(error, JobNotFound)
    return error


class Outcome(NamedTuple):
    code: str  # "ok" | "bad" | "expired" | "gone" | "exists" | "corrupt"
    fields: Fields | None
    partial: bool = False  # fields are only those the call wrote: merge them
    field: str = ""  # "corrupt": the malformed field the script named

    def raise_for(self, job_id: str, target: str, *, known: bool, action: str = "") -> None:
        """Raise the error this outcome means (nothing for "ok")."""
        if self.code != "ok":
            current = (self.fields or {}).get("state", "?")
            error = error_for(
                self.code,
                job_id,
                target=target,
                current=current,
                known=known,
                field=self.field,
                action=action,
            )
            if self.code == "bad" and (self.fields or {}).get("kind") == "group":
                error.args = (f"job {job_id!r} is a group: it moves with its children, not by {target!r}",)
            raise error


def _int_option(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise JobberTrackError(f"{name} must be an int from {low} to {high}, not {value!r}")


#: Where the reply of a script that may end a group names the queues its
#: follow-up job was pushed on (``WOKE`` in _groups.lua): the element after
#: the reply's usual ones, present only when a queue was pushed on.
_WOKE_AT = {"transition": 3, "group": 2}


def split_woken(call: Call, reply: Any) -> tuple[list[str], Any]:
    """The wake-up lists to notify after ``call`` (a group it ended pushed
    its follow-up job: one of its queue's workers is woken, as after a
    push), and the reply without them, as its readers know it."""
    at = _WOKE_AT.get(call.script) if call.wakes else None
    if at is None or not isinstance(reply, list) or len(reply) <= at:
        return [], reply
    queues = reply[at]
    return [call.wakes + text(q) for q in queues] if isinstance(queues, list) else [], reply[:at]


def outcome(reply: Any) -> Outcome:
    code = text(reply[0])
    if code in ("corrupt", "nogroup", "closed"):  # {code, field or group id}: refused, nothing written
        return Outcome(code, None, False, text(reply[1]) if len(reply) > 1 else "?")
    return Outcome(code, fields_from_flat(reply[1]) if len(reply) > 1 else None, len(reply) > 2)


_token_counter = itertools.count(1)


def new_token() -> str:
    """A token unique to one call, so a retried call can be recognised."""
    return f"{ids._IdState.process}{next(_token_counter):x}"


#: Longest exception message or traceback stored (characters): a failing
#: job is always recorded, even when its exception text is huge.
MAX_ERROR_TEXT = 16_384


def _clip(text: str, *, keep_end: bool = False) -> str:
    if len(text) <= MAX_ERROR_TEXT:
        return text
    cut = f" [... {len(text) - MAX_ERROR_TEXT} characters cut ...] "
    return cut + text[-MAX_ERROR_TEXT:] if keep_end else text[:MAX_ERROR_TEXT] + cut


def error_details(error: object, *, with_traceback: bool = False) -> dict[str, Any]:
    """The stored form of a failure given to ``fail()``."""
    details: dict[str, Any] = {"reason": "error", "message": None}
    if isinstance(error, BaseException):
        details["type"] = type(error).__qualname__
        try:
            said = str(error)
        except Exception:  # an exception whose __str__ fails still fails the job
            said = "<unprintable>"
        details["message"] = _clip(f"{type(error).__name__}: {said}" if said else type(error).__name__)
        if with_traceback:
            import traceback  # only on request: keeps the package import light

            lines = traceback.format_exception(type(error), error, error.__traceback__)
            details["traceback"] = _clip("".join(lines), keep_end=True)
    elif isinstance(error, dict):
        details.update(error)
    elif error is not None:
        details["message"] = str(error)
    return details


def cancel_details(reason: object) -> dict[str, Any]:
    """The stored error of a cancelled job: ``{"reason": "cancelled",
    "message": reason or "cancelled"}``."""
    if reason is not None and not isinstance(reason, str):
        raise InvalidData(f"a cancel's reason must be a str, not {type(reason).__name__}")
    return {"reason": "cancelled", "message": _clip(reason) if reason else "cancelled"}


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def progress_details(current: object, total: object = None, message: object = None) -> dict[str, Any]:
    for name, value in (("current", current), ("total", total)):
        if value is None and name == "total":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise InvalidData(f"progress {name} must be a finite number, not {value!r}")
    if message is not None and not isinstance(message, str):
        raise InvalidData(f"progress message must be a str, not {type(message).__name__}")
    return {"current": current, "total": total, "message": message}


#: Per target state, the name of the move into it: ARGV 5 of ``transition``
#: (the script finds the rest of the move's row in the table Redis holds).
MOVE_NAMES: dict[State, str] = {move.target: name for name, move in MOVES.items()}
_ALIVE_TARGET = " or ".join(sorted(s.value for s in ALIVE))  # what a refused touch wanted


class Commands:
    """The script calls of one namespace: its key layout and limits, and one
    method per script building its ``Call``.  Shared by ``Handler`` and
    ``aio.Handler``."""

    __slots__ = ("cleanup_batch", "event_cap", "keys", "max_data_bytes", "tomb_cap", "tomb_ttl_ms")

    def __init__(
        self,
        keyspace: Keyspace | None = None,
        *,
        max_events: int = 10_000,
        tombstone_ttl: float = 86_400,
        max_tombstones: int = 256,
        max_data_bytes: int = DEFAULT_MAX_DATA_BYTES,
        cleanup_batch: int = 100,
    ) -> None:
        self.keys = keyspace or Keyspace()
        shards = self.keys.shards
        _int_option("max_events", max_events, 1, 10**9)
        _int_option("max_tombstones", max_tombstones, 1, 10**7)
        _int_option("max_data_bytes", max_data_bytes, 1, 512 * 2**20)  # Redis' own limit
        _int_option("cleanup_batch", cleanup_batch, 1, 10**5)
        self.event_cap = max(1, math.ceil(max_events / shards))
        self.tomb_ttl_ms = duration_ms(tombstone_ttl, what="tombstone_ttl")
        self.tomb_cap = max(1, math.ceil(max_tombstones / shards))
        self.max_data_bytes = max_data_bytes
        self.cleanup_batch = cleanup_batch

    def _head(self, job_id: str, token: str) -> tuple[str | int, ...]:
        """ARGV 1-4, the same for every script."""
        return (job_id, token, self.event_cap, self.tomb_ttl_ms)

    def json(self, value: Any, what: str = "data") -> str:
        return encode_json(value, what=what, limit=self.max_data_bytes)

    def _create_args(
        self, job_id: str, token: str, timeout_ms: int, stored: str | None, fields: Mapping[str, str]
    ) -> tuple[str | int, ...]:
        """ARGV of ``create`` and ``create_many`` (before the latter's ids):
        then the field, value pairs set at create, ``data`` last."""
        pairs = [*itertools.chain.from_iterable(fields.items())]
        if stored is not None:
            pairs += ("data", stored)
        return (*self._head(job_id, token), timeout_ms, self.tomb_cap, self.cleanup_batch, *pairs)

    def create(
        self, job_id: str, timeout_ms: int, data: Any = UNSET, fields: Mapping[str, str] = NO_FIELDS
    ) -> Call:
        """``fields``: the checked fields set at create (``fields.create_fields``)."""
        stored = None if data is UNSET else self.json(data)
        token = new_token()
        args = self._create_args(job_id, token, timeout_ms, stored, fields)
        return Call("create", self.keys.job_keys(job_id), args, stored, job_id, INITIAL.value, token, fields)

    def create_batches(
        self,
        job_ids: Sequence[str],
        timeout_ms: int,
        data: Any = UNSET,
        fields: Mapping[str, str] = NO_FIELDS,
    ) -> list[tuple[list[str], Call]]:
        """One ``create_many`` call per shard for ``job_ids``: (ids, call)."""
        stored = None if data is UNSET else self.json(data)
        by_shard: dict[int, list[str]] = {}
        for job_id in job_ids:
            by_shard.setdefault(self.keys.shard_of(job_id), []).append(job_id)
        batches = []
        for shard, shard_ids in by_shard.items():
            token = new_token()
            keys = (*self.keys.shard_keys(shard), *(self.keys.job_key(i) for i in shard_ids))
            args = (*self._create_args("", token, timeout_ms, stored, fields), *shard_ids)
            call = Call("create_many", keys, args, stored, "", INITIAL.value, token, fields)
            batches.append((shard_ids, call))
        return batches

    def transition(
        self,
        job_id: str,
        target: State,
        *,
        data: Any = UNSET,
        error: dict[str, Any] | None = None,
        lease_ms: int | None = None,
        max_runtime_ms: int | None = None,
        delay_ms: int | None = None,
    ) -> Call:
        """The move of the table into ``target``; ``delay_ms``, of a retry:
        how long before a job of a queue may be popped again."""
        stored = None if data is UNSET else self.json(data)
        token = new_token()
        args: list[str | int] = [
            job_id,
            token,
            self.event_cap,
            self.tomb_ttl_ms,
            MOVE_NAMES[target],
            stored or "",
            "" if error is None else self.json(error, "error"),
            lease_ms if lease_ms is not None else "" if delay_ms is None else delay_ms,
            "" if max_runtime_ms is None else max_runtime_ms,
        ]
        while args[-1] == "":  # ARGV 6-9 left out from the end mean '' (fewer to send)
            args.pop()
        cleared = MOVE_INTO[target].clears
        keys = self.keys.job_keys(job_id)
        return Call(
            "transition",
            keys,
            tuple(args),
            stored,
            job_id,
            target.value,
            token,
            NO_FIELDS,
            cleared,
            stores="result",
            wakes=self.keys.wake_key(""),
        )

    def cancel(self, job_id: str, reason: object = None) -> Call:
        """waiting / running -> cancelled, the error saying ``reason``."""
        return self.transition(check_id(job_id), State.CANCELLED, error=cancel_details(reason))

    def retry(self, job_id: str, delay: object = None) -> Call:
        """failed / cancelled -> waiting, as a new attempt; a job of a queue
        is poppable again ``delay`` seconds later (None: at once)."""
        delay_ms = 0 if delay is None or delay == 0 else duration_ms(delay, what="delay")
        return self.transition(check_id(job_id), State.WAITING, delay_ms=delay_ms or None)

    def delete(self, job_id: str, state: str = "", older_than_ms: int | None = None) -> Call:
        """Remove the job for good (a tombstone remembers it as deleted);
        with ``state`` / ``older_than_ms`` only if it is in that state / ended
        that long ago (``clean``)."""
        args = (*self._head(check_id(job_id), ""), state, "" if older_than_ms is None else older_than_ms)
        return Call("delete", self.keys.job_keys(job_id), (*args, self.tomb_cap), None, job_id)

    def touch(self, job_id: str, progress: dict[str, Any] | None = None) -> Call:
        """A heartbeat, or with ``progress`` a progress report (also a heartbeat)."""
        token = new_token()
        args = self._head(job_id, token)
        if progress is not None:
            args += (self.json(progress, "progress"),)
        action = "renew its lease" if progress is None else "report progress"
        return Call(
            "touch", self.keys.job_keys(job_id), args, None, job_id, _ALIVE_TARGET, token, action=action
        )

    def get(self, job_id: str) -> Call:
        return Call("get", self.keys.job_keys(job_id), self._head(job_id, ""), None, job_id)

    def get_many(self, job_ids: Sequence[str]) -> list[Call]:
        return [self.get(check_id(i)) for i in job_ids]

    def sweep_shard(self, shard: int, limit: int) -> Call:
        args = ("", "", self.event_cap, self.tomb_ttl_ms, self.tomb_cap, self.cleanup_batch, limit)
        return Call("sweep", self.keys.shard_keys(shard), args)

    def reindex_shard(self, shard: int, batch: int) -> Call:
        """A batch of the shard's jobs made before the finding indexes into them."""
        return Call("reindex", self.keys.shard_keys(shard), ("", "", self.event_cap, self.tomb_ttl_ms, batch))

    def settle(self, job_id: str) -> Call:
        return Call("settle", self.keys.job_keys(job_id), self._head(job_id, ""), None, job_id)

    def group(self, job_id: str, close: bool = False) -> Call:
        """Read a group (its expired children counted first); ``close``:
        close it first, so no child may join."""
        args = (*self._head(check_id(job_id), ""), "close" if close else "")
        return Call("group", self.keys.job_keys(job_id), args, None, job_id, wakes=self.keys.wake_key(""))

    def children(self, group_id: str, state: str, want: int, after: str, budget: int) -> Call:
        """Up to ``want`` ids of the group's live children (in ``state``, ''
        = any), newest first, after the ``ingroup`` entry ``after``."""
        args = (*self._head(check_id(group_id), ""), state, want, after, budget)
        return Call("children", self.keys.job_keys(group_id), args, None, group_id)

    def status(self, job_id: str) -> Call:
        return Call("status", self.keys.job_keys(check_id(job_id)), self._head(job_id, ""), None, job_id)
