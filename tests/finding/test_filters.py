"""Finding jobs (issue 26): ``list`` with tag, queue, name-prefix and time
filters in creation order, and ``count`` by tag or queue, checked against a
brute-force filter over every live record, on every backend and layer."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jobbertrack
from jobbertrack._core.keys import Keyspace
from tests.helpers import all_keys, wait_for

SPACES = itertools.count()
NAMES = [None, "a", "ab", "abc", "b", "ba", "nightly-1", "nightly-2", "nightly-1-x", "nightly-10.y"]
TAGS = ["t1", "t2", "user:42"]
QUEUES = [None, "q1", "q2"]
ENDS = ["waiting", "running", "finished", "failed", "cancelled", "deleted", "expired"]

job_spec = st.tuples(
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    st.sampled_from(QUEUES),
    st.sampled_from(ENDS),
)


def _make(track: Any, name: str | None, tags: list[str], queue: str | None, end: str) -> Any:
    timeout = 0.3 if end == "expired" else 120
    if queue is None:
        job = track.create(timeout, name=name, tags=tags)
    else:
        job = track.push(None, queue=queue, timeout=timeout, name=name, tags=tags)
    if end in ("running", "finished", "failed"):
        job.start()
    if end == "finished":
        job.finish({"ok": True})
    elif end == "failed":
        job.fail("boom")
    elif end == "cancelled":
        job.cancel("no")
    elif end == "deleted":
        track.delete(job.id)
    return job


def _records(client: Any, keys: Keyspace, ids: list[str]) -> list[dict[str, Any]]:
    """Every live record among ``ids``, read raw: the truth filters are checked against."""
    out = []
    for job_id in ids:
        raw = {k.decode(): v.decode() for k, v in client.hgetall(keys.job_key(job_id)).items()}
        if raw and int(raw["expires"]) > int(client.time()[0]) * 1000 + 100:
            raw["tags"] = json.loads(raw.get("tags", "[]"))
            raw["id"] = job_id
            out.append(raw)
    return out


def _brute(records: list[dict[str, Any]], q: dict[str, Any]) -> list[str]:
    def ok(r: dict[str, Any]) -> bool:
        states = q.get("state")
        if states is not None and r["state"] not in ([states] if isinstance(states, str) else states):
            return False
        tags = q.get("tag")
        if tags is not None and not set([tags] if isinstance(tags, str) else tags) <= set(r["tags"]):
            return False
        if q.get("queue") is not None and r.get("queue") != q["queue"]:
            return False
        if q.get("name") is not None and not (r.get("name") or "\0").startswith(q["name"]):
            return False
        created = int(r["created"])
        if q.get("created_after") is not None and created < q["created_after"] * 1000:
            return False
        return q.get("created_before") is None or created < q["created_before"] * 1000

    field = "expires" if q.get("order") == "expires" else "created"
    chosen = sorted(
        (r for r in records if ok(r)), key=lambda r: (int(r[field]), r["id"].encode()), reverse=True
    )
    return [r["id"] for r in chosen]


def _all_pages(track: Any, limit: int, q: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        page = track.list(limit=limit, cursor=cursor, **q)
        assert len(page) <= limit
        ids += [job.id for job in page]
        cursor = page.cursor
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


query = st.fixed_dictionaries(
    {},
    optional={
        "state": st.one_of(
            st.sampled_from(ENDS[:5]),
            st.lists(st.sampled_from(ENDS[:5]), min_size=1, max_size=3, unique=True),
        ),
        "tag": st.one_of(
            st.sampled_from(TAGS), st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True)
        ),
        "queue": st.sampled_from(["q1", "q2", "none"]),
        "name": st.sampled_from(["a", "ab", "b", "nightly-", "nightly-1", "nightly-1-", "zz"]),
        "order": st.sampled_from(["created", "expires"]),
    },
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(job_spec, min_size=1, max_size=25),
    queries=st.lists(st.tuples(query, st.integers(1, 7), st.integers(0, 3)), min_size=1, max_size=6),
    shards=st.sampled_from([1, 3, 16]),
)
def test_every_filter_lists_exactly_the_live_matching_jobs(
    make_handler: Any, client: Any, specs: list[Any], queries: list[Any], shards: int
) -> None:
    ns = f"jt:find{next(SPACES)}"  # a namespace of its own, inside what the ACL backend's user may touch
    track = make_handler(namespace=ns, shards=shards)
    keys = Keyspace(ns, shards)
    ids = [_make(track, *spec).id for spec in specs]
    if any(spec[3] == "expired" for spec in specs):
        wait_for(
            lambda: (
                not any(
                    client.exists(keys.job_key(i))
                    for i, s in zip(ids, specs, strict=True)
                    if s[3] == "expired"
                )
            )
        )
    records = _records(client, keys, ids)
    times = sorted(int(r["created"]) for r in records) or [0]
    for asked, limit, edge in queries:
        q = dict(asked)
        if edge & 1:  # inclusive from a job's own creation time
            q["created_after"] = times[len(times) // 3] / 1000
        if edge & 2:  # exclusive up to another's
            q["created_before"] = times[(2 * len(times)) // 3] / 1000
        want = _brute(records, q)
        assert _all_pages(track, limit, q) == want, q
        if "name" not in q and "order" not in q and "created_after" not in q and "created_before" not in q:
            assert track.count(q.get("state"), tag=q.get("tag"), queue=q.get("queue")) == len(want), q


def test_tags_are_stored_shown_and_checked(track: Any, client: Any) -> None:
    job = track.create(60, name="export", tags=["user:42", "export", "user:42"])
    assert job.get_value()["tags"] == ["user:42", "export"]  # duplicates dropped, order kept
    assert track.get(job.id).get_value()["tags"] == ["user:42", "export"]
    assert track.create(60).get_value()["tags"] == []
    pushed = track.push({"n": 1}, queue="mail", timeout=60, tags=["mail"])
    assert track.get(pushed.id).get_value()["tags"] == ["mail"]
    many = track.create_many(3, 60, name="bulk", tags=["batch-7"])
    assert {j.id for j in track.list(tag="batch-7")} == {j.id for j in many}
    assert track.count(tag="batch-7") == 3 and track.count("waiting", tag="batch-7") == 3
    many[0].start()
    by_state = {"waiting": 2, "running": 1, "failed": 0, "finished": 0, "cancelled": 0}
    assert track.counts(tag="batch-7") == by_state
    assert track.counts(queue="mail")["waiting"] == 1
    assert track.counts(tag="batch-7", queue="mail")["running"] == 0


@pytest.mark.parametrize(
    "tags",
    [
        "one-string",
        [""],
        ["x" * 129],
        ["bad\nline"],
        [f"t{i}" for i in range(17)],
        [42],
        ["\ud800"],
    ],
)
def test_bad_tags_are_refused_and_nothing_is_written(track: Any, client: Any, tags: Any) -> None:
    track.create(60)  # the namespace exists
    before = sorted(client.keys("*")) if hasattr(client, "keys") else None
    with pytest.raises(jobbertrack.InvalidData):
        track.create(60, tags=tags)
    with pytest.raises(jobbertrack.InvalidData):
        track.push(1, queue="q", timeout=60, tags=tags)
    with pytest.raises(jobbertrack.InvalidData):
        track.create_many(2, 60, tags=tags)
    assert sorted(client.keys("*")) == before
    assert sum(track.counts().values()) == 1


def test_sixteen_tags_of_128_characters_are_taken(track: Any) -> None:
    tags = [f"{i:02d}" + "x" * 126 for i in range(16)]
    job = track.create(60, tags=tags)
    assert job.get_value()["tags"] == tags
    assert [j.id for j in track.list(tag=[tags[0], tags[15]])] == [job.id]


def test_newest_created_first_whatever_the_timeouts(track: Any) -> None:
    jobs = [track.create(timeout) for timeout in (600, 60, 3600, 120)]
    listed = [j.id for j in track.list()]
    assert listed == [
        j.id for j in sorted(jobs, key=lambda j: (j.get_value()["created_at"], j.id), reverse=True)
    ]
    by_expiry = [j.id for j in track.list(order="expires")]
    assert by_expiry[0] == jobs[2].id and by_expiry[-1] == jobs[1].id


def test_time_filters_take_datetimes_and_epoch_seconds(track: Any) -> None:
    jobs = [track.create(60, name="first")]
    while jobs[-1].get_value()["created_at"] == jobs[0].get_value()["created_at"]:
        jobs.append(track.create(60, name="later"))  # until Redis' clock moved on a millisecond
    at = datetime.fromisoformat(jobs[-1].get_value()["created_at"])
    since = [j.id for j in reversed(jobs) if datetime.fromisoformat(j.get_value()["created_at"]) >= at]
    assert [j.id for j in track.list(created_after=at)] == since  # inclusive
    assert [j.id for j in track.list(created_after=at.timestamp())] == since
    assert [j.id for j in track.list(created_before=at)] == [
        j.id for j in reversed(jobs) if j.id not in since
    ]
    naive = at.astimezone(timezone.utc).replace(tzinfo=None)  # naive: UTC, as the library's times
    assert [j.id for j in track.list(created_after=naive)] == since


@pytest.mark.parametrize(
    "bad",
    [
        {"order": "name"},
        {"created_after": "yesterday"},
        {"created_before": float("nan")},
        {"tag": ""},
        {"tag": 5},
        {"queue": ""},
        {"name": 5},
    ],
)
def test_bad_filters_are_refused(track: Any, bad: dict[str, Any]) -> None:
    with pytest.raises(jobbertrack.JobberTrackError):
        track.list(**bad)


def test_a_stalled_job_is_listed_and_counted_as_failed(track: Any) -> None:
    job = track.push(None, queue="q", timeout=60, tags=["t"])
    track.pop_and_start("q", lease=0.2)
    wait_for(lambda: track.count("failed", tag="t") == 1)
    assert track.count("running", tag="t") == 0
    assert [j.id for j in track.list("failed", tag="t")] == [job.id]
    assert [j.id for j in track.list("running", queue="q")] == []


def test_a_deleted_job_leaves_no_index_behind(track: Any, client: Any) -> None:
    job = track.push(None, queue="q", timeout=60, name="n", tags=["a", "b"])
    track.delete(job.id)
    assert track.count(tag="a") == 0 and track.count(queue="q") == 0
    assert track.list(tag="a") == [] and track.list(name="n") == []
    left = [
        k
        for k in client.keys("*")
        if any(p in k for p in (b":tag:", b":tally:", b":names", b":meta", b":inqueue:"))
    ]
    assert left == []


def test_a_name_prefix_with_a_segment_reads_its_own_index(track: Any, client: Any) -> None:
    nightly = [track.create(60, name=f"nightly-{i}") for i in range(5)]
    others = [track.create(60, name=f"hourly-{i}") for i in range(5)]
    assert [j.id for j in track.list(name="nightly-")] == [j.id for j in reversed(nightly)]
    assert [j.id for j in track.list(name="nightly-3")] == [nightly[3].id]
    assert [j.id for j in track.list(name="h", limit=3)] == [j.id for j in reversed(others)][:3]
    segments = [k for k in client.keys("*") if b":nameseg:" in k] if hasattr(client, "keys") else []
    assert {k.rsplit(b":", 1)[1] for k in segments} <= {b"nightly-", b"hourly-"}
    track.delete(nightly[0].id)
    assert nightly[0].id not in [j.id for j in track.list(name="nightly-")]


def test_a_prefix_with_two_segments_reads_the_second_ones_index(track: Any, client: Any) -> None:
    # "job-7-" has an index of its own, so a page of it never reads the
    # jobs of "job-70-" or "job-8-" (the first segment's index holds them all)
    names = ["job-7-1", "job-7-2.a", "job-70-1", "job-8-1", "job-7-3-b-c", "job-7", "job7-1"]
    jobs = {name: track.create(60, name=name) for name in names}
    sevens = [jobs[n].id for n in ("job-7-3-b-c", "job-7-2.a", "job-7-1")]
    assert [j.id for j in track.list(name="job-7-")] == sevens
    assert [j.id for j in track.list(name="job-7-3")] == [jobs["job-7-3-b-c"].id]
    job_7 = [jobs[n].id for n in reversed(names[:6]) if n != "job-8-1"]
    assert [j.id for j in track.list(name="job-7")] == job_7
    assert track.list(name="job-7-3-b-c-") == []
    if hasattr(client, "keys"):
        entries: dict[bytes, set[bytes]] = {}
        for k in all_keys(client, "*:nameseg:*"):  # one key per shard holding such names
            entries.setdefault(k.split(b":nameseg:", 1)[1], set()).update(client.zrange(k, 0, -1))
        assert set(entries) == {b"job-", b"job-7-", b"job-70-", b"job-8-", b"job7-"}
        assert entries[b"job-7-"] == {i.encode() for i in sevens}
        assert len(entries[b"job-"]) == 6
    for job in jobs.values():
        track.delete(job.id)
    assert track.list(name="job-") == []
    if hasattr(client, "keys"):
        assert all_keys(client, "*:nameseg:*") == []


def test_pages_through_a_batch_made_in_one_millisecond(track: Any, client: Any) -> None:
    # create_many makes a shard's jobs in one script: one creation time,
    # ordered by id, which pages must cut through exactly
    jobs = track.create_many(40, 60, name="batch-x", tags=["batch"])
    for job in jobs[::3]:
        job.start()
    records = _records(client, Keyspace(), [j.id for j in jobs])
    assert len({r["created"] for r in records}) < len(records)  # ties there are
    for query in ({"tag": "batch"}, {"state": ["waiting", "running"]}, {"name": "batch-"}, {}):
        for limit in (1, 3, 7):
            assert _all_pages(track, limit, query) == _brute(records, query), (query, limit)
    query = {"state": "running", "tag": "batch"}
    assert _all_pages(track, 2, query) == _brute(records, query)
