"""The one place a library error becomes an HTTP status and a JSON body
``{"error": CODE, "message": text, ...}`` (codes in docs/web.md)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

import jobbertrack


class BadRequest(jobbertrack.JobberTrackError):
    """Input the API refuses before it reaches the library (422)."""


class NotJSON(BadRequest):
    """A write whose Content-Type is not application/json (415): a page of
    another site can send a form or text/plain without asking first."""


class BadFilter(BadRequest):
    """A listing's filter (``tag``, ``queue``, ``name``, ``since``, ``until``
    of the query string) that no listing can use: 400, a bad URL."""


class TooLarge(BadRequest):
    """A request body over the app's cap (413), refused before it is read whole."""


#: (exception class, status, code), the first match wins: subclasses first.
TABLE: list[tuple[type[BaseException], int, str]] = [
    (NotJSON, 415, "unsupported_media_type"),
    (BadFilter, 400, "invalid"),
    (TooLarge, 413, "too_large"),
    (jobbertrack.JobExpired, 410, "expired"),
    (jobbertrack.JobNotFound, 404, "unknown"),
    (jobbertrack.InvalidTransition, 409, "invalid_transition"),
    (jobbertrack.JobExists, 409, "exists"),
    # a child for a closed group; an unknown group is a JobNotFound (404 "unknown", above)
    (jobbertrack.GroupClosed, 409, "group_closed"),
    (jobbertrack.RedisUnavailable, 503, "redis_unavailable"),
    (jobbertrack.RedisCommandError, 503, "redis_error"),
    (jobbertrack.JobberTrackError, 422, "invalid"),
]


def classify(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, body) for an error raised while serving a request."""
    for cls, status, code in TABLE:
        if isinstance(exc, cls):
            body: dict[str, Any] = {"error": code, "message": str(exc)}
            if getattr(exc, "job_id", None) is not None:
                body["job_id"] = exc.job_id  # type: ignore[attr-defined]
            if isinstance(exc, jobbertrack.InvalidTransition):
                body.update(current=exc.current, target=exc.target)
            return status, body
    return 500, {"error": "internal", "message": "internal error"}


def error_response(exc: BaseException) -> JSONResponse:
    status, body = classify(exc)
    return JSONResponse(body, status_code=status)


def error_json(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)
