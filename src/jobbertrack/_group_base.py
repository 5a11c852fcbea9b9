"""Groups, the parts both layers share (docs/data-model.md, "Groups"):
making a group and its children (``GroupsBase``, mixed into the handlers)
and what a group does (``GroupBase``, mixed into each layer's ``Group``),
written once as plans (``_ops``) that each layer's executor carries out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._bulk import check_limit
from ._core.calls import UNSET, Call
from ._core.fields import create_fields
from ._core.groups import (
    check_children,
    children_after,
    children_cursor,
    counts_of,
    derived_in_shard,
    group_fields,
    in_shard,
    progress_of,
    then_fields,
)
from ._core.ids import check_id
from ._core.listing import states_of
from ._core.transitions import State
from ._core.wire import text
from ._exceptions import GroupNotFound, JobberTrackError
from ._ops import Plan
from ._plans import read_records

#: Entries of a group's children index one page reads at most (a page of
#: children in a rare state may come back short, its cursor going on).
CHILDREN_BUDGET = 2000
#: Children cancelled or retried per pipelined round.
ACT_BATCH = 500


def no_key_with_group(group: object) -> None:
    """A keyed create cannot join a group yet (its id is the key's claim)."""
    if group is not None:
        raise JobberTrackError("key= and group= cannot be given together (yet): make the child without a key")


class GroupsBase:
    """Making groups and children: mixed into ``HandlerBase``'s twins."""

    _group_class: Any

    def _new_job(self, group: str | None) -> Any:
        """A new (unsaved) resource of the factory; a child of ``group``
        gets an id in its group's shard."""
        make = self.resource_factory.create  # type: ignore[attr-defined]
        if group is None:
            return self._adopt(make(self.client))  # type: ignore[attr-defined]
        keys = self._core.keys  # type: ignore[attr-defined]
        shard = keys.shard_of(check_id(group))
        made: list[Any] = []

        def one() -> str:
            made.append(make(self.client))  # type: ignore[attr-defined]
            return str(made[-1].id)

        in_shard(one, shard, keys.shard_of, keys.shards)
        return self._adopt(made[-1])  # type: ignore[attr-defined]

    def child_id(self, base: str, group: str) -> str:
        """An id made from ``base``, ``"<base>.<n>"`` with the smallest n,
        that falls in the shard of ``group``: the id to create a child of
        that group with when its id must follow from another one (an
        integration's task id); ``InvalidJobId`` when it would be too long."""
        keys = self._core.keys  # type: ignore[attr-defined]
        return derived_in_shard(check_id(base), keys.shard_of(check_id(group)), keys.shard_of, keys.shards)

    def _child_call(self, spec: dict[str, Any], group: str, timeout: float | None) -> tuple[Any, Call]:
        """A child of ``create_group(children=[...])``: pushed when its spec
        has a queue, else created; its timeout is the group's unless given."""
        job = self._new_job(group)
        given = spec.get("timeout", timeout)
        tags = spec.get("tags")
        if "queue" in spec:
            args = (
                spec["queue"],
                given,
                spec.get("delay"),
                spec.get("retries", 0),
                spec.get("backoff"),
                spec.get("priority", 0),
            )
            self._push_checks(*args)  # type: ignore[attr-defined]
            queue, _, delay, retries, backoff, priority = args
            data = spec.get("data")
            call = self._push_call(  # type: ignore[attr-defined]
                job,
                UNSET if data is None else data,
                queue,
                given,
                spec.get("name"),
                delay,
                retries,
                backoff,
                priority,
                tags=tags,
                group=group,
            )
        else:
            timeout_ms = self._timeout_ms(given)  # type: ignore[attr-defined]
            data = spec.get("data", UNSET)
            call = self._create_call(job, timeout_ms, data, spec.get("name"), tags=tags, group=group)  # type: ignore[attr-defined]
        return job, call

    def _create_group_plan(
        self, timeout: float | None, name: str | None, data: Any, then: object, children: object
    ) -> Plan[tuple[Any, list[str]]]:
        """``create_group``: the group (and its follow-up job's id), then its
        children in one pipelined round and its closing; every argument is
        checked before anything is sent.  Returns the group and the queues
        its children were pushed on (to wake their workers)."""
        core = self._core  # type: ignore[attr-defined]
        timeout_ms = self._timeout_ms(timeout)  # type: ignore[attr-defined]
        then_given = then_fields(then, core.json)
        specs = None if children is None else check_children(children)
        made = self.resource_factory.create(self.client)  # type: ignore[attr-defined]
        group = self._adopt(self._group_class(self.client, made.id))  # type: ignore[attr-defined]
        then_id = None
        if then_given:
            then_id = self._new_job(group.id).id
        fields = create_fields({"name": name}) | group_fields(then_given, then_id)
        call = core.create(group.id, timeout_ms, data, fields)
        kids = [self._child_call(spec, group.id, timeout) for spec in specs or ()]
        group._apply((yield call), call.target, call)
        if specs is None:
            return group, []
        if kids:
            replies = yield [c for _, c in kids]
            for (job, c), reply in zip(kids, replies, strict=True):
                job._apply(reply, c.target, c)
        group._apply((yield core.group(group.id, close=True)), "")
        return group, sorted({text(job.queue) for job, _ in kids if job.queue is not None})


class GroupBase:
    """What a group does besides being a job: mixed into each layer's ``Group``."""

    id: str

    @property
    def closed(self) -> bool:
        """Whether no child may join any more (as last read)."""
        return "closed" in self._fields  # type: ignore[attr-defined]

    def _group_plan(self, close: bool = False) -> Plan[Any]:
        """Read the group (its expired children counted first), closing it
        first with ``close``."""
        call = self._core.group(self.id, close)  # type: ignore[attr-defined]
        reply = yield call
        if text(reply[0]) in ("gone", "expired"):  # (a deleted one says so)
            raise GroupNotFound(self.id)
        self._apply(reply, "")  # type: ignore[attr-defined]
        return self

    def _counts_plan(self) -> Plan[dict[str, int]]:
        yield from self._group_plan()
        return counts_of(self._fields)  # type: ignore[attr-defined]

    def _progress_plan(self) -> Plan[dict[str, int]]:
        yield from self._group_plan()
        return progress_of(self._fields)  # type: ignore[attr-defined]

    def _children_plan(
        self, state: str | State | None, limit: int, cursor: str | None
    ) -> Plan[tuple[list[str], str | None, list[Any]]]:
        """A page of children: their ids (``children.lua``), the cursor of
        the next page, and their records."""
        wanted = "" if state is None else states_of(state)[0].value
        if state is not None and not isinstance(state, (str, State)):
            raise JobberTrackError(f"state must be one state name, not {state!r}")
        limit = check_limit(limit)
        after = children_after(cursor)
        core = self._core  # type: ignore[attr-defined]
        reply = yield core.children(self.id, wanted, limit, after, CHILDREN_BUDGET)
        ids = [text(i) for i in reply[0]]
        last = text(reply[1])
        records = yield from read_records(core, self._client_state.clock, ids)  # type: ignore[attr-defined]
        return ids, (children_cursor(last) if last else None), records

    def _act_on_children_plan(self, state: str, make: Callable[[str], Call]) -> Plan[tuple[int, set[str]]]:
        """``make(child id)``'s call for every live child in ``state``, in
        pipelined rounds: how many took effect, and the queues of those."""
        done, queues, cursor = 0, set(), None
        while True:
            ids, cursor, records = yield from self._children_plan(state, ACT_BATCH, cursor)
            if ids:
                replies = yield [make(i) for i in ids]
                for record, reply in zip(records, replies, strict=True):
                    if text(reply[0]) == "ok":
                        done += 1
                        queue = (record or {}).get(b"queue", (record or {}).get("queue"))
                        if queue is not None:
                            queues.add(text(queue))
            if cursor is None:
                return done, queues
