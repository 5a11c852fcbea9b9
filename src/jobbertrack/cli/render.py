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

#: The states of an ended job.
ENDED_STATES = ("failed", "finished", "cancelled")

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


def group_of(job: jobbertrack.Resource) -> dict[str, Any] | None:
    """A group's ``get_value()["group"]`` (counts, total, closed, then), as
    last read; None for any other job.  Read from the record, never again
    from Redis (a ``Group``'s ``progress`` property would read it)."""
    if not isinstance(job, jobbertrack.Group):
        return None
    info = job.get_value().get("group")
    return info if isinstance(info, dict) else None


def group_progress(info: dict[str, Any]) -> dict[str, Any]:
    """``{"current": ended children, "total": children}`` of a group's counts."""
    counts = info.get("counts") or {}
    ended = sum(int(counts.get(state) or 0) for state in ENDED_STATES)
    return {"current": ended, "total": int(info.get("total") or 0)}


def group_failed(info: dict[str, Any]) -> int:
    """A group's failed children (those that expired before they ended included)."""
    return int((info.get("counts") or {}).get("failed") or 0)


def group_cell(info: dict[str, Any], width: int = 8, *, marker: bool = True) -> Text:
    """``3/10 ███░░░░░ group · 1 failed``: a group's ended children of its
    total, as a bar, marked as a group, with its failed count when any."""
    text = progress_cell(group_progress(info), width)
    if not info.get("total"):
        text = Text("0/0")
    if marker:
        text.append(" group", style="bold blue")
    failed = group_failed(info)
    if failed:
        text.append(" · " if marker else " ").append(f"{failed} failed", style=STATE_STYLES["failed"])
    return text


def group_counts_text(info: dict[str, Any], *, every: bool = False) -> Text:
    """The children per state: ``2 waiting · 1 running · 1 failed`` (with
    ``every``, states with none too, then the total)."""
    counts = info.get("counts") or {}
    text = Text()
    for state, n in counts.items():
        if n or every:
            if text:
                text.append(" · ", style="dim")
            text.append(f"{n} ").append(state, style=STATE_STYLES.get(state, "dim"))
    if not every:
        return text if text else Text("no children", style="dim")
    return text.append(" · ", style="dim").append(f"{int(info.get('total') or 0)} total", style="dim")


def group_lines(info: dict[str, Any]) -> list[tuple[str, Text]]:
    """The rows of a group's detail: its children's counts and progress, whether
    it is open, and its follow-up job."""
    rows = [
        ("children", group_counts_text(info, every=True)),
        ("progress", group_cell(info, 20, marker=False)),
        ("closed", Text("yes" if info.get("closed") else "no: children may still join")),
    ]
    if info.get("expired"):
        rows.append(("expired", Text(f"{info['expired']} children expired before they ended")))
    then = info.get("then")
    if isinstance(then, dict):
        said = f"push {then.get('id')} on queue {then.get('queue')}"
        if then.get("name") is not None:
            said += f" (name {then['name']!r})"
        rows.append(("then", Text(said + (": pushed" if then.get("pushed") else ": when the group ends"))))
    return rows


#: Column widths of job tables, (min, max).  The fixed columns never wrap;
#: the others shrink to fit the terminal, cutting their text with "…".
WIDTHS: dict[str, tuple[int | None, int | None]] = {
    "id": (21, None),
    "state": (8, None),
    "name": (8, 30),
    "tags": (4, 24),
    "progress": (8, 30),
    "created": (10, None),
    "updated": (10, None),
    "detail": (10, 50),
}
FIXED = ("id", "state", "created", "updated")
#: The progress column's widest when a group shows in it (``12/12 ████████ group · 2 failed``).
GROUP_PROGRESS = 34


def queue_text(value: dict[str, Any]) -> str | None:
    """A pushed job's queue and attempt: ``"q, attempt 2 of 3"``."""
    if "queue" not in value:
        return None
    total = None if value.get("retries") is None else value["retries"] + 1
    priority = value.get("priority")
    said = f", priority {priority}" if isinstance(priority, int) and priority else ""
    return f"{value['queue']}, attempt {value.get('attempt')}" + (f" of {total}" if total else "") + said


def tags_text(tags: list[str]) -> Text:
    """A job's tags on one line, each as written (never markup), comma-separated."""
    return Text(", ").join(Text(tag, style="cyan") for tag in tags)


def labels(value: dict[str, Any]) -> list[tuple[str, Text]]:
    """The rows of a job's detail that say what it is: name, queue, tags (those it has)."""
    rows = [] if value.get("name") is None else [("name", Text(value["name"]))]
    if queue_text(value):
        rows.append(("queue", Text(queue_text(value) or "")))
    if value.get("tags"):
        rows.append(("tags", tags_text(value["tags"])))
    if value.get("group_id"):
        rows.append(("group", Text(str(value["group_id"]))))
    return rows


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


