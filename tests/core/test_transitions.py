"""The state table and everything that follows from it, without Redis: the
generated Lua layout, the KEYS of every call, counts and listings in table
order, the named metadata of calls, the one status-to-error mapping, and
the history drawn from a record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import jobbertrack
from jobbertrack._core import calls, fields, history, keys, listing, record, transitions
from jobbertrack._core.calls import Commands, error_for, not_found
from jobbertrack._core.events import ends_job
from jobbertrack._core.transitions import (
    ALIVE,
    ENTERED,
    FINAL,
    INITIAL,
    MOVE_INTO,
    MOVES,
    OUTSIDE,
    SOURCES,
    State,
)

LUA = Path(jobbertrack.__file__).resolve().parent / "_lua"


# -- the table -------------------------------------------------------------


def test_every_move_joins_states_and_says_why() -> None:
    for name, move in MOVES.items():
        assert name.isidentifier()  # the Resource method that makes it
        assert isinstance(move.target, State)
        assert move.sources and all(isinstance(s, State) for s in move.sources)
        assert move.target not in move.sources
        assert move.why.strip()
    for out in OUTSIDE:
        assert out.source is None or isinstance(out.source, State)
        assert isinstance(out.target, State) and out.where.strip() and out.why.strip()


def test_one_move_per_target() -> None:
    """``transition(job, target)`` names a move by its target."""
    assert len(MOVE_INTO) == len(MOVES)
    assert all(MOVE_INTO[m.target] is m for m in MOVES.values())
    assert {m.target: m.sources for m in MOVES.values()} == SOURCES


def test_final_states_are_the_ones_no_move_leaves() -> None:
    left = {s for m in MOVES.values() for s in m.sources}
    assert set(FINAL) == set(State) - left
    assert {State.FINISHED} == FINAL  # a retry leaves failed and cancelled
    assert [s for s in State if s.is_final] == [State.FAILED, State.FINISHED, State.CANCELLED]


def test_outside_moves_and_rules_are_consistent_with_the_table() -> None:
    assert INITIAL is State.WAITING and OUTSIDE[0].source is None
    assert INITIAL not in FINAL
    settle = next(o for o in OUTSIDE if o.name == "settle")
    assert (settle.source, settle.target) == (State.RUNNING, State.FAILED)
    assert {State.RUNNING} == ALIVE and not ALIVE & FINAL
    assert set(ENTERED) <= set(State) and INITIAL not in ENTERED  # create stamps `created`
    assert {ENTERED[s] for s in FINAL} == {"ended"}


def test_the_diagram_draws_every_move_and_every_outside_change() -> None:
    diagram = transitions.mermaid_diagram()
    for name, move in MOVES.items():
        for source in move.sources:
            assert f"    {source.value} --> {move.target.value}: {name}" in diagram
    assert "    [*] --> waiting: (create)" in diagram
    assert "    running --> failed: (settle)" in diagram
    for state in FINAL:
        assert f"    {state.value} --> [*]" in diagram


# -- the KEYS layout, in Python and in Lua ----------------------------------


def test_the_generated_lua_layout_is_current() -> None:
    """``_lua/_states.lua`` is what ``keys.states_lua()`` writes.  After a
    change of the states, regenerate it with the artifacts: ``make scripts``."""
    assert (LUA / "_states.lua").read_text(encoding="utf-8") == keys.states_lua()


def test_lua_positions_match_the_keys_python_sends() -> None:
    text = keys.states_lua()
    idx = dict(re.findall(r"(\w+) = (\d+)", re.search(r"local IDX = \{(.*)\}", text)[1]))  # type: ignore[index]
    assert list(idx) == [s.value for s in State]  # table order
    space = keys.Keyspace("ns", 4)
    job = space.job_keys("j1")
    shard = space.shard_keys(space.shard_of("j1"))
    assert len(job) == len(shard) == int(re.search(r"local NKEYS = (\d+)", text)[1])  # type: ignore[index]
    for state, pos in idx.items():
        assert job[int(pos) - 1].endswith(f":idx:{state}") and shard[int(pos) - 1] == job[int(pos) - 1]
    for i, name in enumerate(keys.SHARD_KEYS, 2):
        assert job[i - 1].endswith(":" + name) and shard[i - 1] == job[i - 1]
    assert job[0].endswith(":job:j1") and shard[0].endswith(":job:")
    assert keys.index_positions() == {State(s): int(p) for s, p in idx.items()}


def test_a_new_state_only_adds_keys_at_the_end() -> None:
    """The fixed keys come first and the state indexes last, so no key's
    position depends on the states and a new state appends its index."""
    text = keys.states_lua()
    assert "local JOB, DUE, EVENTS, TOMB, QUEUE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]" in text
    assert 1 + 1 + len(keys.SHARD_KEYS) == keys.FIRST_INDEX
    assert min(keys.index_positions().values()) == keys.FIRST_INDEX
    nkeys = int(re.search(r"local NKEYS = (\d+)", text)[1])  # type: ignore[index]
    assert max(keys.index_positions().values()) == nkeys == len(keys.Keyspace().job_keys("j"))


def test_every_script_uses_the_layout_not_numbers() -> None:
    """No script names a KEYS position past the fixed ones, nor loops over
    a range of them: they use JOB, DUE, EVENTS, TOMB, IDX[state] and NKEYS."""
    for path in LUA.glob("*.lua"):
        if path.name == "_states.lua":
            continue
        code = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        assert not re.search(r"KEYS\[\d", code), path.name
        assert not re.search(r"for \w+ = \d+, \d+ do", code), path.name
        assert "'idx:" not in code, path.name


def test_no_script_names_a_state_the_generated_table_is_the_only_place() -> None:
    """Redis holds the table: states are named in ``_states.lua`` only, so
    a new state or a changed move touches no hand-written script."""
    names = {s.value for s in State}
    for path in LUA.glob("*.lua"):
        if path.name == "_states.lua":
            continue
        code = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        quoted = set(re.findall(r"'([a-z_]+)'", code)) | set(re.findall(r"\.([a-z_]+)\b", code))
        assert not quoted & names, (path.name, quoted & names)


def test_every_script_opens_with_its_contract() -> None:
    for path in LUA.glob("*.lua"):
        if path.name.startswith("_"):
            continue
        head = path.read_text().split("\n\n")[0]
        directives, _, head = head.partition(f"-- {path.stem}:")  # the assembler's `--!` lines first
        assert all(line.startswith("--! ") for line in directives.splitlines()), path.name
        assert head, f"{path.name} does not open with `-- {path.stem}:`"
        assert "KEYS" in head and "_states.lua" in head, path.name
        assert "Returns" in head, path.name


# -- counts and listings follow the table -----------------------------------


def test_merge_counts_follows_the_table_order() -> None:
    n = len(State)
    replies = [list(range(1, n + 1)), [10 * i for i in range(1, n + 1)]]
    counts = listing.merge_counts(replies)
    assert list(counts) == [s.value for s in State]
    assert counts == {s.value: 11 * (i + 1) for i, s in enumerate(State)}


def test_listing_asks_for_states_by_name() -> None:
    space = keys.Keyspace("ns", 3)
    plan = listing.ListPlan(space, [State.RUNNING, State.FAILED], 10, None)
    first = plan.first_calls()
    assert len(first) == 3
    assert all(c.script == "list" and c.args[0] == "running failed" for c in first)
    assert [c.keys for c in first] == [space.shard_keys(s) for s in range(3)]
    assert listing.ListPlan(space, listing.states_of(None), 10, None).first_calls()[0].args[0] == " ".join(
        s.value for s in State
    )


def test_count_calls_carry_the_shard_layout() -> None:
    space = keys.Keyspace("ns", 2)
    assert [c.keys for c in listing.count_calls(space)] == [space.shard_keys(0), space.shard_keys(1)]


def test_a_job_ends_on_an_event_of_a_final_state_only() -> None:
    for state in State:
        assert ends_job({"job": "j", "state": state.value}) == state.is_final
        assert not ends_job({"job": "j", "state": state.value, "progress": "{}"})


# -- calls carry named metadata ---------------------------------------------


def test_a_transition_call_names_its_job_target_and_token() -> None:
    cmd = Commands(keys.Keyspace("ns", 4))
    for target, move in MOVE_INTO.items():
        call = cmd.transition("j1", target)
        assert (call.script, call.job_id, call.target) == ("transition", "j1", target.value)
        assert call.token and call.args[1] == call.token
        name = next(n for n, m in transitions.MOVES.items() if m is move)
        assert call.args[4:] == (name,)  # the move's name only: Redis holds the rest of its row
        assert call.clears == move.clears
        assert call.keys == cmd.keys.job_keys("j1")
    finish = cmd.transition("j1", State.FINISHED, data={"a": 1})
    assert finish.data == '{"a":1}' and finish.args[5] == finish.data and len(finish.args) == 6
    start = cmd.transition("j1", State.RUNNING, max_runtime_ms=5)
    assert start.args[4:] == ("start", "", "", "", 5)  # ARGV 6-9 cut after the last one given


def test_a_create_call_names_what_it_sets() -> None:
    cmd = Commands(keys.Keyspace("ns", 4))
    call = cmd.create("j1", 1000, data=[1], fields={"name": "nightly"})
    assert (call.job_id, call.target, call.sets) == ("j1", INITIAL.value, {"name": "nightly"})
    assert call.args[1] == call.token and call.data == "[1]"
    assert call.args[4:] == (1000, cmd.tomb_cap, cmd.cleanup_batch, "name", "nightly", "data", "[1]")
    bare = cmd.create("j2", 1000)
    assert bare.args[4:] == (1000, cmd.tomb_cap, cmd.cleanup_batch) and bare.data is None and not bare.sets


def test_create_many_calls_put_the_ids_last() -> None:
    cmd = Commands(keys.Keyspace("ns", 2))
    ids = [f"j{i}" for i in range(10)]
    batches = cmd.create_batches(ids, 500, fields={"name": "n"})
    assert sorted(i for shard_ids, _ in batches for i in shard_ids) == sorted(ids)
    for shard_ids, call in batches:
        assert call.args[-len(shard_ids) :] == tuple(shard_ids)
        assert call.args[4 : -len(shard_ids)] == (500, cmd.tomb_cap, cmd.cleanup_batch, "name", "n")
        assert len(call.keys) == len(keys.index_positions()) + keys.FIRST_INDEX - 1 + len(shard_ids)
        assert call.target == INITIAL.value and call.args[1] == call.token and call.sets == {"name": "n"}


def test_a_touch_call_passes_only_the_progress() -> None:
    """The states a job may be touched in are the table's (ALIVE, in Redis)."""
    cmd = Commands()
    beat = cmd.touch("j1")
    assert beat.args[4:] == () and beat.target == " or ".join(sorted(s.value for s in ALIVE))
    report = cmd.touch("j1", {"current": 1})
    assert report.args[4:] == ('{"current":1}',) and report.job_id == "j1"


