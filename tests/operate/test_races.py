"""Operator actions racing with workers, 200 jobs each, in separate
processes (issue 22): exactly one side wins each job, the loser gets the
documented error, each job has exactly the events of what happened, and
the state indexes match the records."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from typing import Any

import jobbertrack
import jobbertrack.aio
from tests.helpers import all_keys

N_JOBS = 200


def _events(client: Any) -> dict[str, list[str]]:
    """Each job's event states, oldest first, from every shard's stream."""
    out: dict[str, list[tuple[bytes, str]]] = {}
    for key in all_keys(client, "jt:*:events"):
        for entry_id, fields in client.xrange(key):
            ms, _, seq = entry_id.decode().partition("-")
            out.setdefault(fields[b"job"].decode(), []).append(
                ((int(ms), int(seq)), fields[b"state"].decode())
            )
    return {job: [s for _, s in sorted(steps)] for job, steps in out.items()}


def _indexes_match(client: Any, track: jobbertrack.Handler, ids: list[str]) -> None:
    members: dict[str, list[str]] = {}
    for state in jobbertrack.State:
        for key in all_keys(client, f"jt:*:idx:{state.value}"):
            for member in client.zrange(key, 0, -1):
                members.setdefault(member.decode(), []).append(state.value)
    for job_id in ids:
        job = track.get(job_id)
        assert members.get(job_id, []) == ([] if job is None else [job.state.value]), job_id


#: Tombstones kept per namespace: enough to remember every job a race deletes
#: (the default keeps 256 over 16 shards, 16 a shard: 200 deletes overflow some)
TOMBSTONES = 100_000


def _run(url: str, action: str, ids: list[str], go: Any, out: Any, label: str) -> None:
    try:
        out.put((label, _act(url, action, ids, go)))
    except BaseException as exc:  # the parent reports it rather than waiting for a result
        out.put((label, f"{type(exc).__name__}: {exc}"))
        raise


def _act(url: str, action: str, ids: list[str], go: Any) -> dict[str, str]:
    track = jobbertrack.Handler(jobbertrack.connect(url), max_tombstones=TOMBSTONES)
    jobs = {i: track.get(i) for i in ids}
    go.wait(60)  # a barrier: every side has read its jobs before any side acts
    results: dict[str, str] = {}
    for job_id in ids:
        try:
            if action == "cancel":
                track.cancel(job_id)
            elif action == "retry":
                track.retry(job_id)
            elif action == "delete":
                results[job_id] = "won" if track.delete(job_id) else "gone"
                continue
            else:
                getattr(jobs[job_id], action)(*(("result",) if action == "finish" else ()))
            results[job_id] = "won"
        except jobbertrack.JobCancelled:
            results[job_id] = "JobCancelled"
        except jobbertrack.InvalidTransition as exc:
            results[job_id] = f"InvalidTransition:{exc.current}"
        except jobbertrack.JobNotFound:
            results[job_id] = "JobNotFound"
    return results


def _race(backend: Any, ids: list[str], *actions: str) -> dict[str, dict[str, str]]:
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Barrier(len(actions)), ctx.Queue()
    labels = [a if actions.count(a) == 1 else f"{a}{n}" for n, a in enumerate(actions)]
    procs = [
        ctx.Process(target=_run, args=(backend.url, a, ids, go, out, k))
        for a, k in zip(actions, labels, strict=True)
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=100) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0, results
    return results


def test_cancel_races_finish(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    jobs = track.create_many(N_JOBS, 120)
    for job in jobs:
        job.start(lease=60)
    ids = [j.id for j in jobs]
    results = _race(backend, ids, "cancel", "finish")
    events = _events(client)
    for job_id in ids:
        cancel, finish = results["cancel"][job_id], results["finish"][job_id]
        state = track.get(job_id).state
        assert [cancel, finish].count("won") == 1, (cancel, finish)
        if cancel == "won":
            assert finish == "JobCancelled" and state == "cancelled"
        else:
            assert cancel == "InvalidTransition:finished" and state == "finished"
        assert events[job_id] == ["waiting", "running", state.value]
    assert sum(track.counts().values()) == N_JOBS
    _indexes_match(client, track, ids)


def test_cancel_races_pop(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    ids = [track.push({"n": i}, queue="race", timeout=120).id for i in range(N_JOBS)]
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Barrier(2), ctx.Queue()

    def pop_all(url: str) -> None:
        worker = jobbertrack.Handler(jobbertrack.connect(url))
        go.wait(60)
        popped = []
        while (job := worker.pop_and_start("race", lease=60)) is not None:
            popped.append(job.id)
        out.put(("pop", popped))

    procs = [
        ctx.Process(target=_run, args=(backend.url, "cancel", ids, go, out, "cancel")),
        ctx.Process(target=pop_all, args=(backend.url,)),
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=100) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    popped = Counter(results["pop"])
    assert all(n == 1 for n in popped.values())  # no job popped twice
    events = _events(client)
    for job_id in ids:
        assert results["cancel"][job_id] == "won"  # waiting and running both cancel
        assert track.get(job_id).state == "cancelled"
        expected = ["waiting", "running", "cancelled"] if job_id in popped else ["waiting", "cancelled"]
        assert events[job_id] == expected  # a job cancelled while waiting was never popped
    assert track.queued("race") == 0
    _indexes_match(client, track, ids)


def test_retry_races_retry(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client)
    jobs = track.create_many(N_JOBS, 120)
    for job in jobs:
        job.start()
        job.fail("boom")
    ids = [j.id for j in jobs]
    results = _race(backend, ids, "retry", "retry")
    events = _events(client)
    for job_id in ids:
        outcomes = sorted((results["retry0"][job_id], results["retry1"][job_id]))
        assert outcomes == ["InvalidTransition:waiting", "won"]
        job = track.get(job_id)
        assert job.state == "waiting" and job.get_value()["attempt"] == 2
        assert len(job.get_value()["attempts"]) == 1
        assert events[job_id] == ["waiting", "running", "failed", "waiting"]
    _indexes_match(client, track, ids)


def test_delete_races_finish(backend: Any, client: Any) -> None:
    track = jobbertrack.Handler(client, max_tombstones=TOMBSTONES)
    jobs = track.create_many(N_JOBS, 120)
    for job in jobs:
        job.start(lease=60)
    ids = [j.id for j in jobs]
    results = _race(backend, ids, "delete", "finish")
    events = _events(client)
    for job_id in ids:
        assert results["delete"][job_id] == "won"
        finish = results["finish"][job_id]
        assert finish in ("won", "JobNotFound")
        expected = ["waiting", "running"] + (["finished"] if finish == "won" else [])
        assert events[job_id] == expected
        assert track.get(job_id) is None and track.status(job_id) == "deleted"
    assert sum(track.counts().values()) == 0
    assert not all_keys(client, "jt:*:job:*")
    _indexes_match(client, track, ids)


async def test_asyncio_cancel_races_finish(client: Any, aclient: Any) -> None:
    track = jobbertrack.aio.Handler(aclient)
    jobs = await track.create_many(N_JOBS, 120)
    for job in jobs:
        await job.start()
    outcomes = await asyncio.gather(
        *(track.cancel(j.id) for j in jobs), *(j.finish(1) for j in jobs), return_exceptions=True
    )
    cancels, finishes = outcomes[:N_JOBS], outcomes[N_JOBS:]
    for job, cancel, finish in zip(jobs, cancels, finishes, strict=True):
        won = [not isinstance(r, BaseException) for r in (cancel, finish)]
        assert won.count(True) == 1
        state = (await track.get(job.id)).state
        if won[0]:
            assert isinstance(finish, jobbertrack.JobCancelled) and state == "cancelled"
        else:
            assert isinstance(cancel, jobbertrack.InvalidTransition) and cancel.current == "finished"
            assert state == "finished"
