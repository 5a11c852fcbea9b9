"""The HTML pages: overview, list, detail (404 and 410 pages), login.

Rendered on the server with autoescaping on, for every template; the
pages' script (static/live.js) only keeps them live and writes text with
``textContent``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

import jobbertrack
from jobbertrack.actions import ENDED_STATES, RETRY_FROM

from . import _group_view
from ._backend import Backend, history_json, is_group, job_json, queue_json, worker_json
from ._body import read_body
from ._errors import BadFilter, TooLarge, classify
from ._filter_links import page_links
from ._filters import JobFilter, counted, listed, query_string, search
from ._format import FILTERS, FOLD_BYTES, absolute, pretty
from ._paths import job_href, job_path, queue_api
from ._security import COOKIE
from ._state import app_state, base_path

STATES = tuple(s.value for s in jobbertrack.State)  # the table's order
#: The buttons of a job's page, (action, label, the states it shows in): as
#: the state table allows (cancel leaves a job that has not ended).
BUTTONS = (
    ("cancel", "Cancel", tuple(s.value for s in jobbertrack.State if not s.is_ended)),
    ("retry", "Retry", RETRY_FROM),
    ("delete", "Delete", ENDED_STATES),
)
PAGE = 50
FAILURES_SHOWN = 8

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("jobbertrack.web", "templates"),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
)
_env.filters.update(FILTERS)
_env.filters.update(_group_view.FILTERS)
_env.filters["href"] = job_href
_env.filters["queue_api"] = queue_api


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = app_state(request)
    context.setdefault("page", name.removesuffix(".html"))
    context.setdefault("job_id", "")
    # the action buttons, their script and the CSRF token go only to a viewer who may write
    can_write = state.access.credential(request.headers, request.cookies) is not None
    html = _env.get_template(name).render(
        base=base_path(request),
        cursor=state.follower.cursor or "",
        states=STATES,
        login=state.access.token is not None,
        can_write=can_write,
        csrf=state.access.csrf_token if can_write else "",
        version=jobbertrack.__version__,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def error_page(request: Request, exc: BaseException) -> HTMLResponse:
    status, body = classify(exc)
    job_id = str(body.get("job_id", ""))
    return render(
        request,
        "error.html",
        status=status,
        code=body["error"],
        message=body["message"],
        # Backend.get's words for a job whose tombstone says it was deleted
        deleted=body["error"] == "unknown" and body["message"] == f"job {job_id!r} was deleted",
        job_id=job_id,
        page="error",
    )


async def overview(request: Request) -> Response:
    state = app_state(request)
    state.follower.ensure_started()
    try:
        counts, (failures, _) = await asyncio.gather(
            state.backend.counts(), state.backend.list_jobs(["failed"], FAILURES_SHOWN, None)
        )
    except jobbertrack.JobberTrackError as exc:
        return error_page(request, exc)
    activity = state.follower.activity.series()
    return render(
        request,
        "overview.html",
        counts=counts,
        total=sum(counts.values()),
        failures=[job_json(j) for j in failures],
        activity=activity,
        caption=activity_caption(activity),
    )


async def job_list(request: Request) -> Response:
    state = app_state(request)
    state.follower.ensure_started()
    params = request.query_params
    wanted = params.get("id", "").strip()
    if wanted:
        return RedirectResponse(job_href(base_path(request), wanted), status_code=303)
    selected = params.get("state") or ""
    if selected and selected not in STATES:
        selected = ""
    if "q" in params:  # the search box: a job's page, or the filter's own URL
        return await _search(request, selected)
    cursor = params.get("cursor") or None
    job_filter, problem = JobFilter.from_query(params), ""
    try:
        counts, (page, next_cursor) = await asyncio.gather(  # one round trip for both (auto-pipelined)
            _tab_counts(state.backend, job_filter),
            listed(state.backend, [selected] if selected else [], PAGE, cursor, job_filter),
        )
    except BadFilter as exc:  # the page still shows the filter, to be mended
        counts, page, next_cursor, problem = None, [], None, str(exc)
    except jobbertrack.JobberTrackError as exc:
        return error_page(request, exc)
    return render(
        request,
        "list.html",
        status=400 if problem else 200,
        counts=counts,
        total=sum(counts.values()) if counts else 0,
        selected=selected,
        jobs=[job_json(j) for j in page],
        first_page=cursor is None,
        next_cursor=next_cursor,
        job_filter=job_filter,
        search_text=job_filter.search_text(),
        links=page_links(base_path(request), STATES, selected, job_filter, next_cursor),
        problem=problem,
    )


async def _tab_counts(backend: Backend, job_filter: JobFilter) -> dict[str, int] | None:
    """The state tabs' counts: of the filter's tag and queue; None when the
    filter has more (a name or a time range), which ``counts`` cannot tell."""
    return await counted(backend, job_filter) if job_filter.countable else None


async def _search(request: Request, selected: str) -> Response:
    """``/jobs?q=TEXT&since=&until=``: the page of the job whose id TEXT is,
    if it lives; else the jobs page of the filter TEXT writes (``tag:x
    queue:y name-prefix``), at its own URL."""
    params, base = request.query_params, base_path(request)
    text = params.get("q", "").strip()
    if text and not any(c.isspace() for c in text):
        try:
            await app_state(request).backend.get(text)
            return RedirectResponse(job_href(base, text), status_code=303)
        except jobbertrack.JobberTrackError as exc:
            if classify(exc)[0] not in (404, 410, 422):  # not a live job's id: a search
                return error_page(request, exc)
    job_filter = search(text, params.get("since", ""), params.get("until", ""))
    target = f"{base}/jobs" + query_string([selected] if selected else [], job_filter)
    return RedirectResponse(target, status_code=303)


async def job_detail(request: Request) -> Response:
    state = app_state(request)
    state.follower.ensure_started()
    try:
        found = job_path(request)
        if found is None or found[1] is not None:
            raise jobbertrack.JobNotFound(request.url.path, "no such page")
        job = await state.backend.get(found[0])
        cursor = request.query_params.get("cursor") or None
        group = await _group_view.group_context(state.backend, job, cursor) if is_group(job) else None
    except jobbertrack.JobberTrackError as exc:
        return error_page(request, exc)
    value = job_json(job)
    payloads = {key: pretty(value.get(key)) for key in ("input", "result")}
    return render(
        request,
        "detail.html",
        job=value,
        job_id=job.id,
        buttons=buttons(value),
        history=history_json(job.history()),
        payloads=payloads,
        fold_bytes=FOLD_BYTES,
        group=group,  # a group's counts and page of children (_group_view), else None
    )


async def queues(request: Request) -> Response:
    """The Queues page: each queue's jobs, oldest wait, paused state (with
    the pause / resume button for a viewer who may write) and throughput."""
    state = app_state(request)
    state.follower.ensure_started()
    try:
        fleet = await state.backend.fleet()
    except jobbertrack.JobberTrackError as exc:
        return error_page(request, exc)
    return render(
        request,
        "queues.html",
        queues=[queue_json(q) for q in fleet],
        throughput=state.metrics.throughput.series(),
    )


async def workers(request: Request) -> Response:
    """The Workers page: each live worker, its queues and what it runs now."""
    state = app_state(request)
    state.follower.ensure_started()
    try:
        found = await state.backend.workers()
    except jobbertrack.JobberTrackError as exc:
        return error_page(request, exc)
    return render(request, "workers.html", workers=[worker_json(w) for w in found])


def buttons(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, label) of the buttons a job's page offers.  A malformed
    record is offered Delete only: deleting is how an operator gets rid of one."""
    if job.get("problems"):
        return [("delete", "Delete")]
    # a group moves with its children: cancelling it cancels them, but it is never retried itself
    offered = [b for b in BUTTONS if not ("group" in job and b[0] == "retry")]
    return [(action, label) for action, label, states in offered if job["state"] in states]


