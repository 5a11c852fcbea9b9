"""The routes of groups (``Handler.create_group``): ``POST /api/groups``
and ``GET /api/jobs/{id}/children``.  A group's own JSON is a job's
(``GET /api/jobs/{id}``) with its ``group`` counts; a child's has ``group_id``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import jobbertrack
from jobbertrack.actions import CREATE_INPUTS

from ._api import body_of, guard, job_route, number, parse_limit, parse_states, value_of
from ._backend import is_group, job_json
from ._errors import BadRequest
from ._paths import job_path
from ._state import AppState


@guard
async def create_group(request: Request, state: AppState) -> Response:
    """``POST /api/groups``: 201 with the new group.  ``then`` and
    ``children`` are checked by the library before anything is written."""
    body = await body_of(request, "group")
    if "timeout" not in body and state.backend.handler.default_timeout is None:
        raise BadRequest("timeout (seconds, > 0) is required")
    options = {p.argument: value_of(body, p) for p in CREATE_INPUTS}  # name
    if "data" in body:
        options["data"] = body["data"]
    for key in ("then", "children"):
        if body.get(key) is not None:
            options[key] = body[key]
    group = await state.backend.create_group(number(body, "timeout"), **options)
    if "group" not in group.get_value():  # as made, without its counts yet: read it back
        group = await state.backend.get(group.id)
    return JSONResponse(job_json(group), status_code=201)


@guard
async def children(request: Request, state: AppState) -> Response:
    """``GET /api/jobs/{id}/children?state=&limit=&cursor=``: a page of the
    group's children, newest first, shaped as ``/api/jobs``'s pages; 404 for
    an unknown id or a job that is not a group.  A path whose raw form says
    otherwise (an id holding an encoded ``/children``) is a job's route."""
    found = job_path(request)
    if found is None or found[1] != "children":
        return await job_route(request)
    states = parse_states(request.query_params.getlist("state"))
    if len(states) > 1:
        raise BadRequest("children take one state at a time (or none: every state)")
    limit = parse_limit(request.query_params.get("limit"))
    cursor = request.query_params.get("cursor") or None
    group = await state.backend.get(found[0])  # 404 / 410 as for any job
    if not is_group(group):
        raise jobbertrack.GroupNotFound(found[0])
    page, next_cursor = await state.backend.children(group, states[0] if states else None, limit, cursor)
    return JSONResponse({"jobs": [job_json(j) for j in page], "cursor": next_cursor})
