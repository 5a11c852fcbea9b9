"""Key layout: where a namespace's jobs live in Redis.

A namespace is split into ``shards`` hash slots so that it spreads over every
node of a Redis Cluster, while all keys one script touches share a slot.
Shard ``i`` has a hash tag ``tag(i)`` chosen so the tags' slots are evenly
spaced over the 16,384 cluster slots (a cluster made by ``redis-cli --cluster
create`` gives each master a contiguous, equal range, so each master gets its
share of shards).  A job belongs to shard ``crc32(utf8(id)) % shards``.

    <ns>:{<tag>}:job:<id>         hash: the job record
    <ns>:{<tag>}:due              zset: id -> lease/max-run-time deadline ms
    <ns>:{<tag>}:events           stream: transitions of the shard's jobs
    <ns>:{<tag>}:tomb             zset: id -> expiry ms of expired records
    <ns>:{<tag>}:queue            zset: the work queue entries of the shard
    <ns>:{<tag>}:idx:<state>      zset: id -> expiry ms, one per state
    <ns>:{<tag>}:key:<key>        string: the job id an idempotency key names,
                                  expiring with that job's record; in the
                                  shard of crc32(key), not of the id

Every script receives them in that order as KEYS, the state indexes last,
in the table's order, so a new state appends its index and moves no key
(``states_lua`` writes the layout, and the table, for the scripts:
``_lua/_states.lua``).
The wake-up list of a queue, ``<ns>:{<ns>.wakeup}:<queue>``, and its rescan
claim, ``<ns>:{<ns>.rescan}:<queue>``, are in slots of their own and no
script touches them (``wake_key``, ``rescan_key``); so are the worker
registry's keys, ``<ns>:{<ns>.workers}:ids`` and ``…:w:<worker id>``.

The namespace may not contain braces, and the id comes after the hash tag,
so no id can steer its slot or reach another job's or namespace's keys.
docs/data-model.md is the long form of this module.
"""

from __future__ import annotations

import binascii
import functools
import zlib

from .._exceptions import JobberTrackError, UnknownLayout
from .transitions import ALIVE, ENDED, ENTERED, HOLDS, INITIAL, MOVES, REQUEUE, SETTLE, State

CLUSTER_SLOTS = 16384
MAX_SHARDS = 1024

#: The layout version this version writes into a namespace's ``<ns>:{layout}``
#: key, and the versions it reads (docs/data-model.md, "Layout version").  A
#: namespace without the key holds the current layout (written before stamps).
LAYOUT_VERSION = "1"
KNOWN_LAYOUTS = ("1",)
#: The scripts that make new records: the first of them a client runs on a
#: namespace also writes its layout stamp.
STAMPING_SCRIPTS = frozenset({"create", "create_many"})


def crc16(data: bytes) -> int:
    """CRC16-XMODEM, the checksum Redis Cluster uses for key slots
    (``binascii.crc_hqx`` computes exactly that, in C)."""
    return binascii.crc_hqx(data, 0)


def slot_of(tag: str) -> int:
    """The cluster slot of a hash tag's content."""
    return crc16(tag.encode()) % CLUSTER_SLOTS


@functools.lru_cache(maxsize=16)
def shard_tags(shards: int) -> tuple[str, ...]:
    """Hash tags for ``shards`` shards: tag i is the first ``"<i>.<k>"``
    (k = 0, 1, ...) whose slot lies in the i-th of ``shards`` equal slot ranges."""
    tags = []
    for i in range(shards):
        low, high = i * CLUSTER_SLOTS // shards, (i + 1) * CLUSTER_SLOTS // shards
        k = 0
        while not low <= slot_of(f"{i}.{k}") < high:
            k += 1
        tags.append(f"{i}.{k}")
    return tuple(tags)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: The keys of a shard every script receives after the job's, in KEYS order;
#: the state indexes follow, one per state, last (a new state appends one).
SHARD_KEYS = ("due", "events", "tomb", "queue")
#: KEYS position (1-based, as in Lua) of the first state index.
FIRST_INDEX = 2 + len(SHARD_KEYS)


def index_positions() -> dict[State, int]:
    """Each state's index in the scripts' KEYS (1-based): table order."""
    return {state: FIRST_INDEX + i for i, state in enumerate(State)}


def _lua_table(items: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k} = {v}" for k, v in items.items()) + "}"


