"""Groups: a job whose children's counts Redis keeps in the same script as
each child's move (docs/data-model.md, "Groups"; ``_lua/_groups.lua``).
Pure: the fields a group's record holds, reading them, the follow-up job's
spec, the ids of children (in their group's shard) and the cursor of a
children page.  No I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._exceptions import InvalidData, JobberTrackError
from .codec import read_json
from .fields import check_name
from .group_fields import EXPIRED, GROUP, GROUP_KIND, TOTAL
from .ids import check_id
from .queue import check_queue
from .transitions import ENDED, State

#: Keys a child spec of ``create_group(children=[...])`` may have.
CHILD_KEYS = frozenset(
    {"data", "name", "queue", "tags", "timeout", "retries", "backoff", "priority", "delay"}
)
#: How many ids the resource factory may make before one falls in a group's shard.
ID_TRIES_PER_SHARD = 64


def is_group(fields: Mapping[str, str]) -> bool:
    return fields.get("kind") == GROUP_KIND


def counts_of(fields: Mapping[str, str]) -> dict[str, int]:
    """A group's children per state (every state, 0 where none)."""
    return {s.value: _int(fields.get(f"n:{s.value}")) for s in State}


def progress_of(fields: Mapping[str, str]) -> dict[str, int]:
    """``{"current": ended children, "total": children}``."""
    counts = counts_of(fields)
    return {"current": sum(counts[s.value] for s in ENDED), "total": _int(fields.get(TOTAL))}


def group_value(fields: Mapping[str, str]) -> dict[str, Any]:
    """What ``get_value()`` adds: a child's ``group_id``; a group's
    ``group`` (counts, total, closed, expired children, its follow-up job)."""
    out: dict[str, Any] = {}
    if GROUP in fields:
        out["group_id"] = fields[GROUP]
    if is_group(fields):
        then = None
        if "then_queue" in fields:
            then = {
                "queue": fields["then_queue"],
                "name": fields.get("then_name"),
                "id": fields.get("then_id"),
                "pushed": "then_done" in fields,
            }
        out["group"] = {
            "counts": counts_of(fields),
            "total": _int(fields.get(TOTAL)),
            "closed": "closed" in fields,
            "expired": _int(fields.get(EXPIRED)),
            "then": then,
        }
    return out


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def then_fields(then: object, to_json: Callable[[Any, str], str]) -> dict[str, str]:
    """The stored fields of ``then={"queue": q, "data": ..., "name": ...}``
    (the follow-up job's id is added by the caller)."""
    if then is None:
        return {}
    if not isinstance(then, Mapping):
        raise InvalidData(f'then must be a dict like {{"queue": "reports"}}, not {type(then).__name__}')
    unknown = set(then) - {"queue", "data", "name"}
    if unknown:
        raise InvalidData(f"then takes queue, data and name, not {sorted(map(str, unknown))}")
    if "queue" not in then:
        raise InvalidData("then needs a queue to push the follow-up job on")
    out = {"then_queue": check_queue(then["queue"])}
    if then.get("name") is not None:
        out["then_name"] = check_name(then["name"])
    if "data" in then:
        out["then_data"] = to_json(then["data"], "then data")
    return out


def group_fields(then: dict[str, str], then_id: str | None) -> dict[str, str]:
    """The fields create writes on a new group."""
    out = {"kind": GROUP_KIND, **then}
    if then_id is not None:
        out["then_id"] = then_id
    return out


def check_children(children: object) -> list[dict[str, Any]]:
    """``create_group(children=[...])``: a list of dicts of ``CHILD_KEYS``."""
    if isinstance(children, (str, bytes, Mapping)) or not hasattr(children, "__iter__"):
        raise InvalidData(f"children must be a list of dicts, not {type(children).__name__}")
    out = []
    for i, child in enumerate(children):
        if not isinstance(child, Mapping):
            raise InvalidData(f"children[{i}] must be a dict, not {type(child).__name__}")
        unknown = set(child) - CHILD_KEYS
        if unknown:
            raise InvalidData(f"children[{i}] has keys it cannot take: {sorted(map(str, unknown))}")
        out.append(dict(child))
    return out


def in_shard(make_id: Callable[[], str], shard: int, shard_of: Callable[[str], int], shards: int) -> str:
    """An id of ``make_id`` that falls in ``shard`` (a child lives in its
    group's shard, so one script moves both)."""
    for _ in range(ID_TRIES_PER_SHARD * shards):
        job_id = make_id()
        if shard_of(job_id) == shard:
            return job_id
    raise JobberTrackError(
        f"the resource factory made {ID_TRIES_PER_SHARD * shards} ids and none fell in the group's "
        "shard: a child's id must hash to its group's shard (docs/data-model.md, Groups)"
    )


def derived_in_shard(base: str, shard: int, shard_of: Callable[[str], int], shards: int) -> str:
    """``"<base>.<n>"`` with the smallest n that falls in ``shard``: a
    child's id derived from an id given elsewhere (a Celery task's)."""
    for n in range(ID_TRIES_PER_SHARD * shards):
        job_id = check_id(f"{base}.{n}")
        if shard_of(job_id) == shard:
            return job_id
    raise JobberTrackError(f"no id {base!r}.<n> falls in the group's shard")  # a chance of e**-64


def children_cursor(member: str) -> str:
    """The cursor of a children page from the last entry read of
    ``ingroup:<id>`` (``<created, 15 digits> NUL <id>``)."""
    created, _, job_id = member.partition("\0")
    return f"{int(created)}:{job_id}"


def children_after(cursor: object) -> str:
    """The ``ingroup`` entry a children page continues after ('' = newest)."""
    if cursor is None:
        return ""
    if isinstance(cursor, str):
        created, sep, job_id = cursor.partition(":")
        if sep and created.isdigit() and job_id and len(created) <= 15:
            return f"{int(created):015d}\0{job_id}"
    raise InvalidData(f"not a cursor of a children page: {cursor!r}")


def then_data(raw: str | None) -> Any:
    return read_json(raw) if raw is not None else None
