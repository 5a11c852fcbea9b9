"""What the sync and asyncio ``Resource`` and ``Handler`` share: every pure
part (reading fields, snapshots, binding, argument checks).  The twins in
``_sync.py`` and ``aio/`` add only the I/O."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from ._core.calls import UNSET, Call, Core, Outcome, outcome
from ._core.codec import decode_json, duration_ms
from ._core.ids import check_id
from ._core.keys import Keyspace
from ._core.record import (
    Fields,
    fields_from_flat,
    fields_from_hash,
    from_value,
    history,
    ms_to_datetime,
    text,
    to_value,
)
from ._core.transitions import State
from ._exceptions import (
    InvalidData,
    InvalidTimeout,
    JobberTrackError,
    JobExists,
    JobExpired,
    JobNotFound,
    WrongType,
)
from ._scripts import Registry, registry

DEFAULT_CORE = Core()


#: Per client type: whether its execute_command is a coroutine function.
_COROUTINE_CLIENTS: dict[type, bool | None] = {}


def check_client(client: Any, asyncio: bool, what: str) -> None:
    """A redis-py client of the caller's layer: a sync client in the asyncio
    layer (or the reverse) would fail later with a puzzling TypeError."""
    kind = type(client)
    if kind not in _COROUTINE_CLIENTS:
        method = getattr(client, "execute_command", None)
        if not callable(method):
            raise WrongType(f"client must be a redis-py client, not {kind.__name__}")
        code = getattr(method, "__code__", None)  # None: wrapped, not ours to judge
        _COROUTINE_CLIENTS[kind] = None if code is None else bool(code.co_flags & 0x80)  # CO_COROUTINE
    is_coroutine = _COROUTINE_CLIENTS[kind]
    if is_coroutine is not None and is_coroutine != asyncio:
        layer, wanted = ("jobbertrack.aio", "redis.asyncio") if asyncio else ("jobbertrack", "redis")
        got = f"{kind.__module__}.{kind.__name__}"
        hint = f" (from a factory? base the factory on {layer}.ResourceFactory)" if what == "Resource" else ""
        raise WrongType(f"{layer}.{what} needs a {wanted}.Redis or RedisCluster client, not a {got}{hint}")


class ResourceBase:
    """A job: its id and a local copy of its record (not live; see refresh)."""

    #: Whether this layer's client methods are coroutines (redis.asyncio).
    _asyncio = False

    def __init__(self, client: Any, id: str) -> None:
        # _loaded() below sets the same attributes: keep the two in step
        if client is not None:  # None: a detached copy, e.g. for set_value()
            check_client(client, self._asyncio, "Resource")
        self.client = client
        self.id = check_id(id)
        self._core = DEFAULT_CORE
        self._reg: Registry | None = None
        self._fields: Fields = {}
        self._known = False

    @classmethod
    def _loaded(cls, client: Any, id: str, fields: Fields, core: Core, reg: Registry) -> Any:
        """A bound resource for a record just read (``id`` already checked):
        what the default factory's ``load`` and ``_bind`` do, in one step."""
        job = cls.__new__(cls)
        job.client, job.id, job._core, job._reg, job._fields, job._known = client, id, core, reg, fields, True
        return job

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} {self._fields.get('state', '?')}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceBase):
            return NotImplemented
        return self.id == other.id and self._core.keys.namespace == other._core.keys.namespace

    def __hash__(self) -> int:
        return hash((self.id, self._core.keys.namespace))

    # -- binding -----------------------------------------------------------

    def _bind(self, core: Core, reg: Registry) -> None:
        self._core, self._reg = core, reg

    @property
    def _registry(self) -> Registry:
        if self._reg is None:
            self._reg = registry(self.client)
        return self._reg

    # -- the local copy ----------------------------------------------------

    @property
    def state(self) -> State | None:
        raw = self._fields.get("state")
        return None if raw is None else State(raw)

    @property
    def data(self) -> Any:
        """The stored data (``finish(data)`` or ``create(data=...)``), else None."""
        return decode_json(self._fields.get("data"))

    @property
    def name(self) -> str | None:
        return self._fields.get("name")

    @property
    def progress(self) -> dict[str, Any] | None:
        """The last progress report: ``{current, total, message}``, or None."""
        value: dict[str, Any] | None = decode_json(self._fields.get("progress"))
        return value

    @property
    def error(self) -> dict[str, Any] | None:
        """Failure details: ``{reason, message, ...}``, or None."""
        value: dict[str, Any] | None = decode_json(self._fields.get("error"))
        return value

    @property
    def created_at(self) -> datetime | None:
        return ms_to_datetime(self._fields.get("created"))

    @property
    def started_at(self) -> datetime | None:
        return ms_to_datetime(self._fields.get("started"))

    @property
    def ended_at(self) -> datetime | None:
        return ms_to_datetime(self._fields.get("ended"))

    @property
    def expires_at(self) -> datetime | None:
        return ms_to_datetime(self._fields.get("expires"))

    @property
    def heartbeat_at(self) -> datetime | None:
        return ms_to_datetime(self._fields.get("beat"))

    @property
    def lease(self) -> float | None:
        """The lease given to ``start()``, in seconds, or None."""
        return int(self._fields["lease"]) / 1000 if "lease" in self._fields else None

    @property
    def max_runtime(self) -> float | None:
        """The maximum run time given to ``start()``, in seconds, or None."""
        return int(self._fields["max_runtime"]) / 1000 if "max_runtime" in self._fields else None

    @property
    def is_final(self) -> bool:
        """True once the job is ``finished`` or ``failed``."""
        state = self.state
        return state is not None and state.is_final

    def history(self) -> list[dict[str, Any]]:
        """The transitions recorded in the local copy (see Handler.history)."""
        return history(self._fields)

    def get_value(self) -> dict[str, Any]:
        """A JSON-able snapshot of the local copy (``state``, ``data`` once
        set, progress, error, times as ISO 8601 UTC).  Not live."""
        return to_value(self.id, self._fields)

    def set_value(self, reply: Any) -> None:
        """Replace the local copy with what Redis returned (an HGETALL reply,
        bytes or str) or with what ``get_value()`` returned (at least
        ``state``; ``data`` as the job's data).  InvalidData if it is neither."""
        try:
            self._fields = from_value(reply)
        except JobberTrackError:
            raise
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise InvalidData(f"set_value() cannot read {type(reply).__name__}: {exc}") from None
        self._known = bool(self._fields)

    # -- applying replies --------------------------------------------------

    def _take(self, record: Any) -> None:
        """Replace the local copy with a record read again (an HGETALL reply
        or settled fields); JobExpired (JobNotFound if never seen) if empty."""
        if not record:
            raise JobExpired(self.id) if self._known else JobNotFound(self.id)
        self._fields = from_value(record)
        self._known = True

    def _apply(self, reply: Any, target: str, sent: Call | None = None) -> Outcome | None:
        """Take a script's reply into the local copy; raise its error if any."""
        if len(reply) > 2:  # ok, with the fields the write set: the common case, kept short
            self._fields.update(fields_from_flat(reply[1]))
            if sent is not None and sent.data is not None:
                self._fields["data"] = sent.data  # what this call stored
            self._known = True
            return None
        result = outcome(reply)
        if result.partial:  # a successful write: the fields it wrote
            self._fields.update(result.fields or {})
        elif result.code == "bad":  # refused: the whole record, data included
            self._fields = result.fields or {}
        elif result.fields is not None:  # a replay: the whole record (data aside)
            kept = self._fields.get("data")
            self._fields = result.fields
            if kept is not None:
                self._fields.setdefault("data", kept)
        if result.code == "ok" and sent is not None and sent.data is not None:
            self._fields["data"] = sent.data  # what this call stored
        result.raise_for(self.id, target, known=self._known)
        self._known = True
        return result


