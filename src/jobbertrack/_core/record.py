"""A job record and its JSON-able snapshot (``get_value()``/``set_value()``):
``to_value`` and ``from_value``.  The fields themselves are in ``fields.py``,
their decoding in ``wire.py``, their checks in ``problems.py``, the path a
job took in ``history.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import InvalidData
from .attempts import queue_fields, queue_value
from .codec import encode_json, read_json
from .fields import (
    CREATE_FIELDS,
    DURATIONS,
    FINISHED,
    JSON_OBJECTS,
    KEY,
    KNOWN,
    STORED_ONLY,
    TIMES,
    Fields,
    payload_fields,
)
from .groups import group_value
from .problems import extra, problems
from .tags import stored_tags
from .transitions import State
from .wire import (
    datetime_to_ms,
    fields_from_flat,
    fields_from_hash,
    read_object,
    read_seconds,
    read_time,
    text,
)


def to_value(job_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The JSON-able snapshot returned by ``Resource.get_value()``.  A
    malformed record: ``state`` None, each bad field None, and
    ``"problems"``; fields the library does not know under ``"extra"``."""
    found = problems(fields)
    bad = {p["field"] for p in found}
    good = {k: v for k, v in fields.items() if k not in bad}
    out: dict[str, Any] = {"id": job_id, "state": None if found else good.get("state")}
    for key, field in CREATE_FIELDS.items():
        if key in good:
            out[key] = field.read(good[key])
    out.setdefault("tags", [])  # a job made without tags has none
    if KEY in good:  # a keyed create's key
        out[KEY] = good[KEY]
    given, result = payload_fields(fields)
    if given or result:  # the seed's data: the result once there is one, else the input
        out["data"] = read_json(good.get(result or given or ""))
    out["input"] = read_json(good.get(given)) if given else None
    out["result"] = read_json(good.get(result)) if result else None
    for key in JSON_OBJECTS:
        out[key] = read_object(good.get(key))
    for raw, name in TIMES.items():
        stamp = read_time(good.get(raw))
        out[name] = None if stamp is None else stamp.isoformat(timespec="milliseconds")
    for raw, name in DURATIONS.items():
        out[name] = read_seconds(good.get(raw))
    out.update(queue_value(good))  # a pushed job's queue and attempts
    out.update(group_value(good))  # a child's group_id; a group's counts
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


def _is_stored_hash(value: Mapping[Any, Any]) -> bool:
    """An HGETALL reply, rather than a ``get_value()`` dict: bytes keys or
    values, or a field only the stored hash has (every record has
    ``created`` and ``expires``).  A bare ``{"state": ..., "data": ...}``,
    the seed's stored object, is therefore read as a value, data as-is."""
    return any(isinstance(k, bytes) or isinstance(v, bytes) or k in STORED_ONLY for k, v in value.items())


def _payloads(items: dict[str, Any], state: str | None) -> Fields:
    """The stored payloads of a value: this version's ``input`` and
    ``result`` (a finished job's result is stored even when null: every
    finish stores one), else the seed's or an older version's ``data``, as
    it was stored."""
    out: Fields = {}
    if "input" in items or "result" in items:
        if items.get("input") is not None:
            out["data"] = encode_json(items["input"])
        if items.get("result") is not None or ("result" in items and state == FINISHED):
            out["result"] = encode_json(items["result"], what="result")
    elif "data" in items:
        out["data"] = encode_json(items["data"])
    return out


def _value_fields(items: dict[str, Any], fields: Fields) -> Fields:
    if isinstance(items.get("extra"), Mapping):  # a newer version's fields, kept
        fields.update({text(k): text(v) for k, v in items["extra"].items() if text(k) not in KNOWN})
    for key in (*CREATE_FIELDS, KEY):
        if items.get(key) is not None:
            fields[key] = (
                text(items[key]) if isinstance(items[key], (str, bytes)) else stored_tags(items[key])
            )
    if fields.get("tags") == "[]":
        del fields["tags"]
    fields.update(_payloads(items, fields.get("state")))
    for key in JSON_OBJECTS:
        if items.get(key) is not None:
            fields[key] = encode_json(items[key], what=key)
    for raw, name in TIMES.items():
        if items.get(name) is not None:
            fields[raw] = datetime_to_ms(items[name])
    for raw, name in DURATIONS.items():
        if items.get(name) is not None:
            fields[raw] = str(round(float(items[name]) * 1000))
    return fields | queue_fields(items)
