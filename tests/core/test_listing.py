"""``ListPlan`` (a page of jobs across shards, in at most two rounds), without Redis.

``Indexes`` models the per-state sorted sets of every shard and answers a
``list`` call the way ``_lua/list.lua`` does, from the ZREVRANGEBYSCORE and
ZRANGEBYSCORE semantics it relies on: live entries score at least ``now``;
ties on a score come in reverse byte order from ZREVRANGEBYSCORE and in byte
order from ZRANGEBYSCORE; each index is cut at the page size, and the
shard's reply keeps every entry scoring at least its page-size-th best.
The plan is driven as ``Handler.list`` drives it.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobbertrack
from jobbertrack._core.keys import Keyspace
from jobbertrack._core.listing import MAX_PAGE, Cursor, ListPlan, merge_counts, states_of
from jobbertrack._core.transitions import State

NOW = 1_000


class Indexes:
    """Every shard's state indexes: sorted sets of id (bytes) -> expiry ms."""

    def __init__(self, keys: Keyspace, now: int = NOW) -> None:
        self.keys, self.now = keys, now
        self.zsets: defaultdict[str, dict[bytes, int]] = defaultdict(dict)
        self.calls: list[Any] = []

    def index_key(self, job_id: str, state: State) -> str:
        """The index of ``state`` in the shard of ``job_id`` (by its name)."""
        shard_keys = self.keys.shard_keys(self.keys.shard_of(job_id))
        return next(k for k in shard_keys if k.endswith(f":idx:{state.value}"))

    def add(self, job_id: str, state: State, expires: int) -> None:
        self.zsets[self.index_key(job_id, state)][job_id.encode()] = expires

    def move(self, job_id: str, source: State, target: State) -> None:
        """A transition: the entry changes index and keeps its score."""
        self.add(job_id, target, self.zsets[self.index_key(job_id, source)].pop(job_id.encode()))

    def live(self, states: list[State]) -> list[str]:
        """The ids ``list`` must give, in listing order."""
        wanted = {k for k in self.zsets if any(k.endswith(f":idx:{s.value}") for s in states)}
        entries = [(score, m) for k in wanted for m, score in self.zsets[k].items() if score >= self.now]
        return [m.decode() for _, m in sorted(entries, reverse=True)]

    def reply(self, call: Any) -> list[Any]:
        """What ``list.lua`` returns for ``call``: {ties, flat id, score list}."""
        assert call.script == "list"
        assert len({k[k.index("{") : k.index("}")] for k in call.keys}) == 1  # one hash slot
        self.calls.append(call)
        states, size, top = call.args
        size = int(size)
        found: list[tuple[bytes, int]] = []
        ties: list[bytes] = []
        for state in str(states).split():
            [key] = [k for k in call.keys if k.endswith(f":idx:{state}")]
            zset = self.zsets[key]
            if top == "":
                page = self.zrevrangebyscore(zset, None, self.now, size)
            else:
                if int(top) >= self.now:  # ZRANGEBYSCORE key top top
                    ties += sorted(m for m, score in zset.items() if score == int(top))
                page = self.zrevrangebyscore(zset, int(top), self.now, size)
            found += page
        if not found:
            return [ties, []]
        bound = sorted((score for _, score in found), reverse=True)[min(size, len(found)) - 1]
        return [ties, [x for m, score in found if score >= bound for x in (m, b"%d" % score)]]

    @staticmethod
    def zrevrangebyscore(zset: dict[bytes, int], below: int | None, low: int, count: int) -> list[Any]:
        """ZREVRANGEBYSCORE key (<below> <low> WITHSCORES LIMIT 0 <count>
        (``below`` None: +inf): highest score first, ties in reverse byte order."""
        entries = [
            (score, m) for m, score in zset.items() if score >= low and (below is None or score < below)
        ]
        return [(m, score) for score, m in sorted(entries, reverse=True)[:count]]


def list_page(
    db: Indexes, states: list[State], limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """One page, as ``Handler.list`` runs the plan (the jobs' records aside)."""
    db.calls.clear()
    plan = ListPlan(db.keys, states, limit, Cursor.parse(cursor))
    first = plan.first_calls()
    second = plan.after_first([db.reply(c) for c in first])
    assert len(first) == db.keys.shards and len(second) <= db.keys.shards
    if second:
        plan.after_second([db.reply(c) for c in second])
    assert all(int(c.args[1]) <= limit for c in db.calls)  # O(page) entries per index
    ids, nxt = plan.result()
    assert len(ids) <= limit and (nxt is None) == (len(ids) < limit)
    return ids, None if nxt is None else str(nxt)


# Ids of printable text, ASCII and not (byte order is code point order);
# few scores around NOW, so that ties and expired entries are common.
ALPHABET = "abAB09-é€中😀"
job_ids = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=4)
scores = st.integers(NOW - 3, NOW + 6)
some_states = st.lists(st.sampled_from(list(State)), min_size=1, max_size=4, unique=True)