def test_fields_set_at_create_are_checked_by_their_table() -> None:
    assert fields.create_fields({"name": "x"}) == {"name": "x"}
    assert fields.create_fields({"name": None}) == {}
    with pytest.raises(jobbertrack.JobberTrackError):
        fields.create_fields({"name": 3})
    with pytest.raises(jobbertrack.InvalidData):
        fields.create_fields({"name": "n" * (fields.MAX_NAME + 1)})
    # never a field the create scripts set themselves (they refuse those)
    assert not set(fields.CREATE_FIELDS) & {"state", "created", "expires", "token", "data"}
    assert record.to_value("j", {"state": "waiting", "name": "x"})["name"] == "x"


# -- one mapping from a status to an error ----------------------------------


@pytest.mark.parametrize(
    ("status", "known", "error"),
    [
        ("bad", False, jobbertrack.InvalidTransition),
        ("expired", False, jobbertrack.JobExpired),
        ("gone", True, jobbertrack.JobExpired),
        ("gone", False, jobbertrack.JobNotFound),
        ("unknown", False, jobbertrack.JobNotFound),
        ("exists", False, jobbertrack.JobExists),
        ("nonsense", False, jobbertrack.JobberTrackError),
    ],
)
def test_error_for_each_status(status: str, known: bool, error: type[Exception]) -> None:
    found = error_for(status, "j", target="running", current="finished", known=known)
    assert type(found) is error
    assert getattr(found, "job_id", "j") == "j"


