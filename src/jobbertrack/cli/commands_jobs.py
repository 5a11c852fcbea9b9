"""Commands that move a job: create, start, progress, heartbeat, finish, fail.
Each prints the job as Redis holds it after the move."""

from __future__ import annotations

from typing import Any

import click

from .context import common_options, find, output, settings
from .params import JSON_HELP, SECONDS, as_number, json_value
from .render import print_job


def _moved(job_id: str, move: str, *args: Any, **kwargs: Any) -> None:
    job = find(settings().handler(), job_id)
    getattr(job, move)(*args, **kwargs)
    print_job(output(), job)


@click.command()
@click.option(
    "--timeout", type=SECONDS, metavar="S", required=True, help="Seconds the job's record lives (any state)."
)
@click.option("--data", "data", metavar="JSON", help=f"Data to store with the job: {JSON_HELP}")
@click.option("--name", help="A short label shown in listings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new job's id.")
@common_options
def create(timeout: float, data: str | None, name: str | None, quiet: bool) -> None:
    """Create a job, in state waiting.

    \b
    Examples:
      jobbertrack create --timeout 3600 --name backup --data '{"host": "db1"}'
      JOB=$(jobbertrack create -q --timeout 600)
    """
    kwargs: dict[str, Any] = {"name": name}  # no data given: none stored (not even null)
    if data is not None:
        kwargs["data"] = json_value(data, "--data")
    job = settings().handler().create(timeout, **kwargs)
    if quiet:
        click.echo(job.id)
    else:
        print_job(output(), job)


@click.command()
@click.argument("job_id", metavar="ID")
@click.option(
    "--lease", type=SECONDS, metavar="S", help="Fail the job as stalled if it shows no life for this long."
)
@click.option("--max-runtime", type=SECONDS, metavar="S", help="Fail the job as timed out after this long.")
@common_options
def start(job_id: str, lease: float | None, max_runtime: float | None) -> None:
    """Move a job from waiting to running.

    \b
    Example:
      jobbertrack start 01J2M3K4ZQ8XW5RB7T6YV --lease 60
    """
    _moved(job_id, "start", lease=lease, max_runtime=max_runtime)


@click.command()
@click.argument("job_id", metavar="ID")
@click.argument("current", callback=as_number)
@click.option("--total", metavar="N", callback=as_number, help="The value CURRENT counts up to.")
@click.option("--message", metavar="M", help="What the job is doing now.")
@common_options
def progress(job_id: str, current: float, total: float | None, message: str | None) -> None:
    """Report the progress of a running job (also renews its lease).

    \b
    Example:
      jobbertrack progress 01J2M3K4ZQ8XW5RB7T6YV 3 --total 10 --message "resizing"
    """
    _moved(job_id, "set_progress", current, total, message)


@click.command()
@click.argument("job_id", metavar="ID")
@common_options
def heartbeat(job_id: str) -> None:
    """Show that a running job's worker is alive (renews its lease).

    \b
    Example:
      jobbertrack heartbeat 01J2M3K4ZQ8XW5RB7T6YV
    """
    _moved(job_id, "heartbeat")


@click.command()
@click.argument("job_id", metavar="ID")
@click.argument("data", required=False, metavar="[DATA]")
@common_options
def finish(job_id: str, data: str | None) -> None:
    """Move a running job to finished, storing DATA.

    DATA is JSON text, '-' to read it from standard input, or '@PATH' (or a
    plain PATH) to read it from a file.

    \b
    Examples:
      jobbertrack finish 01J2M3K4ZQ8XW5RB7T6YV '{"rows": 42}'
      jobbertrack finish 01J2M3K4ZQ8XW5RB7T6YV @result.json
      make-report | jobbertrack finish 01J2M3K4ZQ8XW5RB7T6YV -
    """
    _moved(job_id, "finish", None if data is None else json_value(data))


@click.command()
@click.argument("job_id", metavar="ID")
@click.argument("message", required=False)
@common_options
def fail(job_id: str, message: str | None) -> None:
    """Move a running job to failed, with an optional MESSAGE.

    \b
    Example:
      jobbertrack fail 01J2M3K4ZQ8XW5RB7T6YV "disk full"
    """
    _moved(job_id, "fail", message)
