"""A job's path through the state table, told from the time stamps of its
record (``Resource.history()``, the dashboard's timeline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .attempts import attempt_steps
from .problems import STATES
from .transitions import ALIVE, ENTERED, INITIAL, State
from .wire import read_ms, read_object, read_time


def _entered_by(stamp: str) -> State:
    return next(s for s, f in ENTERED.items() if f == stamp)


def history(fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """The job's transitions, oldest first, from the times in its record:
    ``{"from", "to", "at"}``, plus ``message`` and ``reason`` (failures) and
    ``progress`` (the last report, once the worker is done) on the last.
    The path follows the table: creation, then each move's time stamp
    (``ENTERED``) in the order of its time; the stamp of the state the job is
    in marks the last step."""
    if "state" not in fields:
        return []
    current = STATES.get(fields["state"])  # None: not a state (a foreign record)
    out: list[dict[str, Any]] = [{"from": None, "to": INITIAL.value, "at": read_time(fields.get("created"))}]
    out += attempt_steps(fields)  # the earlier attempts of a pushed job
    # table order breaks ties; a malformed stamp tells nothing
    stamps = [f for f in dict.fromkeys(ENTERED.values()) if read_ms(fields.get(f)) is not None]
    for stamp in sorted(stamps, key=lambda f: read_ms(fields[f]) or 0):
        into = current if current in ENTERED and ENTERED[current] == stamp else _entered_by(stamp)
        step: dict[str, Any] = {"from": out[-1]["to"], "to": into.value, "at": read_time(fields[stamp])}
        out.append(step)
    if len(out) > 1:  # a job only created has nothing more to tell
        _details(out[-1], fields, current)
    return out


def _details(last: dict[str, Any], fields: Mapping[str, str], current: State | None) -> None:
    """The failure, and the last progress report once the worker is done
    (the job left the states where it reports: ``ALIVE``), belong to the
    move into the state the job is in."""
    error = read_object(fields.get("error"))
    if error:
        last["message"] = error.get("message")
        last["reason"] = error.get("reason")
    if "progress" in fields and current not in ALIVE:
        last["progress"] = read_object(fields["progress"])
