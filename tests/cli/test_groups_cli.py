"""Groups on the command line (issue 24): `group create|close`, `create` and
`push --group`, `get` and `ls` of a group, `ls --group`, and `watch`."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jobbertrack

from ..helpers import all_keys
from .conftest import CLI, Invoke
from .test_live import Terminal, terminal  # noqa: F401 - the fixture, shared
from .test_processes import LIMIT

RICH = {"FORCE_COLOR": "1", "COLUMNS": "140", "NO_COLOR": None}
COLOURS = re.compile(r"\x1b\[[0-9;]*m")
MISSING = "01J2M3K4ZQ8XW5RB7T6YV"


def _json(invoke: Invoke, *args: str, **kwargs: Any) -> Any:
    return json.loads(invoke("--json", *args, **kwargs).stdout)


def _rich(invoke: Invoke, *args: str) -> str:
    out = invoke(*args, env=RICH).stdout
    assert "\x1b[" in out
    return COLOURS.sub("", out)


def _fields(out: str) -> dict[str, str]:
    """The ``key: value`` lines of a plain `get`, timeline left out."""
    return dict(
        line.split(": ", 1) for line in out.split("timeline:", maxsplit=1)[0].splitlines() if ": " in line
    )


def _batch(
    handler: jobbertrack.Handler, **kwargs: Any
) -> tuple[jobbertrack.Group, list[jobbertrack.Resource]]:
    """A group of five children: two finished, one failed, one running, one waiting."""
    group = handler.create_group(600, name="batch", **kwargs)
    kids = [handler.create(600, name=f"kid-{i}", group=group.id) for i in range(5)]
    kids[0].start().finish(1)
    kids[1].start().finish(2)
    kids[2].start().fail("disk full")
    kids[3].start()
    return group, kids


# -- group create / close --------------------------------------------------------------


def test_group_create_prints_the_new_group(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    made = _json(invoke, "group", "create", "--timeout", "600", "--name", "nightly", "--data", '{"day": 5}')
    assert (made["state"], made["name"], made["data"]) == ("waiting", "nightly", {"day": 5})
    assert made["group"]["counts"] == dict.fromkeys(
        ("waiting", "running", "failed", "finished", "cancelled"), 0
    )
    assert (made["group"]["total"], made["group"]["closed"], made["group"]["then"]) == (0, False, None)
    stored = handler.get(made["id"])
    assert isinstance(stored, jobbertrack.Group) and stored.get_value() == made

    plain = _fields(invoke("group", "create", "--timeout", "60", "--name", "plain").stdout)
    assert (plain["state"], plain["name"], plain["closed"]) == (
        "waiting",
        "plain",
        "no: children may still join",
    )
    assert plain["progress"] == "0/0" and "0 waiting" in plain["children"] and "0 total" in plain["children"]

    quiet = invoke("group", "create", "-q", "--timeout", "60").stdout.strip()
    assert isinstance(handler.get(quiet), jobbertrack.Group)


def test_group_create_lives_a_day_unless_told(invoke: Invoke) -> None:
    made = _json(invoke, "group", "create")
    lives = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert lives == timedelta(days=1)


def test_group_create_with_a_follow_up_job(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    made = _json(
        invoke,
        "group",
        "create",
        "--timeout",
        "600",
        "--then-queue",
        "report",
        "--then-data",
        '{"to": "ops"}',
        "--then-name",
        "send report",
    )
    then = made["group"]["then"]
    assert (then["queue"], then["name"], then["pushed"]) == ("report", "send report", False)
    kid = handler.create(600, group=made["id"])
    closed = _json(invoke, "group", "close", made["id"])
    assert closed["group"]["closed"] and closed["state"] == "waiting"
    kid.start().finish()
    follow_up = handler.get(then["id"])
    assert follow_up is not None and follow_up.queue == "report" and follow_up.name == "send report"
    assert follow_up.data == {
        "group": made["id"],
        "counts": {"waiting": 0, "running": 0, "failed": 0, "finished": 1, "cancelled": 0, "total": 1},
        "data": {"to": "ops"},
    }
    shown = _fields(invoke("get", made["id"]).stdout)
    assert shown["then"] == f"push {then['id']} on queue report (name 'send report'): pushed"


def test_group_create_refuses_bad_input_and_writes_nothing(
    invoke: Invoke, handler: jobbertrack.Handler
) -> None:
    for args in (
        ["--then-data", "1"],  # no --then-queue
        ["--then-name", "x"],
        ["--data", "{not json"],
        ["--timeout", "0"],
        ["--timeout", "-5"],
    ):
        result = invoke("group", "create", *args, code=2)
        assert "Error:" in result.stderr, args
    result = invoke("group", "create", "--name", "x" * 1025, code=1)
    assert "name" in result.stderr
    assert all_keys(handler.client, "jt:{*") == []


def test_group_close(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group = handler.create_group(600)
    kid = handler.create(600, group=group.id)
    closed = _fields(invoke("group", "close", group.id).stdout)
    assert (closed["state"], closed["closed"]) == ("waiting", "yes")
    assert handler.group(group.id).closed
    invoke("group", "close", group.id)  # again: nothing changes, no error
    kid.start().finish()
    assert handler.group(group.id).state == "finished"

    empty = handler.create_group(600)
    assert _json(invoke, "group", "close", empty.id)["state"] == "finished"  # no children: ends at once


def test_group_close_of_what_is_not_a_group(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(600)
    for job_id in (job.id, MISSING, "nope"):
        result = invoke("group", "close", job_id, code=3)
        assert f"no group {job_id!r}" in result.stderr and "Traceback" not in result.output
    handler.delete(job.id)
    assert "was deleted" in invoke("group", "close", job.id, code=3).stderr
    assert "Missing argument" in invoke("group", "close", code=2).stderr


# -- create / push --group -------------------------------------------------------------


def test_create_and_push_join_a_group(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group = handler.create_group(600)
    made = _json(invoke, "create", "--timeout", "60", "--name", "one", "--group", group.id)
    pushed = _json(invoke, "push", "--queue", "imp", "--timeout", "60", "--group", group.id, '{"f": 1}')
    quiet = invoke("push", "-q", "--timeout", "60", "--group", group.id).stdout.strip()
    assert made["group_id"] == pushed["group_id"] == group.id
    assert pushed["queue"] == "imp" and pushed["input"] == {"f": 1}
    ids = {job.id for job in group.children()}
    assert ids == {made["id"], pushed["id"], quiet}
    assert group.counts()["waiting"] == 3
    assert _fields(invoke("get", made["id"]).stdout)["group"] == group.id  # a child says its group


def test_joining_a_closed_or_unknown_group_is_refused(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group = handler.create_group(600)
    plain = handler.create(600)
    group.close()
    before = sorted(all_keys(handler.client))
    for command in (["create"], ["push", "--queue", "imp"]):
        result = invoke(*command, "--timeout", "60", "--group", group.id, code=1)
        assert result.stderr.strip() == f"Error: group {group.id!r} is closed: no child may join it"
        for unknown in (MISSING, plain.id):
            result = invoke(*command, "--timeout", "60", "--group", unknown, code=3)
            assert f"no group {unknown!r}" in result.stderr and "Traceback" not in result.output
        result = invoke(*command, "--timeout", "60", "--group", group.id, "--key", "k", code=2)
        assert "--key and --group cannot be given together" in result.stderr
    assert sorted(all_keys(handler.client)) == before
    assert (
        group.counts() == handler.group(group.id).counts() and handler.group(group.id).progress["total"] == 0
    )


# -- get -------------------------------------------------------------------------------


def test_get_of_a_group_shows_its_counts_and_progress(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, _ = _batch(handler)
    shown = _fields(invoke("get", group.id).stdout)
    assert shown["state"] == "running" and shown["name"] == "batch"
    assert shown["children"] == "1 waiting · 1 running · 1 failed · 2 finished · 0 cancelled · 5 total"
    assert re.fullmatch(r"3/5 █{12}░{8} 1 failed", shown["progress"]), shown["progress"]
    assert shown["closed"] == "no: children may still join"

    value = _json(invoke, "get", group.id)
    assert value["group"]["counts"] == {
        "waiting": 1,
        "running": 1,
        "failed": 1,
        "finished": 2,
        "cancelled": 0,
    }
    assert value["group"]["total"] == 5 and [h["to"] for h in value["timeline"]] == ["waiting", "running"]
    assert value == {
        **handler.group(group.id).get_value(),
        "timeline": value["timeline"],
        "history": value["history"],
    }

    rich = _rich(invoke, "get", group.id)
    assert re.search(
        r"children\s+1 waiting · 1 running · 1 failed · 2 finished · 0 cancelled · 5 total", rich
    )
    assert re.search(r"progress\s+3/5 ████████████░░░░░░░░ 1 failed", rich)
    assert "timeline" in rich


def test_get_of_an_ended_group(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, kids = _batch(handler)
    group.close()
    kids[3].finish()
    handler.cancel(kids[4].id)
    shown = _fields(invoke("get", group.id).stdout)
    assert shown["state"] == "failed" and shown["closed"] == "yes"
    assert re.fullmatch(r"5/5 █{20} 1 failed", shown["progress"])
    assert json.loads(shown["error"]) == {
        "reason": "children_failed",
        "failed": 1,
        "cancelled": 1,
        "expired": 0,
    }
    rich = _rich(invoke, "get", group.id)
    assert "children_failed: 1 failed, 1 cancelled" in rich
    assert not re.search(r"children_failed:\s*$", rich, re.MULTILINE)  # the timeline's step: no empty note


# -- ls --------------------------------------------------------------------------------


def test_ls_marks_groups(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, _ = _batch(handler)
    rows = {line.split("\t")[0]: line.split("\t") for line in invoke("ls").stdout.splitlines()}
    assert rows[group.id][1:2] + rows[group.id][3:] == ["running", "batch", "group 3/5 1 failed"]
    assert all(len(row) == 4 for job_id, row in rows.items() if job_id != group.id)  # jobs as before

    listed = {job["id"]: job for job in _json(invoke, "ls")["jobs"]}
    assert listed[group.id]["group"]["total"] == 5
    assert all("group" not in job for job_id, job in listed.items() if job_id != group.id)

    table = _rich(invoke, "ls")
    (line,) = [row for row in table.splitlines() if group.id in row]
    assert "3/5 █████░░░ group · 1 failed" in line
    assert "1 waiting · 1 running · 1 failed · 2 finished" in line
    assert not any(" group" in row for row in table.splitlines() if "kid-" in row)


def test_ls_group_lists_its_children(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, kids = _batch(handler)
    handler.create(600, name="not a child")
    newest_first = [kid.id for kid in reversed(kids)]
    assert [job["id"] for job in _json(invoke, "ls", "--group", group.id)["jobs"]] == newest_first
    lines = invoke("ls", "--group", group.id).stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == newest_first
    failed = _json(invoke, "ls", "--group", group.id, "--state", "failed")
    assert [job["id"] for job in failed["jobs"]] == [kids[2].id] and failed["cursor"] is None
    assert _json(invoke, "ls", "--group", group.id, "-s", "cancelled") == {"jobs": [], "cursor": None}
    table = _rich(invoke, "ls", "--group", group.id, "-s", "finished")
    assert "kid-0" in table and "kid-1" in table and "kid-2" not in table


def test_ls_group_pages(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, kids = _batch(handler)
    newest_first = [kid.id for kid in reversed(kids)]
    seen: list[str] = []
    cursor = None
    while True:
        page = _json(invoke, "ls", "--group", group.id, "-n", "2", *(["--cursor", cursor] if cursor else []))
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    every = _json(invoke, "ls", "--group", group.id, "-n", "2", "--all")
    assert [job["id"] for job in every["jobs"]] == newest_first and every["cursor"] is None

    first = invoke("ls", "--group", group.id, "-n", "2")
    assert "next page: --cursor " in first.stderr
    table = _rich(invoke, "ls", "--group", group.id, "-n", "1", "--state", "finished")
    assert "kid-1" in table and "kid-0" not in table
    hint = re.search(r"next page: (jobbertrack ls .*)", table)
    assert hint is not None and f"--group {group.id} --state finished --cursor " in hint.group(1)


def test_ls_group_refuses_what_it_cannot_do(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    group, _ = _batch(handler)
    result = invoke("ls", "--group", group.id, "-s", "failed", "-s", "running", code=2)
    assert "one state at a time" in result.stderr
    for option in (["--tag", "x"], ["--queue", "q"], ["--name", "k"], ["--since", "1h"], ["--until", "1h"]):
        assert "--group takes no" in invoke("ls", "--group", group.id, *option, code=2).stderr
    plain = handler.create(600)
    for unknown in (MISSING, plain.id, "nope"):
        result = invoke("ls", "--group", unknown, code=3)
        assert f"no group {unknown!r}" in result.stderr and "Traceback" not in result.output


# -- watch -----------------------------------------------------------------------------


def test_watch_shows_a_groups_counts_and_progress_live(
    url: str,
    handler: jobbertrack.Handler,
    terminal: Callable[[list[str]], Terminal],  # noqa: F811 - the fixture imported above
) -> None:
    group = handler.create_group(600, name="nightly")
    kids = [handler.create(600, name=f"kid-{i}", group=group.id) for i in range(4)]
    term = terminal([*CLI, "--redis-url", url, "watch"])
    first = term.until(lambda s: "nightly" in s and "Ctrl-C to quit" in s)
    (line,) = [row for row in first.splitlines() if "nightly" in row]
    assert "waiting" in line and "0/4 ░░░░░░░░ group" in line and "4 waiting " in line

    # only the children move (the group has no event of its own after the first start)
    since = term.mark()
    kids[0].start()
    kids[1].start().finish()
    kids[2].start().fail("disk full")
    screen = term.until(lambda s: "2/4 ████░░░░ group · 1 failed" in s, since)
    (line,) = [row for row in screen.splitlines() if "nightly" in row][-1:]
    assert "running" in line and "1 waiting · 1 running" in line  # the detail column, cut to fit

    since = term.mark()
    group.close()
    kids[0].finish()
    kids[3].start().finish()
    screen = term.until(lambda s: "4/4 ████████ group · 1 failed" in s, since)
    (line,) = [row for row in screen.splitlines() if "nightly" in row][-1:]
    assert "failed" in line and "  1 failed · 3 finished" in line

    term.proc.send_signal(signal.SIGINT)
    assert term.proc.wait(LIMIT) == 0
