"""Jobs made before the finding indexes existed (issue 26) are put into them
by ``sweep()``: listed, counted and found by name, tag and queue after it."""

from __future__ import annotations

from typing import Any

from tests.helpers import all_keys

INDEXES = (b":created", b":tag:", b":tally:", b":names", b":meta", b":inqueue:", b":indexed")


def _forget_indexes(client: Any) -> None:
    """What a namespace written by an older version looks like: no finding index."""
    for key in all_keys(client, "*"):
        if any(part in key for part in INDEXES):
            client.delete(key)


def test_sweep_indexes_the_jobs_made_before_the_indexes(track: Any, client: Any) -> None:
    jobs = [track.push(i, queue="q", timeout=60, name=f"old-{i}", tags=["x"]) for i in range(30)]
    plain = [track.create(60, name="plain") for _ in range(5)]
    for job in jobs[:4]:
        job.start()
    _forget_indexes(client)
    assert track.list() == [] and track.count(tag="x") == 0  # what the upgrade found
    jobs[10].start()  # a job moved since the upgrade: in its state's index, not the others
    track.sweep()
    listed = [j.id for j in track.list(limit=100)]
    assert sorted(listed) == sorted(j.id for j in jobs + plain)
    assert track.count(tag="x") == 30 and track.count("running", tag="x") == 5
    assert track.count(queue="q") == 30 and track.count("waiting", queue="q") == 25
    assert {j.id for j in track.list(name="old-1", limit=100)} == {
        j.id for j in jobs if j.name.startswith("old-1")
    }
    assert {j.id for j in track.list("running", tag="x")} == {j.id for j in [*jobs[:4], jobs[10]]}
    track.sweep()  # again: nothing counted twice
    assert track.count(tag="x") == 30 and track.count("running", queue="q") == 5
