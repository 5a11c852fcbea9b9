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
from jobbertrack.actions import ACTIONS, CREATE_INPUTS, KEY_INPUT, TAGS_INPUT, Param

from ._backend import history_json, job_json, queue_json, worker_json
from ._body import read_body
from ._errors import BadFilter, BadRequest, NotJSON, classify, error_json, error_response
from ._filters import JobFilter, counted, listed
from ._metrics import CONTENT_TYPE
from ._paths import READS, job_path
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


#: The fields each write takes: any other is refused (422), named, rather
#: than ignored (``{"timeout": 60, "queue": "import"}`` is not a plain job).
FIELDS: dict[str, tuple[str, ...]] = {
    "create": ("timeout", "data", *(p.name for p in CREATE_INPUTS), TAGS_INPUT.name, KEY_INPUT.name, "group"),
    "push": (
        "timeout",
        "data",
        *(p.name for p in CREATE_INPUTS),
        TAGS_INPUT.name,
        KEY_INPUT.name,
        "group",
        "delay",
        "retries",
        "backoff",
        "priority",
    ),
    "group": ("timeout", "data", *(p.name for p in CREATE_INPUTS), "then", "children"),  # POST /api/groups
    "sweep": (),
    "retry_all": ("state", "queue", "limit"),
    "clean": ("state", "older_than", "limit"),
    "pause": (),
    "resume": (),
    **{a.name: tuple(p.name for p in a.params) for a in ACTIONS.values()},
}


