"""Records the library did not write: random hashes at a job's key.

Hypothesis writes a hash at a job key (docs/data-model.md: the key the
library's ``Keyspace`` computes): a sound record with fields changed or
removed, or one made up from scratch; unknown states, times that are not
integers, huge or deeply nested JSON, bytes that are not UTF-8, fields a
future version might add.  Then every public read and every move runs, in
both layers, on each backend (standalone and cluster), and:

- only ``JobberTrackError`` escapes, and listings, counts and ``get_many``
  never fail because of the one bad record;
- a move refused as ``CorruptRecord`` changes no key of the job's shard;
- afterwards every healthy job is in exactly the index of its state.
"""

from __future__ import annotations

import inspect
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import jobbertrack
from jobbertrack._core.keys import Keyspace
from tests.integration.test_corrupt_scripts import assert_unchanged, shard_snapshot

KEYS = Keyspace()
STATES = [s.value for s in jobbertrack.State]

# -- what a record may hold ------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
junk = st.one_of(
    _text,
    st.binary(max_size=12),  # often not UTF-8
    st.sampled_from(
        ["", "nan", "inf", "-0", "1e3", " 5", "0x1f", "+7", "5_000", "१२३", "9" * 30, "12.5", "null"]
    ),
)
# Times: ("rel", ms from now) is made into now + ms when written.
times = st.one_of(st.tuples(st.just("rel"), st.integers(-(10**7), 10**7)), junk)
durations = st.one_of(st.integers(-5, 10**8).map(str), junk)
deep = st.sampled_from([2, 600, 100_000]).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n])
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
payloads = st.one_of(
    deep,
    json_values.map(json.dumps),
    st.sampled_from(
        ['"' + "x" * 100_000 + '"', "{", "NaN", "1e999", '{"current": "a"}', "[]", '{"reason": 5}']
    ),
    junk,
)
FIELDS: dict[str, Any] = {
    "state": st.one_of(st.sampled_from([*STATES, "bogus", "RUNNING", "corrupt", "expired"]), junk),
    "created": times,
    "expires": times,
    "started": times,
    "beat": times,
    "ended": times,
    "lease": durations,
    "max_runtime": durations,
    "token": st.one_of(_text, st.binary(max_size=12)),
    "name": st.one_of(_text, st.binary(max_size=12), st.just("n" * 100_000)),
    "data": payloads,
    "progress": payloads,
    "error": payloads,
}
# Fields a newer version (or another client) might add.
extras = st.dictionaries(
    st.one_of(
        st.sampled_from(["priority", "attempts", "owner", "v2:meta", "Data"]),
        st.binary(min_size=1, max_size=6),
    ),
    st.one_of(junk, payloads),
    max_size=3,
)


@st.composite
def records(draw: Any) -> tuple[str, dict[str, Any], list[str], dict[Any, Any]]:
    """(base, changed fields, removed fields, extra fields): ``base`` is how
    the job is made first ("none": from scratch, no record kept)."""
    base = draw(st.sampled_from(["none", "waiting", "running", "overdue", "finished"]))
    changed = draw(st.fixed_dictionaries({}, optional=FIELDS))
    removed = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=3, unique=True))
    return base, changed, removed, draw(extras)


# -- writing it ----------------------------------------------------------


def _value(value: Any, now_ms: int) -> Any:
    if isinstance(value, tuple):
        return str(now_ms + value[1])
    return value


def _make(track: Any, client: Any, base: str) -> str:
    job = track.create(600)
    if base in ("running", "overdue", "finished"):
        job.start(lease=30, max_runtime=60)
    if base == "finished":
        job.finish({"done": True})
    if base == "overdue":
        key = KEYS.job_key(job.id)
        past = int(client.hget(key, "started")) - 120_000
        client.hset(key, mapping={"started": past, "beat": past})
        client.zadd(KEYS.job_keys(job.id)[1], {job.id: past})
    return str(job.id)


def write_record(
    track: Any, client: Any, record: tuple[str, dict[str, Any], list[str], dict[Any, Any]]
) -> str:
    """Make a job, then write the drawn hash at its key; its index entry
    follows the state written (if it is one), as a sound writer's would."""
    base, changed, removed, extra = record
    job_id = _make(track, client, base)
    key = KEYS.job_key(job_id)
    now_ms = int(time.time() * 1000)
    if base == "none":
        client.delete(key)
    if removed:
        client.hdel(key, *removed)
    fields = {k: _value(v, now_ms) for k, v in {**changed, **extra}.items()}
    if fields:
        client.hset(key, mapping=fields)
    by_name = {k.split("}:", 1)[1]: k for k in KEYS.job_keys(job_id)}
    for s in STATES:
        client.zrem(by_name[f"idx:{s}"], job_id)
    state, expires = client.hmget(key, "state", "expires")
    if state is not None and state.decode("utf-8", "replace") in STATES:
        score = int(expires) if expires and expires.isdigit() and len(expires) < 16 else now_ms + 600_000
        client.zadd(by_name[f"idx:{state.decode()}"], {job_id: score})
    return job_id