def job_error(job: jobbertrack.Resource) -> str:
    """A job's error as one line; a failed group's says how many children failed."""
    error = job.error
    if error and error.get("reason") == "children_failed" and not error.get("message"):
        said = ", ".join(f"{error[k]} {k}" for k in ("failed", "cancelled", "expired") if error.get(k))
        return f"children_failed: {said}" if said else "children_failed"
    return error_text(error)


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


def print_created(out: Output, job: jobbertrack.Resource, *, keyed: bool) -> None:
    """The job a ``create`` or ``push`` returned; a keyed one (``--key``)
    says whether it existed already (JSON: ``"existed"``)."""
    if out.json:
        value = job_value(job)
        if keyed:
            value["existed"] = job.existed
        out.document(value)
        return
    print_job(out, job)
    if keyed and job.existed:
        out.line(f"existed: made before with key {job.key!r}; nothing written")


def job_detail(job: jobbertrack.Resource) -> RenderableType:
    value = job.get_value()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("id", Text(job.id))
    grid.add_row("state", state_text(job_state(job)))
    for problem in job.problems:
        grid.add_row("problem", Text(f"{problem['field']}: {problem['problem']}", style="red"))
    for label, text in labels(value):
        grid.add_row(label, text)
    for label, text in progress_rows(job):
        grid.add_row(label, text)
    if job.error:
        grid.add_row("error", Text(job_error(job), style="red"))
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


def progress_rows(job: jobbertrack.Resource) -> list[tuple[str, Text]]:
    """A job's progress as rows of its detail; a group's children's counts and progress."""
    info = group_of(job)
    if info is not None:
        return group_lines(info)
    return [("progress", progress_cell(job.progress, width=20))] if job.progress else []


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
            note = f"{step['reason']}: {note}" if note else str(step["reason"])
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
    if value.get("tags"):
        lines.append(f"tags: {to_json(value['tags'])}")
    if value.get("group_id"):
        lines.append(f"group: {value['group_id']}")
    info = group_of(job)
    if info is not None:
        lines.extend(f"{label}: {text.plain}" for label, text in group_lines(info))
    elif job.progress:
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
#: so that names stay readable: the tags, the detail, then the times.  ``id``,
#: ``name``, ``state`` and ``progress`` always stay.
DROP_ORDER = ("tags", "detail", "created", "updated")
#: The width a name is given before any droppable column is kept.
NAME_ROOM = 22
#: Below this width the progress bar goes, its numbers (and message) stay,
#: in a column of at least NARROW_PROGRESS.
BAR_FROM = 100
NARROW_PROGRESS = 5


#: A job and when it last changed (None: unknown).
Row = tuple[jobbertrack.Resource, datetime | None]


#: The columns of ``jobbertrack ls``; with ``tags`` after the name when a listed job has tags.
LIST_COLUMNS = ("id", "state", "name", "progress", "created", "detail")
TAGGED_COLUMNS = ("id", "state", "name", "tags", "progress", "created", "detail")


def list_columns(jobs: list[jobbertrack.Resource]) -> tuple[str, ...]:
    return TAGGED_COLUMNS if any(job.get_value().get("tags") for job in jobs) else LIST_COLUMNS


