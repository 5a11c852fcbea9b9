"""Stored text to Python values and back: the decoding of replies and of
the times, durations and objects a record holds.  A malformed value reads
as None (``problems.py`` says what is wrong with it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .codec import read_json
from .fields import Fields


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


def datetime_to_ms(value: Any) -> str:
    if isinstance(value, datetime):
        return str(round(value.timestamp() * 1000))
    if isinstance(value, str):
        return str(round(datetime.fromisoformat(value).timestamp() * 1000))
    return str(int(value))
