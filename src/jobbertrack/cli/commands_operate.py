"""Commands that act on jobs as an operator: retry (one job, or every
failed one), delete and clean.  ``cancel`` is a row of
``jobbertrack.actions`` (``commands_jobs``); ``retry`` is written here
because it also takes ``--all-failed`` instead of an ID."""

from __future__ import annotations

import click

import jobbertrack
from jobbertrack.actions import ACTIONS, ENDED_STATES

from .context import common_options, find, output, settings
from .params import SECONDS
from .render import print_job

_LIMIT = click.IntRange(1)


def _count(key: str, n: int, text: str) -> None:
    out = output()
    if out.json:
        out.json_line({key: n})
    else:
        out.line(f"{text}: {n} job{'' if n == 1 else 's'}")


RETRY_HELP = f"""{ACTIONS["retry"].summary}

A job of a queue is poppable again after --delay; another job waits for
whoever runs it.  A finished job is not retried.  --all-failed retries
every failed job instead (of --queue only, at most --limit).

\b
Examples:
  jobbertrack retry 01J2M3K4ZQ8XW5RB7T6YV --delay 30
  jobbertrack retry --all-failed --queue emails --limit 100
"""


@click.command(help=RETRY_HELP)
@click.argument("job_id", metavar="[ID]", required=False)
@click.option(
    "--delay", type=SECONDS, metavar="S", help="Seconds before a job of a queue may be popped again."
)
@click.option(
    "--all-failed", is_flag=True, help="Retry every failed job (of --queue only) instead of one ID."
)
@click.option("--queue", metavar="Q", help="With --all-failed: only the jobs of this queue.")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="With --all-failed: at most this many.",
)
@common_options
def retry(job_id: str | None, delay: float | None, all_failed: bool, queue: str | None, limit: int) -> None:
    """See RETRY_HELP (its first line is the table's summary of retry)."""
    if all_failed == (job_id is not None):
        raise click.UsageError("give one job ID, or --all-failed (not both)")
    if not all_failed and (queue is not None or limit != 1000):
        raise click.UsageError("--queue and --limit go with --all-failed")
    if all_failed and delay is not None:
        raise click.UsageError("--delay goes with one job ID")
    track = settings().handler()
    if all_failed:
        _count("retried", track.retry_all("failed", queue=queue, limit=limit), "retried")
        return
    assert job_id is not None
    print_job(output(), track.retry(job_id, delay=delay))


@click.command()
@click.argument("job_id", metavar="ID")
@common_options
def delete(job_id: str) -> None:
    """Delete a job for good: its record and its index and queue entries.

    `get` then says the job was deleted, for as long as a tombstone
    remembers it (a day by default).  Exits 3 when there is no such job.

    \b
    Example:
      jobbertrack delete 01J2M3K4ZQ8XW5RB7T6YV
    """
    track = settings().handler()
    if not track.delete(job_id):
        find(track, job_id)  # raises what is known of it: unknown, expired or deleted
        raise jobbertrack.JobNotFound(job_id)
    out = output()
    if out.json:
        out.json_line({"deleted": True, "id": job_id})
    else:
        out.line(f"deleted {job_id}")


@click.command()
@click.option(
    "--state", type=click.Choice(ENDED_STATES), required=True, help="Delete jobs that ended in this state."
)
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    metavar="S",
    required=True,
    help="Only jobs that ended more than this many seconds ago.",
)
@click.option(
    "--limit", type=click.IntRange(1), default=1000, show_default=True, help="Delete at most this many."
)
@common_options
def clean(state: str, older_than: float, limit: int) -> None:
    """Delete ended jobs of one state that ended long enough ago.

    \b
    Example:
      jobbertrack clean --state finished --older-than 86400
    """
    _count("deleted", settings().handler().clean(state, older_than=older_than, limit=limit), "deleted")