def test_not_found_reads_the_status_script() -> None:
    assert type(not_found("j", b"expired")) is jobbertrack.JobExpired
    assert type(not_found("j", "unknown")) is jobbertrack.JobNotFound
    assert type(not_found("j", "waiting")) is jobbertrack.JobNotFound  # created since: still not found then


def test_ok_raises_nothing_and_every_other_code_raises_its_error() -> None:
    assert calls.Outcome("ok", None).raise_for("j", "running", known=False) is None
    expected = {
        "bad": jobbertrack.InvalidTransition,
        "expired": jobbertrack.JobExpired,
        "gone": jobbertrack.JobNotFound,
        "exists": jobbertrack.JobExists,
        "corrupt": jobbertrack.CorruptRecord,
    }
    for code, error in expected.items():
        with pytest.raises(error) as raised:
            calls.Outcome(code, {"state": "waiting"}, field="beat").raise_for("j", "running", known=False)
        assert getattr(raised.value, "job_id", "j") == "j"
    with pytest.raises(jobbertrack.InvalidTransition) as refused:
        calls.Outcome("bad", {"state": "finished"}).raise_for("j", "running", known=True, action="start it")
    assert (refused.value.current, refused.value.target) == ("finished", "running")


# -- history from the record, along the table -------------------------------


