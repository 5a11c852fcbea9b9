"""Where output goes and in which form: rich on a terminal, plain lines when
stdout is not one, JSON with ``--json`` (one document, or one line per item
of a stream).  Also the small text helpers every form uses."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click
from rich.console import Console, RenderableType

STATE_STYLES = {
    "waiting": "yellow",
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "cancelled": "magenta",
}


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.console = Console(highlight=False)
        self.json = json_mode
        #: rich tables and colours; else plain lines (or JSON)
        self.rich = not json_mode and self.console.is_terminal

    def document(self, value: Any) -> None:
        """One JSON document (indented for a person at a terminal)."""
        click.echo(to_json(value, indent=2 if self.console.is_terminal else None))

    def json_line(self, value: Any) -> None:
        """One item of a JSON-lines stream, flushed at once."""
        click.echo(to_json(value))

    def line(self, text: str = "") -> None:
        click.echo(text)

    def show(self, renderable: RenderableType, *, cut: bool = False) -> None:
        """Print for the terminal; ``cut``: a line too long ends in "…" instead of wrapping."""
        if cut:
            self.console.print(renderable, no_wrap=True, overflow="ellipsis")
        else:
            self.console.print(renderable)


def note(message: str) -> None:
    """A line for the person at the terminal, on stderr."""
    click.echo(message, err=True)


def to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=indent)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def compact(value: Any, width: int = 60) -> str:
    """A value as one short line of JSON."""
    text = to_json(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def span(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``"3 s ago"``, ``"5 min ago"``, or ``"in 1 h"`` for a time to come."""
    if when is None:
        return "-"
    seconds = ((now or now_utc()) - when).total_seconds()
    if seconds < -1:
        return f"in {span(-seconds)}"
    return f"{span(max(seconds, 0))} ago"


def iso(when: datetime | None) -> str:
    return "-" if when is None else when.isoformat(timespec="milliseconds")


def clock(when: datetime) -> str:
    """Local wall-clock time with milliseconds, for event lines."""
    try:
        return when.astimezone().strftime("%H:%M:%S.%f")[:-3]
    except (OverflowError, ValueError, OSError):  # a time past what the local zone can show
        return when.strftime("%H:%M:%S.%f")[:-3]


def progress_text(progress: dict[str, Any] | None) -> str:
    if not progress:
        return ""
    current, total = progress.get("current"), progress.get("total")
    text = number(current) if total is None else f"{number(current)}/{number(total)}"
    return f"{text} {progress['message']}" if progress.get("message") else text


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    message = error.get("message") or ""
    reason = error.get("reason")
    if reason and reason != "error":
        return f"{reason}: {message}" if message else str(reason)
    return str(message)
