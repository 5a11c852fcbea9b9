"""Commands that look: get, ls, stats, events, wait; and sweep."""

from __future__ import annotations

import shlex
import time
from collections import deque
from datetime import datetime
from typing import Any

import click
from rich.text import Text

import jobbertrack

from .context import common_options, find, find_group, output, settings
from .output import Output, clock, note, now_utc
from .params import SECONDS, WHEN_HELP, as_when
from .render import (
    counts_table,
    event_row,
    event_text,
    event_value,
    job_row,
    job_value,
    jobs_table,
    list_columns,
    print_job,
)

STATES = [s.value for s in jobbertrack.State]
EXIT_FAILED = 1
EXIT_TIMEOUT = 2


@click.command()
@click.argument("job_id", metavar="ID")
@common_options
def get(job_id: str) -> None:
    """Show a job in full: state, data, error, progress, times, timeline.

    \b
    Examples:
      jobbertrack get 01J2M3K4ZQ8XW5RB7T6YV
      jobbertrack get 01J2M3K4ZQ8XW5RB7T6YV --json | jq .result
    """
    print_job(output(), find(settings().handler(), job_id), history=True)


@click.command()
@click.option(
    "-s", "--state", "states", multiple=True, type=click.Choice(STATES), help="Only this state (repeatable)."
)
@click.option(
    "--tag", "tags", multiple=True, metavar="T", help="Only jobs with this tag (repeatable: all of them)."
)
@click.option("--queue", metavar="Q", help="Only jobs pushed on this queue.")
@click.option("--name", metavar="PREFIX", help="Only jobs whose name starts with PREFIX.")
@click.option(
    "--since", callback=as_when, metavar="TIME", help=f"Only jobs created at or after TIME: {WHEN_HELP}"
)
@click.option("--until", callback=as_when, metavar="TIME", help="Only jobs created before TIME (as --since).")
@click.option(
    "-n", "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Jobs per page."
)
@click.option("--cursor", help="Start after the previous page (its cursor is printed after it).")
@click.option("--all", "every_page", is_flag=True, help="List every page.")
@click.option(
    "--group",
    "group_id",
    metavar="ID",
    help="List this group's children instead (with at most one --state; no other filter).",
)
@common_options
def ls(
    states: tuple[str, ...],
    tags: tuple[str, ...],
    queue: str | None,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
    every_page: bool,
    group_id: str | None,
) -> None:
    """List live jobs, newest first, a page at a time.

    Without a terminal, one tab-separated line per job: id, state,
    created_at, name; a group has a fifth, "group ENDED/TOTAL N failed".
    In a table, a group's progress column says "group".

    \b
    Examples:
      jobbertrack ls
      jobbertrack ls --state failed --state running -n 50
      jobbertrack ls --tag customer-7 --queue import --since 2h
      jobbertrack ls --name nightly --since 2026-12-01 --until 2026-12-02
      jobbertrack ls --json | jq -r '.jobs[].id'
      jobbertrack ls --group 01J2M3K4ZQ8XW5RB7T6YV --state failed
    """
    track = settings().handler()
    filters = list_filters(tags, queue, name, since, until)
    if group_id is not None:
        _ls_group(track, group_id, states, filters, limit, cursor, every_page)
        return
    jobs: list[jobbertrack.Resource] = []
    while True:
        page = track.list(list(states) or None, limit=limit, cursor=cursor, **filters)
        jobs.extend(page)
        cursor = page.cursor
        if cursor is None or not every_page:
            break
    _print_jobs(output(), jobs, cursor, next_page_args(filters))


def _ls_group(
    track: jobbertrack.Handler,
    group_id: str,
    states: tuple[str, ...],
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
    every_page: bool,
) -> None:
    """``ls --group ID``: a page of the group's live children, newest first."""
    if len(states) > 1:
        raise click.UsageError("--group lists one state at a time: give --state at most once")
    if filters:
        raise click.UsageError("--group takes no --tag, --queue, --name, --since or --until")
    state = states[0] if states else None
    group = find_group(track, group_id)
    jobs: list[jobbertrack.Resource] = []
    while True:
        page = group.children(state, limit=limit, cursor=cursor)
        jobs.extend(page)
        cursor = page.cursor
        if cursor is None or not every_page:
            break
    again = ["--group", group_id, *(["--state", state] if state else [])]
    _print_jobs(output(), jobs, cursor, " ".join(shlex.quote(word) for word in again))