async def body_of(request: Request, action: str) -> dict[str, Any]:
    """The JSON object a write sends, with only the fields ``action`` takes.
    A body comes as ``Content-Type: application/json``; no body and no
    Content-Type stands for ``{}`` (``curl -X POST .../start``)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw = await read_body(request, carries_data="data" in FIELDS[action])  # create, push, finish
    if media != "application/json" and (media or raw):
        raise NotJSON(f"a write sends Content-Type: application/json, not {media or 'none'}")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    allowed = FIELDS[action]
    for key in body:
        if key not in allowed:
            takes = ", ".join(allowed) or "no fields"
            raise BadRequest(f"unknown field {key!r}: {action} takes {takes}")
    return body


def number(body: dict[str, Any], key: str) -> Any:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BadRequest(f"{key} must be a number of seconds")
    return value


@guard
async def counts(request: Request, state: AppState) -> Response:
    """``GET /api/counts?tag=&queue=``: live jobs per state (of the filter, when given)."""
    job_filter = JobFilter.from_query(request.query_params)
    if not job_filter.countable:
        raise BadFilter("counts take tag and queue only (name, since and until are filters of /api/jobs)")
    return JSONResponse(await counted(state.backend, job_filter))


@guard
async def jobs(request: Request, state: AppState) -> Response:
    if request.method == "POST":
        return await create(request, state)
    states = parse_states(request.query_params.getlist("state"))
    limit = parse_limit(request.query_params.get("limit"))
    job_filter = JobFilter.from_query(request.query_params)
    cursor = request.query_params.get("cursor") or None
    page, next_cursor = await listed(state.backend, states, limit, cursor, job_filter)
    return JSONResponse({"jobs": [job_json(j) for j in page], "cursor": next_cursor})


def _new_job_options(body: dict[str, Any], state: AppState) -> dict[str, Any]:
    """timeout, name (and data, tags, key and group when given) of a create or a push."""
    if "timeout" not in body and state.backend.handler.default_timeout is None:
        raise BadRequest("timeout (seconds, > 0) is required")
    options: dict[str, Any] = {"timeout": number(body, "timeout")}
    if "data" in body:
        options["data"] = body["data"]
    for param in CREATE_INPUTS:  # name, ...: checked by the library
        options[param.argument] = value_of(body, param)
    if body.get(TAGS_INPUT.name) is not None:  # a list: its tags are checked by the library
        tags = body[TAGS_INPUT.name]
        if not isinstance(tags, list):
            raise BadRequest(f"{TAGS_INPUT.name} must be a list of strings")
        options[TAGS_INPUT.argument] = tags
    if body.get(KEY_INPUT.name) is not None:  # an idempotent create: checked by the library
        options[KEY_INPUT.argument] = body[KEY_INPUT.name]
    if body.get("group") is not None:  # a child of this open group: checked by the library
        if not isinstance(body["group"], str):
            raise BadRequest("group must be a group's id (a string)")
        options["group"] = body["group"]
    return options


def _made(job: Any) -> Response:
    """A create's or push's answer: 201 with the new job, or 200 with the
    live job a keyed one found (nothing written)."""
    return JSONResponse(job_json(job), status_code=200 if job.existed else 201)


async def create(request: Request, state: AppState) -> Response:
    options = _new_job_options(await body_of(request, "create"), state)
    job = await state.backend.create(options.pop("timeout"), **options)
    return _made(job)


@guard
async def push(request: Request, state: AppState) -> Response:
    """``POST /api/queues/{name}/jobs``: a waiting job put on the queue, as
    ``Handler.push`` (the queue's name is checked by the library)."""
    body = await body_of(request, "push")
    options = _new_job_options(body, state)
    retries, priority = body.get("retries", 0), body.get("priority", 0)
    for what, value in (("retries", retries), ("priority", priority)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{what} must be a whole number")
    job = await state.backend.push(
        request.path_params["name"],
        **options,
        delay=number(body, "delay"),
        retries=retries,
        backoff=number(body, "backoff"),
        priority=priority,
    )
    return _made(job)


@guard
async def job_route(request: Request, state: AppState) -> Response:
    """``/api/jobs/{id}`` and ``/api/jobs/{id}/{action}``, ids cut from the raw path."""
    found = job_path(request)
    # a GET of a group's children is _groups_api's route, routed before this one
    if found is None or (found[1] == "children" and request.method == "GET"):
        return error_json(404, "not_found", "no such route")
    job_id, action = found
    if request.method == "DELETE":
        return await delete(state, job_id, action)
    is_read = action in (None, *READS)
    if (request.method == "POST") == is_read:  # a write of a read's route, or a read of a write's
        return error_json(405, "method_not_allowed", "use GET" if is_read else "use POST")
    if action is not None and not is_read:
        return await move(request, state, job_id, action)
    job = await state.backend.get(job_id)
    if action == "history":
        return JSONResponse(history_json(job.history()))
    return JSONResponse(job_json(job))


async def delete(state: AppState, job_id: str, action: str | None) -> Response:
    """``DELETE /api/jobs/{id}``: 204, or 404 / 410 when there is no such job."""
    if action is not None:
        return error_json(405, "method_not_allowed", "DELETE takes /api/jobs/{id}")
    await state.backend.delete(job_id)
    return Response(status_code=204)


async def move(request: Request, state: AppState, job_id: str, name: str) -> Response:
    """``POST /api/jobs/{id}/<action>``: the row of ``jobbertrack.actions``
    says which method it calls with which fields of the body."""
    action = ACTIONS[name]
    body = await body_of(request, name)
    job = await state.backend.get(job_id)
    kwargs = {p.argument: value_of(body, p) for p in action.params}
    return JSONResponse(job_json(await state.backend.move(job, action.method, **kwargs)))


def value_of(body: dict[str, Any], param: Param) -> Any:
    """A body field as the method takes it; the library checks the rest
    (a number's range, a JSON value's size)."""
    if param.required and body.get(param.name) is None:
        raise BadRequest(f"{param.name} is required")
    value = body.get(param.name)
    if param.kind == "seconds":
        return number(body, param.name)
    if param.kind == "text" and value is not None and not isinstance(value, str):
        raise BadRequest(f"{param.name} must be a string")
    return value


@guard
async def sweep(request: Request, state: AppState) -> Response:
    await body_of(request, "sweep")
    return JSONResponse({"failed": await state.backend.sweep()})


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _limit(body: dict[str, Any]) -> int:
    value = body.get("limit", 1000)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest("limit must be a whole number > 0")
    return value


@guard
async def retry_all(request: Request, state: AppState) -> Response:
    """``POST /api/retry``: ``Handler.retry_all`` (every failed job by default)."""
    body = await body_of(request, "retry_all")
    chosen = _text(body, "state", "failed") or "failed"
    retried = await state.backend.retry_all(chosen, _text(body, "queue"), _limit(body))
    return JSONResponse({"retried": retried})


@guard
async def clean(request: Request, state: AppState) -> Response:
    """``POST /api/clean``: ``Handler.clean``."""
    body = await body_of(request, "clean")
    chosen = _text(body, "state")
    if chosen is None:
        raise BadRequest("state is required")
    if body.get("older_than") is None:
        raise BadRequest("older_than (seconds, >= 0) is required")
    older_than = number(body, "older_than")
    if older_than < 0:
        raise BadRequest("older_than must be >= 0 seconds")
    deleted = await state.backend.clean(chosen, older_than, _limit(body))
    return JSONResponse({"deleted": deleted})


# -- the fleet: queues and workers -------------------------------------------------------


@guard
async def queues(request: Request, state: AppState) -> Response:
    """``GET /api/queues``: every queue's stats (``Handler.queues`` + ``queue_stats``)."""
    return JSONResponse({"queues": [queue_json(q) for q in await state.backend.fleet()]})


@guard
async def workers(request: Request, state: AppState) -> Response:
    """``GET /api/workers?queue=Q``: the live workers (of queue Q only, when given)."""
    queue = request.query_params.get("queue") or None
    return JSONResponse({"workers": [worker_json(w) for w in await state.backend.workers(queue)]})


@guard
async def pause_queue(request: Request, state: AppState) -> Response:
    """``POST /api/queues/{name}/pause``: the queue's stats after ``Handler.pause``."""
    return await _toggle(request, state, "pause")


@guard
async def resume_queue(request: Request, state: AppState) -> Response:
    """``POST /api/queues/{name}/resume``: the queue's stats after ``Handler.resume``."""
    return await _toggle(request, state, "resume")


async def _toggle(request: Request, state: AppState, action: str) -> Response:
    await body_of(request, action)
    name = request.path_params["rest"]
    method = state.backend.pause if action == "pause" else state.backend.resume
    try:
        await method(name)
    except jobbertrack.JobberTrackError as exc:
        status, error = classify(exc)
        if status != 422:  # Redis down (503) and the like keep their status
            raise
        # a name the library refuses is a bad URL: 400, in the usual shape
        return JSONResponse(error, status_code=400)
    return JSONResponse(queue_json(await state.backend.queue_stats(name)))


@guard
async def throughput(request: Request, state: AppState) -> Response:
    """``GET /api/throughput``: jobs of each queue seen ending over the last
    hour (the Queues page's column), counted from the jobs the metrics
    already read; since this process started, when that is less than an hour."""
    state.follower.ensure_started()
    return JSONResponse(state.metrics.throughput.series())


@guard
async def activity(request: Request, state: AppState) -> Response:
    state.follower.ensure_started()
    return JSONResponse({**state.follower.activity.series(), "status": state.follower.status})


@guard
async def metrics(request: Request, state: AppState) -> Response:
    state.follower.ensure_started()
    return Response(await state.metrics.render(), media_type=CONTENT_TYPE)
