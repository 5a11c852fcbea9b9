"""Argument types: numbers, durations and JSON values (inline, a file or stdin)."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from jobbertrack.actions import CREATE_INPUTS, KEY_INPUT, Param

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


def create_options(func: F) -> F:
    """``--name`` and every other field set at create (``jobbertrack.actions.CREATE_INPUTS``)."""
    for param in reversed(CREATE_INPUTS):
        func = click_param(param)(func)
    return func