def activity_caption(activity: dict[str, Any]) -> str:
    """What the chart covers, in words."""
    span = f"{absolute(activity['from'])[11:16]} to {absolute(activity['to'])[11:16]} UTC"
    return f"Transitions and failures per minute over the last 60 minutes ({span}), from the event stream."


def _safe_next(request: Request, target: str) -> str:
    base = base_path(request)
    if not target.startswith(f"{base}/") or target.startswith("//") or "\\" in target:
        return f"{base}/"
    return target


async def login(request: Request) -> Response:
    state = app_state(request)
    target = _safe_next(request, request.query_params.get("next", ""))
    if request.method in ("GET", "HEAD"):
        return render(
            request, "login.html", target=target, failed=False, enabled=state.access.token is not None
        )
    try:
        body = await read_body(request)
    except TooLarge as exc:
        return error_page(request, exc)
    form = parse_qs(body.decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    target = _safe_next(request, (form.get("next") or [target])[0])
    if not state.access.check_token(token):
        return render(
            request,
            "login.html",
            status=401,
            target=target,
            failed=True,
            enabled=state.access.token is not None,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        state.access.session_value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=f"{base_path(request)}/",
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse(f"{base_path(request)}/login", status_code=303)
    response.delete_cookie(COOKIE, path=f"{base_path(request)}/")
    return response


def login_redirect(request: Request) -> Response:
    raw = request.scope.get("raw_path")  # still percent-encoded: an id holding "/" stays one segment
    path = raw.decode("latin-1") if raw else quote(request.url.path)
    here = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{base_path(request)}/login?next={quote(here, safe='')}", status_code=303)
