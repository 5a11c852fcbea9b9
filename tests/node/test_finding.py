"""Finding jobs across languages (issue 26): Node's ``list`` with filters
(tag, queue, name prefix, creation time, order) gives Python's pages, ids
and cursors alike, page after page; Node's ``count`` and ``counts`` by tag
or queue give Python's; a bad filter is refused with Python's error and
message.  Both sides plan a page the same way (``_core/finding.py``,
``clients/node/lib/finding.cjs``) over the same ``find`` and ``tally``
scripts, on every backend."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

import jobbertrack
from tests.helpers import all_keys
from tests.node.conftest import NodeDriver, app_client, as_json

SPACES = itertools.count()
NAMES = [None, "a", "ab", "abc", "b", "nightly-1", "nightly-2"]
TAGS = [[], ["t1"], ["t2"], ["t1", "t2"], ["user:42", "t1"], ["é-ü"]]
QUEUES = [None, "q1", "q2"]
ENDS = ["waiting", "running", "finished", "failed", "cancelled"]
#: The finding indexes' keys (docs/data-model.md, "Finding jobs"), and the reindex mark.
FINDING_INDEXES = (
    b":created",
    b":tag:",
    b":tally:",
    b":names",
    b":nameseg:",
    b":meta",
    b":inqueue:",
    b":indexed",
)

#: (state, filters as Python takes them): every filter alone and in company.
QUERIES: list[tuple[Any, dict[str, Any]]] = [
    (None, {}),
    (None, {"order": "expires"}),
    ("waiting", {}),
    (["running", "failed"], {}),
    (["running", "failed"], {"order": "expires"}),
    (None, {"tag": "t1"}),
    (None, {"tag": ["t1", "t2"]}),
    ("waiting", {"tag": "t2"}),
    (None, {"tag": "é-ü", "order": "expires"}),
    (None, {"tag": "nothing"}),
    (None, {"tag": []}),  # no tag: no filter
    (None, {"queue": "q1"}),
    (["waiting", "running"], {"queue": "q2", "tag": "t1"}),
    (None, {"name": "nightly-"}),
    (None, {"name": "a", "order": "expires"}),
    (None, {"name": ""}),  # no prefix: no filter
    ("finished", {"name": "ab", "tag": "t1"}),
    (None, {"created_after": "mid"}),
    (None, {"created_before": "mid"}),
    (None, {"created_after": "early", "created_before": "late"}),
    ("waiting", {"created_after": "mid", "order": "expires"}),
    (None, {"created_after": "mid", "tag": "t1", "queue": "q1"}),
]


def _handlers(make_node: Callable[..., NodeDriver], backend: Any, client: Any, shards: int) -> Any:
    ns = f"jt:nfind{next(SPACES)}"  # inside what the ACL backend's user may touch
    py = jobbertrack.Handler(app_client(backend, client), namespace=ns, shards=shards)
    return py, make_node(namespace=ns, shards=shards)


def _end(job: Any, end: str) -> None:
    if end in ("running", "finished", "failed"):
        job.start()
    if end == "finished":
        job.finish({"ok": True})
    elif end == "failed":
        job.fail("boom")
    elif end == "cancelled":
        job.cancel("no")


def _make(py: jobbertrack.Handler, js: NodeDriver, n: int) -> str:
    """Job ``n``, made by Python (odd n) or Node (even n) with a name, tags
    and a queue of the lists above, and moved to its end by the other side."""
    name, tags, queue, end = NAMES[n % 7], TAGS[n % 6], QUEUES[n % 3], ENDS[n % 5]
    options: dict[str, Any] = {"timeout": 60 + n % 4}  # expiry order differs from creation order
    if name is not None:
        options["name"] = name
    if tags:
        options["tags"] = tags
    if n % 2:
        job_id = (py.create(**options) if queue is None else py.push(None, queue=queue, **options)).id
    elif queue is None:
        job_id = js("create", timeout=options.pop("timeout"), options=options)["id"]
    else:
        job_id = js("push", options={**options, "queue": queue})["id"]
    if end != "waiting":
        if n % 2:
            js("move", id=job_id, move="start")
            if end != "running":
                js("move", id=job_id, move={"finished": "finish", "failed": "fail"}.get(end, "cancel"))
        else:
            _end(py.get(job_id), end)
    return job_id


def _times(py: jobbertrack.Handler, ids: list[str]) -> dict[str, float]:
    """Epoch seconds between the batches the jobs were made in."""
    created = sorted(py.get(i).get_value()["created_at"] for i in ids)  # type: ignore[union-attr]
    at = [datetime.fromisoformat(c.replace("Z", "+00:00")).timestamp() for c in created]
    third = len(at) // 3
    return {"early": at[third], "mid": at[len(at) // 2], "late": at[2 * third] + 0.0005}


def _node_filters(filters: dict[str, Any], times: dict[str, float], n: int) -> dict[str, Any]:
    """The filters as Node takes them: times as Dates, epoch seconds, or by Python's spelling."""
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if key in ("created_after", "created_before"):
            camel = "createdAfter" if key == "created_after" else "createdBefore"
            seconds = times[value]
            if n % 3 == 0:
                out[camel] = {"$date": round(seconds * 1000)}
            elif n % 3 == 1:
                out[camel] = seconds
            else:
                out[key] = seconds
        else:
            out[key] = value
    return out


