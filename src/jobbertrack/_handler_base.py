"""What the sync and asyncio ``Handler`` share: configuration, argument
checks, binding what the factory makes, and the plans of its multi-step
operations (carried out by the twins in ``_sync.py`` and ``aio.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._client_state import check_client, client_state
from ._core.calls import Call, Commands, error_for
from ._core.codec import duration_ms
from ._core.fields import create_fields
from ._core.finding import FindPlan, make_filter
from ._core.idem import MAX_ROUNDS, check_key, claim_call, same_shard, stamp_call, taken_by, with_entry
from ._core.ids import check_id
from ._core.keys import Keyspace
from ._core.listing import JobList, ListPlan, states_of
from ._core.wire import text
from ._exceptions import InvalidTimeout, JobberTrackError, WrongType
from ._group_base import GroupsBase
from ._ops import Plan
from ._plans import filtered_counts, find_page, list_page, read_record, read_records
from ._resource_base import ResourceBase, ResourceFactoryBase


def check_ids(ids: object) -> None:
    """``ids`` must be an iterable of ids, not one id (a str is iterable too)."""
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise WrongType(f"ids must be an iterable of str, not {type(ids).__name__}")


class HandlerBase(GroupsBase):
    """The pure half of a handler: configuration, argument checks, plans."""

    #: This layer's ResourceFactory and Resource; whether its client
    #: methods are coroutines (redis.asyncio).
    _factory_class: type[ResourceFactoryBase[Any]] = ResourceFactoryBase
    _resource_class: type[ResourceBase] = ResourceBase
    _asyncio = False

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
        check_client(client, self._asyncio, "Handler")
        self.client = client
        self.resource_factory = resource_factory or self._factory_class()
        if not all(callable(getattr(self.resource_factory, m, None)) for m in ("create", "load")):
            raise WrongType(
                f"resource_factory must have create() and load(), not {type(resource_factory).__name__}"
            )
        extra = {} if max_data_bytes is None else {"max_data_bytes": max_data_bytes}
        self._core = Commands(
            Keyspace(namespace, shards),
            max_events=max_events,
            tombstone_ttl=tombstone_ttl,
            max_tombstones=max_tombstones,
            **extra,
        )
        self._cs = client_state(client)
        self._workers: set[Any] = set()  # the work() calls running on this handler (stop_work)
        self._default_timeout_ms: int | None = None
        if default_timeout is not None:
            self.set_default_timeout(default_timeout)

    @property
    def namespace(self) -> str:
        """The namespace of this handler's jobs (the prefix of their keys)."""
        return self._core.keys.namespace

    @property
    def max_data_bytes(self) -> int:
        """The most bytes a job's input or result may take as JSON text."""
        return self._core.max_data_bytes

    @property
    def default_timeout(self) -> float | None:
        """The lifetime, in seconds, of jobs created without a timeout (None: none)."""
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
        wanted = self._resource_class
        if not isinstance(resource, wanted):
            got, layer = (c.__module__.replace("._sync", "") for c in (type(resource), wanted))
            raise WrongType(
                f"the resource factory returned a {got}.{type(resource).__qualname__}, "
                f"not a {layer}.{wanted.__qualname__}: base the factory on {layer}.ResourceFactory"
            )
        resource._bind(self._core, self._cs)
        return resource

    def _load(self, job_id: str, record: Any) -> Any:
        """The factory's resource for a record read, None if it is empty."""
        if not record:
            return None
        if isinstance(record, dict) and record.get(b"kind", record.get("kind")) in (b"group", "group"):
            return self._group_class._read(self.client, job_id, record, self._core, self._cs)
        factory, wanted = self.resource_factory, self._resource_class
        if (
            type(factory).load is ResourceFactoryBase.load
            and factory.resource_class is wanted
            and wanted.__init__ is ResourceBase.__init__
        ):  # what that load would make, the short way (ResourceBase._read)
            return wanted._read(self.client, job_id, record, self._core, self._cs)
        return self._adopt(factory.load(self.client, job_id, record))

    # -- plans (see ``_run``): the twins carry them out --------------------

    def _act_plan(self, call: Call) -> Plan[Any]:
        """An operator's move on a job known by id (``track.cancel``,
        ``track.retry``): the move, then the whole record read back."""
        job = self._adopt(self._resource_class(self.client, call.job_id))
        job._apply((yield call), call.target, call)
        return (yield from job._refresh_plan())

    def _get_many_plan(self, ids: Iterable[str]) -> Plan[list[Any]]:
        check_ids(ids)
        wanted = [check_id(i) for i in ids]
        records = yield from read_records(self._core, self._cs.clock, wanted)
        return [self._load(i, record) for i, record in zip(wanted, records, strict=True)]

    def _create_many_plan(
        self,
        count: int,
        timeout: float | None,
        data: Any,
        name: str | None,
        batch: int,
        group: str | None = None,
        **more: object,
    ) -> Plan[list[Any]]:
        jobs, rounds = self._create_rounds(count, timeout, data, name, batch, group, **more)
        by_id = {job.id: job for job in jobs}
        for batches in rounds:
            self._created(by_id, batches, (yield [call for _, call in batches]))
        return jobs

    def _list_plan(
        self,
        state: Any,
        limit: int,
        cursor: str | None,
        **filters: object,
    ) -> Plan[tuple[ListPlan | FindPlan, list[str], str | None]]:
        """``list``'s ids: by the state indexes alone (``order="expires"``
        with no other filter, the order before filters existed), else by
        the finding indexes (``_core/finding.py``)."""
        states = states_of(state)  # read once: `state` may be a one-shot iterator
        wanted = make_filter(states, state is None, **filters)
        if wanted.order == "expires" and not wanted.narrow:
            return list_page(self._core, None if state is None else states, limit, cursor)
        return find_page(self._core, wanted, limit, cursor)

    def _counts_plan(self, state: Any, tag: object, queue: object) -> Plan[int]:
        """``count``: the live jobs in ``state`` (None: every state) with ``tag``
        and of ``queue`` (see ``_plans.filtered_counts``)."""
        wanted = make_filter(states_of(state), state is None, tag=tag, queue=queue)
        counts = yield from filtered_counts(self._core, wanted)
        return sum(counts[s.value] for s in wanted.states or states_of(None))

    def _counts_by_state_plan(self, tag: object, queue: object) -> Plan[dict[str, int]]:
        """``counts``: every state's live jobs with ``tag`` and of ``queue``."""
        return filtered_counts(self._core, make_filter(states_of(None), True, tag=tag, queue=queue))

    @staticmethod
    def _page(plan: ListPlan | FindPlan, cursor: str | None, jobs: list[Any]) -> JobList:
        """The page of ``list``, from the jobs of its ids (``_plans.list_page``)."""
        page = plan.keep(jobs)
        page.cursor = cursor
        return page

    # -- creating ----------------------------------------------------------

    def _create_rounds(
        self,
        count: int,
        timeout: float | None,
        data: Any,
        name: str | None,
        batch: int,
        group: str | None = None,
        **more: object,
    ) -> tuple[list[Any], list[list[tuple[list[str], Call]]]]:
        """New (unsaved) jobs from the factory, and per round of ``batch``
        jobs the ``create_many`` calls: one per shard.  ``name`` and ``more``:
        the fields set at create (``fields.CREATE_FIELDS``); ``group``: the
        group they join (their ids in its shard)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise JobberTrackError(f"count must be an int >= 0, not {count!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise JobberTrackError(f"batch must be an int >= 1, not {batch!r}")
        fields = create_fields({"name": name, **more})
        if group is not None:
            fields["group"] = check_id(group)
        timeout_ms = self._timeout_ms(timeout)
        jobs = [self._new_job(group) for _ in range(count)]
        ids = [job.id for job in jobs]
        if len(set(ids)) != len(ids):
            raise JobberTrackError("the resource factory made the same id twice in one create_many()")
        rounds = [
            self._core.create_batches(ids[i : i + batch], timeout_ms, data, fields)
            for i in range(0, len(ids), batch)
        ]
        return jobs, rounds

    @staticmethod
    def _created(
        by_id: dict[str, ResourceBase], batches: list[tuple[list[str], Call]], replies: list[Any]
    ) -> None:
        """Fill the local copies of a round's jobs; JobExists after the rest."""
        refused = None
        for (ids, call), reply in zip(batches, replies, strict=True):
            if text(reply[0]) != "ok":
                refused = refused or (text(reply[0]), text(reply[1]))  # ('exists', the id taken)
                continue
            fields = {"state": call.target, "created": text(reply[1]), "expires": text(reply[2])}
            fields |= {"token": call.token, **call.sets}
            if call.data is not None:
                fields["data"] = call.data
            for job_id in ids:
                job = by_id[job_id]
                job._fields = dict(fields)
                job._known = True
        if refused is not None:
            raise error_for(*refused)

    def _create_call(
        self,
        resource: ResourceBase,
        timeout_ms: int,
        data: Any,
        name: str | None,
        key: str | None = None,
        group: str | None = None,
        **more: object,
    ) -> Call:
        """``timeout_ms``: from ``_timeout_ms``; ``name`` and ``more``: the
        fields set at create (``fields.CREATE_FIELDS``); ``key``: a checked
        idempotency key (``idem.check_key``), stored as the field ``key``;
        ``group``: the group the job joins (its id is in the group's shard)."""
        fields = create_fields({"name": name, **more})
        if key is not None:
            fields["key"] = key
        if group is not None:
            fields["group"] = check_id(group)
        return self._core.create(resource.id, timeout_ms, data, fields)

    def _keyed_create_plan(
        self, timeout_ms: int, data: Any, name: str | None, key: object, **more: Any
    ) -> Plan[Any]:
        """``create(..., key=key)``: see ``_keyed_plan``."""
        checked = check_key(key)
        return self._keyed_plan(
            checked, lambda job: self._create_call(job, timeout_ms, data, name, checked, **more), timeout_ms
        )

    def _keyed_plan(self, key: str, make_call: Callable[[Any], Call], lifetime_ms: int) -> Plan[Any]:
        """A keyed create or push (``_core/idem.py``): the job the key names
        while it lives, with ``existed`` True and nothing written; else a new
        one, made by ``make_call(resource)``.  Every argument is checked by
        the first ``make_call``, before anything is sent."""
        core = self._core
        job = self._adopt(self.resource_factory.create(self.client))
        call = make_call(job)
        stale, claim = "", True  # stale: a dead job the entry may still name
        for _ in range(MAX_ROUNDS):
            same = same_shard(core, key, job.id)
            found = None
            if claim and (stale or not same):
                found = taken_by((yield claim_call(core, key, job.id, lifetime_ms, stale)))
            if found is None:
                reply = yield (with_entry(core, call, key) if same else call)
                code = text(reply[0])
                if code == "ok":
                    job._apply(reply, call.target, call)
                    if not same:  # the entry expires with the record, not with the claim
                        yield stamp_call(core, key, job.id, job._fields["expires"])
                    return job
                if code in ("expired", "deleted"):  # the id was a job once: a new one
                    stale, claim = job.id, True
                    job = self._adopt(self.resource_factory.create(self.client))
                    call = make_call(job)
                    continue
                found = taken_by(reply) or (job.id if code == "exists" else None)
                if found is None:
                    job._apply(reply, call.target, call)  # raises what the reply means
            assert found is not None
            record = yield from read_record(core, self._cs.clock, found)
            existing = self._load(found, record)
            if existing is not None and existing._fields.get("key") == key:
                existing._existed = True
                return existing
            if existing is not None:  # the entry names a job made without this key
                stale, claim = found, True
                job = self._adopt(self.resource_factory.create(self.client))
            else:  # claimed, not made yet (or its claimer died): make that very job
                stale, claim = "", False
                job = self._adopt(self._resource_class(self.client, found))
            call = make_call(job)
        raise JobberTrackError(f"the key {key!r} changed hands {MAX_ROUNDS} times: gave up")
