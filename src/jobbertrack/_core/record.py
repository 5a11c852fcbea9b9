"""A job record as stored in its hash, and its JSON-able snapshot.

The canonical local form is the hash itself: ``dict[str, str]`` of the
fields documented in docs/data-model.md (times as integer milliseconds of
Redis' clock, durations in milliseconds, payloads as JSON text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .._exceptions import InvalidData, WrongType
from .attempts import QUEUE_FIELDS, attempt_steps, queue_fields, queue_value
from .codec import decode_json, encode_json, is_utf8, printable, read_json, require_unicode
from .transitions import ALIVE, ENTERED, INITIAL, State

Fields = dict[str, str]

#: Longest job name (a label for people and listings, not a payload).
MAX_NAME = 1024


def check_name(name: object) -> str:
    """A job name as stored: a str of at most ``MAX_NAME`` characters."""
    if not isinstance(name, str):
        raise WrongType(f"name must be a str, not {type(name).__name__}")
    if len(name) > MAX_NAME:
        raise InvalidData(f"name must be at most {MAX_NAME} characters, not {len(name)}")
    require_unicode(name, f"name must be valid unicode text: {name!r}")
    return name


#: The fields a caller may set at create (besides data): each one's check,
#: which returns the text stored, and how ``to_value`` reads it back.  The
#: create scripts write whatever field, value pairs they are given, so a
#: new field is a row here and a keyword of ``create``/``create_many``.
CREATE_FIELDS: dict[str, tuple[Callable[[object], str], Callable[[str], Any]]] = {
    "name": (check_name, str),
}


def create_fields(given: Mapping[str, object]) -> Fields:
    """The stored text of the fields given to create (None: not set)."""
    return {name: CREATE_FIELDS[name][0](value) for name, value in given.items() if value is not None}


_TIMES = {
    "created": "created_at",
    "started": "started_at",
    "ended": "ended_at",
    "expires": "expires_at",
    "beat": "heartbeat_at",
}
_DURATIONS = {"lease": "lease", "max_runtime": "max_runtime"}
_JSON = ("progress", "error")


def text(value: Any) -> str:
    if type(value) is str:
        return value
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def fields_from_flat(flat: Sequence[Any]) -> Fields:
    """Fields from a flat [field, value, ...] reply (bytes, str or, for
    numbers a script returns, int); ``text`` inlined: this is on every call."""
    pairs = iter(flat)
    return {
        (k.decode("utf-8", "surrogateescape") if type(k) is bytes else str(k)): (
            v.decode("utf-8", "surrogateescape") if type(v) is bytes else str(v)
        )
        for k, v in zip(pairs, pairs, strict=False)  # an odd tail is dropped
    }


def fields_from_hash(record: Mapping[Any, Any]) -> Fields:
    """Fields from an HGETALL reply: a dict of bytes (the usual client) or
    of str (``decode_responses=True``); bytes that are not UTF-8 are kept as
    lone surrogates (``surrogateescape``), reported by ``problems``."""
    try:
        return {k.decode(): v.decode() for k, v in record.items()}  # UTF-8: the common case, fastest
    except UnicodeDecodeError:  # a record the library did not write
        return {text(k): text(v) for k, v in record.items()}
    except AttributeError:  # str already (or mixed)
        return {text(k): text(v) for k, v in record.items()}


def ms_to_datetime(ms: str | int | None) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)


#: The latest instant a time field may hold (the end of year 9999, in ms).
_MAX_MS = 253_402_300_799_999


def read_ms(raw: str | None) -> int | None:
    """A stored time or duration (integer milliseconds), or None if absent
    or malformed (not an integer, negative, or past year 9999)."""
    if raw is None or len(raw) > 20 or not raw.isascii():
        return None
    try:
        ms = int(raw)
    except ValueError:
        return None
    return ms if 0 <= ms <= _MAX_MS else None


def read_time(raw: str | None) -> datetime | None:
    """A stored time as a UTC datetime; None if absent or malformed."""
    ms = read_ms(raw)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def read_seconds(raw: str | None) -> float | None:
    """A stored duration in seconds; None if absent or malformed (or not > 0)."""
    ms = read_ms(raw)
    return ms / 1000 if ms else None


def read_object(raw: str | None) -> dict[str, Any] | None:
    """A stored JSON object (progress, error); None if absent or malformed."""
    value = read_json(raw)
    return value if isinstance(value, dict) else None


def read_state(fields: Mapping[str, str]) -> State | None:
    """The record's state, None if it is missing, unknown, or the record
    has any other problem (see ``problems``)."""
    state = _STATES.get(fields.get("state", ""))
    return None if state is None or problems(fields) else state


#: The fields this version of the library knows; any other is kept as it
#: is by every script and shown under ``"extra"`` by ``get_value()``.
KNOWN = frozenset(
    {"state", "token", "data", "progress", "error", *CREATE_FIELDS, *_TIMES, *_DURATIONS, *QUEUE_FIELDS}
)


def _problem(field: str, raw: str) -> str | None:
    """What is wrong with one known field's stored text, or None."""
    if not is_utf8(raw):
        return "not UTF-8 text"
    check = _CHECKS.get(field)
    return None if check is None else check(raw)


