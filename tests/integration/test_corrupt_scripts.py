"""Scripts check every field they rely on before their first write: a
malformed one (written by another client, an operator or a bad restore) is
refused with ``{'corrupt', field}`` and no key of the job's shard changes.

The scripts are called as another client would call them (EVAL of the
files as they are on disk, see docs/data-model.md), and through the public
moves, which raise ``CorruptRecord``.  Each job is a running job with a
lease and a maximum run time, both run out: the case where settling it
used to write ``state=failed`` and then fail on a bad ``expires``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.calls import Call, Commands
from jobbertrack._core.keys import Keyspace
from jobbertrack._scripts import is_compile_error, source
from tests.helpers import all_keys

KEYS = Keyspace()
COMMANDS = Commands(KEYS)
#: Where each key is in a script's KEYS (0-based), by its name after the hash tag.
KEYS_AT = {key.split("}:", 1)[1]: i for i, key in enumerate(KEYS.job_keys("j"))}

#: Expiries may tick down between two snapshots by this much (ms).
PTTL_SLACK_MS = 5_000


def _content(client: Any, key: bytes) -> Any:
    """DUMP of ``key``; for a hash its sorted fields instead: a large hash's
    DUMP lists its fields in the order of Redis' dict, which rehashing may
    change without any write."""
    if client.type(key) == b"hash":
        return sorted(client.hgetall(key).items())
    return client.dump(key)


def shard_snapshot(client: Any, job_id: str, keyspace: Keyspace = KEYS) -> dict[bytes, tuple[Any, int]]:
    """Every key of ``job_id``'s shard (the keys carrying its hash tag):
    key -> (content, PTTL).  Not `indexed`, a sweep's own mark of how far it
    put older jobs into the finding indexes (reindex.lua)."""
    job_key = keyspace.job_key(job_id)
    prefix = job_key[: job_key.index("}") + 1]  # <ns>:{<tag>}
    keys = sorted(k for k in all_keys(client, prefix + ":*") if not k.endswith(b":indexed"))
    return {key: (_content(client, key), client.pttl(key)) for key in keys}


def assert_unchanged(before: dict[bytes, tuple[Any, int]], after: dict[bytes, tuple[Any, int]]) -> None:
    """The same keys with the same content; expiries only ticked down."""
    assert sorted(after) == sorted(before)
    for key, (dump, pttl) in before.items():
        dump_after, pttl_after = after[key]
        assert dump_after == dump, f"{key!r} changed"
        if pttl < 0:
            assert pttl_after == pttl, f"{key!r} gained an expiry"
        else:
            assert 0 <= pttl - pttl_after <= PTTL_SLACK_MS, (
                f"{key!r}: expiry moved from {pttl} to {pttl_after}"
            )


def run_raw(client: Any, call: Call) -> Any:
    """EVAL of ``call``'s script as the files are on disk (Redis >= 7 with
    its ``#!lua`` header, else without), as a client in another language."""
    try:
        return client.eval(source(call.script, True), len(call.keys), *call.keys, *call.args)
    except Exception as exc:
        if not is_compile_error(exc):
            raise
    return client.eval(source(call.script, False), len(call.keys), *call.keys, *call.args)


def overdue_job(track: Any, client: Any, keys: Keyspace = KEYS, *, later: bool = False) -> str:
    """A running job with a lease and a maximum run time, both run out (its
    `due` entry too): any script that reads it would fail it (if its record
    were sound).  ``later``: due a minute after the others."""
    job = track.create(600)
    job.start(lease=30, max_runtime=60)
    key = keys.job_key(job.id)
    past = int(client.hget(key, "started")) - (60_000 if later else 120_000)
    client.hset(key, mapping={"started": past, "beat": past})
    client.zadd(keys.job_keys(job.id)[1], {job.id: past + 30_000})
    return str(job.id)


#: (field, value): None deletes the field.  Each is malformed for a running
#: job with a lease and a maximum run time (so `started` and `beat` are
#: needed too).
MALFORMED = [
    ("state", "bogus"),
    ("state", ""),
    ("state", "running "),
    ("state", None),
    ("created", "yesterday"),
    ("created", None),
    ("expires", "soon"),
    ("expires", ""),
    ("expires", None),
    ("expires", "1e12"),
    ("expires", "nan"),
    ("expires", "9" * 30),
    ("started", "12.5"),
    ("started", None),
    ("lease", "inf"),
    ("lease", "0x10"),
    ("max_runtime", " 5"),
    ("max_runtime", "-"),
    ("beat", "\xff"),
    ("beat", None),
]
MALFORMED_IDS = [f"{f}={v!r}" for f, v in MALFORMED]


def corrupt(client: Any, job_id: str, field: str, value: str | None) -> None:
    key = KEYS.job_key(job_id)
    if value is None:
        client.hdel(key, field)
    else:
        client.hset(key, field, value.encode("utf-8", "surrogateescape") if value != "\xff" else b"\xff")


#: One call of every job script (the shard scripts read no hash).
SCRIPT_CALLS: dict[str, Callable[[str], Call]] = {
    "get": COMMANDS.get,
    "status": COMMANDS.status,
    "settle": COMMANDS.settle,
    "heartbeat": COMMANDS.touch,
    "progress": lambda i: COMMANDS.touch(i, {"current": 1, "total": None, "message": None}),
    "finish": lambda i: COMMANDS.transition(i, jobbertrack.State.FINISHED, data={"x": 1}),
    "fail": lambda i: COMMANDS.transition(
        i, jobbertrack.State.FAILED, error={"reason": "error", "message": "m"}
    ),
}


