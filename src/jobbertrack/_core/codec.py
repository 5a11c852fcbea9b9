"""Encoding what goes into Redis: JSON payloads and durations.

JSON only, never pickle: any client in any language can read what we store,
and reading it can never run code.
"""

from __future__ import annotations

import json
import math
import re
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
    if not is_utf8(text):
        raise InvalidData(message)


def is_utf8(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form (no lone surrogates, such as the
    ``surrogateescape`` of bytes that were not UTF-8)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text``, with what was not UTF-8 shown as U+FFFD."""
    if is_utf8(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")  # bytes read from Redis
    except UnicodeEncodeError:  # other lone surrogates
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


#: Deepest nesting of stored JSON a reader decodes (deeper: InvalidData),
#: and the largest stored JSON text, in characters (Redis' own limit).
MAX_JSON_DEPTH = 1000
MAX_JSON_CHARS = 512 * 2**20

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_json(text: str | None) -> Any:
    """The value of stored JSON text; InvalidData if it is not JSON, nests
    deeper than ``MAX_JSON_DEPTH`` or is longer than ``MAX_JSON_CHARS``
    (only another client, bypassing the checks, could have stored that)."""
    if text is None:
        return None
    if len(text) > MAX_JSON_CHARS:
        raise InvalidData(f"stored value is {len(text)} characters of JSON, over {MAX_JSON_CHARS}")
    try:
        # the C decoder counts its own nesting: JSON deeper than the
        # interpreter's recursion limit (about MAX_JSON_DEPTH) raises
        # RecursionError at once, so no scan of the text is needed first
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidData(f"stored value nests deeper than about {MAX_JSON_DEPTH} levels") from None
    except (ValueError, MemoryError):  # UnicodeDecodeError is a ValueError
        raise InvalidData(f"stored value is not JSON: {text[:80]!r}") from None
    if _SURROGATE_ESCAPE.search(text):  # "\ud800" alone decodes to text with no UTF-8 form
        require_unicode(_encoder.encode(value), "stored value holds text that is not valid unicode")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: never written (allow_nan=False)


def read_json(text: str | None) -> Any:
    """``decode_json``, but None for text that is not (bounded) JSON: what a
    reader shows for a malformed field (``problems.problems`` names it)."""
    try:
        return decode_json(text)
    except InvalidData:
        return None


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
