"""`jobbertrack ls --tag/--queue/--name/--since/--until`, and `--tag` on
`create` and `push` (issue 26, "Find any job")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jobbertrack

from ..helpers import all_keys
from .conftest import Invoke


def _json(invoke: Invoke, *args: str) -> Any:
    return json.loads(invoke("--json", *args).stdout)


def _ids(invoke: Invoke, *args: str) -> list[str]:
    return [job["id"] for job in _json(invoke, "ls", *args)["jobs"]]


def test_create_and_push_take_tags_and_get_shows_them(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    made = _json(
        invoke, "create", "--timeout", "60", "--name", "import", "--tag", "customer-7", "--tag", "nightly"
    )
    assert made["tags"] == ["customer-7", "nightly"]
    pushed = _json(invoke, "push", "--queue", "mail", "--timeout", "60", "--tag", "urgent", '"a@example.com"')
    assert pushed["tags"] == ["urgent"]
    plain = _json(invoke, "create", "--timeout", "60")
    assert plain["tags"] == []
    job = handler.get(made["id"])
    assert job is not None and job.get_value()["tags"] == ["customer-7", "nightly"]
    shown = invoke("get", made["id"]).stdout
    assert 'tags: ["customer-7", "nightly"]' in shown
    assert "tags:" not in invoke("get", plain["id"]).stdout  # none: no line


def test_a_bad_tag_is_refused_and_writes_nothing(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    for bad in ("x" * 129, "", "line\nbreak"):
        result = invoke("create", "--timeout", "60", "--tag", bad, code=None)
        assert result.exit_code == 1, (bad, result.output)
        assert "tag" in result.stderr
    too_many = [word for i in range(17) for word in ("--tag", f"t{i}")]
    assert invoke("push", "--timeout", "60", *too_many, code=None).exit_code == 1
    assert all_keys(handler.client, "jt:{*") == []


def test_ls_by_tag_keeps_jobs_with_every_tag_given(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    both = handler.create(60, name="a", tags=["blue", "big"])
    blue = handler.create(60, name="b", tags=["blue"])
    handler.create(60, name="c", tags=["red"])
    handler.create(60, name="d")
    assert _ids(invoke, "--tag", "blue") == [blue.id, both.id]  # newest first
    assert _ids(invoke, "--tag", "blue", "--tag", "big") == [both.id]
    assert _ids(invoke, "--tag", "green") == []
    lines = invoke("ls", "--tag", "big").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [both.id]


def test_ls_by_queue_name_prefix_and_state(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    mail = handler.push({"to": "a"}, queue="mail", timeout=60, name="mail-welcome")
    handler.push({"f": 1}, queue="import", timeout=60, name="import-csv")
    nightly = handler.create(60, name="nightly-report")
    handler.create(60, name="report-nightly")
    assert _ids(invoke, "--queue", "mail") == [mail.id]
    assert _ids(invoke, "--name", "nightly") == [nightly.id]
    assert _ids(invoke, "--name", "mail", "--queue", "mail") == [mail.id]
    assert _ids(invoke, "--name", "mail", "--queue", "import") == []
    nightly.start()
    assert _ids(invoke, "--name", "nightly", "--state", "running") == [nightly.id]
    assert _ids(invoke, "--name", "nightly", "--state", "waiting") == []


def test_ls_since_is_inclusive_and_until_exclusive(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60, name="only")
    created = job.created_at
    assert created is not None
    at = created.isoformat()
    assert _ids(invoke, "--since", at) == [job.id]
    assert _ids(invoke, "--until", at) == []
    later = (created + timedelta(milliseconds=1)).isoformat()
    assert _ids(invoke, "--until", later) == [job.id]
    assert _ids(invoke, "--since", later) == []
    # without an offset a time is UTC; Z and epoch seconds say the same time
    naive = created.replace(tzinfo=None).isoformat()
    assert _ids(invoke, "--since", naive) == [job.id]
    assert _ids(invoke, "--until", naive) == []
    assert _ids(invoke, "--until", naive + "Z") == []
    assert _ids(invoke, "--since", f"{created.timestamp():.3f}") == [job.id]


def test_ls_takes_times_ago(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    job = handler.create(60, name="recent")
    for ago in ("1h", "30m", "1d", "3600s", "1w"):
        assert _ids(invoke, "--since", ago) == [job.id], ago
        assert _ids(invoke, "--until", ago) == [], ago
    assert _ids(invoke, "--since", "2000-01-01", "--until", "2999-01-01T00:00:00+02:00") == [job.id]


def test_ls_pages_through_a_filter(invoke: Invoke, handler: jobbertrack.Handler) -> None:
    tagged = [handler.create(60, name=f"t{i}", tags=["page"]) for i in range(5)]
    for i in range(3):
        handler.create(60, name=f"u{i}")
    first = _json(invoke, "ls", "--tag", "page", "-n", "2")
    assert 1 <= len(first["jobs"]) <= 2 and first["cursor"]  # a filtered page may come back short
    every = _json(invoke, "ls", "--tag", "page", "-n", "2", "--all")
    assert [j["id"] for j in every["jobs"]] == [j.id for j in reversed(tagged)]
    assert all(j["tags"] == ["page"] for j in every["jobs"])
    assert every["cursor"] is None


def test_a_bad_time_is_a_usage_error(invoke: Invoke) -> None:
    for bad in ("yesterday", "2h ago", "-5m", "2026-13-01", "nan"):
        result = invoke("ls", "--since", bad, code=2)
        assert "--since" in result.stderr and "not a time" in result.stderr, (bad, result.stderr)
    assert "--until" in invoke("ls", "--until", "soon", code=2).stderr


def test_times_read_every_form() -> None:
    from jobbertrack.times import parse_when

    now = 1_764_916_200.0  # 2025-12-05T06:30:00Z
    utc = datetime.fromisoformat("2025-12-05T06:30:00+00:00")
    assert parse_when("2025-12-05T06:30:00Z") == utc
    assert parse_when("2025-12-05T06:30:00") == utc  # no offset: UTC
    assert parse_when("2025-12-05 07:30:00+01:00") == utc
    assert parse_when("1764916200") == utc
    assert parse_when("1764916200.5") == utc + timedelta(seconds=0.5)
    assert parse_when("2h", now=now) == utc - timedelta(hours=2)
    assert parse_when("30m", now=now) == utc - timedelta(minutes=30)
    assert parse_when("1d", now=now) == utc - timedelta(days=1)
    assert parse_when("45s", now=now) == utc - timedelta(seconds=45)
    assert parse_when("1w", now=now) == utc - timedelta(weeks=1)
    assert parse_when("1.5h", now=now) == utc - timedelta(minutes=90)
    assert parse_when("2025-12-05") == utc.replace(hour=0, minute=0)
    for bad in ("", "soon", "2h ago", "-1h", "1e400", "99999999999999999999w", "1y"):
        try:
            parse_when(bad, now=now)
        except jobbertrack.InvalidData as exc:
            assert "time" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was read as a time")


def test_the_table_has_a_tags_column_only_when_a_job_has_tags(handler: jobbertrack.Handler) -> None:
    from rich.console import Console

    from jobbertrack.cli.render import jobs_table, list_columns

    handler.create(60, name="plain")
    untagged = list(handler.list())
    assert "tags" not in list_columns(untagged)
    handler.create(60, name="tagged", tags=["blue", "[red]x"])
    jobs = list(handler.list())
    console = Console(width=160, record=True, force_terminal=False)
    console.print(jobs_table(((job, None) for job in jobs), list_columns(jobs)))
    text = console.export_text()
    assert "tags" in text and "blue, [red]x" in text  # as typed: never markup
