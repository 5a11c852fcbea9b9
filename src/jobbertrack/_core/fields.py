"""The fields of a job record: which ones exist and how each is stored
(docs/data-model.md, "The job hash").  The canonical local form of a record
is the hash itself, ``dict[str, str]`` (times as integer milliseconds of
Redis' clock, durations in milliseconds, payloads as JSON text).  A new
create field is a row of ``CREATE_FIELDS``; the Node client reads these
tables from the scripts' manifest (``_assemble.data_model``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .._exceptions import InvalidData, WrongType
from .attempts import QUEUE_FIELDS
from .codec import require_unicode
from .group_fields import GROUP_FIELDS
from .tags import MAX_TAGS, read_tags, stored_tags
from .transitions import State

Fields = dict[str, str]

FINISHED = State.FINISHED.value  # the state whose legacy records hold the result in data

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


class CreateField(NamedTuple):
    """A field a caller may set at create (besides data)."""

    check: Callable[[object], str]  # the given value -> the text stored (or an error)
    read: Callable[[str], Any]  # the text stored -> the ``get_value()`` value
    kind: str  # how the HTTP API, the command line and Node take it (``jobbertrack.actions.Kind``)
    help: str  # said by ``--help`` and the OpenAPI document
    max_length: int | None = None


#: The fields a caller may set at create, one row each.  The create scripts
#: write whatever field, value pairs they are given, and the HTTP API, the
#: command line, the OpenAPI document and the Node client (through the
#: scripts' manifest) read this table: a new field is a row here and a
#: keyword of ``create``/``push`` in ``_sync.py`` and ``aio.py``.
CREATE_FIELDS: dict[str, CreateField] = {
    "name": CreateField(check_name, str, "text", "A short label shown in listings.", MAX_NAME),
    "tags": CreateField(
        stored_tags,
        read_tags,
        "tags",
        f"Up to {MAX_TAGS} labels to find the job by (each 1-128 printable characters).",
    ),
}


def create_fields(given: Mapping[str, object]) -> Fields:
    """The stored text of the fields given to create (None, or no tags: not set)."""
    out = {name: CREATE_FIELDS[name].check(value) for name, value in given.items() if value is not None}
    if out.get("tags") == "[]":
        del out["tags"]
    return out


#: Stored time fields (integer ms) and the names ``get_value()`` gives them.
TIMES = {
    "created": "created_at",
    "started": "started_at",
    "ended": "ended_at",
    "expires": "expires_at",
    "beat": "heartbeat_at",
}
#: Stored durations (ms > 0) and their ``get_value()`` names (seconds).
DURATIONS = {"lease": "lease", "max_runtime": "max_runtime"}
#: Fields holding a JSON object.
JSON_OBJECTS = ("progress", "error")


#: Fields only the stored hash has (``get_value()`` names times ``*_at``).
STORED_ONLY = frozenset({"created", "expires", "token", "started", "ended", "beat"})

#: The payloads, any JSON: ``data``, the input a create or push stores
#: (never changed by a move), and ``result``, what ``finish`` stores.
PAYLOADS = ("data", "result")


def payload_fields(fields: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The fields holding (the input, the result) of a record, None where
    it has none.  A record written before results had a field of their own
    (2026-12-04) holds a finished job's result in ``data`` and nothing else:
    a finished record without ``result`` is read that way.  Every finish
    since stores ``result`` (``null`` included), so the two never mix."""
    if "result" in fields:
        return ("data" if "data" in fields else None), "result"
    if fields.get("state") == FINISHED and "data" in fields:
        return None, "data"
    return ("data" if "data" in fields else None), None


#: The idempotency key a keyed create stored (``create(..., key=...)``,
#: ``idem.py``): text, read as it is; absent for a job made without one.
KEY = "key"


#: The fields this version of the library knows; any other is kept as it
#: is by every script and shown under ``"extra"`` by ``get_value()``.
KNOWN = frozenset(
    {
        "state",
        "token",
        KEY,
        *PAYLOADS,
        *JSON_OBJECTS,
        *CREATE_FIELDS,
        *TIMES,
        *DURATIONS,
        *QUEUE_FIELDS,
        *GROUP_FIELDS,
    }
)
