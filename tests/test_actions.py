"""One table of actions (``jobbertrack.actions``): the HTTP routes, their
OpenAPI paths, the command line's commands and the docs' route rows are
made from it, and each row's method takes its inputs.  No Redis."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.actions import ACTIONS, Action, Param, action_rows
from jobbertrack.cli.app import COMMANDS
from jobbertrack.cli.commands_jobs import action_command
from jobbertrack.web._api import FIELDS
from jobbertrack.web._openapi import openapi
from jobbertrack.web._paths import ACTIONS as ROUTED

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_route_rows_are_the_table_s() -> None:
    assert action_rows() in (ROOT / "docs" / "web.md").read_text(encoding="utf-8"), (
        "paste jobbertrack.actions.action_rows() into docs/web.md's route table"
    )


@pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
def test_each_method_takes_the_row_s_inputs_in_both_layers(action: Action) -> None:
    for resource in (jobbertrack.Resource, jobbertrack.aio.Resource):
        signature = inspect.signature(getattr(resource, action.method))
        for param in action.params:
            assert param.argument in signature.parameters, (resource, action.name, param.argument)


@pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
def test_each_row_is_a_route_with_its_openapi_body(action: Action) -> None:
    assert action.name in ROUTED
    assert FIELDS[action.name] == tuple(p.name for p in action.params)
    post = openapi()["paths"][f"/api/jobs/{{id}}/{action.name}"][action.http.lower()]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert sorted(schema["properties"]) == sorted(p.name for p in action.params)
    assert schema["additionalProperties"] is False
    assert schema.get("required", []) == list(action.required)
    assert post["summary"] == action.summary


@pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
def test_each_row_is_a_command_with_its_arguments_and_options(action: Action) -> None:
    command = next(c for c in COMMANDS if c.name == action.name)
    arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
    options = {p.name for p in command.params if isinstance(p, click.Option)}
    assert arguments == ["job_id", *(p.name for p in action.params if p.positional)]
    assert {p.name for p in action.params if not p.positional} <= options
    assert command.help is not None and command.help.startswith(action.summary)


def test_the_summaries_of_moves_come_from_the_state_table() -> None:
    assert ACTIONS["start"].summary == "Move a job from waiting to running."
    assert ACTIONS["fail"].summary.startswith("Move a job from running to failed")


def test_a_new_row_makes_a_command_that_calls_its_method() -> None:
    """What adding an action costs the CLI: nothing but the row."""
    row = Action(
        "pause",
        "pause",
        "Pause a running job.",
        (
            Param("why", "text", "Said in the job's error.", positional=True),
            Param("for_", "seconds", "How long."),
        ),
        example='"maintenance"',
    )
    command = action_command(row)
    assert command.name == "pause"
    assert [p.name for p in command.params if isinstance(p, click.Argument)] == ["job_id", "why"]
    assert "--for-" in next(p for p in command.params if p.name == "for_").opts
    assert command.help is not None
    assert 'jobbertrack pause 01J2M3K4ZQ8XW5RB7T6YV "maintenance"' in command.help


def test_the_fields_set_at_create_come_from_the_library_s_table() -> None:
    """A new create field is a row of ``fields.CREATE_FIELDS`` (and a
    keyword of create/push): the HTTP bodies, the OpenAPI schemas and the
    command line's options follow.  Tags, a list, are ``TAGS_INPUT`` rather
    than a row of ``CREATE_INPUTS`` (``--tag`` is given once per tag)."""
    from jobbertrack._core.fields import CREATE_FIELDS
    from jobbertrack.actions import CREATE_INPUTS, TAGS_INPUT

    assert [p.name for p in CREATE_INPUTS] + [TAGS_INPUT.name] == list(CREATE_FIELDS)
    paths = openapi()["paths"]
    for route, write in (("/api/jobs", "create"), ("/api/queues/{name}/jobs", "push")):
        schema = paths[route]["post"]["requestBody"]["content"]["application/json"]["schema"]
        for param in CREATE_INPUTS:
            assert param.name in FIELDS[write]
            assert schema["properties"][param.name]["maxLength"] == CREATE_FIELDS[param.name].max_length
        assert TAGS_INPUT.name in FIELDS[write]
        assert schema["properties"][TAGS_INPUT.name]["type"] == "array"
    for command in ("create", "push"):
        options = {p.name for p in next(c for c in COMMANDS if c.name == command).params}
        assert {p.name for p in CREATE_INPUTS} | {TAGS_INPUT.name} <= options
    for method in ("create", "push"):
        for handler in (jobbertrack.Handler, jobbertrack.aio.Handler):
            keywords = set(inspect.signature(getattr(handler, method)).parameters)
            assert {p.argument for p in (*CREATE_INPUTS, TAGS_INPUT)} <= keywords
