"""Tags: short labels a job is made with (``create(..., tags=[...])``), each
one an index of the shard the job is in (docs/data-model.md, "Finding
jobs").  Stored as the field ``tags``, a JSON list of strings."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .._exceptions import InvalidData
from .codec import is_utf8

#: At most this many tags per job, each of 1 to ``MAX_TAG`` printable characters.
MAX_TAGS = 16
MAX_TAG = 128


def check_tag(tag: object) -> str:
    """One tag as given to a filter or a create, or InvalidData."""
    if not isinstance(tag, str):
        raise InvalidData(f"a tag must be a str, not {type(tag).__name__}")
    if not 1 <= len(tag) <= MAX_TAG:
        raise InvalidData(f"a tag must be 1 to {MAX_TAG} characters, not {len(tag)}: {tag[:40]!r}")
    if not tag.isprintable() or not is_utf8(tag):
        raise InvalidData(f"a tag must be printable characters only: {tag!r}")
    return tag


def check_tags(tags: object) -> list[str]:
    """Tags as given (a list, tuple or set of str), checked, duplicates dropped
    (the first kept, in order); InvalidData for anything else."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise InvalidData(f"tags must be a list of strings, not {type(tags).__name__}")
    out: list[str] = []
    for tag in tags:
        if check_tag(tag) not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidData(f"a job takes at most {MAX_TAGS} tags, not {len(out)}")
    return out


def stored_tags(tags: object) -> str:
    """The field ``tags`` as stored: checked tags as a JSON list."""
    return json.dumps(check_tags(tags), ensure_ascii=False, separators=(",", ":"))


def read_tags(raw: str) -> list[str]:
    """The tags of a stored ``tags`` field ([] when it is not a list of strings)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [tag for tag in value if isinstance(tag, str)]