def list_filters(
    tags: tuple[str, ...], queue: str | None, name: str | None, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """``list``'s filter keywords for the options given (none for one not given)."""
    given = {
        "tag": list(tags) or None,
        "queue": queue,
        "name": name,
        "created_after": since,
        "created_before": until,
    }
    return {key: value for key, value in given.items() if value is not None}


def next_page_args(filters: dict[str, Any]) -> str:
    """The filter options the next page's command repeats beside ``--cursor``, quoted for a shell."""
    words: list[str] = []
    for tag in filters.get("tag", []):
        words += ["--tag", tag]
    for option, key in (("--queue", "queue"), ("--name", "name")):
        if key in filters:
            words += [option, filters[key]]
    for option, key in (("--since", "created_after"), ("--until", "created_before")):
        if key in filters:
            words += [option, filters[key].isoformat()]
    return " ".join(shlex.quote(word) for word in words)


def _print_jobs(out: Output, jobs: list[jobbertrack.Resource], cursor: str | None, again: str = "") -> None:
    if out.json:
        out.document({"jobs": [job_value(job) for job in jobs], "cursor": cursor})
        return
    if out.rich:
        table = jobs_table(((job, None) for job in jobs), list_columns(jobs))
        out.show(table if jobs else Text("no jobs", style="dim"))
        if cursor:  # job ids may hold "[": never markup
            more = f" {again}" if again else ""
            out.show(Text(f"next page: jobbertrack ls{more} --cursor {shlex.quote(cursor)}", style="dim"))
        return
    for job in jobs:
        out.line(job_row(job))
    if cursor:
        note(f"next page: --cursor {cursor}")


@click.command()
@common_options
def stats() -> None:
    """Count the live jobs in each state.

    \b
    Example:
      jobbertrack stats --json
    """
    counts = settings().handler().counts()
    out = output()
    if out.json:
        out.document(counts)
    elif out.rich:
        out.show(counts_table(counts))
    else:
        for state, n in counts.items():
            out.line(f"{state}\t{n}")


@click.command()
@click.option("--since", metavar="CURSOR", help="Start after this event id or cursor.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("-n", "--last", type=click.IntRange(1), help="Start with only the last N retained events.")
@click.option("--job", "job_id", metavar="ID", help="Only this job's events.")
@common_options
def events(since: str | None, follow: bool, last: int | None, job_id: str | None) -> None:
    """Print the event stream: every transition of every job, oldest first.

    Without a terminal, one tab-separated line per event: at, event id,
    job id, state, note.  With --json, one JSON object per line; each
    carries a "cursor" to resume from with --since.

    \b
    Examples:
      jobbertrack events -n 20
      jobbertrack events --follow --json
    """
    track = settings().handler()
    out = output()
    kept: deque[Any] = deque(maxlen=last)
    try:
        for event in track.events(since=since):
            since = event.cursor
            if job_id is None or event.job_id == job_id:
                if last is None:
                    _print_event(out, event)
                else:
                    kept.append(event)
        for event in kept:
            _print_event(out, event)
        if follow:
            for event in track.events(since=since, block=0):
                if job_id is None or event.job_id == job_id:
                    _print_event(out, event)
    except KeyboardInterrupt:
        return


def _print_event(out: Output, event: Any) -> None:
    if out.json:
        out.json_line(event_value(event))
    elif out.rich:
        out.show(event_text(event))
    else:
        out.line(event_row(event))


@click.command()
@click.argument("job_id", metavar="ID")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="S",
    help="Give up after this many seconds [default: never].",
)
@common_options
def wait(job_id: str, timeout: float | None) -> None:
    """Wait until a job ends, then print it.

    Exit status: 0 finished, 1 failed, 2 timed out (3 unknown or expired).

    \b
    Example:
      jobbertrack wait 01J2M3K4ZQ8XW5RB7T6YV --timeout 600 && echo done
    """
    track = settings().handler()
    try:
        job = track.wait(job_id, timeout)
    except jobbertrack.WaitTimeout:
        print_job(output(), find(track, job_id))
        raise SystemExit(EXIT_TIMEOUT) from None
    print_job(output(), job)
    raise SystemExit(0 if job.state == "finished" else EXIT_FAILED)


@click.command()
@click.option("--every", type=SECONDS, metavar="S", help="Sweep again every this many seconds, until Ctrl-C.")
@common_options
def sweep(every: float | None) -> None:
    """Fail running jobs whose lease or maximum run time has run out.

    Stalls are caught on the next read anyway; sweep makes sure they are
    noticed, and counted, when nobody reads.  Run it from cron or with
    --every.  With --every, only sweeps that failed a job are printed.

    \b
    Examples:
      jobbertrack sweep
      jobbertrack sweep --every 30
    """
    track = settings().handler()
    out = output()
    if every is None:
        _report_sweep(out, track.sweep(), stamp=False)
        return
    try:
        while True:
            failed = track.sweep()
            if failed:
                _report_sweep(out, failed, stamp=True)
            time.sleep(every)
    except KeyboardInterrupt:
        return


def _report_sweep(out: Output, failed: int, *, stamp: bool) -> None:
    at = now_utc()
    if out.json:
        out.json_line({"failed": failed, "at": at})
        return
    text = f"swept: {failed} job{'' if failed == 1 else 's'} failed (stalled or timed out)"
    out.line(f"{clock(at)}  {text}" if stamp else text)