def _states_text(states: frozenset[State]) -> str:
    """A set of states as Lua reads it cheaply: space separated, with a
    space at each end (``string.find(set, ' ' .. state .. ' ', 1, true)``)."""
    return " " + " ".join(s.value for s in State if s in states) + " "


def _lua_moves() -> str:
    """``MOVES`` as one Lua table of constant strings (``'target|sources|
    clears'``): the prelude runs on every call, so it allocates as little as
    it can; ``move_row()`` in ``_lib.lua`` reads a row."""
    rows = []
    for name, move in MOVES.items():
        rows.append(f"{name} = '{move.target.value}|{_states_text(move.sources)}|{' '.join(move.clears)}'")
    return "{" + ", ".join(rows) + "}"


def states_lua() -> str:
    """The text of ``_lua/_states.lua``, sent first in every script: the
    KEYS layout and the states (a test keeps the file on disk equal to it)."""
    positions = index_positions()
    keys = {1: "job:<id>   (a shard script: the prefix <ns>:{<tag>}:job:, never touched)"}
    keys.update({i: name for i, name in enumerate(SHARD_KEYS, 2)})
    keys.update({pos: f"idx:{s.value}" for s, pos in positions.items()})
    suffixes = {i: ":" + name for i, name in enumerate(SHARD_KEYS, 2)}
    suffixes.update({pos: f":idx:{s.value}" for s, pos in positions.items()})
    named = ", ".join(f"KEYS[{i}]" for i in range(1, FIRST_INDEX))
    checks = [f"string.sub(KEYS[{i}], -{len(end)}) ~= '{end}'" for i, end in suffixes.items()]
    return "\n".join(
        [
            "-- Generated by jobbertrack/_core/keys.py (states_lua) from the state table",
            "-- in transitions.py: do not edit by hand (a test keeps this file current).",
            "-- Sent first in every script: Redis holds the table, and no other script",
            "-- names a state.  The KEYS every script receives, all in one hash slot,",
            "-- the state indexes last, in the table's order (a new state appends one):",
            *(f"--   KEYS[{i}]  <ns>:{{<tag>}}:{name}" for i, name in keys.items()),
            "-- (create_many: its job hashes follow).  KEYS in any other layout (such as",
            "-- the ones before 2026-12-04, with the indexes before the queue) are",
            "-- refused before anything is read or written.",
            f"local STATES = {{{', '.join(repr(s.value) for s in State)}}}",
            f"local IDX = {_lua_table({s.value: str(p) for s, p in positions.items()})}  -- KEYS positions",
            f"local NKEYS = {len(keys)}",
            f"local INITIAL = {INITIAL.value!r}  -- the state create makes",
            f"local STAMP = {_lua_table({s.value: repr(f) for s, f in ENTERED.items()})}  -- set on entering",
            "-- The moves a caller may ask for, by name: 'target|the states it leaves|the",
            "-- fields it deletes' (sets of states are space separated, a space at each end)",
            f"local MOVES = {_lua_moves()}",
            f"local ALIVE = '{_states_text(ALIVE)}'  -- where a worker may heartbeat or report progress",
            f"local ENDED = '{_states_text(ENDED)}'  -- where a job has ended (its move stamps 'ended')",
            f"local HOLDS = {_lua_table({s.value: repr(k) for s, k in HOLDS.items()})}  -- leaving drops it",
            "-- The changes made outside the table: a running job past its lease or run",
            "-- time fails (settle); a failing attempt with retries left waits again (requeue)",
            f"local SETTLE_FROM, SETTLE_TO = {SETTLE[0].value!r}, {SETTLE[1].value!r}",
            f"local REQUEUE_FROM, REQUEUE_TO = {REQUEUE[0].value!r}, {REQUEUE[1].value!r}",
            f"local JOB, {', '.join(k.upper() for k in SHARD_KEYS)} = {named}",
            "if #KEYS < NKEYS",
            *(f"  or {check}" for check in checks),
            "then",
            "  return redis.error_reply('ERR KEYS are not in the layout of _lua/_states.lua')",
            "end",
            "",
        ]
    )


