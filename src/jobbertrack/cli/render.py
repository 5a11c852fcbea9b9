"""Jobs, counts and events in each output form: rich renderables for a
terminal, plain lines for scripts, JSON-able values for ``--json``.

Job data is untrusted: it only ever reaches rich inside ``Text`` objects
(never as markup), so ``[red]`` in a job name prints as typed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.json import JSON
from rich.table import Table
from rich.text import Text

import jobbertrack

from .output import (
    STATE_STYLES,
    Output,
    ago,
    clock,
    compact,
    error_text,
    iso,
    now_utc,
    number,
    progress_text,
    to_json,
)

TIMES = ("created_at", "started_at", "heartbeat_at", "ended_at", "expires_at")


#: How a job whose record is malformed (``job.problems``) shows its state.
BROKEN = "broken"


def state_text(state: object) -> Text:
    name = str(state) if state is not None else "?"
    return Text(name, style=STATE_STYLES.get(name, "bold red" if name == BROKEN else "dim"))


def job_state(job: jobbertrack.Resource) -> str:
    """The state a job shows: its state, or ``broken`` for a malformed record."""
    return BROKEN if job.problems else str(job.state)


def problems_text(job: jobbertrack.Resource) -> str:
    """``field: problem; ...`` for a malformed record, else ''."""
    return "; ".join(f"{p['field']}: {p['problem']}" for p in job.problems)


def progress_cell(progress: dict[str, Any] | None, width: int = 8) -> Text:
    """``3/10 ███░░░░░ message``: numbers first, so a narrow column keeps them."""
    if not progress:
        return Text("")
    current, total = progress.get("current") or 0, progress.get("total")
    text = Text(number(current) if total is None else f"{number(current)}/{number(total)}")
    if total:
        filled = max(0, min(width, round(width * current / total)))
        if width:
            text.append(" ").append("█" * filled, style="cyan").append("░" * (width - filled), style="dim")
    if progress.get("message"):
        text.append(f" {progress['message']}")
    return text


#: Column widths of job tables, (min, max).  The fixed columns never wrap;
#: the others shrink to fit the terminal, cutting their text with "…".
WIDTHS: dict[str, tuple[int | None, int | None]] = {
    "id": (21, None),
    "state": (8, None),
    "name": (8, 30),
    "progress": (8, 30),
    "created": (10, None),
    "updated": (10, None),
    "detail": (10, 50),
}
FIXED = ("id", "state", "created", "updated")


def queue_text(value: dict[str, Any]) -> str | None:
    """A pushed job's queue and attempt: ``"q, attempt 2 of 3"``."""
    if "queue" not in value:
        return None
    total = None if value.get("retries") is None else value["retries"] + 1
    return f"{value['queue']}, attempt {value.get('attempt')}" + (f" of {total}" if total else "")


def payloads(job: jobbertrack.Resource, value: dict[str, Any]) -> list[str]:
    """``input`` when the job has one, ``result`` once it has one (a
    finished job's, even null)."""
    shown = ["input"] if value.get("input") is not None else []
    return shown + (["result"] if value.get("result") is not None or job.state == "finished" else [])


def detail(job: jobbertrack.Resource) -> str:
    """What a row says beside the state: the failure, or the result (for a
    ``jobbertrack run`` job, its exit status and duration), or what is
    wrong with a malformed record."""
    if job.problems:
        return problems_text(job)
    if job.state == "failed":
        return error_text(job.error)
    if job.state in ("waiting", "running"):
        return queue_text(job.get_value()) or ""
    data = job.result
    if data is None:
        return ""
    if isinstance(data, dict) and "exit_code" in data and "duration" in data:
        return f"exit status {data['exit_code']} after {number(data['duration'])} s"
    return compact(data)


def job_value(job: jobbertrack.Resource, *, history: bool = False) -> dict[str, Any]:
    """The ``--json`` form of a job: ``get_value()``, plus its timeline if
    asked (as ``timeline``, the name ``get`` shows; ``history`` is the same
    list under the API's name)."""
    value = job.get_value()
    if history:
        value["timeline"] = value["history"] = job.history()
    return value


# -- one job ---------------------------------------------------------------


def print_job(out: Output, job: jobbertrack.Resource, *, history: bool = False) -> None:
    """A job in the invocation's form; ``history`` adds the timeline to JSON
    (the other forms always show it)."""
    if out.json:
        out.document(job_value(job, history=history))
    elif out.rich:
        out.show(job_detail(job))
    else:
        for line in job_lines(job):
            out.line(line)


