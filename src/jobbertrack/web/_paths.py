"""Job ids in URL paths.

An id may hold ``/``, ``%``, ``?``, ``#``, spaces or any Unicode, so it
travels percent-encoded as one path segment.  Servers hand the app the
*decoded* path, where ``a%2Fb`` and ``a/b`` look alike; the id is therefore
cut from the raw path (``scope["raw_path"]``), by position from its end,
which also works under any mount prefix.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from starlette.requests import Request

from ._errors import BadRequest

ACTIONS = ("history", "start", "progress", "heartbeat", "finish", "fail")
_JOB = re.compile(r"/jobs/([^/]+)(?:/(" + "|".join(ACTIONS) + r"))?/?$")


def job_path(request: Request) -> tuple[str, str | None] | None:
    """(id, action or None) from ``.../jobs/<encoded id>[/<action>]``, or None."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.scope["path"], safe="/")
    match = _JOB.search(path.split("?", 1)[0])
    if match is None:
        return None
    try:
        job_id = unquote(match.group(1), errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("a job id in a URL must be UTF-8, percent-encoded") from None
    return job_id, match.group(2)


def job_href(base: str, job_id: str) -> str:
    """The detail page's URL path for a job, ``base`` being the mount point."""
    return f"{base}/jobs/{quote(job_id, safe='')}"