def run_deadlines(fields: Fields) -> list[int]:
    """A running job's lease and run-time deadlines (ms of Redis' clock)."""
    if fields.get("state") != "running":
        return []
    out = []
    if "lease" in fields and "beat" in fields:
        out.append(int(fields["beat"]) + int(fields["lease"]))
    if "max_runtime" in fields and "started" in fields:
        out.append(int(fields["started"]) + int(fields["max_runtime"]))
    return out


#: Clock difference tolerated between this host and Redis when deciding
#: from a plain read whether a job might be past its deadline.
CLOCK_MARGIN_MS = 5000


class RedisClock:
    """How far Redis' clock has been seen ahead of this host's, in ms: a
    record's ``started`` or ``beat`` is a past instant of Redis' clock, so
    when it is later than this host's now, this host runs behind by at
    least that much.  Only ever grows (over-estimating costs a script call,
    under-estimating would show a dead worker's job as running)."""

    ahead_ms = 0.0

    @classmethod
    def now_ms(cls, fields: Fields) -> float:
        """A lower bound of Redis' now, learning from ``fields``' stamps."""
        now = time.time() * 1000
        seen = max(int(fields.get("beat", 0)), int(fields.get("started", 0)))
        cls.ahead_ms = max(cls.ahead_ms, seen - now)
        return now + cls.ahead_ms


