"""The ``jobbertrack`` command group: global options, command order and
aliases, and the one place errors become a one-line message and an exit
status."""

from __future__ import annotations

from typing import Any

import click

import jobbertrack

from . import (
    commands_fleet,
    commands_groups,
    commands_jobs,
    commands_operate,
    commands_read,
    dashboard,
    demo,
    queue,
    run,
    watch,
)
from .context import EXIT_ERROR, EXIT_JOB_NOT_FOUND, EXIT_REDIS, Failure, Settings, common_options, failure

COMMANDS: list[click.Command] = [
    commands_jobs.create,
    commands_groups.group,
    *commands_jobs.ACTION_COMMANDS,
    commands_operate.retry,
    commands_operate.delete,
    commands_operate.clean,
    commands_read.get,
    commands_read.ls,
    commands_read.stats,
    watch.watch,
    commands_read.events,
    commands_read.wait,
    commands_read.sweep,
    run.run,
    queue.push,
    queue.work,
    commands_fleet.queues,
    commands_fleet.workers,
    commands_fleet.pause,
    commands_fleet.resume,
    dashboard.dashboard,
    demo.demo,
]
ALIASES = {"list": "ls", "show": "get", "counts": "stats"}
EXIT_INTERRUPTED = 130


class JobberTrackGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [c.name for c in COMMANDS if c.name]  # in the order above, not sorted

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except jobbertrack.JobberTrackError as exc:
            raise failure(exc) from None
        except KeyboardInterrupt:
            raise Failure("interrupted", EXIT_INTERRUPTED) from None


EPILOG = f"""\b
Exit status: 0 ok; {EXIT_ERROR} refused (an illegal move, bad input); 2 usage;
{EXIT_JOB_NOT_FOUND} unknown or expired job; {EXIT_REDIS} Redis unavailable.
`wait` and `run` have their own (see their --help).
Aliases: list = ls, show = get, counts = stats.

\b
Example session:
  ID=$(jobbertrack create -q --timeout 3600 --name report)
  jobbertrack start $ID --lease 60
  jobbertrack progress $ID 3 --total 10 --message "rendering"
  jobbertrack finish $ID '{{"pages": 12}}'
  jobbertrack get $ID
  jobbertrack run --timeout 3600 -- /usr/local/bin/backup.sh
  jobbertrack dashboard --open
"""


@click.group(
    cls=JobberTrackGroup,
    commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.version_option(jobbertrack.__version__, prog_name="jobbertrack")
@common_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Create jobs and track their status in Redis.

    Output is a rich table on a terminal, plain lines in a pipe, and JSON
    with --json (before or after the command name).  With no Redis URL, the
    embedded Redis is used (`python -m jobbertrack.embedded stop` stops it).
    Try `jobbertrack demo`.
    """
    ctx.call_on_close(ctx.ensure_object(Settings).close)
