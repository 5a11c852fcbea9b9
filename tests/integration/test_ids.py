"""Ids: default uniqueness and order, user factories, odd and refused ids."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.ids import new_id
from tests.helpers import all_keys


def _make_ids(n: int) -> list[str]:
    return [new_id() for _ in range(n)]


def test_default_ids_unique_across_processes_and_time_ordered() -> None:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        batches = pool.map(_make_ids, [25_000] * 4)
    everything = [i for batch in batches for i in batch]
    assert len(everything) == 100_000
    assert len(set(everything)) == 100_000
    for batch in batches:  # within a process: strictly increasing
        assert batch == sorted(batch)
        assert len(set(batch)) == len(batch)
    assert all(len(i) == 21 for i in everything)


class FixedIds(jobbertrack.ResourceFactory):
    """A user factory that only overrides create() to choose ids."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)

    def create(self, client: Any) -> jobbertrack.Resource:
        return jobbertrack.Resource(client, self.ids.pop(0))


class AsyncFixedIds(jobbertrack.aio.ResourceFactory):
    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)

    def create(self, client: Any) -> jobbertrack.aio.Resource:
        return jobbertrack.aio.Resource(client, self.ids.pop(0))


def _factory(layer: str, ids: list[str]) -> Any:
    return FixedIds(ids) if layer == "sync" else AsyncFixedIds(ids)


ODD_IDS = [
    "*",
    "a:b:c",
    "{x}",
    "}{",
    "{",
    "}",
    "{}",
    "jt:{0.13}:job:victim",
    "with spaces in it",
    "żółw-🐢-日本",
    "a" * 512,
    "?[]^\\'\"",
]


@pytest.mark.parametrize("odd", ODD_IDS, ids=range(len(ODD_IDS)))
def test_user_ids_with_odd_characters(make_handler: Any, layer: str, client: Any, odd: str) -> None:
    victim_track = make_handler(_factory(layer, ["victim"]))
    victim = victim_track.create(30)
    victim.start()
    track = make_handler(_factory(layer, [odd]))
    job = track.create(30)
    assert job.id == odd
    job.start()
    job.finish(odd)
    loaded = track.get(odd)
    assert loaded.id == odd and loaded.data == odd and loaded.state == "finished"
    assert track.get("victim").state == "running"  # untouched
    job_keys = [k for k in all_keys(client, "jt:*:job:*")]
    assert len(job_keys) == 2
    assert all(k.startswith(b"jt:{") for k in all_keys(client, "*"))


def test_namespaces_are_separate(make_handler: Any, layer: str, backend: Any) -> None:
    from tests.conftest import AclServer

    names = ("jt", "jt2") if isinstance(backend, AclServer) else ("a", "b")
    a = make_handler(_factory(layer, ["same"]), namespace=names[0])
    b = make_handler(_factory(layer, ["same"]), namespace=names[1])
    ja = a.create(30)
    if isinstance(backend, AclServer):  # its user may touch `jt:*` keys only
        with pytest.raises(jobbertrack.RedisCommandError, match="permission"):
            b.create(30)
        admin = backend.client()
        try:
            assert all(k.startswith(b"jt:{") for k in admin.keys("*"))
        finally:
            admin.close()
        return
    jb = b.create(30)
    ja.start()
    assert b.get("same").state == "waiting"
    jb.start()
    jb.finish("b")
    assert a.get("same").state == "running"


def test_factory_overriding_create_works_through_the_handler(make_handler: Any, layer: str) -> None:
    track = make_handler(_factory(layer, ["mine-1", "mine-2"]))
    one = track.create(30)
    two = track.create(30)
    assert (one.id, two.id) == ("mine-1", "mine-2")
    one.start()
    one.finish(1)
    assert track.get("mine-1").data == 1
    assert isinstance(
        track.get("mine-2")._target if layer == "async" else track.get("mine-2"),
        jobbertrack.Resource if layer == "sync" else jobbertrack.aio.Resource,
    )


def test_a_factory_of_the_other_layer_is_refused_clearly(make_handler: Any, layer: str, client: Any) -> None:
    """A sync factory given to the asyncio handler (or the reverse) makes
    resources that cannot work there: a clear error, nothing written."""
    other = "async" if layer == "sync" else "sync"
    track = make_handler(_factory(other, ["mine-1"]))
    with pytest.raises(TypeError, match="base the factory on") as info:
        track.create(30)
    assert isinstance(info.value, jobbertrack.JobberTrackError)
    assert all_keys(client, "jt:*:job:*") == []  # nothing written


def test_duplicate_id_is_refused_and_the_job_left_alone(make_handler: Any, layer: str, client: Any) -> None:
    track = make_handler(_factory(layer, ["dup", "dup"]))
    first = track.create(60)
    first.start()
    key = all_keys(client, "jt:*:job:dup")[0]
    before = client.hgetall(key), client.pttl(key)
    with pytest.raises(jobbertrack.JobExists) as info:
        track.create(5)
    assert info.value.job_id == "dup"
    assert client.hgetall(key) == before[0]
    assert client.pttl(key) > 5_000
    assert track.get("dup").state == "running"


@pytest.mark.parametrize("bad", ["", "a" * 513, "line\nbreak", "tab\there", "\x00", "\ud800", 42, None])
def test_ids_that_cannot_be_stored_safely_are_refused(
    make_handler: Any, layer: str, client: Any, bad: Any
) -> None:
    track = make_handler(_factory(layer, [bad]))
    with pytest.raises((jobbertrack.InvalidJobId,)):
        track.create(30)
    assert client.dbsize() == 0
    with pytest.raises(jobbertrack.InvalidJobId):
        track.get(bad)