def job_detail(job: jobbertrack.Resource) -> RenderableType:
    value = job.get_value()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("id", Text(job.id))
    grid.add_row("state", state_text(job_state(job)))
    for problem in job.problems:
        grid.add_row("problem", Text(f"{problem['field']}: {problem['problem']}", style="red"))
    if job.name is not None:
        grid.add_row("name", Text(job.name))
    if queue_text(value):
        grid.add_row("queue", Text(queue_text(value) or ""))
    if job.progress:
        grid.add_row("progress", progress_cell(job.progress, width=20))
    if job.error:
        grid.add_row("error", Text(error_text(job.error), style="red"))
        if job.error.get("traceback"):
            grid.add_row("", Text(str(job.error["traceback"]).rstrip(), style="dim"))
    for key in payloads(job, value):
        grid.add_row(key, JSON(to_json(value.get(key))))
    for field in TIMES:
        when = getattr(job, field)
        if when is not None:
            grid.add_row(field.removesuffix("_at"), Text(f"{ago(when)}  ({iso(when)})"))
    for field in ("lease", "max_runtime"):
        if value.get(field) is not None:
            grid.add_row(field.replace("_", " "), Text(f"{number(value[field])} s"))
    return Group(grid, Text(""), timeline(job.history()))


def step_note(step: dict[str, Any]) -> str:
    """What a timeline step says: its message or progress, and for a step of
    an earlier attempt of a pushed job, that attempt's number."""
    note = step.get("message") or progress_text(step.get("progress")) or ""
    return f"attempt {step['attempt']}: {note}".rstrip(": ") if step.get("attempt") else note


def timeline(history: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="timeline", title_justify="left", title_style="bold")
    for name in ("at", "from", "to", "note"):
        table.add_column(name)
    for step in history:
        note = step_note(step)
        if step.get("reason") and step["reason"] != "error":
            note = f"{step['reason']}: {note}"
        table.add_row(
            Text(f"{clock(step['at'])} ({ago(step['at'])})" if step["at"] else "-"),
            state_text(step["from"]) if step["from"] else Text("-"),
            state_text(step["to"]),
            Text(note or ""),
        )
    return table


def job_lines(job: jobbertrack.Resource) -> list[str]:
    value = job.get_value()
    lines = [f"id: {job.id}", f"state: {BROKEN if job.problems else value['state']}"]
    lines.extend(f"problem: {p['field']}: {p['problem']}" for p in job.problems)
    if job.name is not None:
        lines.append(f"name: {job.name}")
    if queue_text(value):
        lines.append(f"queue: {queue_text(value)}")
    if job.progress:
        lines.append(f"progress: {progress_text(job.progress)}")
    if job.error:
        lines.append(f"error: {to_json(job.error)}")
    lines.extend(f"{key}: {to_json(value.get(key))}" for key in payloads(job, value))
    lines.extend(f"{field}: {value[field]}" for field in TIMES if value.get(field))
    lines.extend(f"{f}: {number(value[f])}" for f in ("lease", "max_runtime") if value.get(f) is not None)
    lines.append("timeline:")
    for step in job.history():
        note = step_note(step)
        move = f"{step['from']} -> {step['to']}" if step["from"] else step["to"]
        lines.append(f"  {iso(step['at'])}  {move}{'  ' + note if note else ''}")
    return lines


# -- many jobs ---------------------------------------------------------------


#: The columns a narrow terminal drops first (first listed, first dropped),
#: so that names stay readable: the detail, then the times.  ``id``,
#: ``name``, ``state`` and ``progress`` always stay.
DROP_ORDER = ("detail", "created", "updated")
#: The width a name is given before any droppable column is kept.
NAME_ROOM = 22
#: Below this width the progress bar goes, its numbers (and message) stay,
#: in a column of at least NARROW_PROGRESS.
BAR_FROM = 100
NARROW_PROGRESS = 5


#: A job and when it last changed (None: unknown).
Row = tuple[jobbertrack.Resource, datetime | None]