def _state_problem(raw: str) -> str | None:
    return None if raw in _STATES else f"not a state: {raw[:40]!r}"


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
    "progress": lambda raw: _json_problem(raw, _progress_problem),
    "error": lambda raw: _json_problem(raw, _object_problem),
    **dict.fromkeys(_TIMES, _time_problem),
    **dict.fromkeys(_DURATIONS, _duration_problem),
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


def datetime_to_ms(value: Any) -> str:
    if isinstance(value, datetime):
        return str(round(value.timestamp() * 1000))
    if isinstance(value, str):
        return str(round(datetime.fromisoformat(value).timestamp() * 1000))
    return str(int(value))


def to_value(job_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The JSON-able snapshot returned by ``Resource.get_value()``.  A
    malformed record: ``state`` None, each bad field None, and
    ``"problems"``; fields the library does not know under ``"extra"``."""
    found = problems(fields)
    bad = {p["field"] for p in found}
    good = {k: v for k, v in fields.items() if k not in bad}
    out: dict[str, Any] = {"id": job_id, "state": None if found else good.get("state")}
    for key, (_, read) in CREATE_FIELDS.items():
        if key in good:
            out[key] = read(good[key])
    if "data" in fields:
        out["data"] = read_json(good.get("data"))
    for key in _JSON:
        out[key] = read_object(good.get(key))
    for raw, name in _TIMES.items():
        stamp = read_time(good.get(raw))
        out[name] = None if stamp is None else stamp.isoformat(timespec="milliseconds")
    for raw, name in _DURATIONS.items():
        out[name] = read_seconds(good.get(raw))
    out.update(queue_value(good))  # a pushed job's queue and attempts
    if found:
        out["problems"] = found
    unknown = extra(fields)
    if unknown:
        out["extra"] = unknown
    return out


def from_value(value: Mapping[Any, Any] | Sequence[Any]) -> Fields:
    """Fields from what Redis returned (HGETALL dict or flat list, bytes or
    str) or from what ``to_value`` produced."""
    if type(value) is dict and value and type(next(iter(value))) is bytes:
        return fields_from_hash(value)  # an HGETALL reply of the usual client: the common case, kept short
    if not isinstance(value, Mapping):
        if isinstance(value, (str, bytes)):
            raise InvalidData("set_value() needs a mapping or a flat list of fields")
        return fields_from_flat(value)
    if _is_stored_hash(value):
        return fields_from_hash(value)
    items = {text(k): v for k, v in value.items()}
    fields: Fields = {}
    if items.get("state") is not None:
        fields["state"] = str(State(text(items["state"])).value)
    return _value_fields(items, fields)


#: Fields only the stored hash has (``get_value()`` names times ``*_at``).
_STORED_ONLY = frozenset({"created", "expires", "token", "started", "ended", "beat"})


def _is_stored_hash(value: Mapping[Any, Any]) -> bool:
    """An HGETALL reply, rather than a ``get_value()`` dict: bytes keys or
    values, or a field only the stored hash has (every record has
    ``created`` and ``expires``).  A bare ``{"state": ..., "data": ...}``,
    the seed's stored object, is therefore read as a value, data as-is."""
    return any(isinstance(k, bytes) or isinstance(v, bytes) or k in _STORED_ONLY for k, v in value.items())


def _value_fields(items: dict[str, Any], fields: Fields) -> Fields:
    if isinstance(items.get("extra"), Mapping):  # a newer version's fields, kept
        fields.update({text(k): text(v) for k, v in items["extra"].items() if text(k) not in KNOWN})
    for key in CREATE_FIELDS:
        if items.get(key) is not None:
            fields[key] = text(items[key])
    if "data" in items:
        fields["data"] = encode_json(items["data"])
    for key in _JSON:
        if items.get(key) is not None:
            fields[key] = encode_json(items[key], what=key)
    for raw, name in _TIMES.items():
        if items.get(name) is not None:
            fields[raw] = datetime_to_ms(items[name])
    for raw, name in _DURATIONS.items():
        if items.get(name) is not None:
            fields[raw] = str(round(float(items[name]) * 1000))
    return fields | queue_fields(items)


_STATES = {s.value: s for s in State}


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
    current = _STATES.get(fields["state"])  # None: not a state (a foreign record)
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