def maybe_due(record: dict[Any, Any]) -> bool:
    """Whether a running job read without settling (an HGETALL reply, bytes
    or str) might be past its lease or run time (then it is read again
    through the settling ``get``)."""
    state = record.get(b"state", record.get("state"))
    if state not in (b"running", "running"):
        return False
    fields = {text(k): text(v) for k, v in record.items()}
    due = run_deadlines(fields)
    return bool(due) and min(due) <= RedisClock.now_ms(fields) + CLOCK_MARGIN_MS


def settled(reply: Any) -> Fields | None:
    """The record in a ``get`` script's reply, None when the job is gone."""
    return fields_from_flat(reply[1]) if len(reply) > 1 else None


def wake_at(fields: Fields, until: float) -> float:
    """Monotonic time to look at a job again while waiting for it: the
    caller's deadline ``until``, or earlier when the record expires or its
    lease or maximum run time runs out (a read then settles it)."""
    redis_ms = min([int(fields["expires"]), *run_deadlines(fields)]) + 5  # Redis decides at its own ms
    wall_ms = redis_ms - RedisClock.ahead_ms  # as this host's clock shows that instant
    return min(until, time.monotonic() + (wall_ms / 1000 - time.time()))


#: Longer than this (about 31 years) is waiting for ever (and keeps the
#: arithmetic on deadlines finite).
FOREVER_S = 10**9


def wait_deadline(timeout: float | None) -> float:
    if timeout is None:
        return float("inf")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
        raise InvalidTimeout(f"wait timeout must be a number of seconds >= 0, not {timeout!r}")
    return float("inf") if timeout > FOREVER_S else time.monotonic() + timeout


#: Longest job name (a label for people and listings, not a payload).
MAX_NAME = 1024


def check_name(name: object) -> None:
    if name is None:
        return
    if not isinstance(name, str):
        raise WrongType(f"name must be a str, not {type(name).__name__}")
    if len(name) > MAX_NAME:
        raise InvalidData(f"name must be at most {MAX_NAME} characters, not {len(name)}")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidData(f"name must be valid unicode text: {name!r}") from None


def check_ids(ids: object) -> None:
    """``ids`` must be an iterable of ids, not one id (a str is iterable too)."""
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise WrongType(f"ids must be an iterable of str, not {type(ids).__name__}")