@functools.lru_cache
def ids_by_shard(shards: int) -> list[list[str]]:
    pool = ["".join(chars) for n in (1, 2, 3) for chars in itertools.product(ALPHABET, repeat=n)]
    keys = Keyspace("ls", shards)
    return [[i for i in pool if keys.shard_of(i) == s] for s in range(shards)]


@st.composite
def namespaces(draw: Any) -> Indexes:
    """Up to 40 jobs, many of them in one "hot" shard: a shard holding more
    than its share of a page is what makes a second round needed."""
    db = Indexes(Keyspace("ls", draw(st.integers(1, 6))))
    by_shard = ids_by_shard(db.keys.shards)
    hot = draw(st.integers(0, db.keys.shards - 1))
    shard = st.one_of(st.just(hot), st.integers(0, db.keys.shards - 1))
    drawn = [draw(st.sampled_from(by_shard[draw(shard)])) for _ in range(draw(st.integers(0, 40)))]
    for job_id in dict.fromkeys(drawn):  # each id once: a job is in one index
        db.add(job_id, draw(st.sampled_from(list(State))), draw(scores))
    return db


@settings(max_examples=300, deadline=None)
@given(db=namespaces(), states=some_states, limit=st.integers(1, 12))
def test_paging_gives_every_live_job_once_newest_first(db: Indexes, states: list[State], limit: int) -> None:
    pages, cursor = [], None
    while True:
        ids, cursor = list_page(db, states, limit, cursor)
        pages.append(ids)
        if cursor is None:
            break
        assert len(pages) <= len(db.live(states)) // limit, "paging does not end"
    assert [i for page in pages for i in page] == db.live(states)
    assert all(len(page) == limit for page in pages[:-1])


@settings(max_examples=200, deadline=None)
@given(db=namespaces(), limit=st.integers(1, 12), data=st.data())
def test_moves_expiries_and_creates_between_pages_never_repeat_a_job(
    db: Indexes, limit: int, data: Any
) -> None:
    """Listing every state while jobs move, expire (time passes) and are
    created between pages: no job twice, never out of order, and every job
    alive from the first page to the last is listed."""
    everything = list(State)
    throughout = set(db.live(everything))
    listed: list[str] = []
    order: list[tuple[int, bytes]] = []
    score_of = {m.decode(): s for zset in db.zsets.values() for m, s in zset.items()}
    cursor = None
    while True:
        ids, cursor = list_page(db, everything, limit, cursor)
        listed += ids
        assert len(listed) <= len(score_of), "paging does not end"
        order += [(score_of[i], i.encode()) for i in ids]
        if cursor is None:
            break
        db.now += data.draw(st.integers(0, 2))
        for job_id in data.draw(st.lists(st.sampled_from(sorted(score_of)), max_size=3)):
            state = next(s for s in everything if job_id.encode() in db.zsets[db.index_key(job_id, s)])
            db.move(job_id, state, data.draw(st.sampled_from(everything)))
        for job_id in data.draw(st.lists(job_ids.filter(lambda i: i not in score_of), max_size=3)):
            score_of[job_id] = data.draw(scores)
            db.add(job_id, State.WAITING, score_of[job_id])
    assert len(listed) == len(set(listed))
    assert order == sorted(order, reverse=True)
    assert throughout & set(db.live(everything)) <= set(listed)


def test_a_page_takes_one_round_when_the_shares_suffice() -> None:
    db = Indexes(Keyspace("ls", 4))
    for n in range(40):
        db.add(f"job{n:02}", State.WAITING, NOW + n)
    ids, cursor = list_page(db, [State.WAITING], 3, None)
    assert ids == ["job39", "job38", "job37"] and cursor == f"{NOW + 37}:job37"
    assert len(db.calls) == 4  # a share of 3 per shard: all of the page


def test_a_shard_holding_most_of_the_page_is_asked_again() -> None:
    keys = Keyspace("ls", 8)
    db = Indexes(keys)
    same = [i for i in (f"j{n}" for n in range(500)) if keys.shard_of(i) == 0][:30]
    for n, job_id in enumerate(same):
        db.add(job_id, State.RUNNING, NOW + 100 + n)
    db.add("elsewhere" if keys.shard_of("elsewhere") else "other", State.RUNNING, NOW)
    ids, _ = list_page(db, [State.RUNNING], 20, None)
    assert ids == db.live([State.RUNNING])[:20]
    second_round = db.calls[keys.shards :]
    assert [c.args[1] for c in second_round] == [20]  # only the full shard, for a whole page


