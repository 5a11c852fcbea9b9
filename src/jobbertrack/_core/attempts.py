"""The fields of a queued job and their ``get_value()`` and
``history()`` forms.  Pure; imported by ``record`` (so it imports only the
codec).

A job made by ``push`` carries ``queue``, ``attempt`` (1-based: the attempt
running, or the next one while it waits), ``retries`` (attempts allowed after
the first), ``backoff`` (ms before a failed attempt's job is poppable again),
``ready`` (ms: when it is poppable, while it waits) and, once an attempt has
failed, ``attempts``: a JSON list of ``{"attempt", "started", "ended",
"error"}``, one per failed attempt, oldest first (written by ``requeue()`` in
``_lua/_lib.lua``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .codec import read_json

#: The queue fields of a record (``fields.KNOWN`` includes them).
QUEUE_FIELDS = ("queue", "attempt", "retries", "backoff", "ready", "attempts", "priority")


def _int(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        return None
    return int(raw)


def _iso(ms: object) -> str | None:
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= 253_402_300_799_999:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def earlier_attempts(fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """The failed attempts before the current one, oldest first:
    ``{"attempt", "started_at", "ended_at", "error"}`` ([] if none or unreadable)."""
    stored = read_json(fields.get("attempts"))
    if not isinstance(stored, list):
        return []
    out = []
    for item in stored:
        if isinstance(item, dict):
            error = item.get("error")
            one = {
                "attempt": item.get("attempt"),
                "started_at": _iso(item.get("started")),
                "ended_at": _iso(item.get("ended")),
                "error": error if isinstance(error, dict) else None,
            }
            if isinstance(item.get("state"), str):  # retried from where it ended (retry())
                one["state"] = item["state"]
                one["retried_at"] = _iso(item.get("retried"))
            out.append(one)
    return out


def _priority(raw: str | None) -> int:
    """A pushed job's priority: 0 when the record has none (or not one push writes)."""
    if raw is None or not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 7:
        return 0
    return int(raw)


def queue_value(fields: Mapping[str, str]) -> dict[str, Any]:
    """The queue part of ``get_value()`` ({} for a job that was not pushed)."""
    if "queue" not in fields:  # a job that was not pushed: its attempts once retried
        if "attempts" not in fields:
            return {}
        return {"attempt": _int(fields.get("attempt")), "attempts": earlier_attempts(fields)}
    backoff, ready = _int(fields.get("backoff")), _int(fields.get("ready"))
    return {
        "queue": fields["queue"],
        "attempt": _int(fields.get("attempt")),
        "retries": _int(fields.get("retries")),
        "backoff": None if backoff is None else backoff / 1000,
        "ready_at": None if ready is None else _iso(ready),
        "priority": _priority(fields.get("priority")),
        "attempts": earlier_attempts(fields),
    }


def attempt_steps(fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """``history()`` steps of the earlier attempts: for each, its start
    (waiting -> running) and its failure (running -> waiting, with the
    error's message and reason and the attempt number)."""
    out: list[dict[str, Any]] = []
    for item in earlier_attempts(fields):
        at = [
            None if t is None else datetime.fromisoformat(t) for t in (item["started_at"], item["ended_at"])
        ]
        error = item["error"] or {}
        ended = item.get("state", "waiting")  # a requeued attempt went back to waiting
        if at[0] is not None or "state" not in item:
            out.append({"from": "waiting", "to": "running", "at": at[0], "attempt": item["attempt"]})
        out.append(
            {
                "from": "waiting" if at[0] is None and "state" in item else "running",
                "to": ended,
                "at": at[1],
                "attempt": item["attempt"],
                "message": error.get("message"),
                "reason": error.get("reason"),
            }
        )
        if "state" in item:  # then retried
            retried = item.get("retried_at")
            at_retry = None if retried is None else datetime.fromisoformat(retried)
            out.append({"from": ended, "to": "waiting", "at": at_retry, "attempt": item["attempt"]})
    return out


def _ms(iso: object) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        return round(datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return None


def queue_fields(value: Mapping[str, Any]) -> dict[str, str]:
    """The stored queue fields from what ``queue_value`` shows (so that
    ``set_value(get_value())`` keeps them)."""
    out: dict[str, str] = {}
    if value.get("queue") is not None:
        out["queue"] = str(value["queue"])
    elif not value.get("attempts"):
        return {}
    for name in ("attempt", "retries"):
        if isinstance(value.get(name), int):
            out[name] = str(value[name])
    if isinstance(value.get("backoff"), (int, float)):
        out["backoff"] = str(round(value["backoff"] * 1000))
    if _ms(value.get("ready_at")) is not None:
        out["ready"] = str(_ms(value["ready_at"]))
    priority = value.get("priority")
    if isinstance(priority, int) and not isinstance(priority, bool) and priority:
        out["priority"] = str(priority)
    if value.get("attempts"):
        stored = [
            {
                "attempt": a.get("attempt"),
                "started": _ms(a.get("started_at")),
                "ended": _ms(a.get("ended_at")),
                "error": a.get("error"),
                **(
                    {"state": a["state"], "retried": _ms(a.get("retried_at"))}
                    if isinstance(a.get("state"), str)
                    else {}
                ),
            }
            for a in value["attempts"]
            if isinstance(a, dict)
        ]
        out["attempts"] = json.dumps(stored, separators=(",", ":"))
    return out
