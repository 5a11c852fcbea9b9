"""Reading the event streams of a namespace, without I/O.

Each shard has its own stream, so the namespace's events are a k-way merge
of ``shards`` streams, in (time ms, sequence, shard) order.  The scripts
write stream ids ``<ms>-<µs within the ms * 1000 + n>``, so on one server
that order is the order in which the events happened, whatever their shards.

A reader keeps one position per shard; ``Event.cursor`` encodes all of
them, so resuming with ``since=event.cursor`` continues exactly after that
event.  Resuming with ``since=event.id`` (``"<shard>:<stream id>"``) starts
after that event in merge order: every shard from that time on.  On one
server it misses nothing written after the event; it can only miss an
event written *before* it that was not yet visible when the event was read
(a write racing the read), which the cursor rules out.  A cluster's masters
have their own clocks, so there the cursor is the exact way to resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from .._exceptions import JobberTrackError
from .keys import Keyspace
from .transitions import ENDED, INITIAL, State
from .wire import read_object, read_time, text

MAX_SEQ = 2**64 - 1
Position = tuple[int, int]


class Event(NamedTuple):
    """One change of one job, as written by the script that made it."""

    id: str
    job_id: str
    state: State
    at: datetime
    progress: dict[str, Any] | None
    error: dict[str, Any] | None
    cursor: str

    @property
    def is_final(self) -> bool:
        return self.state.is_final and self.progress is None


def parse_stream_id(raw: Any) -> Position:
    ms, _, seq = text(raw).partition("-")
    if not (_digits(ms) and (seq == "" or _digits(seq))):
        raise JobberTrackError(f"not a stream id: {raw!r}")
    return int(ms), int(seq or 0)


def _digits(part: str) -> bool:
    """ASCII digits only, few enough for a 64-bit stream id part."""
    return 0 < len(part) <= 20 and part.isascii() and part.isdigit()


def encode_cursor(positions: Sequence[Position]) -> str:
    return "c:" + ",".join(f"{ms}-{seq}" for ms, seq in positions)


def start_positions(since: str | None, shards: int) -> list[Position]:
    """Per shard, the stream id after which reading starts (exclusive)."""
    if since is None:
        return [(0, 0)] * shards
    since = str(since)
    if since.startswith("c:"):
        positions = [parse_stream_id(p) for p in since[2:].split(",")]
        if len(positions) != shards:
            raise JobberTrackError(f"this cursor is for {len(positions)} shards, not {shards}")
        return positions
    shard_text, sep, stream_id = since.partition(":")
    if not sep or not (shard_text.isascii() and shard_text.isdigit()):
        raise JobberTrackError(f"not an event id or cursor: {since!r}")
    shard, (ms, seq) = int(shard_text), parse_stream_id(stream_id)
    # merge order is (ms, seq, shard): a later shard's entry with the very
    # same (ms, seq) comes after the event, an earlier shard's before it
    just_before = (ms, seq - 1) if seq > 0 else (max(ms - 1, 0), MAX_SEQ)
    return [just_before if s > shard else (ms, seq) for s in range(shards)]


NOW = "$"  # `since` value: only events written after the call


def newest_ids(newest: Sequence[Any]) -> list[str]:
    """Each shard's newest stream id ("0-0" if none), from one
    ``XREVRANGE <stream> + - COUNT 1`` reply per shard."""
    return [text(n[0][0]) if n else "0-0" for n in newest]


def newest_calls(keys: Keyspace) -> list[tuple[str, str, str, int]]:
    return [(keys.events_key(s), "+", "-", 1) for s in range(keys.shards)]


class EventReader:
    """The merge state: positions, per-shard buffers, which shards to fetch."""

    def __init__(self, keys: Keyspace, since: str | None, page: int = 500) -> None:
        self.keys = keys
        self.page = page
        self.positions = start_positions(since, keys.shards)
        self.buffers: list[deque[tuple[Position, dict[str, str]]]] = [deque() for _ in range(keys.shards)]
        self.done: set[int] = set()  # shards read up to their end (for now)

    def to_fetch(self) -> list[int]:
        return [s for s in range(self.keys.shards) if s not in self.done and not self.buffers[s]]

    def range_args(self, shard: int) -> tuple[str, str, str, int]:
        ms, seq = self.positions[shard]
        return (self.keys.events_key(shard), f"({ms}-{seq}", "+", self.page)

    def feed(self, shard: int, entries: Sequence[Any], *, complete: bool) -> None:
        """Entries read from one shard's stream; ``complete``: its end was reached."""
        last = self.buffers[shard][-1][0] if self.buffers[shard] else self.positions[shard]
        for raw_id, raw_fields in entries:
            pos = parse_stream_id(raw_id)
            if pos > last:
                self.buffers[shard].append((pos, _fields(raw_fields)))
                last = pos
        if complete:
            self.done.add(shard)
        else:
            self.done.discard(shard)

    def xread_streams(self) -> dict[str, str]:
        return {self.keys.events_key(s): f"{ms}-{seq}" for s, (ms, seq) in enumerate(self.positions)}

    def feed_xread(self, reply: Any) -> int:
        """Feed an XREAD reply (RESP2 or RESP3); return entries fed."""
        index = {self.keys.events_key(s): s for s in range(self.keys.shards)}
        per_shard: dict[int, list[tuple[str, dict[str, str]]]] = {}
        for key, entry_id, fields in iter_xread(reply):
            per_shard.setdefault(index[key], []).append((entry_id, fields))
        for shard, entries in per_shard.items():
            self.feed(shard, entries, complete=len(entries) < self.page)
        return sum(len(e) for e in per_shard.values())

    def pop(self) -> Event | None:
        """The next event in merge order, or None if a shard must be fetched
        first (``to_fetch``) or everything known has been read.  An entry
        whose state is not a state (another writer's) is passed over."""
        while not self.to_fetch():
            heads = [(b[0][0], s) for s, b in enumerate(self.buffers) if b]
            if not heads:
                return None
            best = min(heads)[1]  # merge order: (time ms, sequence, shard)
            pos, fields = self.buffers[best].popleft()
            self.positions[best] = pos
            state = _STATES.get(fields.get("state", INITIAL.value))
            if state is not None:
                return Event(
                    id=f"{best}:{pos[0]}-{pos[1]}",
                    job_id=fields.get("job", ""),
                    state=state,
                    at=read_time(str(pos[0])) or datetime.min,
                    progress=read_object(fields.get("progress")),
                    error=read_object(fields.get("error")),
                    cursor=encode_cursor(self.positions),
                )
        return None


def iter_xread(reply: Any) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(stream key, entry id, fields) of an XREAD reply, RESP2 or RESP3."""
    resp3 = isinstance(reply, dict)
    for raw_key, value in reply.items() if resp3 else (reply or []):
        key = text(raw_key)
        for raw_id, raw in value[0] if resp3 else value:
            yield key, text(raw_id), _fields(raw)


_FINAL_VALUES = frozenset(s.value for s in ENDED)
_STATES = {s.value: s for s in State}


def ends_job(fields: dict[str, str]) -> bool:
    """Whether a stream entry is the final transition of its job (a final
    state, not a progress report)."""
    return fields.get("state") in _FINAL_VALUES and "progress" not in fields


def _fields(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {text(k): text(v) for k, v in raw.items()}
    return {text(raw[i]): text(raw[i + 1]) for i in range(0, len(raw) - 1, 2)}
