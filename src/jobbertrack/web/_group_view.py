"""What the pages show of groups: a group's counts as a stacked bar and in
words (its page, the ``<jobbertrack-job>`` element says the same), a page
of its children, and the jobs list's badge ("37 / 100")."""

from __future__ import annotations

from typing import Any

from ._backend import Backend, job_json

#: The bar's segments, left to right: the ended children first.
BAR_ORDER = ("finished", "failed", "cancelled", "running", "waiting")
ENDED = ("finished", "failed", "cancelled")
CHILDREN_PAGE = 50


def ended(info: dict[str, Any]) -> int:
    counts = info.get("counts") or {}
    return sum(int(counts.get(s, 0)) for s in ENDED)


def summary(info: dict[str, Any]) -> str:
    """``"37 / 100 done · 2 failed"``: ended children of those made so far,
    then the failed and cancelled ones (when any)."""
    counts = info.get("counts") or {}
    text = f"{ended(info)} / {int(info.get('total') or 0)} done"
    for state in ("failed", "cancelled"):
        if counts.get(state):
            text += f" · {int(counts[state])} {state}"
    return text


def badge(job: dict[str, Any]) -> str:
    """The jobs list's mark of a group, ``"37 / 100"``; ``""`` for any other job."""
    info = job.get("group")
    if not isinstance(info, dict):
        return ""
    return f"{ended(info)} / {int(info.get('total') or 0)}"


def progress(job: dict[str, Any]) -> dict[str, int] | None:
    """A group's progress as a job's (``{"current": ended, "total": made}``), for
    the lists' progress bars; None for any other job."""
    info = job.get("group")
    if not isinstance(info, dict):
        return None
    return {"current": ended(info), "total": int(info.get("total") or 0)}


def segments(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The bar's segments: each state with children, its count and its
    place as percentages of the bar (SVG attributes: no inline style)."""
    counts, total = info.get("counts") or {}, int(info.get("total") or 0)
    out, x = [], 0.0
    for state in BAR_ORDER:
        n = int(counts.get(state, 0))
        if n <= 0 or total <= 0:
            continue
        width = 100.0 * n / total
        out.append({"state": state, "n": n, "x": round(x, 3), "width": round(width, 3)})
        x += width
    return out


async def group_context(backend: Backend, group: Any, cursor: str | None) -> dict[str, Any]:
    """The template's ``group``: its counts (in the bar's order), bar and
    words, and a page of its children (newest first, the next page's cursor)."""
    info = job_json(group)["group"]
    page, next_cursor = await backend.children(group, None, CHILDREN_PAGE, cursor)
    counts = info.get("counts") or {}
    return {
        **info,
        "ended": ended(info),
        "summary": summary(info),
        "segments": segments(info),
        "legend": [(state, int(counts.get(state, 0))) for state in BAR_ORDER],
        "children": [job_json(j) for j in page],
        "cursor": next_cursor,
        "first_page": cursor is None,
    }


FILTERS = {"group_badge": badge, "group_progress": progress}
