"""Every error jobbertrack raises, rooted at :class:`JobberTrackError`.

    JobberTrackError
    ├── InvalidTransition        an illegal move; carries job_id, current, target
    │   └── JobCancelled         the job was cancelled: its worker's next call is refused
    ├── JobNotFound (KeyError)   no record under that id
    │   └── JobExpired           the record existed and has outlived its timeout
    ├── JobExists                create() with an id that is already taken
    ├── CorruptRecord            a record the library did not write; carries job_id, field
    ├── UnknownLayout            the namespace's layout version is one this version does not know
    ├── InvalidTimeout (ValueError)  no timeout and no default, or not > 0
    ├── InvalidJobId (ValueError)    empty, too long, control characters
    ├── InvalidData (ValueError)     not JSON-serialisable, or over the size limit
    ├── WaitTimeout (TimeoutError)   wait() ran out of time
    └── RedisUnavailable (ConnectionError)  Redis down, unreachable, timed out
        RedisCommandError            Redis refused a command (OOM, ACL, ...)

A refused call (any of the ValueError family, JobExists, InvalidTransition,
CorruptRecord)
has written nothing to Redis.
"""

from __future__ import annotations


class JobberTrackError(Exception):
    """Base class of every error raised by jobbertrack."""


class InvalidTransition(JobberTrackError):
    """The job's state in Redis does not allow the requested move (or, with
    ``action``, what was tried: a progress report or a heartbeat, which only
    a job in ``target`` may make)."""

    def __init__(self, job_id: str, current: str, target: str, action: str | None = None) -> None:
        self.job_id = job_id
        self.current = str(current)
        self.target = str(target)
        self.action = action
        if action:
            message = f"cannot {action}: job {job_id!r} is {self.current!r} (only a {self.target} job can)"
        else:
            message = f"job {job_id!r} cannot move to {self.target!r}: it is {self.current!r}"
        super().__init__(message)


class JobCancelled(InvalidTransition):
    """The job was cancelled (``current == "cancelled"``): its worker's
    heartbeat, progress report, finish or fail is refused, writing nothing.
    A worker stops its work when it sees this."""

    def __init__(self, job_id: str, target: str, action: str | None = None) -> None:
        super().__init__(job_id, "cancelled", target, action)
        self.args = (f"job {job_id!r} was cancelled",)


class JobNotFound(JobberTrackError, KeyError):
    """No record exists under this id (never created, or gone)."""

    def __init__(self, job_id: str, message: str | None = None) -> None:
        self.job_id = job_id
        super().__init__(message or f"job {job_id!r} not found")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class JobExpired(JobNotFound):
    """The job existed, but its record outlived its timeout and is gone."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, f"job {job_id!r} has expired (its record outlived its timeout)")


class GroupNotFound(JobNotFound):
    """No group has this id: never made, gone, or a job that is not a group
    (a child joins a group by its id; a group lives in its children's shard)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, f"no group {job_id!r}: it was never made, has expired, or is not a group")


class GroupClosed(JobberTrackError):
    """The group was closed (``close()``, or made with its children): no
    child may join it; nothing was written."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"group {job_id!r} is closed: no child may join it")


class JobExists(JobberTrackError):
    """create() was given an id that already has a record; nothing changed."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id!r} already exists; it was left as it is")


class CorruptRecord(JobberTrackError):
    """The job's record holds a malformed field (written by another client,
    an operator or a bad restore): the move was refused and nothing changed.
    ``field`` names the field."""

    def __init__(self, job_id: str, field: str) -> None:
        self.job_id = job_id
        self.field = str(field)
        super().__init__(f"job {job_id!r} has a malformed record: its {self.field!r} field is not valid")


class UnknownLayout(JobberTrackError):
    """The namespace holds data in a layout this version does not know
    (its ``<ns>:{layout}`` key names another layout version; see
    docs/data-model.md): nothing was read or written.  ``namespace``,
    ``found`` (the version stored) and ``known`` (the versions this one reads)."""

    def __init__(self, namespace: str, found: str, known: tuple[str, ...]) -> None:
        self.namespace = namespace
        self.found = found
        self.known = known
        versions = ", ".join(repr(k) for k in known)
        super().__init__(
            f"namespace {namespace!r} holds jobbertrack data of layout {found!r}, which this version "
            f"does not know (it knows {versions}): upgrade jobbertrack"
        )


class InvalidTimeout(JobberTrackError, ValueError):
    """No timeout given and no default set, or a timeout that is not > 0."""


class InvalidJobId(JobberTrackError, ValueError):
    """An id that cannot be stored safely (empty, too long, control chars)."""


class InvalidData(JobberTrackError, ValueError):
    """Data that is not JSON-serialisable or is over the size limit."""


class InvalidURL(JobberTrackError, ValueError):
    """A Redis URL that cannot be used (unknown scheme, bad port, ...)."""


class WrongType(JobberTrackError, TypeError):
    """An argument of the wrong type (a ``TypeError`` as well; not exported:
    catch ``TypeError`` or ``JobberTrackError``)."""


class WaitTimeout(JobberTrackError, TimeoutError):
    """wait() gave up before the job reached a final state."""

    def __init__(self, job_id: str, timeout: float) -> None:
        self.job_id = job_id
        self.timeout = timeout
        super().__init__(f"job {job_id!r} did not end within {timeout:g} s")


class RedisUnavailable(JobberTrackError, ConnectionError):
    """Redis could not be reached or did not answer in time."""


class RedisCommandError(JobberTrackError):
    """Redis refused a command (out of memory, missing permission, ...)."""


# -- translating redis-py's errors ------------------------------------------


def translate(exc: BaseException) -> BaseException:
    """The jobbertrack error for an exception from redis-py (or ``exc``):
    Redis away is ``RedisUnavailable``, a refused command ``RedisCommandError``.
    redis-py is imported here, on the first error, not with the package."""
    import redis.exceptions as rx

    if isinstance(exc, JobberTrackError):
        return exc
    unavailable = (
        rx.ConnectionError,
        rx.TimeoutError,
        OSError,
        rx.ClusterDownError,
        rx.TryAgainError,
        rx.MasterDownError,
        rx.ReadOnlyError,
        rx.BusyLoadingError,
        rx.RedisClusterException,  # not a RedisError: e.g. a slot no node serves
    )
    if isinstance(exc, unavailable):
        return RedisUnavailable(f"Redis is unavailable: {exc}")
    if isinstance(exc, RuntimeError) and "Event loop is closed" in str(exc):
        return RedisUnavailable(
            "the redis.asyncio client's connections belong to an event loop that has ended: "
            "make the client inside the loop that uses it, or aclose() it before that loop ends"
        )
    if isinstance(exc, rx.RedisError):
        return RedisCommandError(f"Redis refused the command: {exc}")
    return exc
