"""Encoding what goes into Redis: JSON payloads and durations.

JSON only, never pickle: any client in any language can read what we store,
and reading it can never run code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._exceptions import InvalidData, InvalidTimeout

DEFAULT_MAX_DATA_BYTES = 1024 * 1024

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode_json(value: Any, *, what: str = "data", limit: int = DEFAULT_MAX_DATA_BYTES) -> str:
    """JSON text of ``value``, or InvalidData if it has no JSON form or its
    UTF-8 encoding is over ``limit`` bytes."""
    try:
        text = _encoder.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidData(f"{what} must be JSON-serialisable: {exc}") from None
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidData(f"{what} is {size} bytes of JSON, over the limit of {limit} bytes")
    require_unicode(text, f"{what} contains text that is not valid unicode")
    return text


def require_unicode(text: str, message: str) -> None:
    """InvalidData(message) if ``text`` holds lone surrogates (no UTF-8 form)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidData(message) from None


def decode_json(text: str | None) -> Any:
    """The value of stored JSON text; InvalidData if it is not JSON (only
    another client, bypassing the checks, could have stored that)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidData(f"stored value is not JSON: {text[:80]!r}") from None


def duration_ms(value: object, *, what: str = "timeout") -> int:
    """Seconds (int or float, > 0) as whole milliseconds (at least 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTimeout(f"{what} must be a number of seconds, not {value!r}")
    if (isinstance(value, float) and not math.isfinite(value)) or value <= 0:
        raise InvalidTimeout(f"{what} must be a finite number of seconds > 0, not {value!r}")
    if value > 2**52 / 1000:  # compared before multiplying: a huge int has no float
        raise InvalidTimeout(f"{what} of {value!r} s is too long")
    return math.ceil(value * 1000)


def optional_ms(value: object, what: str) -> int | None:
    return None if value is None else duration_ms(value, what=what)