class Keyspace:
    """Key names of one namespace.  Pure; shared by the sync and async layers."""

    __slots__ = ("_prefixes", "_shard_keys", "namespace", "shards")

    def __init__(self, namespace: str = "jt", shards: int = 16) -> None:
        if not isinstance(namespace, str) or not namespace or "{" in namespace or "}" in namespace:
            raise JobberTrackError(f"namespace must be a non-empty string without braces, not {namespace!r}")
        if not namespace.isascii() and not _encodable(namespace):
            raise JobberTrackError(f"namespace must be valid unicode text: {namespace!r}")
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise JobberTrackError(f"shards must be an int from 1 to {MAX_SHARDS}, not {shards!r}")
        self.namespace = namespace
        self.shards = shards
        tags = shard_tags(shards)
        self._prefixes = tuple(f"{namespace}:{{{tag}}}:" for tag in tags)
        # Per shard: the KEYS after the first, shared by every job of the shard.
        self._shard_keys = tuple(
            (
                *(p + name for name in SHARD_KEYS),
                *(p + f"idx:{s.value}" for s in State),
            )
            for p in self._prefixes
        )

    def shard_of(self, job_id: str) -> int:
        return zlib.crc32(job_id.encode("utf-8", "surrogatepass")) % self.shards

    def job_key(self, job_id: str) -> str:
        return f"{self._prefixes[self.shard_of(job_id)]}job:{job_id}"

    def job_keys(self, job_id: str) -> tuple[str, ...]:
        """The KEYS every job script receives (layout in _lua/_states.lua)."""
        shard = self.shard_of(job_id)
        return (f"{self._prefixes[shard]}job:{job_id}", *self._shard_keys[shard])

    def key_shard(self, key: str) -> int:
        """The shard of an idempotency key's entry: ``crc32(key) % shards``,
        as for an id (the key's job may be in another shard)."""
        return zlib.crc32(key.encode("utf-8")) % self.shards

    def key_entry(self, key: str) -> str:
        """The entry of an idempotency key: a string holding its job's id,
        expiring with that job's record (``create(..., key=...)``)."""
        return f"{self._prefixes[self.key_shard(key)]}key:{key}"

    def shard_keys(self, shard: int) -> tuple[str, ...]:
        """KEYS for shard-wide scripts: the job layout with the job key
        replaced by the shard's job-key prefix (never touched by a script)."""
        return (self._prefixes[shard] + "job:", *self._shard_keys[shard])

    def events_key(self, shard: int) -> str:
        return self._prefixes[shard] + "events"

    def layout_key(self) -> str:
        return layout_key(self.namespace)

    def wake_key(self, queue: str) -> str:
        """The wake-up list of ``queue``: at most one token, pushed by a push
        (or a retry, or a resume) and taken by one blocked worker (``BLPOP``):
        a push wakes one worker, not all.  Never touched by a script."""
        return f"{self.namespace}:{{{self.namespace}.wakeup}}:{queue}"

    def rescan_key(self, queue: str) -> str:
        """Claimed (``SET NX PX``) by the one idle worker of ``queue`` that
        looks at every shard now and then (a job put back by the stall rule
        is announced by no push)."""
        return f"{self.namespace}:{{{self.namespace}.rescan}}:{queue}"

    def workers_key(self) -> str:
        """The set of registered worker ids (``_core/workers.py``); each
        worker's record is ``worker_key(id)``, in the same slot."""
        return f"{self.namespace}:{{{self.namespace}.workers}}:ids"

    def worker_key(self, worker_id: str) -> str:
        """A live worker's record: JSON, expiring two heartbeat periods
        after its last beat (so a killed worker disappears by itself)."""
        return f"{self.namespace}:{{{self.namespace}.workers}}:w:{worker_id}"

    def pattern(self) -> str:
        """A glob matching every key of the namespace (for ACL rules, SCAN)."""
        return f"{self.namespace}:{{*"


def layout_key(namespace: str) -> str:
    """The key holding the namespace's layout version: a hash tag of its own
    (any slot will do: it is read and written on its own), under the
    namespace's pattern ``<ns>:{*`` (ACL rules, SCAN)."""
    return f"{namespace}:{{layout}}"


def namespace_of(key: str) -> str:
    """The namespace of one of its keys (a namespace has no braces)."""
    return key.partition(":{")[0]


def check_layout(namespace: str, found: str | None) -> None:
    """UnknownLayout unless ``found`` (the stored layout version, None when
    the namespace has none) is a layout this version knows."""
    if found is not None and found not in KNOWN_LAYOUTS:
        raise UnknownLayout(namespace, found, KNOWN_LAYOUTS)
