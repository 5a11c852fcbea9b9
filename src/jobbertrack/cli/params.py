"""Argument types: numbers, durations, points in time, tags and JSON values
(inline, a file or stdin)."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from jobbertrack import InvalidData
from jobbertrack.actions import CREATE_INPUTS, KEY_INPUT, TAGS_INPUT, Param
from jobbertrack.times import parse_when

F = TypeVar("F", bound=Callable[..., Any])


def as_number(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A finite int when written as one (``3``), else a finite float (``2.5``)."""
    if value is None:
        return None
    number: float
    try:
        number = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a number", param=param) from None
    if not math.isfinite(number):
        raise click.BadParameter(f"{value!r} is not a finite number", param=param)
    return number


#: A duration in seconds, > 0 (ints and floats).
SECONDS = click.FloatRange(min=0, min_open=True)


def as_when(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A point in time (``jobbertrack.times``): ISO 8601 (UTC without an
    offset), epoch seconds, or that long ago (``2h``, ``30m``, ``1d``)."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except InvalidData as exc:
        raise click.BadParameter(str(exc), param=param) from None


WHEN_HELP = "ISO 8601 (UTC unless it says), epoch seconds, or that long ago: 45s, 30m, 2h, 1d, 1w."

JSON_HELP = "JSON text, '-' to read standard input, or '@PATH' (or just PATH) to read a file."


def json_value(text: str, what: str = "DATA") -> Any:
    """The value of a JSON argument: inline JSON, ``-`` for stdin, ``@path``
    for a file; a bare argument that is not JSON but names a file is read too."""
    source = text
    if text == "-":
        source = sys.stdin.read()
    elif text.startswith("@"):
        source = _read(text[1:], what)
    try:
        return json.loads(source)
    except ValueError as exc:
        if source is text and os.path.isfile(text):
            return json_value("@" + text, what)
        hint = "; a string needs JSON quotes, e.g. '\"done\"'" if source is text else ""
        raise click.BadParameter(f"not JSON ({exc}){hint}", param_hint=what) from None


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path!r}: {exc.strerror}", param_hint=what) from None


#: Per kind of input: click's settings for it (type or callback, metavar).
_OPTION_KINDS: dict[str, dict[str, Any]] = {
    "seconds": {"type": SECONDS, "metavar": "S"},
    "number": {"callback": as_number, "metavar": "N"},
    "text": {"metavar": "TEXT"},
    "json": {"metavar": "JSON"},
}


def click_param(param: Param) -> Callable[[F], F]:
    """The click argument or option of one input of ``jobbertrack.actions``."""
    settings = dict(_OPTION_KINDS[param.kind])
    if param.positional:
        settings.pop("type", None)
        settings["metavar"] = param.name.upper() if param.required else f"[{param.name.upper()}]"
        return click.argument(param.name, required=param.required, **settings)
    flag = "--" + param.name.replace("_", "-")
    return click.option(flag, param.name, required=param.required, help=param.help, **settings)


def key_option(func: F) -> F:
    """``--key K``: an idempotent create (``create(..., key=K)``)."""
    return click.option(f"--{KEY_INPUT.name}", metavar="K", help=KEY_INPUT.help)(func)


def tag_option(func: F) -> F:
    """``--tag T``, repeatable: the job's tags (``create(..., tags=[...])``)."""
    return click.option(
        "--tag", "tags", multiple=True, metavar="T", help=f"{TAGS_INPUT.help} Repeatable: one tag each."
    )(func)


def group_option(func: F) -> F:
    """``--group ID``: the job joins that open group as a child (``create(..., group=ID)``)."""
    return click.option(
        "--group",
        metavar="ID",
        help="Join this open group as a child (`jobbertrack group create`); "
        "the job lives no longer than the group.",
    )(func)


def no_key_with_group(key: str | None, group: str | None) -> None:
    """A child joins its group without an idempotency key (the library refuses both)."""
    if key is not None and group is not None:
        raise click.UsageError("--key and --group cannot be given together: make the child without --key")


def create_options(func: F) -> F:
    """``--name`` and every other field set at create (``jobbertrack.actions.CREATE_INPUTS``)."""
    for param in reversed(CREATE_INPUTS):
        func = click_param(param)(func)
    return func