def jobs_table(
    rows: Iterable[Row],
    columns: tuple[str, ...] = ("id", "state", "name", "progress", "created", "detail"),
    now: datetime | None = None,
) -> JobsTable:
    """A table of jobs; each row is a job and when it last changed (None:
    unknown).  It fits the width it is drawn in: see ``JobsTable``."""
    return JobsTable(list(rows), columns, now or now_utc())


class JobsTable:
    """Jobs as a table that fits the terminal: below ``BAR_FROM`` columns
    progress is shown as numbers without a bar, and when the columns still
    do not fit with room for the names, the detail column goes, then the
    times.  A name is cut only when even that leaves it too little room."""

    def __init__(self, rows: list[Row], columns: tuple[str, ...], now: datetime) -> None:
        self.rows, self.columns, self.now = rows, columns, now

    def fitted(self, width: int) -> Table:
        bar = 8 if width >= BAR_FROM else 0
        least = {name: low or 0 for name, (low, _) in WIDTHS.items()}
        if not bar:
            least["progress"] = NARROW_PROGRESS
        columns = list(self.columns)
        for name in DROP_ORDER:
            if name in columns and needed(columns, least) > width:
                columns.remove(name)
        # the names keep their whole width when it fits beside the other columns' least
        room = width - needed([c for c in columns if c != "name"], least) - 3
        longest = max((len(job.name or "") for job, _ in self.rows), default=0)
        least["name"] = max(least["name"], min(longest, WIDTHS["name"][1] or longest, room))
        return self.table(tuple(columns), bar, least)

    def table(self, columns: tuple[str, ...], bar: int = 8, least: dict[str, int] | None = None) -> Table:
        table = Table(box=box.SIMPLE_HEAD)
        least = least or {}
        for name in columns:
            low, high = WIDTHS[name]
            table.add_column(name, no_wrap=name in FIXED, min_width=least.get(name, low), max_width=high)
        for job, updated in self.rows:
            cells = {
                "id": Text(job.id),
                "state": state_text(job_state(job)),
                "name": Text(job.name or ""),
                "progress": progress_cell(job.progress, bar),
                "created": Text(ago(job.created_at, self.now)),
                "updated": Text(ago(updated, self.now)),
                "detail": Text(detail(job), style="red" if job.state == "failed" or job.problems else ""),
            }
            for cell in cells.values():
                cell.no_wrap, cell.overflow = True, "ellipsis"
            table.add_row(*(cells[name] for name in columns))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fitted(options.max_width)


def needed(columns: list[str], least: dict[str, int]) -> int:
    """The width ``columns`` take at their ``least``, the name at
    ``NAME_ROOM``, with the table's padding (a space each side of every
    cell), the space between columns and the two edges."""
    return sum(NAME_ROOM if c == "name" else least[c] for c in columns) + 3 * len(columns) + 1


def job_row(job: jobbertrack.Resource) -> str:
    """A plain, tab-separated listing line: id, state, created_at, name;
    for a malformed record, state ``broken`` and a fifth column, its problems."""
    cells = (job.id, job_state(job), iso(job.created_at), job.name or "-")
    return "\t".join((*cells, problems_text(job)) if job.problems else cells)


def counts_table(counts: dict[str, int]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("state")
    table.add_column("jobs", justify="right")
    for state, n in counts.items():
        table.add_row(state_text(state), Text(str(n)))
    table.add_section()
    table.add_row(Text("total", style="bold"), Text(str(sum(counts.values())), style="bold"))
    return table


def counts_line(counts: dict[str, int]) -> Text:
    text = Text()
    for state, n in counts.items():
        text.append(f"{state} ", style=STATE_STYLES.get(state, "dim")).append(f"{n}", style="bold").append(
            "   "
        )
    return text.append(f"total {sum(counts.values())}", style="dim")


# -- events --------------------------------------------------------------------


def event_value(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "job_id": event.job_id,
        "state": str(event.state),
        "at": event.at,
        "progress": event.progress,
        "error": event.error,
        "cursor": event.cursor,
    }


def event_note(event: Any) -> str:
    return error_text(event.error) if event.error else progress_text(event.progress)


def event_text(event: Any) -> Text:
    text = Text(clock(event.at), style="dim").append("  ").append(event.job_id).append("  ")
    return text.append(state_text(event.state)).append("  ").append(event_note(event))


def event_row(event: Any) -> str:
    """A plain, tab-separated event line: at, event id, job id, state, note."""
    return "\t".join((iso(event.at), event.id, event.job_id, str(event.state), event_note(event)))
