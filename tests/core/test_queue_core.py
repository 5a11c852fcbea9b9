"""The work queue's pure parts (issue 14): checks, entries, and the pop plan
driven with the replies the scripts would give (no Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from jobbertrack import JobberTrackError
from jobbertrack._core import keys
from jobbertrack._core.calls import Commands
from jobbertrack._core.queue import (
    Hints,
    check_queue,
    entry_id,
    entry_order,
    entry_priority,
    entry_ready,
    pop_plan,
    push_call,
)


def member(queue: str, ready: int, expires: int, job_id: str) -> str:
    return f"{queue}\0{ready:015d}\0{expires:015d}\0{job_id}"


def test_entries_read_back_their_parts() -> None:
    m = member("q", 1_700_000_000_123, 1_700_000_060_000, "a\0b")
    assert (entry_ready(m, "q"), entry_id(m, "q")) == (1_700_000_000_123, "a\0b")
    assert sorted([member("q", 20, 99, "x"), member("q", 3, 99, "y")])[0].endswith(
        "y"
    )  # lex order = time order


def test_entries_with_a_priority_read_back_their_parts_and_sort_by_it() -> None:
    def leveled(priority: int, ready: int, job_id: str) -> str:
        if priority > 0:
            level = f"!{999_999 - priority:06d}\0"
        elif priority < 0:
            level = f"~{-priority - 1:06d}\0"
        else:
            level = ""
        return f"q\0{level}{ready:015d}\0{99:015d}\0{job_id}"

    entries = {p: leveled(p, 1000 + p, f"id{p}") for p in (999_999, 5, 1, 0, -1, -7, -999_999)}
    for p, m in entries.items():
        assert (entry_priority(m, "q"), entry_ready(m, "q"), entry_id(m, "q")) == (p, 1000 + p, f"id{p}")
    assert sorted(entries.values()) == list(entries.values())  # lex order = priority order
    assert sorted(entries.values(), key=lambda m: entry_order(m, "q")) == list(entries.values())


@pytest.mark.parametrize("bad", ["", "a\0b", "x" * 201, "tab\there", 3, None])
def test_bad_queue_names_are_refused(bad: Any) -> None:
    with pytest.raises(JobberTrackError):
        check_queue(bad)


def test_a_delay_must_be_shorter_than_the_lifetime() -> None:
    with pytest.raises(JobberTrackError):
        push_call(Commands(), "j", 1000, "q", 1000, 0, 0, None, {})


def _peek(now: int, first: str = "", next_due: str = "", due: list[str] | None = None) -> list[Any]:
    return [now, first, next_due, due or []]


def test_the_plan_pops_a_ready_entry_and_follows_a_lost_race() -> None:
    core = Commands(keys.Keyspace("ns", 2))
    hints = Hints()
    plan = pop_plan(core, "q", 5000, None, hints, 100.0)
    calls = next(plan)
    assert [c.script for c in calls] == ["peek", "peek"]
    a, b, c = member("q", 100, 9999, "a"), member("q", 101, 9999, "b"), member("q", 102, 9999, "c")
    call = plan.send([_peek(200, a), _peek(200)])
    assert (call.script, call.job_id, call.args[5]) == ("pop", "a", a)
    call = plan.send([b"taken", b.encode(), 200])  # another worker took a: try the shard's next entry
    assert call.job_id == "b"
    with pytest.raises(StopIteration) as done:
        plan.send([b"popped", [b"state", b"running"], c.encode(), 200])
    assert done.value.value == (("b", [b"state", b"running"]), None)
    assert hints.ready == [c]  # ready: the next pop tries it without peeking
    plan = pop_plan(core, "q", 5000, None, hints, 100.5)
    assert next(plan).job_id == "c"
    with pytest.raises(StopIteration) as done:
        plan.send([b"popped", [], b"", 201])
    assert done.value.value == (("c", []), None)
    later = pop_plan(core, "q", 5000, None, hints, 101.5)  # no hints left, and they are old: peek
    assert [c.script for c in next(later)] == ["peek", "peek"]


def test_a_pop_that_started_another_entry_instead_returns_that_job() -> None:
    core = Commands(keys.Keyspace("ns", 1))
    hints = Hints()
    plan = pop_plan(core, "q", 5000, None, hints, 100.0)
    next(plan)
    a, b, c = member("q", 100, 9999, "a"), member("q", 101, 9999, "b"), member("q", 102, 9999, "c")
    call = plan.send([_peek(200, a)])
    assert call.job_id == "a"
    with pytest.raises(StopIteration) as done:  # a was taken: the script started b
        plan.send([b"instead", [b"state", b"running"], b.encode(), c.encode(), 200])
    assert done.value.value == (("b", [b"state", b"running"]), None)
    assert hints.ready == [c] and hints.sticky == c


def test_the_plan_says_when_to_look_again_and_settles_due_jobs() -> None:
    core = Commands(keys.Keyspace("ns", 2))
    plan = pop_plan(core, "q", None, None)
    next(plan)
    settles = plan.send([_peek(1000, member("q", 1500, 9999, "later")), _peek(1000, "", "1200", ["dead"])])
    assert [c.script for c in settles] == ["settle"] and settles[0].job_id == "dead"
    again = plan.send([1])
    assert [c.script for c in again] == ["peek", "peek"]
    with pytest.raises(StopIteration) as done:
        plan.send([_peek(1000, member("q", 1500, 9999, "later")), _peek(1000, "", "1200")])
    job, wake_in = done.value.value
    assert job is None and wake_in == pytest.approx(0.202)  # the lease due first, then a margin


def test_a_pushed_jobs_value_round_trips_through_set_value() -> None:
    from jobbertrack._core.record import from_value, to_value

    stored = {
        "state": "waiting",
        "created": "1700000000000",
        "expires": "1700000060000",
        "queue": "q",
        "attempt": "2",
        "retries": "3",
        "backoff": "1500",
        "ready": "1700000001000",
        "attempts": '[{"attempt":1,"started":1700000000500,"ended":1700000000900,"error":{"reason":"x"}}]',
    }
    value = to_value("j", stored)
    assert (value["attempt"], value["retries"], value["backoff"]) == (2, 3, 1.5)
    assert value["attempts"][0]["error"] == {"reason": "x"}
    assert to_value("j", from_value(value)) == value
