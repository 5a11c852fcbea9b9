"""Key layout: where a namespace's jobs live in Redis.

A namespace is split into ``shards`` hash slots so that it spreads over every
node of a Redis Cluster, while all keys one script touches share a slot.
Shard ``i`` has a hash tag ``tag(i)`` chosen so the tags' slots are evenly
spaced over the 16,384 cluster slots (a cluster made by ``redis-cli --cluster
create`` gives each master a contiguous, equal range, so each master gets its
share of shards).  A job belongs to shard ``crc32(utf8(id)) % shards``.

    <ns>:{<tag>}:job:<id>         hash: the job record
    <ns>:{<tag>}:idx:<state>      zset: id -> expiry ms, one per state
    <ns>:{<tag>}:due              zset: id -> lease/max-run-time deadline ms
    <ns>:{<tag>}:events           stream: transitions of the shard's jobs
    <ns>:{<tag>}:tomb             zset: id -> expiry ms of expired records

The namespace may not contain braces, and the id comes after the hash tag,
so no id can steer its slot or reach another job's or namespace's keys.
docs/data-model.md is the long form of this module.
"""

from __future__ import annotations

import binascii
import functools
import zlib

from .._exceptions import JobberTrackError
from .transitions import State

CLUSTER_SLOTS = 16384
MAX_SHARDS = 1024


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
        # Per shard: the KEYS[2..8] shared by every job of the shard.
        self._shard_keys = tuple(
            (*(p + f"idx:{s.value}" for s in State), p + "due", p + "events", p + "tomb")
            for p in self._prefixes
        )

    def shard_of(self, job_id: str) -> int:
        return zlib.crc32(job_id.encode("utf-8", "surrogatepass")) % self.shards

    def job_key(self, job_id: str) -> str:
        return f"{self._prefixes[self.shard_of(job_id)]}job:{job_id}"

    def job_keys(self, job_id: str) -> tuple[str, ...]:
        """The 8 KEYS every job script receives (layout in _lua/_lib.lua)."""
        shard = self.shard_of(job_id)
        return (f"{self._prefixes[shard]}job:{job_id}", *self._shard_keys[shard])

    def shard_keys(self, shard: int) -> tuple[str, ...]:
        """KEYS for shard-wide scripts: the job layout with the job key
        replaced by the shard's job-key prefix (never touched by a script)."""
        return (self._prefixes[shard] + "job:", *self._shard_keys[shard])

    def index_key(self, shard: int, state: State) -> str:
        return f"{self._prefixes[shard]}idx:{state.value}"

    def events_key(self, shard: int) -> str:
        return self._prefixes[shard] + "events"

    def pattern(self) -> str:
        """A glob matching every key of the namespace (for ACL rules, SCAN)."""
        return f"{self.namespace}:{{*"
