"""Pieces the OpenAPI document's modules share (``_openapi``, ``_openapi_groups``)."""

from __future__ import annotations

from typing import Any

import jobbertrack
from jobbertrack.actions import Param

STATES = [s.value for s in jobbertrack.State]  # the table's order
TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "unauthorized: a token is configured and missing or wrong"),
    "403": _json(
        _ref("Error"),
        "writes_disabled: no token is configured; csrf: a write with the session cookie lacks the "
        "page's X-CSRF-Token or comes from another site or origin",
    ),
    "422": _json(_ref("Error"), "invalid: bad input"),
    "503": _json(_ref("Error"), "redis_unavailable"),
}
#: every write: a body must come as application/json (no body at all stands for {})
WRITE_ERRORS = {
    "413": _json(_ref("Error"), "too_large: a body over the app's cap, refused before it is read whole"),
    "415": _json(_ref("Error"), "unsupported_media_type: a body not sent as application/json"),
}
JOB_ERRORS = {
    "404": _json(_ref("Error"), "unknown: no such job"),
    "410": _json(_ref("Error"), "expired: the job's record has expired"),
}
ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "the job id, percent-encoded as one path segment",
    "schema": {"type": "string"},
}


#: The JSON schema of each kind of input of ``jobbertrack.actions``.
KINDS: dict[str, dict[str, Any]] = {
    "seconds": {"type": "number", "exclusiveMinimum": 0},
    "number": {"type": "number"},
    "text": {"type": "string"},
    "json": {},
}


def _input(param: Param) -> dict[str, Any]:
    limit = {} if param.max_length is None else {"maxLength": param.max_length}
    return {**KINDS[param.kind], **limit, "description": param.help}


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def _body(**props: Any) -> dict[str, Any]:
    """A request body of these fields: any other is refused (422)."""
    return {**_object(**props), "additionalProperties": False}