class HandlerBase:
    """The pure half of a handler: configuration and argument checks."""

    def __init__(
        self,
        client: Any,
        resource_factory: Any = None,
        *,
        namespace: str = "jt",
        shards: int = 16,
        default_timeout: float | None = None,
        max_data_bytes: int | None = None,
        max_events: int = 10_000,
        tombstone_ttl: float = 86_400,
        max_tombstones: int = 256,
    ) -> None:
        self._check_client(client)
        self.client = client
        self.resource_factory = resource_factory or self._default_factory()
        if not all(callable(getattr(self.resource_factory, m, None)) for m in ("create", "load")):
            raise WrongType(
                f"resource_factory must have create() and load(), not {type(resource_factory).__name__}"
            )
        extra = {} if max_data_bytes is None else {"max_data_bytes": max_data_bytes}
        self._core = Core(
            Keyspace(namespace, shards),
            max_events=max_events,
            tombstone_ttl=tombstone_ttl,
            max_tombstones=max_tombstones,
            **extra,
        )
        self._reg = registry(client)
        self._default_timeout_ms: int | None = None
        if default_timeout is not None:
            self.set_default_timeout(default_timeout)

    def _default_factory(self) -> Any:
        raise NotImplementedError

    #: Whether this layer's client methods are coroutines (redis.asyncio).
    _asyncio = False

    def _check_client(self, client: Any) -> None:
        check_client(client, self._asyncio, "Handler")

    #: (the layer's ResourceFactory, its Resource): loads made by exactly
    #: these build the resource directly (see ``_load_fields``).
    _plain_types: tuple[Any, Any] = (None, None)

    @property
    def namespace(self) -> str:
        return self._core.keys.namespace

    @property
    def default_timeout(self) -> float | None:
        ms = self._default_timeout_ms
        return None if ms is None else ms / 1000

    def set_default_timeout(self, timeout: float) -> None:
        """The lifetime, in seconds, of jobs created without a timeout."""
        self._default_timeout_ms = duration_ms(timeout)

    def _timeout_ms(self, timeout: float | None) -> int:
        if timeout is None:
            if self._default_timeout_ms is None:
                raise InvalidTimeout(
                    "create() needs a timeout: pass one, or call set_default_timeout() first"
                )
            return self._default_timeout_ms
        return duration_ms(timeout)

    def _adopt(self, resource: Any) -> Any:
        """Bind a resource made by the factory to this handler."""
        wanted = self._plain_types[1] or ResourceBase  # this layer's Resource
        if not isinstance(resource, wanted):
            got, layer = (c.__module__.replace("._sync", "") for c in (type(resource), wanted))
            raise WrongType(
                f"the resource factory returned a {got}.{type(resource).__qualname__}, "
                f"not a {layer}.{wanted.__qualname__}: base the factory on {layer}.ResourceFactory"
            )
        resource._bind(self._core, self._reg)
        return resource

    def _load_fields(self, job_id: str, record: Any) -> Any:
        """The factory's resource for a record (HGETALL reply), None if empty."""
        if not record:
            return None
        factory = self.resource_factory
        plain_factory, plain_class = self._plain_types
        if type(factory) is plain_factory and factory.resource_class is plain_class:
            # the library's own factory and class, untouched: the same result, without the generic path
            fields = fields_from_hash(record)
            return plain_class._loaded(self.client, job_id, fields, self._core, self._reg)
        return self._adopt(self.resource_factory.load(self.client, job_id, record))

    @staticmethod
    def _missing(job_id: str, status: Any) -> JobNotFound:
        return JobExpired(job_id) if text(status) == "expired" else JobNotFound(job_id)

    def _create_plan(
        self, count: int, timeout: float | None, data: Any, name: str | None, batch: int
    ) -> tuple[list[Any], list[list[tuple[list[str], Call]]]]:
        """New (unsaved) jobs from the factory, and per round of ``batch``
        jobs the ``create_many`` calls: one per shard."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise JobberTrackError(f"count must be an int >= 0, not {count!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise JobberTrackError(f"batch must be an int >= 1, not {batch!r}")
        check_name(name)
        timeout_ms = self._timeout_ms(timeout)
        jobs = [self._adopt(self.resource_factory.create(self.client)) for _ in range(count)]
        ids = [job.id for job in jobs]
        if len(set(ids)) != len(ids):
            raise JobberTrackError("the resource factory made the same id twice in one create_many()")
        rounds = [
            self._core.create_batches(ids[i : i + batch], timeout_ms, data, name)
            for i in range(0, len(ids), batch)
        ]
        return jobs, rounds

    @staticmethod
    def _created(
        by_id: dict[str, ResourceBase], batches: list[tuple[list[str], Call]], replies: list[Any]
    ) -> None:
        """Fill the local copies of a round's jobs; JobExists after the rest."""
        taken = None
        for (ids, call), reply in zip(batches, replies, strict=True):
            if text(reply[0]) != "ok":
                taken = taken or text(reply[1])
                continue
            fields = {
                "state": "waiting",
                "created": text(reply[1]),
                "expires": text(reply[2]),
                "token": str(call.args[1]),
            }
            if call.args[7]:
                fields["name"] = str(call.args[7])
            if call.data is not None:
                fields["data"] = call.data
            for job_id in ids:
                job = by_id[job_id]
                job._fields = dict(fields)
                job._known = True
        if taken is not None:
            raise JobExists(taken)

    def _create_call(
        self, resource: ResourceBase, timeout: float | None, data: Any, name: str | None
    ) -> Call:
        check_name(name)
        return self._core.create(resource.id, self._timeout_ms(timeout), data, name)


__all__ = ["UNSET", "DEFAULT_CORE", "HandlerBase", "ResourceBase"]
