"""How a job's fields read on a page (the server-rendered half; static/live.js
renders the same columns for rows that arrive live)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

FOLD_BYTES = 2000  # data longer than this starts folded on the detail page


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def relative(value: Any, now: datetime | None = None) -> str:
    stamp = parse_time(value)
    if stamp is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = (now - stamp).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} d"
    return f"in {text}" if future else f"{text} ago"


def absolute(value: Any) -> str:
    stamp = parse_time(value)
    return "" if stamp is None else stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(job: dict[str, Any], now: datetime | None = None) -> str:
    start = parse_time(job.get("started_at"))
    if start is None:
        return ""
    end = parse_time(job.get("ended_at")) or (now or datetime.now(timezone.utc))
    return seconds_text((end - start).total_seconds())


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"


def percent(progress: Any) -> float | None:
    if not isinstance(progress, dict):
        return None
    current, total = progress.get("current"), progress.get("total")
    if not isinstance(current, (int, float)) or not isinstance(total, (int, float)) or total <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * current / total))


def progress_text(progress: Any) -> str:
    if not isinstance(progress, dict):
        return ""
    current, total = progress.get("current"), progress.get("total")
    text = f"{current}" if total is None else f"{current}/{total}"
    return f"{text} {progress['message']}" if progress.get("message") else text


def reason(job: dict[str, Any]) -> str:
    """The failure of a row, or what is wrong with a malformed record."""
    if job.get("problems"):
        return "; ".join(f"{p['field']}: {p['problem']}" for p in job["problems"])
    error = job.get("error")
    if not isinstance(error, dict):
        return ""
    parts = [str(error[k]) for k in ("reason", "message") if error.get(k)]
    return ": ".join(parts)


def queue_text(job: dict[str, Any]) -> str:
    """A pushed job's queue and attempt, ``"q · attempt 2 of 3"`` ("" for a
    job that was not pushed)."""
    if not job.get("queue"):
        return ""
    retries = job.get("retries")
    of = f" of {retries + 1}" if isinstance(retries, int) else ""
    priority = job.get("priority")
    said = f" · priority {priority}" if isinstance(priority, int) and priority else ""
    return f"{job['queue']} · attempt {job.get('attempt')}{of}{said}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


FILTERS = {
    "relative": relative,
    "absolute": absolute,
    "duration": duration,
    "percent": percent,
    "progress_text": progress_text,
    "reason": reason,
    "queue_text": queue_text,
    "pretty": pretty,
    "seconds": seconds_text,
}
