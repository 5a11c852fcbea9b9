"""The JSON API: reads, writes, the event stream, metrics (routes in docs/web.md).

Every handler goes through ``guard``: library errors become the JSON errors
of ``_errors``; no GET route writes to Redis (reads may settle a stalled
job, as any read of the library does).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import jobbertrack

from ._backend import history_json, job_json
from ._errors import BadRequest, error_json, error_response
from ._metrics import CONTENT_TYPE
from ._paths import job_path
from ._state import AppState, app_state

STATES = tuple(s.value for s in jobbertrack.State)  # the table's order
MAX_LIMIT = 500
Handler = Callable[[Request, AppState], Awaitable[Response]]


def guard(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request, app_state(request))
        except jobbertrack.JobberTrackError as exc:
            response = error_response(exc)
        response.headers.setdefault("cache-control", "no-store")  # job data is live, never cached
        return response

    endpoint.__name__ = handler.__name__
    return endpoint


def parse_states(values: list[str]) -> list[str]:
    states = [s for v in values for s in v.split(",") if s]
    for state in states:
        if state not in STATES:
            raise BadRequest(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    return states


def parse_limit(value: str | None, default: int = 50) -> int:
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def number(body: dict[str, Any], key: str) -> Any:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BadRequest(f"{key} must be a number of seconds")
    return value


@guard
async def counts(request: Request, state: AppState) -> Response:
    return JSONResponse(await state.backend.counts())


@guard
async def jobs(request: Request, state: AppState) -> Response:
    if request.method == "POST":
        return await create(request, state)
    states = parse_states(request.query_params.getlist("state"))
    limit = parse_limit(request.query_params.get("limit"))
    page, cursor = await state.backend.list_jobs(states, limit, request.query_params.get("cursor") or None)
    return JSONResponse({"jobs": [job_json(j) for j in page], "cursor": cursor})


async def create(request: Request, state: AppState) -> Response:
    body = await body_of(request)
    if "timeout" not in body and state.backend.handler.default_timeout is None:
        raise BadRequest("timeout (seconds, > 0) is required")
    kwargs: dict[str, Any] = {}
    if "data" in body:
        kwargs["data"] = body["data"]
    if body.get("name") is not None:
        if not isinstance(body["name"], str):
            raise BadRequest("name must be a string")
        kwargs["name"] = body["name"]
    job = await state.backend.create(number(body, "timeout"), **kwargs)
    return JSONResponse(job_json(job), status_code=201)


@guard
async def job_route(request: Request, state: AppState) -> Response:
    """``/api/jobs/{id}`` and ``/api/jobs/{id}/{action}``, ids cut from the raw path."""
    found = job_path(request)
    if found is None:
        return error_json(404, "not_found", "no such route")
    job_id, action = found
    if request.method == "POST":
        if action in (None, "history"):
            return error_json(405, "method_not_allowed", "use GET")
        return await move(request, state, job_id, action)
    if action not in (None, "history"):
        return error_json(405, "method_not_allowed", "use POST")
    job = await state.backend.get(job_id)
    if action == "history":
        return JSONResponse(history_json(job.history()))
    return JSONResponse(job_json(job))


async def move(request: Request, state: AppState, job_id: str, action: str) -> Response:
    body = await body_of(request)
    job = await state.backend.get(job_id)
    backend = state.backend
    if action == "start":
        job = await backend.move(
            job, "start", lease=number(body, "lease"), max_runtime=number(body, "max_runtime")
        )
    elif action == "progress":
        if "current" not in body:
            raise BadRequest("current is required")
        message = body.get("message")
        if message is not None and not isinstance(message, str):
            raise BadRequest("message must be a string")
        job = await backend.move(job, "set_progress", body["current"], body.get("total"), message)
    elif action == "heartbeat":
        job = await backend.move(job, "heartbeat")
    elif action == "finish":
        job = await backend.move(job, "finish", body.get("data"))
    else:
        message = body.get("message")
        if message is not None and not isinstance(message, str):
            raise BadRequest("message must be a string")
        job = await backend.move(job, "fail", message)
    return JSONResponse(job_json(job))


@guard
async def sweep(request: Request, state: AppState) -> Response:
    await body_of(request)
    return JSONResponse({"failed": await state.backend.sweep()})


@guard
async def activity(request: Request, state: AppState) -> Response:
    state.follower.ensure_started()
    return JSONResponse({**state.follower.activity.series(), "status": state.follower.status})


@guard
async def metrics(request: Request, state: AppState) -> Response:
    state.follower.ensure_started()
    return Response(await state.metrics.render(), media_type=CONTENT_TYPE)
