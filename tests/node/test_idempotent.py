"""Idempotent create across languages: a key used from Node.js and from
Python names one job (the same key entry, the same scripts, the same plan),
on every backend; bad keys are refused alike and write nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.keys import Keyspace
from tests.helpers import all_keys, expire_together
from tests.node.conftest import NodeDriver, as_json

KEYS = Keyspace()
KEY = "order-42"


def snapshot(client: Any) -> dict[bytes, tuple[Any, ...]]:
    """Every key with its serialized value and whether it expires: what a
    call that writes nothing leaves exactly as it was."""
    return {k: (client.dump(k), client.pttl(k) > 0) for k in all_keys(client)}


def _prefix_in(shard: int, inside: bool, base: str) -> str:
    """A prefix whose driver id ``<prefix>1`` is in ``shard`` (``inside``)
    or in any other (the driver's factory numbers its ids from 1)."""
    n = 0
    while (KEYS.shard_of(f"{base}{n}-1") == shard) != inside:
        n += 1
    return f"{base}{n}-"


def _id_in(shard: int, inside: bool, base: str) -> str:
    n = 0
    while (KEYS.shard_of(f"{base}{n}") == shard) != inside:
        n += 1
    return f"{base}{n}"


@pytest.fixture
def py_ids(py: jobbertrack.Handler) -> Iterator[Callable[[list[str]], jobbertrack.Handler]]:
    """py_ids(ids) -> a Python handler (on ``py``'s client) whose factory
    hands out ``ids`` in turn."""

    def make(ids: list[str]) -> jobbertrack.Handler:
        given = iter(ids)

        class Chosen(jobbertrack.ResourceFactory):
            def create(self, client: Any) -> Any:
                return self.resource_class(client, next(given))

        return jobbertrack.Handler(py.client, Chosen())

    yield make


def _entry_follows(client: Any, key: str, job_id: str) -> None:
    """The key's entry names the job and expires with its record."""
    entry = KEYS.key_entry(key)
    assert client.get(entry) == job_id.encode()
    assert expire_together(client, entry, KEYS.job_key(job_id))


PATHS = pytest.mark.parametrize("same_shard", [True, False], ids=["one-script", "claim-then-create"])


@PATHS
def test_a_key_used_from_node_then_python_is_one_job(
    make_node: Any, py_ids: Any, client: Any, same_shard: bool
) -> None:
    shard = KEYS.key_shard(KEY)
    js = make_node(ids=_prefix_in(shard, same_shard, "n"))
    made = js("keyed", via="create", timeout=60, options={"key": KEY, "data": {"n": 1}, "name": "order"})
    job_id = made["value"]["id"]
    assert (KEYS.shard_of(job_id) == shard) is same_shard  # the path asked for
    assert made["existed"] is False and made["key"] == made["value"]["key"] == KEY
    _entry_follows(client, KEY, job_id)
    before = snapshot(client)
    # Python's new id falls on the other path: it finds the key all the same
    again = py_ids([_id_in(shard, not same_shard, "p")]).create(60, key=KEY, data={"n": 2})
    assert again.id == job_id and again.existed is True
    assert again.input == {"n": 1} and again.name == "order" and again.key == KEY
    assert snapshot(client) == before
    third = js("keyed", via="create", timeout=60, options={"key": KEY})
    assert third["existed"] is True and third["value"]["id"] == job_id
    assert snapshot(client) == before
    assert js("get", id=job_id) == as_json(again.get_value())  # `key` shown alike


@PATHS
def test_a_key_used_from_python_then_node_is_one_job(
    make_node: Any, py_ids: Any, client: Any, same_shard: bool
) -> None:
    shard = KEYS.key_shard(KEY)
    job = py_ids([_id_in(shard, same_shard, "p")]).create(60, key=KEY, data=[1, "é"])
    assert job.existed is False
    _entry_follows(client, KEY, job.id)
    before = snapshot(client)
    js = make_node(ids=_prefix_in(shard, not same_shard, "n"))
    found = js("keyed", via="create", timeout=60, options={"key": KEY, "data": "other"})
    assert found["existed"] is True and found["value"]["id"] == job.id
    assert found["value"] == as_json(job.get_value())
    assert snapshot(client) == before
    pushed = js("keyed", via="push", data=1, options={"queue": "q", "timeout": 60, "key": KEY})
    assert pushed["existed"] is True and pushed["value"]["id"] == job.id  # create and push share keys
    assert snapshot(client) == before


def test_push_with_a_key_from_node_is_popped_from_python(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    made = js(
        "keyed",
        via="push",
        data={"file": "a.csv"},
        options={"queue": "import", "timeout": 60, "key": "import-a"},
    )
    assert made["existed"] is False and made["value"]["queue"] == "import"
    assert py.queued("import") == js("queued", queue="import") == 1
    before = snapshot(client)
    again = py.push({"file": "b.csv"}, queue="import", timeout=60, key="import-a")
    assert again.id == made["value"]["id"] and again.existed is True
    assert js("keyed", via="push", data=2, options={"queue": "import", "timeout": 60, "key": "import-a"})[
        "existed"
    ]
    assert snapshot(client) == before  # not queued twice, no wake-up token either
    popped = py.pop_and_start("import")
    assert popped is not None and popped.id == made["value"]["id"]
    assert popped.input == {"file": "a.csv"} and popped.key == "import-a"
    assert py.pop_and_start("import") is None
    found = js("keyed", via="push", data=3, options={"queue": "import", "timeout": 60, "key": "import-a"})
    assert (
        found["existed"] is True and found["value"]["state"] == "running"
    )  # the live job, whatever its state


def test_different_keys_make_different_jobs_on_both_paths(
    make_node: Any, py: jobbertrack.Handler, client: Any
) -> None:
    js = make_node(ids="many-")  # many-1, many-2, ...
    keys = [f"key-{i}" for i in range(20)]
    made = [js("keyed", via="create", timeout=60, options={"key": k}) for k in keys]
    ids = [m["value"]["id"] for m in made]
    assert len(set(ids)) == 20 and not any(m["existed"] for m in made)
    same = [KEYS.key_shard(k) == KEYS.shard_of(i) for k, i in zip(keys, ids, strict=True)]
    assert any(same) and not all(same)  # both paths were taken
    for k, i in zip(keys, ids, strict=True):
        _entry_follows(client, k, i)
    before = snapshot(client)
    again = [py.create(60, key=k) for k in keys]
    assert [j.id for j in again] == ids and all(j.existed for j in again)
    assert [js("keyed", via="create", timeout=60, options={"key": k})["value"]["id"] for k in keys] == ids
    assert snapshot(client) == before
    assert js("keyed", via="create", timeout=60)["existed"] is False  # without a key: a new job every time
    assert sum(py.counts().values()) == 21


def test_the_plan_s_turns_are_taken_alike(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    """A claim whose job was never made, a deleted job and an entry naming
    a job made without the key: Node takes Python's turns."""
    client.set(KEYS.key_entry("orphan"), "claimed-id", px=60_000)
    made = js("keyed", via="create", timeout=60, options={"key": "orphan", "data": 7})
    assert made["value"]["id"] == "claimed-id" and made["existed"] is False and made["value"]["input"] == 7
    assert py.create(60, key="orphan").existed is True
    _entry_follows(client, "orphan", "claimed-id")

    job = py.create(60, key="gone")
    py.delete(job.id)
    fresh = js("keyed", via="create", timeout=60, options={"key": "gone"})
    assert fresh["value"]["id"] != job.id and fresh["existed"] is False
    _entry_follows(client, "gone", fresh["value"]["id"])
    assert py.status(job.id) == "deleted"  # the dead id is not made again

    other = py.create(60)
    client.set(KEYS.key_entry("odd"), other.id, px=60_000)
    odd = js("keyed", via="push", data=1, options={"queue": "q", "timeout": 60, "key": "odd"})
    assert odd["value"]["id"] != other.id and odd["existed"] is False
    _entry_follows(client, "odd", odd["value"]["id"])
    assert py.create(60, key="odd").id == odd["value"]["id"]


BAD_KEYS = [42, 1.5, True, [1], "", "x" * 201, "tab\there", "nul\0", "new\nline", "\ud800", "zero\u200bwidth"]


@pytest.mark.parametrize(
    "key",
    BAD_KEYS,
    ids=["int", "float", "bool", "list", "empty", "long", "tab", "nul", "nl", "surrogate", "zwsp"],
)
def test_bad_keys_are_refused_alike_and_nothing_is_written(
    js: NodeDriver, py: jobbertrack.Handler, client: Any, key: Any
) -> None:
    py.create(60)  # the layout stamp is written by then
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData) as info:
        py.create(60, key=key)
    for via, request in [("create", {"timeout": 60}), ("push", {"data": 1})]:
        refused = js.error("keyed", via=via, options={"key": key, "queue": "q", "timeout": 60}, **request)
        assert (refused["name"], refused["message"]) == ("InvalidData", str(info.value)), via
        assert refused["isJobberTrackError"]
    assert snapshot(client) == before


def test_a_refused_keyed_create_writes_nothing(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    py.create(60)
    before = snapshot(client)
    refusals = [
        ({"via": "create", "timeout": -1, "options": {"key": "k"}}, lambda: py.create(-1, key="k")),
        (
            {"via": "push", "data": 1, "options": {"queue": "q", "timeout": 1, "delay": 2, "key": "k"}},
            lambda: py.push(1, queue="q", timeout=1, delay=2, key="k"),
        ),
        (
            {"via": "create", "timeout": 60, "options": {"key": "k", "name": "n" * 1025}},
            lambda: py.create(60, key="k", name="n" * 1025),
        ),
    ]
    for request, python in refusals:
        with pytest.raises(jobbertrack.JobberTrackError) as info:
            python()
        refused = js.error("keyed", **request)
        assert refused["name"] == type(info.value).__name__, request
    assert snapshot(client) == before
    longest = js("keyed", via="create", timeout=60, options={"key": "x" * 200})
    assert longest["existed"] is False and py.create(60, key="x" * 200).id == longest["value"]["id"]
