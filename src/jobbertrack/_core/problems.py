"""What is wrong with a stored record: each known field's check, and the
fields this version does not know (kept, shown under ``"extra"``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._exceptions import InvalidData
from .codec import decode_json, is_utf8, printable
from .fields import DURATIONS, KNOWN, TIMES
from .transitions import State
from .wire import read_ms, read_seconds

STATES = {s.value: s for s in State}


def read_state(fields: Mapping[str, str]) -> State | None:
    """The record's state, None if it is missing, unknown, or the record
    has any other problem (see ``problems``)."""
    state = STATES.get(fields.get("state", ""))
    return None if state is None or problems(fields) else state


def _problem(field: str, raw: str) -> str | None:
    """What is wrong with one known field's stored text, or None."""
    if not is_utf8(raw):
        return "not UTF-8 text"
    check = _CHECKS.get(field)
    return None if check is None else check(raw)


def _state_problem(raw: str) -> str | None:
    return None if raw in STATES else f"not a state: {raw[:40]!r}"


def _time_problem(raw: str) -> str | None:
    return None if read_ms(raw) is not None else f"not a time in ms: {raw[:40]!r}"


def _duration_problem(raw: str) -> str | None:
    return None if read_seconds(raw) is not None else f"not a duration in ms > 0: {raw[:40]!r}"


def _json_problem(raw: str, shape: Callable[[Any], str | None] | None = None) -> str | None:
    try:
        value = decode_json(raw)
    except InvalidData as exc:
        return str(exc)
    return None if shape is None else shape(value)


def _object_problem(value: Any) -> str | None:
    return None if isinstance(value, dict) else "not a JSON object"


def _progress_problem(value: Any) -> str | None:
    """What is wrong with a progress report's shape (``progress_details``)."""
    if not isinstance(value, dict):
        return "not a JSON object"
    current, total, message = value.get("current"), value.get("total"), value.get("message")
    if not _is_number(current) or not (total is None or _is_number(total)):
        return "current and total must be numbers"
    return None if message is None or isinstance(message, str) else "message must be text"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 1e300


#: Per known field, what is wrong with its stored text (None: nothing);
#: a field without a check (``name``) is only required to be UTF-8.
_CHECKS: dict[str, Callable[[str], str | None]] = {
    "state": _state_problem,
    "token": lambda raw: None if raw else "empty",
    "data": _json_problem,
    "result": _json_problem,
    "progress": lambda raw: _json_problem(raw, _progress_problem),
    "error": lambda raw: _json_problem(raw, _object_problem),
    **dict.fromkeys(TIMES, _time_problem),
    **dict.fromkeys(DURATIONS, _duration_problem),
}


def problems(fields: Mapping[str, str]) -> list[dict[str, str]]:
    """Each malformed field of a record (``{"field", "problem"}``), in
    field order; [] for a healthy record.  A field the library does not
    know is never a problem (a newer version may have written it)."""
    out = [] if "state" in fields else [{"field": "state", "problem": "missing"}]
    for field, raw in fields.items():
        said = _problem(field, raw) if field in KNOWN else None
        if said is not None:
            out.append({"field": field, "problem": said})
    return out


def extra(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields the library does not know, as text (bytes that are not
    UTF-8 shown as U+FFFD), for ``get_value()["extra"]``."""
    return {printable(k): printable(v) for k, v in fields.items() if k not in KNOWN}