def _record(state: str, **times: int) -> dict[str, str]:
    return {"state": state, **{k: str(v) for k, v in times.items()}}


def test_history_of_each_stage() -> None:
    assert history.history({}) == []
    created = history.history(_record("waiting", created=1))
    assert [(h["from"], h["to"]) for h in created] == [(None, "waiting")]
    running = history.history(_record("running", created=1, started=2))
    assert [(h["from"], h["to"]) for h in running] == [(None, "waiting"), ("waiting", "running")]
    for end in FINAL:
        done = history.history(_record(end.value, created=1, started=2, ended=2))  # same ms: table order
        assert [(h["from"], h["to"]) for h in done] == [
            (None, "waiting"),
            ("waiting", "running"),
            ("running", end.value),
        ]
        assert [h["at"].timestamp() * 1000 for h in done] == [1, 2, 2]


def test_history_puts_the_error_and_last_progress_on_the_end() -> None:
    fields = _record("failed", created=1, started=2, ended=3)
    fields["error"] = json.dumps({"reason": "stalled", "message": "no heartbeat"})
    fields["progress"] = json.dumps({"current": 1, "total": 2, "message": None})
    *_, end = history.history(fields)
    assert (end["reason"], end["message"]) == ("stalled", "no heartbeat")
    assert end["progress"] == {"current": 1, "total": 2, "message": None}
    running = _record("running", created=1, started=2)
    running["progress"] = fields["progress"]
    assert "progress" not in history.history(running)[-1]


def test_ended_is_said_apart_from_no_move_leaves() -> None:
    """``wait()`` returns where a job has ended (``ENDED``: the states whose
    move stamps ``ended``), which a move may still leave (a retry will);
    ``FINAL`` is the narrower "no move leaves"."""
    from jobbertrack._core.transitions import ENDED, ENTERED, FINAL

    assert {State.FAILED, State.FINISHED} <= ENDED
    assert {s for s, stamp in ENTERED.items() if stamp == "ended"} == ENDED
    assert all(s.is_final == (s in ENDED) for s in State)
    assert State.WAITING not in ENDED and State.RUNNING not in ENDED
    assert set(State) >= FINAL
    assert "local ENDED = ' " in keys.states_lua()
