"""Delete and clean (issue 22)."""

from __future__ import annotations

from typing import Any

import pytest

from jobbertrack import JobberTrackError, JobNotFound
from tests.helpers import all_keys


def test_delete_removes_every_trace_but_a_tombstone(track: Any, client: Any) -> None:
    job = track.push({"n": 1}, queue="q", timeout=60)
    assert track.delete(job.id) is True
    assert track.get(job.id) is None
    assert track.status(job.id) == "deleted"
    assert track.queued("q") == 0 and track.pop_and_start("q") is None
    assert sum(track.counts().values()) == 0
    assert not all_keys(client, f"*job:{job.id}")
    assert track.delete(job.id) is False


def test_a_worker_of_a_deleted_job_gets_not_found(track: Any) -> None:
    job = track.create(30)
    job.start(lease=30)
    track.delete(job.id)
    with pytest.raises(JobNotFound):
        job.heartbeat()
    with pytest.raises(JobNotFound):
        job.finish(1)
    assert track.status(job.id) == "deleted"


def test_delete_of_an_unknown_job_is_false(track: Any) -> None:
    assert track.delete("never-made") is False


def test_clean_deletes_ended_jobs_older_than_asked(track: Any) -> None:
    done = track.create_many(5, 60)
    for job in done:
        job.start()
        job.finish(1)
    other = track.create(60)
    other.start()
    other.fail()
    assert track.clean("finished", older_than=3600) == 0
    assert track.clean("finished", older_than=0, limit=2) == 2
    assert track.counts()["finished"] == 3
    assert track.clean("finished", older_than=0) == 3
    assert track.counts() == {**{s: 0 for s in track.counts()}, "failed": 1}


def test_clean_refuses_a_state_that_has_not_ended(track: Any) -> None:
    with pytest.raises(JobberTrackError):
        track.clean("running", older_than=0)
