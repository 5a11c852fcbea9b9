"""``jobbertrack watch``: a live table of recent jobs and counts, redrawn as
events arrive (an XREAD that blocks, not a polling loop), until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click
from rich.live import Live

import jobbertrack

from .board import QUEUES_EVERY, Board
from .context import common_options, output, settings
from .output import Output
from .render import counts_line, event_row, event_value

#: Longest time between redraws: relative times ("3 s ago") keep moving.
REDRAW = 0.5


def stream_end(track: jobbertrack.Handler) -> str | None:
    """A cursor just after the newest retained event (None: no events yet).

    The public API has no "from now on" position, so this reads the
    retained events once (at most ``max_events``)."""
    cursor = None
    for event in track.events():
        cursor = event.cursor
    return cursor


def follow(track: jobbertrack.Handler, since: str | None, interval: float) -> Iterator[list[Any]]:
    """Batches of the events after ``since``, one at least every ``interval``
    seconds (empty when nothing happened); each read blocks in Redis."""
    batch: list[Any] = []
    due = time.monotonic() + interval
    while True:
        for event in track.events(since=since, block=interval):
            since = event.cursor
            batch.append(event)
            if time.monotonic() >= due:
                break
        yield batch
        batch = []
        due = time.monotonic() + interval


def fit_rows(out: Output, reserved: int = 9) -> int:
    """Table rows that fit on the terminal under a board's other lines."""
    return max(3, out.console.size.height - reserved)


@click.command()
@click.option("-n", "--rows", type=click.IntRange(1), help="Jobs shown [default: as many as fit].")
@common_options
def watch(rows: int | None) -> None:
    """Show recent jobs, the counts per state and the depth of each queue
    (waiting/delayed/running), live, until Ctrl-C.

    The view is redrawn as events arrive from Redis' event stream.  Without
    a terminal (or with --json) it prints the counts, then one line per
    event, like `events --follow`.

    \b
    Example:
      jobbertrack watch              # then, in another terminal:
      jobbertrack run -- sleep 5
    """
    track = settings().handler()
    out = output()
    since = stream_end(track)  # first: no event between it and the first read is missed
    try:
        if out.rich:
            _live(out, track, since, rows or fit_rows(out))
        else:
            _lines(out, track, since)
    except KeyboardInterrupt:
        return


def _live(out: Output, track: jobbertrack.Handler, since: str | None, rows: int) -> None:
    board = Board(track, rows)
    board.load()
    title = f"jobbertrack watch · namespace {track.namespace}"

    def frame() -> Any:
        return board.render(title, f"{board.events} events since start · Ctrl-C to quit")

    with Live(frame(), console=out.console, auto_refresh=False, redirect_stdout=False) as live:
        for batch in follow(track, since, REDRAW):
            if batch:
                board.apply(batch)
            else:
                board.read_queues(unless_within=QUEUES_EVERY)
            live.update(frame(), refresh=True)


def _lines(out: Output, track: jobbertrack.Handler, since: str | None) -> None:
    if not out.json:
        out.line(counts_line(track.counts()).plain)
    for event in track.events(since=since, block=0):
        if out.json:
            out.json_line(event_value(event))
        else:
            out.line(event_row(event))