# -- reading and moving it -------------------------------------------------


def attempt(fn: Any) -> Any:
    """``fn()``, or the JobberTrackError it raised (any other escapes)."""
    try:
        return fn()
    except jobbertrack.JobberTrackError as exc:
        return exc


def read_everything(job: Any, *, deep: bool = True) -> None:
    """Every public attribute of a Resource and get_value(); with ``deep``
    also its history() and a wait."""
    if job is None:
        return
    target = getattr(job, "_target", job)  # an asyncio resource behind Blocking
    for name in dir(type(target)):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(type(target), name)
        if not callable(static) or (hasattr(static, "__get__") and not inspect.isfunction(static)):
            attempt(lambda name=name: getattr(job, name))
    repr(job)
    attempt(job.get_value)
    if deep:
        attempt(job.history)
        attempt(lambda: job.wait(timeout=0.01))


def all_pages(track: Any, job_id: str, state: Any = None) -> list[str]:
    """Every id ``list`` gives, page by page (small pages: many cursors);
    the fuzzed job's Resource read all over when it is listed."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = track.list(state, limit=3, cursor=cursor)
        for job in page:
            if job.id == job_id:
                read_everything(job, deep=False)
        seen += [job.id for job in page]
        cursor = page.cursor
        if cursor is None:
            break
    return seen


MOVES: list[tuple[str, Callable[[Any], Any]]] = [
    ("start", lambda job: job.start(lease=30)),
    ("heartbeat", lambda job: job.heartbeat()),
    ("set_progress", lambda job: job.set_progress(1, 2, "half")),
    ("finish", lambda job: job.finish({"ok": True})),
    ("fail", lambda job: job.fail("boom")),
]


def indexes_holding(client: Any, job_id: str) -> list[str]:
    by_name = {key.split("}:", 1)[1]: key for key in KEYS.job_keys(job_id)}
    return [s for s in STATES if client.zscore(by_name[f"idx:{s}"], job_id) is not None]


def first_events(track: Any, n: int) -> list[Any]:
    """The first ``n`` events (the asyncio layer's async iterator run on the
    loop of its Blocking proxy)."""
    events = track.events()
    if not hasattr(events, "__anext__"):
        return list(itertools.islice(events, n))

    async def take() -> list[Any]:
        out: list[Any] = []
        try:
            async for event in events:
                out.append(event)
                if len(out) >= n:
                    break
        finally:
            await events.aclose()
        return out

    return list(object.__getattribute__(track, "_loop").run_until_complete(take()))


def check_reads(track: Any, job_id: str, healthy: list[str], *, every_state: bool = True) -> None:
    read_everything(attempt(lambda: track.get(job_id)))
    many = track.get_many([job_id, *healthy])  # one bad record breaks no listing
    read_everything(many[0], deep=False)
    assert [j.id for j in many[1:]] == healthy
    assert set(healthy) <= set(all_pages(track, job_id))
    for state in STATES if every_state else []:
        all_pages(track, job_id, state)
    counts = track.counts()
    assert sum(counts.values()) >= len(healthy)
    track.count(None)
    attempt(lambda: track.status(job_id))
    attempt(lambda: track.history(job_id))
    attempt(lambda: first_events(track, 500))
    attempt(lambda: track.wait(job_id, timeout=0.01))


def check_moves(track: Any, client: Any, job_id: str) -> bool:
    """Every move; True if one took effect (the scripts found the record sound)."""
    moved = False
    for name, move in MOVES:
        job = attempt(lambda: track.get(job_id))
        if job is None or isinstance(job, jobbertrack.JobberTrackError):
            continue
        before = shard_snapshot(client, job_id)
        outcome = attempt(lambda job=job, move=move: move(job))
        event(f"{name}: {type(outcome).__name__}")
        if isinstance(outcome, jobbertrack.CorruptRecord):
            assert outcome.job_id == job_id
            assert_unchanged(before, shard_snapshot(client, job_id))
        elif not isinstance(outcome, jobbertrack.JobberTrackError):
            moved = True
    return moved


@settings(
    max_examples=25,  # per layer: 50 per backend
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(record=records())
# a live key whose `expires` field has passed: no move may put it in an index
@example(record=("waiting", {"expires": "0"}, [], {}))
@example(record=("running", {"expires": ("rel", -1000)}, [], {}))
def test_any_hash_at_a_job_key(track: Any, client: Any, record: Any) -> None:
    client.flushall()
    healthy = [_make(track, client, base) for base in ("waiting", "running", "finished")]
    job_id = write_record(track, client, record)
    check_reads(track, job_id, healthy)
    moved = check_moves(track, client, job_id)
    check_reads(track, job_id, healthy, every_state=False)
    for jid in healthy + ([job_id] if moved else []):
        state = client.hget(KEYS.job_key(jid), "state")
        assert state is not None
        assert indexes_holding(client, jid) == [state.decode()], f"index invariant broken for {jid}"