def test_a_full_shard_tied_with_the_last_of_the_page_is_asked_again() -> None:
    """Round 1 cuts a shard's index inside a run of equal scores, and the
    page's last job (another shard's) has that score too: the cut-off jobs
    may come before it, so that shard is asked for a whole page."""
    keys, top = Keyspace("ls", 4), NOW + 10
    db = Indexes(keys)
    pool = ids_by_shard(4)
    low = min(pool[1])  # the page's last: the lowest id, of another shard
    cut = sorted(i for i in pool[0] if i > low)[-3:]  # shard 0's tied run: round 1 reads cut[2]
    for job_id in cut:
        db.add(job_id, State.RUNNING, top)
    for job_id in sorted(set(pool[0]) - set(cut))[:7]:
        db.add(job_id, State.RUNNING, top + 1)
    for job_id in pool[2][:3]:
        db.add(job_id, State.WAITING, top + 2)
    db.add(low, State.FINISHED, top)
    ids, cursor = list_page(db, list(State), 12, None)  # round 1 finds 3 + 7 + cut[2] + low
    assert ids == db.live(list(State))[:12] and ids[-2:] == [cut[2], cut[1]]
    assert [c.args[1] for c in db.calls[keys.shards :]] == [12]  # shard 0, for a whole page
    assert list_page(db, list(State), 12, cursor) == ([cut[0], low], None)


def test_ties_on_the_cursor_score_continue_in_byte_order() -> None:
    db = Indexes(Keyspace("ls", 3))
    for job_id in ["a", "b", "c", "é", "z"]:
        db.add(job_id, State.FINISHED, NOW + 5)
    db.add("low", State.FAILED, NOW + 1)
    first, cursor = list_page(db, [State.FINISHED, State.FAILED], 2, None)
    assert first == ["é", "z"] and cursor == f"{NOW + 5}:z"
    second, cursor = list_page(db, [State.FINISHED, State.FAILED], 2, cursor)
    assert second == ["c", "b"]
    third, cursor = list_page(db, [State.FINISHED, State.FAILED], 2, cursor)
    assert third == ["a", "low"]
    assert list_page(db, [State.FINISHED, State.FAILED], 2, cursor) == ([], None)


def test_expired_entries_are_never_listed() -> None:
    db = Indexes(Keyspace("ls", 2))
    db.add("old", State.RUNNING, NOW - 1)
    db.add("new", State.RUNNING, NOW)
    assert list_page(db, [State.RUNNING], 5, None) == (["new"], None)
    assert list_page(db, [State.RUNNING], 5, f"{NOW - 1}:zzz") == ([], None)


def test_cursor_round_trips_and_refuses_what_it_did_not_make() -> None:
    cursor = Cursor.parse(str(Cursor(1_700_000_000_000, "a:b é")))
    assert cursor is not None and (cursor.score, cursor.job_id) == (1_700_000_000_000, "a:b é")
    assert Cursor.parse(None) is None and Cursor.parse("") is None
    for bad in ["x", "12", ":a", "-1:a", "1.5:a", "1" * 21 + ":a", "\u0661:a"]:
        with pytest.raises(jobbertrack.JobberTrackError):
            Cursor.parse(bad)


def test_limits_and_states_are_checked() -> None:
    keys = Keyspace("ls", 2)
    for limit in [0, MAX_PAGE + 1, True, 1.0, "5"]:
        with pytest.raises(jobbertrack.JobberTrackError):
            ListPlan(keys, list(State), limit, None)  # type: ignore[arg-type]
    assert states_of(None) == list(State)
    assert states_of("running") == [State.RUNNING]
    assert states_of(["failed", State.WAITING]) == [State.FAILED, State.WAITING]
    for bad in ["stopped", [], 3, ["running", "nope"]]:
        with pytest.raises(jobbertrack.JobberTrackError):
            states_of(bad)  # type: ignore[arg-type]


def test_keep_drops_jobs_gone_or_no_longer_in_a_listed_state() -> None:
    plan = ListPlan(Keyspace("ls", 2), [State.RUNNING], 5, None)
    jobs = [SimpleNamespace(id=i, state=s) for i, s in [("a", "running"), ("b", "failed"), ("c", "running")]]
    page = plan.keep([jobs[0], None, jobs[1], jobs[2]])
    assert [j.id for j in page] == ["a", "c"] and page.cursor is None


def test_merge_counts_sums_the_shards_per_state() -> None:
    n = len(State)
    replies = [[1] * n, [b"2"] * n, list(range(n))]
    assert merge_counts(replies) == {s.value: 3 + i for i, s in enumerate(State)}
    assert merge_counts([]) == dict.fromkeys((s.value for s in State), 0)