def jobs_table(
    rows: Iterable[Row],
    columns: tuple[str, ...] = LIST_COLUMNS,
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
        # a group's progress keeps its marker and failed count (up to GROUP_PROGRESS)
        groups = [group_cell(info, bar).cell_len for job, _ in self.rows if (info := group_of(job))]
        least["progress"] = max(least["progress"], min(max(groups, default=0), GROUP_PROGRESS))
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
        has_group = any(group_of(job) is not None for job, _ in self.rows)
        for name in columns:
            low, high = WIDTHS[name]
            if name == "progress" and has_group:
                high = GROUP_PROGRESS
            table.add_column(name, no_wrap=name in FIXED, min_width=least.get(name, low), max_width=high)
        for job, updated in self.rows:
            info = group_of(job)
            cells = {
                "id": Text(job.id),
                "state": state_text(job_state(job)),
                "name": Text(job.name or ""),
                "tags": tags_text(job.get_value().get("tags") or []),
                "progress": progress_cell(job.progress, bar) if info is None else group_cell(info, bar),
                "created": Text(ago(job.created_at, self.now)),
                "updated": Text(ago(updated, self.now)),
                "detail": detail_cell(job, info),
            }
            for cell in cells.values():
                cell.no_wrap, cell.overflow = True, "ellipsis"
            table.add_row(*(cells[name] for name in columns))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fitted(options.max_width)


def detail_cell(job: jobbertrack.Resource, info: dict[str, Any] | None) -> Text:
    """The detail column: a group's children per state, else ``detail``."""
    if info is not None and not job.problems:
        return group_counts_text(info)
    return Text(detail(job), style="red" if job.state == "failed" or job.problems else "")


def needed(columns: list[str], least: dict[str, int]) -> int:
    """The width ``columns`` take at their ``least``, the name at
    ``NAME_ROOM``, with the table's padding (a space each side of every
    cell), the space between columns and the two edges."""
    return sum(NAME_ROOM if c == "name" else least[c] for c in columns) + 3 * len(columns) + 1


def job_row(job: jobbertrack.Resource) -> str:
    """A plain, tab-separated listing line: id, state, created_at, name;
    for a malformed record, state ``broken`` and a fifth column, its problems;
    for a group, a fifth column ``group 3/10 1 failed`` (ended/total children,
    failed ones)."""
    cells = (job.id, job_state(job), iso(job.created_at), job.name or "-")
    if job.problems:
        return "\t".join((*cells, problems_text(job)))
    info = group_of(job)
    if info is not None:
        return "\t".join((*cells, group_summary(info)))
    return "\t".join(cells)


def group_summary(info: dict[str, Any]) -> str:
    """``group 3/10 1 failed``: a group's ended children of its total, and its failed ones."""
    done = group_progress(info)
    return f"group {done['current']}/{done['total']} {group_failed(info)} failed"


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


# -- queues and workers ----------------------------------------------------------


def wait_text(seconds: float) -> str:
    """A wait as a person reads it: ``"3s"``, ``"2m 5s"``, ``"1h 20m"``, ``"2d 3h"``."""
    whole = max(0, int(seconds))
    for unit, size, smaller, small_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if whole >= size:
            rest = (whole % size) // small_size
            return f"{whole // size}{unit}" + (f" {rest}{smaller}" if rest else "")
    return f"{whole}s"


def oldest_wait(stats: dict[str, Any]) -> str:
    """The age of the oldest ready job, or ``-`` when none is ready."""
    return wait_text(stats["oldest_wait_s"]) if stats["waiting"] else "-"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def queues_table(queues: list[dict[str, Any]]) -> Table:
    """One row per queue (``queue_stats``), in the order given."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("queue")
    for name in ("waiting", "delayed", "running", "oldest wait", "paused", "workers"):
        table.add_column(name, justify="left" if name == "paused" else "right", no_wrap=True)
    for q in queues:
        table.add_row(
            Text(q["name"]),
            Text(str(q["waiting"]), style=STATE_STYLES["waiting"] if q["waiting"] else "dim"),
            Text(str(q["delayed"]), style="" if q["delayed"] else "dim"),
            Text(str(q["running"]), style=STATE_STYLES["running"] if q["running"] else "dim"),
            Text(oldest_wait(q)),
            Text(yes_no(q["paused"]), style="bold yellow" if q["paused"] else "dim"),
            Text(str(q["workers"]), style="" if q["workers"] else "dim"),
        )
    return table


def queue_row(stats: dict[str, Any]) -> str:
    """A plain, tab-separated queue line: name, waiting, delayed, running,
    oldest wait, paused (yes/no), workers."""
    cells = (stats["name"], stats["waiting"], stats["delayed"], stats["running"])
    return "\t".join(str(c) for c in (*cells, oldest_wait(stats), yes_no(stats["paused"]), stats["workers"]))


def queue_summary(stats: dict[str, Any]) -> Text:
    """One queue on one line: ``emails: 3 waiting, 1 delayed, 2 running,
    oldest wait 2m 5s, 1 worker`` (whether it is paused is the caller's to say)."""
    workers = stats["workers"]
    text = Text().append(stats["name"], style="bold")
    return text.append(
        f": {stats['waiting']} waiting, {stats['delayed']} delayed, {stats['running']} running, "
        f"oldest wait {oldest_wait(stats)}, {workers} worker{'' if workers == 1 else 's'}"
    )


def queues_line(queues: list[dict[str, Any]]) -> Text:
    """The depth of each queue, for a live board: ``queues
    (waiting/delayed/running)   emails 3/1/2   reports 0/4/0 paused``."""
    text = Text().append("queues (waiting/delayed/running)", style="dim").append("   ")
    for q in queues:
        text.append(q["name"], style="bold").append(" ")
        text.append(str(q["waiting"]), style=STATE_STYLES["waiting"]).append("/")
        text.append(str(q["delayed"])).append("/")
        text.append(str(q["running"]), style=STATE_STYLES["running"])
        if q["paused"]:
            text.append(" paused", style="bold yellow")
        text.append("   ")
    text.rstrip()
    return text


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time of a worker record (``Z`` accepted on Python 3.10), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None


def worker_time(value: Any, now: datetime) -> str:
    """``"3 s ago"``, or the text as stored when it is not a time this reads."""
    when = parse_time(value)
    if when is not None and when.tzinfo is not None:
        return ago(when, now)
    return str(value) if value else "-"


#: Characters kept of each running job's id in the workers table (their
#: end: ids of one moment share their beginning); --json has them whole.
SHORT_ID = 8


def short_jobs(ids: list[str]) -> str:
    return ", ".join(i if len(i) <= SHORT_ID + 1 else "…" + i[-SHORT_ID:] for i in ids)


#: The workers table's columns.  Those of WORKER_SHRINK may be cut (with
#: "…") down to the width given here; the others keep their whole width,
#: and a narrow terminal drops the columns of WORKER_DROP instead (first
#: listed, first dropped), so that the id, queues and running jobs stay.
WORKER_COLUMNS = (
    "id",
    "host",
    "pid",
    "queues",
    "concurrency",
    "running",
    "processed",
    "failed",
    "started",
    "last seen",
)
WORKER_SHRINK = {"id": 12, "host": 6, "queues": 6, "running": 8}
WORKER_MAX = {"host": 24, "queues": 30, "running": 40}
WORKER_DROP = ("started", "concurrency", "host", "processed", "failed")
WORKER_NUMBERS = ("pid", "concurrency", "processed", "failed")


def workers_table(workers: list[dict[str, Any]], now: datetime | None = None) -> WorkersTable:
    """A table of workers (``track.workers()``) that fits the width it is drawn in."""
    return WorkersTable(workers, now or now_utc())


class WorkersTable:
    def __init__(self, workers: list[dict[str, Any]], now: datetime) -> None:
        self.rows = [self.cells(worker, now) for worker in workers]

    def fitted(self, width: int) -> Table:
        least = {}
        for name in WORKER_COLUMNS:
            whole = max([len(name), *(row[name].cell_len for row in self.rows)])
            least[name] = min(whole, WORKER_SHRINK.get(name, whole), WORKER_MAX.get(name, whole))
        columns = list(WORKER_COLUMNS)
        for name in WORKER_DROP:
            if sum(least[c] + 3 for c in columns) + 1 > width:
                columns.remove(name)
        return self.table(tuple(columns), least)

    def table(self, columns: tuple[str, ...] = WORKER_COLUMNS, least: dict[str, int] | None = None) -> Table:
        table = Table(box=box.SIMPLE_HEAD)
        for name in columns:
            table.add_column(
                name,
                justify="right" if name in WORKER_NUMBERS else "left",
                no_wrap=name not in WORKER_SHRINK,
                min_width=(least or {}).get(name),
                max_width=WORKER_MAX.get(name),
            )
        for cells in self.rows:
            table.add_row(*(cells[name] for name in columns))
        return table

    @staticmethod
    def cells(w: dict[str, Any], now: datetime) -> dict[str, Text]:
        jobs = list(w.get("jobs") or [])
        running = Text(f"{len(jobs)}", style=STATE_STYLES["running"] if jobs else "dim")
        if jobs:
            running.append(f": {short_jobs(jobs)}")
        failed = int(w.get("failed") or 0)
        cells = {
            "id": Text(str(w["id"])),
            "host": Text(str(w.get("host", ""))),
            "pid": Text(str(w.get("pid", ""))),
            "queues": Text(", ".join(w.get("queues") or [])),
            "concurrency": Text(str(w.get("concurrency", ""))),
            "running": running,
            "processed": Text(str(w.get("processed", 0))),
            "failed": Text(str(failed), style=STATE_STYLES["failed"] if failed else "dim"),
            "started": Text(worker_time(w.get("started_at"), now)),
            "last seen": Text(worker_time(w.get("last_seen"), now)),
        }
        for cell in cells.values():
            cell.no_wrap, cell.overflow = True, "ellipsis"
        return cells

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fitted(options.max_width)


def worker_row(worker: dict[str, Any]) -> str:
    """A plain, tab-separated worker line: id, host, pid, queues (comma
    separated), concurrency, running job ids (comma separated, whole),
    processed, failed, started_at, last_seen."""
    cells = (
        worker["id"],
        worker.get("host", ""),
        worker.get("pid", ""),
        ",".join(worker.get("queues") or []),
        worker.get("concurrency", ""),
        ",".join(worker.get("jobs") or []) or "-",
        worker.get("processed", 0),
        worker.get("failed", 0),
        worker.get("started_at") or "-",
        worker.get("last_seen") or "-",
    )
    return "\t".join(str(c) for c in cells)
