"""What the sync and asyncio ``Resource`` and ``ResourceFactory`` share:
every pure part (reading the local copy's fields, snapshots, binding to a
handler, applying script replies, the plan of ``refresh``).  The twins in
``_sync.py`` and ``aio.py`` add only the I/O."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from ._client_state import ClientState, check_client, client_state
from ._core.calls import Call, Commands, Outcome, error_for, outcome
from ._core.codec import read_json
from ._core.deadlines import wake_at
from ._core.fields import PAYLOADS, Fields, payload_fields
from ._core.history import history
from ._core.ids import check_id, new_id
from ._core.problems import problems, read_state
from ._core.record import from_value, to_value
from ._core.transitions import State
from ._core.wire import fields_from_flat, read_object, read_seconds, read_time
from ._current import as_current
from ._exceptions import CorruptRecord, InvalidData, JobberTrackError
from ._ops import Plan
from ._plans import read_record

#: The calls of a resource made on its own (not by a handler): namespace "jt".
DEFAULT_COMMANDS = Commands()

V = TypeVar("V")


class _Field(Generic[V]):
    """A read-only field of a resource's local copy, through ``convert``
    (None when the record lacks it or it is malformed: see ``problems``)."""

    def __init__(self, field: str, convert: Callable[[str], V | None], doc: str) -> None:
        self.field, self.convert, self.__doc__ = field, convert, doc

    @overload
    def __get__(self, job: None, owner: type) -> _Field[V]: ...
    @overload
    def __get__(self, job: ResourceBase, owner: type | None = None) -> V | None: ...
    def __get__(self, job: ResourceBase | None, owner: type | None = None) -> V | _Field[V] | None:
        if job is None:
            return self
        raw = job._fields.get(self.field)
        if raw is None or self.field in job._bad_fields():
            return None
        return self.convert(raw)

    def __set__(self, job: ResourceBase, value: object) -> None:
        raise AttributeError(f"{self.field} is read from the record: it cannot be set")


class ResourceBase:
    """A job: its id and a local copy of its record (not live; see refresh)."""

    #: Whether this layer's client methods are coroutines (redis.asyncio).
    _asyncio = False

    def __init__(self, client: Any, id: str) -> None:
        if client is not None:  # None: a detached copy, e.g. for set_value()
            check_client(client, self._asyncio, "Resource")
        self.client = client
        self.id = check_id(id)
        self._core = DEFAULT_COMMANDS
        self._cs: ClientState | None = None  # bound by a handler, else found on first use
        self._fields: Fields = {}
        self._known = False
        self._checked: tuple[list[tuple[str, str]], list[dict[str, str]]] = ([], [])

    @classmethod
    def _read(cls, client: Any, id: str, record: Any, core: Commands, cs: ClientState) -> Any:
        """What the layer's own factory's ``load`` and the handler's binding
        make of a record just read, without checking again what the handler
        already checked (its client's layer, the id): ``get`` and
        ``get_many`` build one per job.  ``HandlerBase._load`` uses it only
        when neither the factory's ``load`` nor the class' ``__init__`` is
        the user's own; a test keeps it equal to the long way."""
        job = cls.__new__(cls)
        job.client, job.id, job._core, job._cs = client, id, core, cs
        job._fields = from_value(record)
        job._known = bool(job._fields)
        job._checked = ([], [])
        return job

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} {self._fields.get('state', '?')}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceBase):
            return NotImplemented
        return self.id == other.id and self._core.keys.namespace == other._core.keys.namespace

    def __hash__(self) -> int:
        return hash((self.id, self._core.keys.namespace))

    #: Set on the job a keyed create found (``create(..., key=...)``).
    _existed = False

    @property
    def existed(self) -> bool:
        """True for the job a keyed ``create``/``push`` (``key=...``) found
        alive under its key, and returned without writing anything; False
        for a job made by the call, and for any job read or made otherwise."""
        return self._existed

    # -- binding -----------------------------------------------------------

    def _bind(self, core: Commands, cs: ClientState) -> None:
        self._core, self._cs = core, cs

    @property
    def _client_state(self) -> ClientState:
        if self._cs is None:
            self._cs = client_state(self.client)
        return self._cs

    def as_current(self) -> contextlib.AbstractContextManager[None]:
        """A context manager: this job is ``jobbertrack.current_job()`` while
        its block runs (each thread and asyncio task sees its own), for code
        that runs a job's work itself (``running()`` and the integrations
        do it for theirs)."""
        return as_current(self)

    # -- the local copy ----------------------------------------------------

    @property
    def state(self) -> State | None:
        """The job's state (a ``State``, equal to its plain string), or None:
        not read yet, or a malformed record (see ``problems``)."""
        return None if self.problems else read_state(self._fields)

    @property
    def problems(self) -> list[dict[str, str]]:
        """Each malformed field of the local copy, ``{"field", "problem"}``
        ([] for a healthy record); such a field reads as None, and the
        job's ``state`` as None (see docs/data-model.md)."""
        if not self._fields:
            return []
        items = list(self._fields.items())
        if items != self._checked[0]:  # checked once per version of the copy
            self._checked = (items, problems(self._fields))
        return [dict(p) for p in self._checked[1]]

    def _bad_fields(self) -> set[str]:
        return {p["field"] for p in self.problems}

    name = _Field("name", str, "The job's label, or None.")
    key = _Field("key", str, "The idempotency key it was made with (``create(..., key=...)``), or None.")
    queue = _Field("queue", str, "The queue the job was pushed on, or None (not a job of a queue).")

    def _payload(self, field: str | None) -> Any:
        if field is None:
            return None
        for problem in self.problems:
            if problem["field"] == field:
                raise InvalidData(f"job {self.id!r}: stored {field} is malformed: {problem['problem']}")
        return read_json(self._fields.get(field))

    @property
    def input(self) -> Any:
        """What the job was made with: ``create(data=...)``,
        ``create_many(data=...)`` or ``push(data)``; never changed by a move
        (a retry keeps it); None when none was given.  InvalidData if the
        stored text is malformed (``problems`` names it)."""
        return self._payload(payload_fields(self._fields)[0])

    @property
    def result(self) -> Any:
        """What ``finish(value)`` stored; None before (and for a job that
        failed).  InvalidData if the stored text is malformed."""
        return self._payload(payload_fields(self._fields)[1])

    @property
    def data(self) -> Any:
        """The seed's ``data``, kept for existing code: the result once the
        job has one (``finish(data)``), else its input
        (``create(data=...)``), else None.  Prefer ``input`` and
        ``result``, which never stand for each other.  InvalidData if the
        stored text is malformed (``problems`` names it, ``get_value()``
        reads it as None)."""
        given, result = payload_fields(self._fields)
        return self._payload(result or given)

    progress = _Field(
        "progress", read_object, "The last progress report: ``{current, total, message}``, or None."
    )
    error = _Field("error", read_object, "Failure details: ``{reason, message, ...}``, or None.")

    @property
    def is_final(self) -> bool:
        """True once the job has ended (``finished``, ``failed`` or
        ``cancelled``: the states of ``ENDED`` in the state table);
        ``wait()`` returns then."""
        state = self.state
        return state is not None and state.is_final

    created_at = _Field("created", read_time, "When the job was created (UTC), or None.")
    started_at = _Field("started", read_time, "When the job started (UTC), or None.")
    ended_at = _Field("ended", read_time, "When the job finished or failed (UTC), or None.")
    expires_at = _Field("expires", read_time, "When the record expires (UTC), or None.")
    heartbeat_at = _Field("beat", read_time, "The worker's last sign of life (UTC), or None.")

    def history(self) -> list[dict[str, Any]]:
        """The transitions recorded in the local copy (see Handler.history)."""
        return history(self._fields)

    lease = _Field("lease", read_seconds, "The lease given to ``start()``, in seconds, or None.")
    max_runtime = _Field(
        "max_runtime", read_seconds, "The maximum run time given to ``start()``, in seconds, or None."
    )

    def get_value(self) -> dict[str, Any]:
        """A JSON-able snapshot of the local copy (``state``, ``data`` once
        set, progress, error, times as ISO 8601 UTC).  Not live.  A
        malformed record adds ``"problems"`` (its bad fields read as None);
        fields this version does not know are under ``"extra"``."""
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

    # -- reading and applying replies ---------------------------------------

    def _refresh_plan(self) -> Plan[Any]:
        """``refresh()``: the record read again (see ``_plans.read_record``)."""
        self._take((yield from read_record(self._core, self._client_state.clock, self.id)))
        return self

    def _wake_at(self, until: float) -> float:
        """Monotonic time to look at the job again while waiting
        (``wake_at``); CorruptRecord if the record is malformed (it can
        never end: no move is made on it)."""
        found = self.problems or [{"field": "expires"}] * (read_time(self._fields.get("expires")) is None)
        if found:
            raise CorruptRecord(self.id, found[0]["field"])
        return wake_at(self._fields, until, self._client_state.clock, time.monotonic(), time.time())

    def _take(self, record: Any) -> None:
        """Replace the local copy with a record read again (an HGETALL reply
        or settled fields); JobExpired (JobNotFound if never seen) if empty."""
        if not record:
            raise error_for("gone", self.id, known=self._known)
        self._fields = from_value(record)
        self._known = True

    def _apply(self, reply: Any, target: str, sent: Call | None = None) -> Outcome | None:
        """Take a script's reply into the local copy; raise its error if any."""
        if len(reply) > 2:  # ok, with the fields the write set: the common case, kept short
            self._fields.update(fields_from_flat(reply[1]))
            if sent is not None:
                if sent.data is not None:
                    self._fields[sent.stores] = sent.data  # what this call stored
                for name in sent.clears:  # what this call deleted
                    self._fields.pop(name, None)
            self._known = True
            return None
        result = outcome(reply)
        if result.partial:  # a successful write: the fields it wrote
            self._fields.update(result.fields or {})
        elif result.code == "bad":  # refused: the whole record, data included
            self._fields = result.fields or {}
        elif result.fields is not None:  # a replay: the whole record (its payloads aside)
            kept = {f: self._fields[f] for f in PAYLOADS if f in self._fields}
            self._fields = result.fields
            for field, value in kept.items():
                self._fields.setdefault(field, value)
        if result.code == "ok" and sent is not None and sent.data is not None:
            self._fields[sent.stores] = sent.data  # what this call stored
        result.raise_for(self.id, target, known=self._known, action=sent.action if sent is not None else "")
        self._known = True
        return result


R = TypeVar("R", bound=ResourceBase)


class ResourceFactoryBase(Generic[R]):
    """Makes resources.  Override ``create`` to choose your own ids."""

    resource_class: type[R]

    def create(self, client: Any) -> R:
        """A new resource, with a new unique time-ordered id (not saved yet)."""
        return self.resource_class(client, new_id())

    def load(self, client: Any, id: str, reply: Any) -> R:
        """The resource for a record read from Redis (see ``set_value``)."""
        resource = self.resource_class(client, id)
        resource.set_value(reply)
        return resource
