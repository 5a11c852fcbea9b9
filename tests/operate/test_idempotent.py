"""Idempotent create (issue 26): ``create(..., key=K)`` and ``push(...,
key=K)`` make at most one live job per key, on every backend and layer."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.keys import Keyspace
from tests.helpers import all_keys, expire_together, wait_for

KEYS = Keyspace()


def snapshot(client: Any) -> dict[bytes, tuple[Any, ...]]:
    """Every key with its serialized value and whether it expires: what a
    call that writes nothing leaves exactly as it was."""
    return {k: (client.dump(k), client.pttl(k) > 0) for k in all_keys(client)}


def _factory(layer: str, ids: list[str]) -> Any:
    """A resource factory handing out ``ids`` in turn."""
    base = jobbertrack.ResourceFactory if layer == "sync" else jobbertrack.aio.ResourceFactory
    given = iter(ids)

    class Chosen(base):  # type: ignore[misc, valid-type]
        def create(self, client: Any) -> Any:
            return self.resource_class(client, next(given))

    return Chosen()


def _id_in(shard: int, inside: bool, prefix: str) -> str:
    """An id whose shard is ``shard`` (``inside``) or any other."""
    n = 0
    while (KEYS.shard_of(f"{prefix}{n}") == shard) != inside:
        n += 1
    return f"{prefix}{n}"


def test_the_same_key_twice_is_the_same_job_and_writes_nothing(track: Any, client: Any) -> None:
    first = track.create(60, key="order-42", data={"n": 1}, name="order")
    assert first.existed is False
    assert first.key == "order-42" and first.get_value()["key"] == "order-42"
    before = snapshot(client)
    again = track.create(60, key="order-42", data={"n": 2})
    assert again.id == first.id and again.existed is True
    assert again.input == {"n": 1} and again.name == "order"  # the first call's job, as it was
    assert snapshot(client) == before
    assert track.get(first.id).existed is False  # a plain read never says so
    assert sum(track.counts().values()) == 1


@pytest.mark.parametrize("same_shard", [True, False], ids=["one-script", "claim-then-create"])
def test_both_paths_point_the_key_at_the_job_for_its_lifetime(
    make_handler: Any, layer: str, client: Any, same_shard: bool
) -> None:
    shard = KEYS.key_shard("k")
    # the second call's new id falls on the other path: it finds the key by a
    # claim, or by the create script that would claim it, and writes nothing
    ids = [_id_in(shard, same_shard, "a"), _id_in(shard, not same_shard, "b")]
    track = make_handler(_factory(layer, ids))
    job = track.create(60, key="k")
    assert job.id == ids[0] and job.existed is False
    entry = KEYS.key_entry("k")
    assert client.get(entry) == ids[0].encode()
    assert expire_together(client, entry, KEYS.job_key(ids[0]))  # expires with the record
    before = snapshot(client)
    assert track.create(60, key="k").id == ids[0]
    assert snapshot(client) == before


def test_push_with_a_key(track: Any, client: Any) -> None:
    job = track.push({"file": "a.csv"}, queue="import", timeout=60, key="import-a")
    assert job.existed is False and track.queued("import") == 1
    before = snapshot(client)
    again = track.push({"file": "a.csv"}, queue="import", timeout=60, key="import-a")
    assert again.id == job.id and again.existed is True
    assert snapshot(client) == before  # not queued twice, no wake-up token either
    assert track.queued("import") == 1
    assert track.pop_and_start("import").id == job.id
    assert track.push({"file": "a.csv"}, queue="import", timeout=60, key="import-a").existed is True


def test_create_and_push_share_the_keys(track: Any) -> None:
    made = track.create(60, key="shared")
    assert track.push(1, queue="q", timeout=60, key="shared").id == made.id
    assert track.queued("q") == 0


def test_different_keys_make_different_jobs(track: Any) -> None:
    jobs = [track.create(60, key=f"key-{i}") for i in range(20)]
    assert len({job.id for job in jobs}) == 20
    assert not any(job.existed for job in jobs)
    assert [track.create(60, key=f"key-{i}").id for i in range(20)] == [job.id for job in jobs]
    assert track.create(60).existed is False  # without a key: a new job every time
    assert sum(track.counts().values()) == 21


def test_the_key_is_released_when_the_record_expires(track: Any, client: Any) -> None:
    job = track.create(0.3, key="short")
    entry = KEYS.key_entry("short")
    wait_for(lambda: not client.exists(entry), limit=10)
    assert not client.exists(KEYS.job_key(job.id))  # the two go together
    fresh = track.create(60, key="short")
    assert fresh.id != job.id and fresh.existed is False
    assert client.get(entry) == fresh.id.encode()


def test_a_key_whose_job_was_deleted_points_at_a_new_job(track: Any, client: Any) -> None:
    job = track.create(60, key="gone")
    track.delete(job.id)
    fresh = track.create(60, key="gone")
    assert fresh.id != job.id and fresh.existed is False
    assert client.get(KEYS.key_entry("gone")) == fresh.id.encode()
    assert track.status(job.id) == "deleted"  # the dead id is not made again


def test_a_claim_whose_job_was_never_made_is_made_by_the_next_caller(track: Any, client: Any) -> None:
    """The claimer died between its two steps: the entry names an id with
    no record and nothing remembering it; the next caller makes that job."""
    client.set(KEYS.key_entry("orphan"), "claimed-id", px=60_000)
    job = track.create(60, key="orphan", data=7)
    assert job.id == "claimed-id" and job.existed is False and job.input == 7
    assert track.create(60, key="orphan").existed is True
    assert abs(client.pttl(KEYS.key_entry("orphan")) - client.pttl(KEYS.job_key(job.id))) <= 5


def test_an_entry_naming_a_job_made_without_the_key_is_pointed_elsewhere(track: Any, client: Any) -> None:
    other = track.create(60)
    client.set(KEYS.key_entry("odd"), other.id, px=60_000)
    job = track.create(60, key="odd")
    assert job.id != other.id and job.existed is False
    assert client.get(KEYS.key_entry("odd")) == job.id.encode()


@pytest.mark.parametrize(
    "key",
    [b"bytes", 42, "", "x" * 201, "tab\there", "nul\0", "new\nline", "\ud800"],
    ids=["bytes", "int", "empty", "long", "tab", "nul", "newline", "surrogate"],
)
def test_bad_keys_are_refused_and_nothing_is_written(track: Any, client: Any, key: Any) -> None:
    track.create(60)  # the layout stamp is written by then
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData):
        track.create(60, key=key)
    with pytest.raises(jobbertrack.InvalidData):
        track.push(1, queue="q", timeout=60, key=key)
    assert snapshot(client) == before


def test_a_refused_keyed_create_writes_nothing(track: Any, client: Any) -> None:
    track.create(60)
    before = snapshot(client)
    with pytest.raises(jobbertrack.InvalidData):
        track.create(60, key="k", data=object())
    with pytest.raises(jobbertrack.InvalidTimeout):
        track.create(-1, key="k")
    with pytest.raises(jobbertrack.JobberTrackError):
        track.push(1, queue="q", timeout=1, delay=2, key="k")
    assert snapshot(client) == before
    assert track.create(60, key="x" * 200).existed is False  # the longest key


# -- the race: 16 processes, 100 keys -----------------------------------------


def _racer(url: str, layer: str, barrier: Any, results: Any) -> None:
    """One process: create(key=f"k{i}") for i in 0..99, each as soon as all
    16 are ready; sends back {key: (id, existed)}."""
    import asyncio

    got: dict[str, tuple[str, bool]] = {}
    if layer == "sync":
        track = jobbertrack.Handler(jobbertrack.connect(url))
        barrier.wait()
        for i in range(100):
            job = track.create(600, key=f"k{i}", data=i)
            got[f"k{i}"] = (job.id, job.existed)
    else:

        async def main() -> None:
            atrack = jobbertrack.aio.Handler(jobbertrack.aio.connect(url))
            barrier.wait()
            jobs = await asyncio.gather(*(atrack.create(600, key=f"k{i}", data=i) for i in range(100)))
            got.update({f"k{i}": (job.id, job.existed) for i, job in enumerate(jobs)})

        asyncio.run(main())
    results.put(got)


@pytest.mark.slow
def test_sixteen_processes_racing_on_a_hundred_keys_make_one_job_per_key(backend: Any, client: Any) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(16), ctx.Queue()
    layers = ["sync", "async"] * 8  # both layers race each other
    procs = [ctx.Process(target=_racer, args=(backend.url, layer, barrier, results)) for layer in layers]
    for p in procs:
        p.start()
    try:
        got = [results.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    track = jobbertrack.Handler(client)
    for i in range(100):
        ids = {g[f"k{i}"][0] for g in got}
        assert len(ids) == 1, (i, ids)  # every process got the one job of the key
        assert sorted(g[f"k{i}"][1] for g in got) == [False] + [True] * 15  # made once
        assert track.get(ids.pop()).input == i
    assert sum(track.counts().values()) == 100  # exactly one job per key
    assert len(all_keys(client, "jt:{*}:key:*")) == 100
