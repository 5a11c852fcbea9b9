"""``create_app``: the routes, the middleware around them, and the app's life."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

import jobbertrack
import jobbertrack.aio

from . import _api, _groups_api, _pages, _sse
from ._backend import Backend
from ._body import DEFAULT_CAP
from ._follower import Follower
from ._metrics import Metrics
from ._openapi import openapi
from ._paths import PATH_CONVERTOR
from ._security import Access, SecurityMiddleware
from ._state import AppState, base_path

STATIC = __file__.rsplit("/", 1)[0] + "/static"


def create_app(
    handler: Any = None,
    *,
    token: str | None = None,
    public_read: bool = False,
    allow_origins: Iterable[str] = (),
    trusted_hosts: Iterable[str] | None = None,
    max_body: int | None = DEFAULT_CAP,
) -> Starlette:
    """The dashboard and HTTP API as an ASGI app.

    ``handler``: a ``jobbertrack.aio.Handler`` (best) or ``jobbertrack.Handler``;
    with None, one on ``jobbertrack.aio.connect()`` (``$JOBBERTRACK_REDIS_URL``,
    else the embedded Redis).  ``token``: with it every route needs the token
    (``public_read`` opens the reads); without it reads are open and writes
    answer 403.  ``allow_origins``: other origins whose pages may use the
    API and the ``<jobbertrack-job>`` element.  ``trusted_hosts``: when
    given, requests whose ``Host`` names another host are refused (400),
    which defeats DNS rebinding against a dashboard on loopback.
    ``max_body``: the most bytes a request body may hold; a bigger one is
    refused with 413 ``too_large`` before it is read whole.  By default 64
    KiB, and a body that carries a job's data (create, push, finish) may
    also hold the handler's ``max_data_bytes``, so data over the library's
    limit gets its 422.  A number given here holds for every body; None:
    no cap.
    """
    if max_body is not None and (isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1):
        raise jobbertrack.JobberTrackError(f"max_body must be an int >= 1 (bytes), not {max_body!r}")
    access = Access(token, public_read)
    origins = [allow_origins] if isinstance(allow_origins, str) else list(allow_origins)
    owns_client = handler is None
    if handler is None:
        handler = jobbertrack.aio.Handler(jobbertrack.aio.connect())
    backend = Backend(handler)
    follower = Follower(backend)
    metrics = Metrics(backend)
    follower.listeners.append(metrics.on_event)
    state = AppState(backend, access, follower, metrics, owns_client, max_body=max_body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        follower.ensure_started()
        try:
            yield
        finally:
            await state.aclose()

    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(SecurityMiddleware, allow_origins=origins, trusted_hosts=trusted_hosts),
            Middleware(AccessMiddleware),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.jobbertrack = state
    return app


class AccessMiddleware:
    """Applies ``Access``: 401/403 JSON for the API (403 ``csrf`` for a
    cookie-authenticated write that fails ``_csrf``), the login page for pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        state: AppState = scope["app"].state.jobbertrack
        path = get_route_path(scope) or "/"
        refused = state.access.verdict(scope["method"], path, conn.headers, conn.cookies)
        if refused is None:
            await self.app(scope, receive, send)
            return
        code, message = refused
        response: Response
        if code == "unauthorized" and scope["method"] in ("GET", "HEAD") and not _is_api(path):
            response = _pages.login_redirect(conn)  # type: ignore[arg-type]
        elif code == "unauthorized":
            response = JSONResponse(
                {"error": code, "message": message},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="jobbertrack"'},
            )
        else:  # writes_disabled, csrf
            response = JSONResponse({"error": code, "message": message}, status_code=403)
        await response(scope, receive, send)


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def http_error(request: Request, exc: Exception) -> Response:
    """No such route or method: JSON under /api (every API error is JSON), plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    if not _is_api(get_route_path(request.scope) or "/"):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": code, "message": exc.detail}, status_code=exc.status_code, headers=exc.headers
    )


async def widget(request: Any) -> Response:
    return FileResponse(
        f"{STATIC}/widget.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


async def favicon(request: Any) -> Response:
    """What browsers ask for on their own, whatever the pages link to."""
    return FileResponse(f"{STATIC}/favicon.svg", media_type="image/svg+xml")


async def openapi_route(request: Any) -> Response:
    return JSONResponse(openapi(base_path(request)))


ROUTES = [
    Route("/", _pages.overview),
    Route("/jobs", _pages.job_list),
    Route(f"/jobs/{{rest:{PATH_CONVERTOR}}}", _pages.job_detail),
    Route("/queues", _pages.queues),
    Route("/workers", _pages.workers),
    Route("/login", _pages.login, methods=["GET", "POST"]),
    Route("/logout", _pages.logout, methods=["GET", "POST"]),
    Route("/api/counts", _api.counts),
    Route("/api/jobs", _api.jobs, methods=["GET", "POST"]),
    # before the job's routes: a group's children (an id's encoded "/children" goes on to those)
    Route(f"/api/jobs/{{rest:{PATH_CONVERTOR}}}/children", _groups_api.children),
    Route(f"/api/jobs/{{rest:{PATH_CONVERTOR}}}", _api.job_route, methods=["GET", "POST", "DELETE"]),
    Route("/api/groups", _groups_api.create_group, methods=["POST"]),
    Route("/api/sweep", _api.sweep, methods=["POST"]),
    Route("/api/retry", _api.retry_all, methods=["POST"]),
    Route("/api/clean", _api.clean, methods=["POST"]),
    Route("/api/queues", _api.queues),
    Route("/api/queues/{name}/jobs", _api.push, methods=["POST"]),
    # a queue's name may hold "/": it is all of the path between the prefix and the action
    Route(f"/api/queues/{{rest:{PATH_CONVERTOR}}}/pause", _api.pause_queue, methods=["POST"]),
    Route(f"/api/queues/{{rest:{PATH_CONVERTOR}}}/resume", _api.resume_queue, methods=["POST"]),
    Route("/api/workers", _api.workers),
    Route("/api/throughput", _api.throughput),
    Route("/api/events", _sse.events),
    Route("/api/activity", _api.activity),
    Route("/api/openapi.json", openapi_route),
    Route("/metrics", _api.metrics),
    Route("/widget.js", widget),
    Route("/favicon.ico", favicon),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]