@pytest.mark.parametrize(("field", "value"), MALFORMED, ids=MALFORMED_IDS)
@pytest.mark.parametrize("script", sorted(SCRIPT_CALLS))
def test_a_script_refuses_a_malformed_field_and_writes_nothing(
    client: Any, script: str, field: str, value: str | None
) -> None:
    track = jobbertrack.Handler(client)
    job_id = overdue_job(track, client)
    corrupt(client, job_id, field, value)
    before = shard_snapshot(client, job_id)
    reply = run_raw(client, SCRIPT_CALLS[script](job_id))
    assert reply == [b"corrupt", field.encode()]
    assert_unchanged(before, shard_snapshot(client, job_id))


@pytest.mark.parametrize("script", ["finish", "fail", "heartbeat", "progress", "get", "status"])
def test_a_waiting_job_with_an_unknown_state_is_refused(client: Any, script: str) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(600)
    corrupt(client, job.id, "state", "paused")  # a state of a future version
    before = shard_snapshot(client, job.id)
    assert run_raw(client, SCRIPT_CALLS[script](job.id)) == [b"corrupt", b"state"]
    assert_unchanged(before, shard_snapshot(client, job.id))


def _start(job: Any) -> Any:
    return job.start(lease=10)


MOVES: dict[str, Callable[[Any], Any]] = {
    "start": _start,
    "heartbeat": lambda job: job.heartbeat(),
    "set_progress": lambda job: job.set_progress(1, 2),
    "finish": lambda job: job.finish({"ok": True}),
    "fail": lambda job: job.fail("boom"),
}


@pytest.mark.parametrize(("field", "value"), MALFORMED[::2], ids=MALFORMED_IDS[::2])
@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_move_on_a_malformed_record_raises_corrupt_record(
    track: Any, client: Any, move: str, field: str, value: str | None
) -> None:
    job_id = overdue_job(track, client)
    job = track.get(job_id)
    corrupt(client, job_id, field, value)
    before = shard_snapshot(client, job_id)
    with pytest.raises(jobbertrack.CorruptRecord) as caught:
        MOVES[move](job)
    assert (caught.value.job_id, caught.value.field) == (job_id, field)
    assert isinstance(caught.value, jobbertrack.JobberTrackError)
    assert_unchanged(before, shard_snapshot(client, job_id))


def test_sweep_skips_a_malformed_job_logs_it_once_and_settles_the_rest(
    track: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bad = overdue_job(track, client)
    good = [overdue_job(track, client) for _ in range(3)]
    corrupt(client, bad, "expires", "soon")
    before = shard_snapshot(client, bad)
    with caplog.at_level(logging.WARNING, logger="jobbertrack"):
        assert track.sweep() == 3
    assert [track.get(i).state for i in good] == ["failed"] * 3
    # the malformed job stays where it was: running, in the running index and in `due`
    assert client.hget(KEYS.job_key(bad), "state") == b"running"
    due_key, running_key = KEYS.job_keys(bad)[1], KEYS.job_keys(bad)[KEYS_AT["idx:running"]]
    assert client.zscore(due_key, bad) is not None and client.zscore(running_key, bad) is not None
    if KEYS.shard_of(bad) not in {KEYS.shard_of(i) for i in good}:
        assert_unchanged(before, shard_snapshot(client, bad))
    logged = [r.getMessage() for r in caplog.records if r.name == "jobbertrack"]
    assert len([m for m in logged if bad in m]) == 1
    assert "expires" in next(m for m in logged if bad in m)
    assert track.sweep() == 0  # and again: still skipped, nothing else to do


def test_sweep_passes_over_malformed_jobs_that_fill_a_page(client: Any) -> None:
    """The malformed jobs stay in `due` ahead of the others: the next scan of
    their shard passes over them (ARGV[8] of sweep.lua)."""
    keys = Keyspace("pg", 1)
    commands = Commands(keys)
    track = jobbertrack.Handler(client, namespace="pg", shards=1)
    bad = [overdue_job(track, client, keys) for _ in range(3)]
    good = overdue_job(track, client, keys, later=True)
    for job_id in bad:
        client.hset(keys.job_key(job_id), "lease", "soon")
    from jobbertrack._core.sweeping import SweepPlan

    plan = SweepPlan(commands, page=2)
    calls = plan.scan_calls()
    while calls:
        plan.after_settle([run_raw(client, c) for c in plan.after_scan([run_raw(client, c) for c in calls])])
        calls = plan.scan_calls()
    assert plan.failed == 1 and sorted(plan.corrupt) == sorted(bad)
    assert set(plan.corrupt.values()) == {"lease"}
    assert client.hget(keys.job_key(good), "state") == b"failed"


def test_count_and_list_read_past_malformed_records_and_odd_scores(track: Any, client: Any) -> None:
    """count and list read only the indexes (and `due`): a malformed hash,
    an infinite score or a `due` entry without an index entry break neither."""
    jobs = [overdue_job(track, client) for _ in range(3)]
    corrupt(client, jobs[0], "state", "bogus")
    corrupt(client, jobs[1], "expires", None)
    job_keys = KEYS.job_keys(jobs[2])
    client.zadd(job_keys[KEYS_AT["idx:running"]], {"forever": "inf"})
    client.zadd(job_keys[1], {"forever": 0, "orphan": 0})
    for shard in range(KEYS.shards):
        counts = run_raw(client, Call("count", KEYS.shard_keys(shard), ()))
        assert len(counts) == len(jobbertrack.State) and all(isinstance(n, int) for n in counts)
        reply = run_raw(
            client, Call("list", KEYS.shard_keys(shard), ("waiting running failed finished", 10, ""))
        )
        assert len(reply) == 2
