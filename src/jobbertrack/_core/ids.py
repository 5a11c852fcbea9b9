"""Job ids: the default generator and the rules every id must follow.

Default ids are 21 characters of Crockford base32: 10 for the milliseconds
since the epoch, 6 for a random number drawn once per process (and again
after fork), 5 for a per-process counter.  They sort by creation time to the
millisecond, are unique within a process by the counter, and across
processes by the 30-bit process part.
"""

from __future__ import annotations

import itertools
import os
import time

from .._exceptions import InvalidJobId

MAX_ID_LENGTH = 512  # characters; keeps keys, index entries and events small
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def _b32(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def _random_bits(bits: int) -> int:
    """``bits`` random bits from the OS (what ``secrets.randbits`` does)."""
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)


class _IdState:
    process = _b32(_random_bits(30), 6)
    counter = itertools.count(_random_bits(20))
    stamp = (-1, "")  # (ms, its 10 characters): ids made in one ms share them


def _reseed() -> None:
    _IdState.process = _b32(_random_bits(30), 6)
    _IdState.counter = itertools.count(_random_bits(20))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """A new unique, time-ordered id."""
    ms = time.time_ns() // 1_000_000
    stamp = _IdState.stamp  # one tuple: threads never see half an update
    if stamp[0] != ms:
        stamp = _IdState.stamp = (ms, _b32(ms, 10))
    n = next(_IdState.counter)
    a = _ALPHABET
    tail = a[(n >> 20) & 31] + a[(n >> 15) & 31] + a[(n >> 10) & 31] + a[(n >> 5) & 31] + a[n & 31]
    return stamp[1] + _IdState.process + tail


def check_id(job_id: object) -> str:
    """Return ``job_id`` if it can be stored safely, else raise InvalidJobId."""
    if type(job_id) is str and 0 < len(job_id) <= MAX_ID_LENGTH and job_id.isascii() and job_id.isprintable():
        return job_id  # the common case, in one test (ASCII always encodes)
    if not isinstance(job_id, str):
        raise InvalidJobId(f"a job id must be a str, not {type(job_id).__name__}")
    if not job_id:
        raise InvalidJobId("a job id must not be empty")
    if len(job_id) > MAX_ID_LENGTH:
        raise InvalidJobId(f"a job id must be at most {MAX_ID_LENGTH} characters, not {len(job_id)}")
    if not job_id.isprintable():
        raise InvalidJobId(f"a job id must be printable characters only: {job_id!r}")
    try:
        job_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJobId(f"a job id must be valid unicode text: {job_id!r}") from None
    return job_id
