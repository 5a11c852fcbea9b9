"""``EventReader`` (the k-way merge of the shards' event streams), without Redis.

The reader is fed by ``Streams``, a small model of the per-shard streams that
answers ``XRANGE`` and ``XREAD`` the way Redis does (ids strictly increasing
per stream, exclusive ``(`` lower bounds, ``COUNT`` per stream), driven the way
the sync and asyncio event iterators drive it: fetch what ``to_fetch`` names,
pop, and tail with ``XREAD`` once everything known has been read.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobbertrack
from jobbertrack._core.events import (
    MAX_SEQ,
    EventReader,
    encode_cursor,
    ends_job,
    iter_xread,
    newest_ids,
    parse_stream_id,
    start_positions,
)
from jobbertrack._core.keys import Keyspace

Entry = tuple[int, int, int]  # (ms, seq, shard): the merge order


class Streams:
    """The event streams of one namespace, one per shard."""

    def __init__(self, keys: Keyspace) -> None:
        self.keys = keys
        self.shard_of = {keys.events_key(s): s for s in range(keys.shards)}
        self.entries: list[list[tuple[int, int]]] = [[] for _ in range(keys.shards)]

    def add(self, shard: int, ms: int, seq: int) -> None:
        """Append one entry; ids must grow, as Redis enforces."""
        stream = self.entries[shard]
        assert not stream or (ms, seq) > stream[-1]
        stream.append((ms, seq))

    def all(self) -> list[Entry]:
        return sorted((ms, seq, s) for s, stream in enumerate(self.entries) for ms, seq in stream)

    @staticmethod
    def reply_entry(shard: int, ms: int, seq: int) -> tuple[bytes, dict[bytes, bytes]]:
        """One entry as redis-py returns it: (id, fields), bytes."""
        return f"{ms}-{seq}".encode(), {b"job": f"j{shard}.{ms}.{seq}".encode(), b"state": b"running"}

    def xrange(self, key: str, low: str, high: str, count: int) -> list[Any]:
        assert low.startswith("(") and high == "+"
        after = parse_stream_id(low[1:])
        shard = self.shard_of[key]
        newer = [p for p in self.entries[shard] if p > after][:count]
        return [self.reply_entry(shard, ms, seq) for ms, seq in newer]

    def xread(self, streams: dict[str, str], count: int, *, resp3: bool) -> Any:
        """XREAD COUNT <count> STREAMS ...: only the streams with news."""
        found = {}
        for key, position in streams.items():
            entries = self.xrange(key, "(" + position, "+", count)
            if entries:
                found[key.encode()] = entries
        if resp3:
            return {key: [entries] for key, entries in found.items()}
        return [[key, entries] for key, entries in found.items()] or None


def entry_of(event: Any) -> Entry:
    shard, stream_id = event.id.split(":")
    ms, seq = parse_stream_id(stream_id)
    return ms, seq, int(shard)


def read_all(reader: EventReader, streams: Streams, data: Any = None) -> list[Any]:
    """Every event the reader can give from ``streams`` as they are (no
    blocking read).  With ``data``, hypothesis picks which of the shards to
    fetch are fed in a round, in what order, whether already-read entries
    are delivered again, and when ``pop`` is tried (it must give nothing
    while a shard is to be fetched)."""
    events = []
    while True:
        shards = reader.to_fetch()
        if shards and (data is None or data.draw(st.integers(0, 3)) < 3):
            if data is not None:
                shards = data.draw(st.permutations(shards))[: data.draw(st.integers(1, len(shards)))]
            for s in shards:
                key, low, high, count = reader.range_args(s)
                entries = streams.xrange(key, low, high, count)
                complete = len(entries) < count
                if data is not None and data.draw(st.booleans()):  # entries read before, again
                    entries = streams.xrange(key, "(0-0", high, data.draw(st.integers(0, count))) + entries
                reader.feed(s, entries, complete=complete)
            continue
        event = reader.pop()
        if event is None and not shards:
            return events
        if event is not None:
            events.append(event)


def tail(reader: EventReader, streams: Streams, *, resp3: bool) -> list[Any]:
    """One blocking read's worth: XREAD from the reader's positions, then
    every event that makes available."""
    assert reader.to_fetch() == [] and reader.pop() is None
    reader.feed_xread(streams.xread(reader.xread_streams(), reader.page, resp3=resp3))
    return read_all(reader, streams)


# Stream ids: few distinct times, so that entries of different shards tie on
# (ms, seq) often; MAX_SEQ and seq 0 exercise the bounds of `start_positions`.
stream_ids = st.tuples(st.integers(0, 4), st.sampled_from([0, 1, 2, 7, MAX_SEQ])).filter(lambda p: p > (0, 0))


@st.composite
def namespaces(draw: Any, max_shards: int = 5) -> Streams:
    """A namespace of 1 to ``max_shards`` shards with random streams."""
    streams = Streams(Keyspace("ev", draw(st.integers(1, max_shards))))
    for shard in range(streams.keys.shards):
        for ms, seq in sorted(set(draw(st.lists(stream_ids, max_size=8)))):
            streams.add(shard, ms, seq)
    return streams


def writes_after(streams: Streams, draw: Any) -> None:
    """New entries, each later on one clock than every entry before it (the
    scripts stamp ids with the server's time: ms, then µs and a counter)."""
    ms, seq = max([(0, 0), *((e[0], e[1]) for e in streams.all())])
    for shard in draw(st.lists(st.integers(0, streams.keys.shards - 1), max_size=10)):
        if draw(st.booleans()) or seq == MAX_SEQ:
            ms, seq = ms + 1, draw(st.integers(0, 3))
        else:
            seq += 1
        streams.add(shard, ms, seq)


@settings(max_examples=200, deadline=None)
@given(streams=namespaces(), page=st.integers(1, 4), data=st.data())
def test_the_merge_is_in_ms_seq_shard_order_whatever_the_feeding(
    streams: Streams, page: int, data: Any
) -> None:
    reader = EventReader(streams.keys, None, page=page)
    events = read_all(reader, streams, data)
    assert [entry_of(e) for e in events] == streams.all()
    assert reader.to_fetch() == []


@settings(deadline=None)
@given(streams=namespaces(), page=st.integers(1, 4), data=st.data())
def test_resuming_from_any_cursor_gives_exactly_the_rest(streams: Streams, page: int, data: Any) -> None:
    events = read_all(EventReader(streams.keys, None, page=page), streams)
    for i, event in enumerate(events):
        rest = read_all(EventReader(streams.keys, event.cursor, page=data.draw(st.integers(1, 4))), streams)
        assert [e.id for e in rest] == [e.id for e in events[i + 1 :]]
        assert [e.cursor for e in rest] == [e.cursor for e in events[i + 1 :]]


@settings(deadline=None)
@given(streams=namespaces(), page=st.integers(1, 4))
def test_resuming_from_any_event_id_gives_exactly_the_rest(streams: Streams, page: int) -> None:
    events = read_all(EventReader(streams.keys, None, page=page), streams)
    for i, event in enumerate(events):
        rest = read_all(EventReader(streams.keys, event.id, page=page), streams)
        assert [e.id for e in rest] == [e.id for e in events[i + 1 :]]


@settings(deadline=None)
@given(streams=namespaces(), page=st.integers(1, 4), data=st.data())
def test_resuming_misses_nothing_written_later(streams: Streams, page: int, data: Any) -> None:
    """From an event's cursor or its id, a new reader gives everything after
    it, including what was written after it was read, each once, in order."""
    events = read_all(EventReader(streams.keys, None, page=page), streams)
    n_seen = data.draw(st.integers(0, len(events)))
    seen = events[:n_seen]
    writes_after(streams, data.draw)
    expected = [e for e in streams.all() if not seen or e > entry_of(seen[-1])]
    for since in [None] if not seen else [seen[-1].cursor, seen[-1].id]:
        rest = read_all(EventReader(streams.keys, since, page=page), streams)
        assert [entry_of(e) for e in rest] == expected


@settings(max_examples=150, deadline=None)
@given(streams=namespaces(), page=st.integers(1, 4), resp3=st.booleans(), data=st.data())
def test_tailing_gives_every_new_event_once_in_order(
    streams: Streams, page: int, resp3: bool, data: Any
) -> None:
    """Writes made while the reader waits come through XREAD (RESP2 or
    RESP3), paged like the rest: each once, in merge order."""
    reader = EventReader(streams.keys, None, page=page)
    events = read_all(reader, streams, data)
    for _ in range(data.draw(st.integers(1, 3))):
        writes_after(streams, data.draw)
        events += tail(reader, streams, resp3=resp3)
    assert [entry_of(e) for e in events] == streams.all()
    assert tail(reader, streams, resp3=resp3) == []


positions = st.tuples(st.integers(0, 2**64 - 1), st.integers(0, MAX_SEQ))


@settings(deadline=None)
@given(st.lists(positions, min_size=1, max_size=20))
def test_start_positions_round_trips_encode_cursor(pos: list[tuple[int, int]]) -> None:
    assert start_positions(encode_cursor(pos), len(pos)) == pos
    with pytest.raises(jobbertrack.JobberTrackError, match="shards"):
        start_positions(encode_cursor(pos), len(pos) + 1)


@settings(deadline=None)
@given(
    event=st.tuples(stream_ids, st.integers(0, 5)),
    other=st.tuples(stream_ids, st.integers(0, 5)),
)
def test_an_event_id_starts_every_shard_just_after_it_in_merge_order(
    event: tuple[tuple[int, int], int], other: tuple[tuple[int, int], int]
) -> None:
    """An entry is read after ``since=<event id>`` exactly when it comes
    after the event in (ms, seq, shard) order."""
    (ms, seq), shard = event
    (o_ms, o_seq), o_shard = other
    start = start_positions(f"{shard}:{ms}-{seq}", 6)
    assert ((o_ms, o_seq) > start[o_shard]) == ((o_ms, o_seq, o_shard) > (ms, seq, shard))


def test_no_since_starts_every_shard_at_the_beginning() -> None:
    assert start_positions(None, 3) == [(0, 0)] * 3
    assert EventReader(Keyspace("ev", 3), None).to_fetch() == [0, 1, 2]


@pytest.mark.parametrize(
    "since", ["", "x", "1:", "1:x-1", "-1:1-1", "a:1-1", "c:1-1,", "c:1-x", "1:1-" + "9" * 21]
)
def test_a_malformed_since_is_refused(since: str) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        start_positions(since, 2)


def test_events_carry_their_fields_and_a_cursor_of_every_position() -> None:
    keys = Keyspace("ev", 2)
    reader = EventReader(keys, None, page=10)
    progress = json.dumps({"current": 1, "total": 2, "message": None})
    reader.feed(
        1, [(b"1700000000000-5", [b"job", b"a", b"state", b"running", b"progress", progress])], complete=True
    )
    reader.feed(
        0,
        [("1700000000001-0", {"job": "b", "state": "failed", "error": '{"reason": "stalled"}'})],
        complete=True,
    )
    first, second = reader.pop(), reader.pop()
    assert reader.pop() is None
    assert first is not None and second is not None
    assert (first.id, first.job_id, first.state, first.progress) == (
        "1:1700000000000-5",
        "a",
        "running",
        {"current": 1, "total": 2, "message": None},
    )
    assert first.at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert first.cursor == "c:0-0,1700000000000-5" and not first.is_final
    assert (second.id, second.state, second.error, second.progress) == (
        "0:1700000000001-0",
        "failed",
        {"reason": "stalled"},
        None,
    )
    assert second.cursor == "c:1700000000001-0,1700000000000-5" and second.is_final


def test_pop_waits_for_every_shard_that_may_hold_an_earlier_event() -> None:
    reader = EventReader(Keyspace("ev", 2), None, page=1)
    reader.feed(0, [("5-0", {"job": "a", "state": "waiting"})], complete=False)
    assert reader.pop() is None and reader.to_fetch() == [1]
    reader.feed(1, [], complete=True)
    assert [e.id for e in iter(reader.pop, None)] == ["0:5-0"]
    assert reader.to_fetch() == [0]  # the first shard's page was full: more may follow
    key, low, high, count = reader.range_args(0)
    assert (key, low, high, count) == (Keyspace("ev", 2).events_key(0), "(5-0", "+", 1)


def test_an_entry_at_or_before_the_position_is_not_given_twice() -> None:
    reader = EventReader(Keyspace("ev", 1), "c:5-1", page=10)
    entries = [
        (f"{ms}-{seq}", {"job": "a", "state": "running"}) for ms, seq in [(4, 9), (5, 1), (5, 2), (5, 2)]
    ]
    reader.feed(0, entries, complete=True)
    assert [e.id for e in iter(reader.pop, None)] == ["0:5-2"]
    reader.feed(0, [*entries, ("6", {"job": "a", "state": "finished"})], complete=True)
    assert [e.id for e in iter(reader.pop, None)] == ["0:6-0"]


def test_xread_replies_resp2_and_resp3_read_alike() -> None:
    keys = Keyspace("ev", 2)
    streams = Streams(keys)
    streams.add(0, 3, 0)
    streams.add(1, 2, 0)
    positions = {keys.events_key(s): "0-0" for s in range(2)}
    resp2, resp3 = (streams.xread(positions, 10, resp3=flag) for flag in (False, True))
    assert (
        list(iter_xread(resp2))
        == list(iter_xread(resp3))
        == [
            (keys.events_key(0), "3-0", {"job": "j0.3.0", "state": "running"}),
            (keys.events_key(1), "2-0", {"job": "j1.2.0", "state": "running"}),
        ]
    )
    assert list(iter_xread(None)) == []


def test_newest_ids_is_a_cursor_after_everything_written() -> None:
    newest = [[(b"7-1", [b"job", b"a"])], [], [("9-0", {})]]
    assert newest_ids(newest) == ["7-1", "0-0", "9-0"]
    assert start_positions("c:" + ",".join(newest_ids(newest)), 3) == [(7, 1), (0, 0), (9, 0)]


def test_only_a_final_state_without_progress_ends_a_job() -> None:
    assert ends_job({"job": "a", "state": "finished"}) and ends_job({"job": "a", "state": "failed"})
    assert not ends_job({"job": "a", "state": "running"}) and not ends_job({"job": "a"})
    assert not ends_job({"job": "a", "state": "finished", "progress": "{}"})
