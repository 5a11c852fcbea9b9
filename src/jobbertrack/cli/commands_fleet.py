"""Commands that look at and steer the work queue as a whole: queues,
workers, pause and resume (issue 23).  Each is a thin layer over the
handler's ``queues``, ``queue_stats``, ``workers``, ``pause`` and
``resume``; ``--json`` prints exactly what those return."""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from .context import common_options, output, settings
from .output import Output
from .render import queue_row, queue_summary, queues_table, worker_row, workers_table


@click.command()
@common_options
def queues() -> None:
    """Show every queue with a live job, a live worker, or paused: jobs
    waiting (ready to pop), delayed and running, how long the oldest ready
    job has waited, whether it is paused, and its workers.

    Without a terminal, one tab-separated line per queue: name, waiting,
    delayed, running, oldest wait, paused (yes/no), workers.  Scripts are
    better served by --json: {"queues": [...]}, each as queue_stats().

    \b
    Examples:
      jobbertrack queues
      jobbertrack queues --json | jq '.queues[] | select(.paused) | .name'
    """
    track = settings().handler()
    found = [track.queue_stats(name) for name in track.queues()]
    out = output()
    if out.json:
        out.document({"queues": found})
    elif not found:
        _empty(out, "no queues")
    elif out.rich:
        out.show(queues_table(found))
    else:
        for stats in found:
            out.line(queue_row(stats))


@click.command()
@click.option("--queue", metavar="Q", help="Only the workers taking jobs from this queue.")
@common_options
def workers(queue: str | None) -> None:
    """Show the live workers (each running `jobbertrack work` and track.work() registers itself):
    where they run, their queues, the jobs they run now, and how many they
    have processed and failed.

    Without a terminal, one tab-separated line per worker: id, host, pid,
    queues, concurrency, running job ids, processed, failed, started_at,
    last_seen.  With --json: {"workers": [...]}, each as track.workers().

    \b
    Examples:
      jobbertrack workers
      jobbertrack workers --queue emails --json
    """
    found = settings().handler().workers(queue)
    out = output()
    if out.json:
        out.document({"workers": found})
    elif not found:
        _empty(out, "no workers" if queue is None else f"no workers on queue {queue!r}")
    elif out.rich:
        out.show(workers_table(found))
    else:
        for worker in found:
            out.line(worker_row(worker))


@click.command()
@click.argument("queue", metavar="Q")
@common_options
def pause(queue: str) -> None:
    """Pause a queue: no job is popped from it until `resume`.  Jobs can
    still be pushed onto it, and the jobs already running go on.

    Prints the queue's stats after the pause (with --json, as queue_stats()).

    \b
    Example:
      jobbertrack pause emails
    """
    track = settings().handler()
    track.pause(queue)
    _print_stats(output(), track.queue_stats(queue))


@click.command()
@click.argument("queue", metavar="Q")
@common_options
def resume(queue: str) -> None:
    """Resume a paused queue: its jobs may be popped again.

    Prints the queue's stats after it (with --json, as queue_stats()).

    \b
    Example:
      jobbertrack resume emails
    """
    track = settings().handler()
    track.resume(queue)
    _print_stats(output(), track.queue_stats(queue))


def _print_stats(out: Output, stats: dict[str, Any]) -> None:
    """``paused emails: 3 waiting, ...`` (or ``active``), or the stats as JSON."""
    if out.json:
        out.document(stats)
        return
    word, style = ("paused", "bold yellow") if stats["paused"] else ("active", "green")
    line = Text().append(word, style=style).append(" ").append(queue_summary(stats))
    if out.rich:
        out.show(line)
    else:
        out.line(line.plain)


def _empty(out: Output, message: str) -> None:
    """The empty state: said plainly, dim on a terminal."""
    if out.rich:
        out.show(Text(message, style="dim"))
    else:
        out.line(message)
