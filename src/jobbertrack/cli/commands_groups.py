"""``jobbertrack group create|close``: a group is a job whose children join
it with ``create --group ID`` or ``push --group ID``; its state, counts and
progress follow theirs (``get ID`` shows them, ``ls --group ID`` lists them)."""

from __future__ import annotations

from typing import Any

import click

from .context import common_options, find, find_group, output, settings
from .params import JSON_HELP, SECONDS, json_value
from .render import print_created, print_job


@click.group("group")
@common_options
def group() -> None:
    """Make and close groups: batches of jobs tracked as one.

    A group is waiting until a child runs or ends, then running; once
    closed and every child has ended, it is finished (all finished) or
    failed.  `get ID` shows its counts per state and progress,
    `ls --group ID` its children, `watch` both live.

    \b
    Example:
      G=$(jobbertrack group create -q --timeout 3600 --name import)
      jobbertrack push --group $G --timeout 3600 '{"file": "a.csv"}'
      jobbertrack push --group $G --timeout 3600 '{"file": "b.csv"}'
      jobbertrack group close $G
      jobbertrack get $G
    """


@group.command("create")
@click.option(
    "--timeout",
    type=SECONDS,
    metavar="S",
    default=86_400,
    show_default=True,
    help="Seconds the group's record lives (any state); its children live no longer.",
)
@click.option("--name", metavar="TEXT", help="A short label shown in listings.")
@click.option("--data", "data", metavar="JSON", help=f"Data to store with the group: {JSON_HELP}")
@click.option("--then-queue", metavar="Q", help="When the group ends, push one follow-up job on queue Q.")
@click.option(
    "--then-data", metavar="JSON", help=f"The follow-up job's data (with --then-queue): {JSON_HELP}"
)
@click.option("--then-name", metavar="TEXT", help="The follow-up job's name (with --then-queue).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new group's id.")
@common_options
def create(
    timeout: float,
    name: str | None,
    data: str | None,
    then_queue: str | None,
    then_data: str | None,
    then_name: str | None,
    quiet: bool,
) -> None:
    """Create a group, open (children may join) and waiting.

    With --then-queue, the group's end pushes one job on that queue, its
    data {"group": ID, "counts": {...}, "data": --then-data}.

    \b
    Examples:
      jobbertrack group create --timeout 3600 --name nightly-import
      jobbertrack group create --timeout 3600 --then-queue report --then-data '{"to": "ops"}'
    """
    if then_queue is None and (then_data is not None or then_name is not None):
        raise click.UsageError("--then-data and --then-name need --then-queue")
    kwargs: dict[str, Any] = {"name": name}
    if data is not None:  # no data given: none stored (not even null)
        kwargs["data"] = json_value(data, "--data")
    if then_queue is not None:
        then: dict[str, Any] = {"queue": then_queue}
        if then_data is not None:
            then["data"] = json_value(then_data, "--then-data")
        if then_name is not None:
            then["name"] = then_name
        kwargs["then"] = then
    made = settings().handler().create_group(timeout, **kwargs)
    if quiet:
        click.echo(made.id)
    else:
        print_created(output(), made, keyed=False)


@group.command("close")
@click.argument("group_id", metavar="ID")
@common_options
def close(group_id: str) -> None:
    """Close a group: no child may join it from now on.  It ends once every
    child has ended (at once if they all have).  Closing it again does nothing.

    \b
    Example:
      jobbertrack group close 01J2M3K4ZQ8XW5RB7T6YV
    """
    track = settings().handler()
    find_group(track, group_id).close()
    # read again: close()'s reply leaves the group's data out
    print_job(output(), find(track, group_id))