def _python_filters(filters: dict[str, Any], times: dict[str, float], n: int) -> dict[str, Any]:
    out = dict(filters)
    for key in ("created_after", "created_before"):
        if key in out:
            seconds = times[out[key]]
            out[key] = (
                datetime.fromtimestamp(round(seconds * 1000) / 1000, timezone.utc) if n % 3 == 0 else seconds
            )
    return out


def _same_pages(
    py: jobbertrack.Handler,
    js: NodeDriver,
    state: Any,
    py_filters: dict[str, Any],
    js_filters: dict[str, Any],
    limit: int,
) -> list[str]:
    """Every page of one listing, from both sides: the same ids, values and cursors."""
    ids: list[str] = []
    cursor = None
    for _ in range(10_000):
        page = js("list", state=state, options={**js_filters, "limit": limit, "cursor": cursor})
        expected = py.list(state, limit=limit, cursor=cursor, **py_filters)
        assert page["ids"] == [j.id for j in expected], (state, py_filters, limit, cursor)
        assert page["cursor"] == expected.cursor, (state, py_filters, limit, cursor)
        assert page["values"] == [as_json(j.get_value()) for j in expected]
        ids += page["ids"]
        cursor = page["cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("shards", [1, 3, 16])
def test_node_pages_and_counts_are_pythons_for_every_filter(
    make_node: Callable[..., NodeDriver], backend: Any, client: Any, shards: int
) -> None:
    py, js = _handlers(make_node, backend, client, shards)
    ids = []
    for batch in range(3):
        ids += [_make(py, js, n) for n in range(batch * 10, batch * 10 + 10)]
        time.sleep(0.01)  # batches apart in time: the creation-time filters cut between them
    times = _times(py, ids)
    for n, (state, filters) in enumerate(QUERIES):
        py_filters, js_filters = _python_filters(filters, times, n), _node_filters(filters, times, n)
        whole = [j.id for j in py.list(state, limit=100, **py_filters)]
        for limit in range(1, 8):
            assert _same_pages(py, js, state, py_filters, js_filters, limit) == whole
    assert len([j.id for j in py.list(None, limit=100)]) == len(ids)

    for tag, queue in [(None, None), ("t1", None), (["t1"], None), (None, "q1"), (["t1", "t2"], None),
                       ("t2", "q2"), ("nothing", None), (None, "none")]:  # fmt: skip
        options = {k: v for k, v in {"tag": tag, "queue": queue}.items() if v is not None}
        assert js("counts", options=options) == py.counts(tag=tag, queue=queue)
        for state in (None, "waiting", ["running", "failed"]):
            assert js("count", state=state, options=options) == py.count(state, tag=tag, queue=queue)
    assert js("counts", options={}) == js("counts") == py.counts()


def test_a_sparse_filter_gives_short_pages_whose_cursors_go_on_as_pythons(
    make_node: Callable[..., NodeDriver], backend: Any, client: Any
) -> None:
    """9,000 candidates in the smallest index before the first match: a
    page is cut after MAX_ROUNDS rounds, short, with a cursor (the place
    every shard got to) that Node gives and takes as Python does."""
    py, js = _handlers(make_node, backend, client, 1)
    both = [py.create(60, tags=["A", "B"]).id, js("create", timeout=60, options={"tags": ["B", "A"]})["id"]]
    # one job a round trip (a few to a creation time: a score's ties are read
    # whole), A and B in turn (each index the smallest in no time range)
    for _ in range(9000):
        py.create(60, tags=["A"])
        py.create(60, tags=["B"])
    for limit in (1, 2, 5):
        listed = _same_pages(py, js, None, {"tag": ["A", "B"]}, {"tag": ["A", "B"]}, limit)
        assert sorted(listed) == sorted(both)
    first = js("list", options={"tag": ["A", "B"], "limit": 5})
    assert first["ids"] == [] and first["cursor"] is not None  # a short page, its cursor going on
    assert js("count", options={"tag": ["A", "B"]}) == py.count(tag=["A", "B"]) == 2
    assert js("counts", options={"tag": "A"}) == py.counts(tag="A")


#: (the call, its filters as Python takes them): each refused before any read.
BAD: list[tuple[str, dict[str, Any]]] = [
    ("list", {"tag": 5}),
    ("list", {"tag": ""}),
    ("list", {"tag": "x" * 129}),
    ("list", {"tag": ["ok", 3]}),
    ("list", {"tag": "a\nb"}),
    ("list", {"tag": "\ud800"}),
    ("list", {"tag": True}),
    ("list", {"queue": ""}),
    ("list", {"queue": 5}),
    ("list", {"queue": "a\tb"}),
    ("list", {"name": 5}),
    ("list", {"name": "n" * 1025}),
    ("list", {"name": "\udc80"}),
    ("list", {"created_after": "yesterday"}),
    ("list", {"created_after": True}),
    ("list", {"created_before": 10**13}),
    ("list", {"created_before": -1e300}),
    ("list", {"order": "newest"}),
    ("list", {"order": 5}),
    ("list", {"order": "expires", "limit": 0}),
    ("list", {"tag": "t", "limit": 10_001}),
    ("list", {"tag": "t", "cursor": "nope"}),
    ("list", {"order": "created", "cursor": "12"}),
    ("list", {"state": "done", "tag": "t"}),
    ("list", {"order": "newest", "tag": 5}),  # the order is checked first, as in Python
    ("list", {"name": 5, "tag": 5}),  # then the name, then the tags
    ("count", {"tag": 5}),
    ("count", {"queue": ""}),
    ("count", {"state": "done"}),
    ("counts", {"tag": ["a", ""]}),
    ("counts", {"queue": 7}),
]


def test_a_bad_filter_is_refused_as_python_refuses_it(js: NodeDriver, py: jobbertrack.Handler) -> None:
    for op, filters in BAD:
        given = dict(filters)
        state = given.pop("state", None)
        with pytest.raises(jobbertrack.JobberTrackError) as info:
            if op == "counts":
                py.counts(**given)
            else:
                getattr(py, op)(state, **given)
        request: dict[str, Any] = {"options": given}
        if op != "counts":
            request["state"] = state
        error = js.error(op, **request)
        assert (error["name"], error["message"]) == (type(info.value).__name__, str(info.value)), (
            op,
            filters,
        )
        assert error["isJobberTrackError"]


def test_node_refuses_an_option_list_count_and_counts_do_not_take(js: NodeDriver) -> None:
    assert js.error("list", options={"tags": "t1"})["message"] == (
        "list() takes limit, cursor, tag, queue, name, createdAfter, createdBefore, order; not tags"
    )
    assert js.error("count", options={"name": "a"})["message"] == "count() takes tag, queue; not name"
    assert (
        js.error("counts", options={"state": "waiting"})["message"] == "counts() takes tag, queue; not state"
    )
    both = js.error("list", options={"createdAfter": 1, "created_after": 2})
    assert both["message"] == "list() takes createdAfter or created_after, not both"


def test_a_node_sweep_indexes_the_jobs_made_before_the_indexes(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    """As Python's sweep: the first step of Node's puts the jobs of an older
    version's namespace into the finding indexes (the reindex script)."""
    jobs = [py.push(i, queue="q", timeout=60, name=f"old-{i}", tags=["x"]).id for i in range(12)]
    jobs += [js("create", timeout=60, options={"name": "plain"})["id"] for _ in range(4)]
    js("move", id=jobs[0], move="start")
    for key in all_keys(client, "*"):  # what a namespace written by an older version looks like
        if any(part in key for part in FINDING_INDEXES):
            client.delete(key)
    assert js("list")["ids"] == [] and js("count", options={"tag": "x"}) == 0
    assert sorted(js("list", options={"order": "expires", "limit": 100})["ids"]) == sorted(jobs)
    js("sweep")
    page = js("list", options={"limit": 100})
    assert sorted(page["ids"]) == sorted(jobs) and page["ids"] == [j.id for j in py.list(limit=100)]
    assert js("count", state="running", options={"tag": "x"}) == py.count("running", tag="x") == 1
    assert js("counts", options={"queue": "q"}) == py.counts(queue="q")
    js("sweep")  # again: nothing counted twice
    assert js("count", options={"queue": "q"}) == 12
