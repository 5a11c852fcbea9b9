"""Idempotent create, without I/O: the key's checks and the ``claim``
script's calls (docs/data-model.md, "Idempotent create").

``create(..., key=K)`` and ``push(..., key=K)`` make at most one live job
per key.  The key's entry, ``<ns>:{<tag>}:key:<K>``, holds its job's id and
expires with that job's record; it lives in the shard of ``crc32(K)``
(``Keyspace.key_entry``), while the job lives in the shard of its id, which
the resource factory chooses.  When both fall in one shard, the ``create``
(or ``push``) script gets the entry as one more KEYS and claims the key and
makes the job in one step; otherwise ``claim`` on the key's shard points
the entry at the new id first, the create script makes the job on its own
shard, and ``claim`` then stamps the entry with the job's expiry.  A caller
that finds the entry naming a job that does not exist (its claimer is
between the two steps, or died there) makes that very job itself (a create
of an id that exists answers ``exists``), so racing callers always end with
one job.  The steps themselves are the plan ``HandlerBase._keyed_plan``.
"""

from __future__ import annotations

from typing import Any

from .._exceptions import InvalidData
from .calls import Call, Commands
from .wire import text

#: Longest idempotency key (characters).
MAX_KEY = 200
#: Rounds of a keyed create before it gives up (each one a lost race for a
#: key whose job expired or was deleted meanwhile).
MAX_ROUNDS = 8


def check_key(key: object) -> str:
    """An idempotency key as stored: a non-empty printable str of at most
    ``MAX_KEY`` characters (no NUL), else ``InvalidData``."""
    if not isinstance(key, str):
        raise InvalidData(f"key must be a str, not {type(key).__name__}")
    if not key or len(key) > MAX_KEY:
        raise InvalidData(f"key must be 1 to {MAX_KEY} characters, not {len(key)}")
    if "\0" in key or not key.isprintable():
        raise InvalidData(f"key must be printable text: {key!r}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidData(f"key must be valid unicode text: {key!r}") from None
    return key


def _claim_keys(core: Commands, key: str) -> tuple[str, ...]:
    return (*core.keys.shard_keys(core.keys.key_shard(key)), core.keys.key_entry(key))


def claim_call(core: Commands, key: str, job_id: str, lifetime_ms: int, stale: str = "") -> Call:
    """Point ``key`` at ``job_id`` unless it names another job (``stale``:
    the id of a dead job it may still name, replaced as if absent)."""
    args = (job_id, "", core.event_cap, core.tomb_ttl_ms, lifetime_ms, stale, "")
    return Call("claim", _claim_keys(core, key), args, None, job_id)


def stamp_call(core: Commands, key: str, job_id: str, expires_ms: str) -> Call:
    """Once ``job_id`` is made: its entry expires with its record."""
    args = (job_id, "", core.event_cap, core.tomb_ttl_ms, 1, "", expires_ms)
    return Call("claim", _claim_keys(core, key), args, None, job_id)


def same_shard(core: Commands, key: str, job_id: str) -> bool:
    """Whether the key's entry and the job share a shard: then the create
    script claims the key itself (``with_entry``)."""
    return core.keys.key_shard(key) == core.keys.shard_of(job_id)


def with_entry(core: Commands, call: Call, key: str) -> Call:
    """A create or push call that also claims ``key`` (its entry in the
    job's own shard), in the same script."""
    return call._replace(keys=(*call.keys, core.keys.key_entry(key)))


def taken_by(reply: Any) -> str | None:
    """The job id a ``{'taken', id}`` reply names (None for another reply)."""
    if text(reply[0]) != "taken":
        return None
    return text(reply[1]) or None
