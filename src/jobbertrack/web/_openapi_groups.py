"""The groups' part of the OpenAPI document (``_openapi``): ``POST
/api/groups``, ``GET /api/jobs/{id}/children``, a create's or push's
``group`` and a job's ``group`` / ``group_id``."""

from __future__ import annotations

from typing import Any

from jobbertrack.actions import CREATE_INPUTS

from ._openapi_parts import (
    ERRORS,
    ID_PARAM,
    JOB_ERRORS,
    KINDS,
    STATES,
    WRITE_ERRORS,
    _body,
    _input,
    _json,
    _object,
    _ref,
)

GROUP_ID = {"type": "string", "description": "the open group the new job joins as a child"}
UNKNOWN_GROUP = _json(_ref("Error"), "unknown: no group has this id (never made, expired, or not a group)")
CLOSED = _json(_ref("Error"), "group_closed: the group is closed, no child may join it")
CHILD = {
    **_object(
        data={},
        name={"type": "string"},
        queue={"type": "string", "description": "pushed on this queue (else created, for any worker)"},
        tags={"type": "array", "items": {"type": "string"}},
        timeout={**KINDS["seconds"], "description": "the group's timeout when not given"},
        retries={"type": "integer", "minimum": 0},
        backoff=KINDS["seconds"],
        priority={"type": "integer"},
        delay=KINDS["seconds"],
    ),
    "additionalProperties": False,
}
THEN = {
    **_object(queue={"type": "string"}, data={}, name={"type": "string"}),
    "required": ["queue"],
    "additionalProperties": False,
    "description": "one follow-up job pushed on queue when the group ends, with data "
    '{"group": id, "counts": {..., "total": n}, "data": data}',
}
GROUP_INFO = {
    **_object(
        counts={**_object(**{s: {"type": "integer"} for s in STATES}), "required": STATES},
        total={"type": "integer", "description": "children made so far"},
        closed={"type": "boolean", "description": "no child may join any more"},
        expired={
            "type": "integer",
            "description": "children that expired before they ended (counted failed)",
        },
        then={"type": ["object", "null"], "description": "the follow-up job: queue, name, id, pushed"},
    ),
    "required": ["counts", "total", "closed"],
}


def _children() -> dict[str, Any]:
    params = [
        ID_PARAM,
        {"name": "state", "in": "query", "description": "one state only", "schema": {"enum": STATES}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        },
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    ]
    return {
        "get": {
            "summary": "A group's children, newest first, a page at a time",
            "parameters": params,
            "responses": {
                "200": _json(_ref("JobPage"), "one page"),
                "404": _json(_ref("Error"), "unknown: no such job, or a job that is not a group"),
                "410": JOB_ERRORS["410"],
                **ERRORS,
            },
        }
    }


def _create() -> dict[str, Any]:
    body = _body(
        timeout=KINDS["seconds"],
        data={},
        **{p.name: _input(p) for p in CREATE_INPUTS},
        then=THEN,
        children={
            "type": "array",
            "items": CHILD,
            "description": "children made at once; the group is then closed",
        },
    )
    return {
        "post": {
            "summary": "Create a group: a job whose state follows its children's",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {**body, "required": ["timeout"]}}},
            },
            "responses": {"201": _json(_ref("Job"), "the new group"), **WRITE_ERRORS, **ERRORS},
        }
    }


def with_groups(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (``_openapi.openapi()``'s) with the groups' routes and fields."""
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    paths["/api/groups"] = _create()
    paths["/api/jobs/{id}/children"] = _children()
    for made in (paths["/api/jobs"]["post"], paths["/api/queues/{name}/jobs"]["post"]):
        schema = made["requestBody"]["content"]["application/json"]["schema"]
        schema["properties"]["group"] = GROUP_ID
        made["responses"].setdefault("404", UNKNOWN_GROUP)
        made["responses"].setdefault("409", CLOSED)
    schemas["GroupInfo"] = GROUP_INFO
    job = schemas["Job"]["properties"]
    job["group"] = {**_ref("GroupInfo"), "description": "a group's children (only a group has it)"}
    job["group_id"] = {"type": "string", "description": "the group of a child (only a child has it)"}
    return doc
