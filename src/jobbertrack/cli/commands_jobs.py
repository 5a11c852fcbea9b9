"""Commands that make or move a job: create, and one command per row of
``jobbertrack.actions`` (start, progress, heartbeat, finish, fail, cancel).  Each
prints the job as Redis holds it after the move."""

from __future__ import annotations

from typing import Any

import click

from jobbertrack.actions import ACTIONS, Action, Param

from .context import common_options, find, output, settings
from .params import (
    JSON_HELP,
    SECONDS,
    click_param,
    create_options,
    group_option,
    json_value,
    key_option,
    no_key_with_group,
    tag_option,
)
from .render import print_created, print_job


def _moved(job_id: str, move: str, *args: Any, **kwargs: Any) -> None:
    job = find(settings().handler(), job_id)
    getattr(job, move)(*args, **kwargs)
    print_job(output(), job)


@click.command()
@click.option(
    "--timeout", type=SECONDS, metavar="S", required=True, help="Seconds the job's record lives (any state)."
)
@click.option("--data", "data", metavar="JSON", help=f"Data to store with the job: {JSON_HELP}")
@create_options
@tag_option
@key_option
@group_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the new job's id.")
@common_options
def create(
    timeout: float,
    data: str | None,
    tags: tuple[str, ...],
    key: str | None,
    group: str | None,
    quiet: bool,
    **fields: Any,
) -> None:
    """Create a job, in state waiting.

    \b
    Examples:
      jobbertrack create --timeout 3600 --name backup --data '{"host": "db1"}'
      JOB=$(jobbertrack create -q --timeout 600)
      jobbertrack create --timeout 3600 --key order-42   # the same job each time
      jobbertrack create --timeout 3600 --name import --tag customer-7 --tag nightly
      jobbertrack create --timeout 3600 --group 01J2M3K4ZQ8XW5RB7T6YV   # a child of that group
    """
    no_key_with_group(key, group)
    kwargs: dict[str, Any] = dict(fields)  # name, ...: the fields set at create
    if tags:
        kwargs["tags"] = list(tags)
    # no data given: none stored (not even null)
    if data is not None:
        kwargs["data"] = json_value(data, "--data")
    if group is not None:
        kwargs["group"] = group
    job = settings().handler().create(timeout, key=key, **kwargs)
    if quiet:
        click.echo(job.id)
    else:
        print_created(output(), job, keyed=key is not None)


def _convert(param: Param, value: Any) -> Any:
    """A command's text as the method takes it (``seconds`` and ``number``
    are converted by click already)."""
    if param.kind == "json" and value is not None:
        return json_value(value, param.name.upper())
    return value


def action_command(action: Action) -> click.Command:
    """The command of one row of ``jobbertrack.actions``: ``jobbertrack
    <name> ID ...``, which calls the row's method and prints the job."""

    def run_action(job_id: str, **given: Any) -> None:
        params = {p.name: p for p in action.params}
        kwargs = {params[k].argument: _convert(params[k], v) for k, v in given.items()}
        _moved(job_id, action.method, **kwargs)

    help_text = action.summary
    if any(p.kind == "json" for p in action.params):
        help_text += (
            "\n\nDATA is JSON text, '-' to read it from standard input, or '@PATH' (or a\n"
            "plain PATH) to read it from a file."
        )
    example = f"jobbertrack {action.name} 01J2M3K4ZQ8XW5RB7T6YV {action.example}".rstrip()
    help_text += f"\n\n\b\nExample:\n  {example}"
    run_action.__doc__ = help_text
    command = common_options(run_action)
    for param in reversed(action.params):
        command = click_param(param)(command)
    command = click.argument("job_id", metavar="ID")(command)
    return click.command(action.name, help=help_text)(command)


#: start, progress, heartbeat, finish, fail, cancel: one command per row of
#: the table (retry, which also takes --all-failed, is in commands_operate).
ACTION_COMMANDS = [action_command(a) for a in ACTIONS.values() if a.name != "retry"]
