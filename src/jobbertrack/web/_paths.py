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

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from jobbertrack.actions import ACTIONS as MOVES

from ._errors import BadRequest

READS = ("history", "children")  # the GETs under a job's path
ACTIONS = (*READS, *MOVES)  # then the writes of jobbertrack.actions
_TAIL = r"/jobs/([^/]+)(?:/(" + "|".join(ACTIONS) + r"))?/?$"
_JOB = re.compile(_TAIL)
_ROUTE = re.compile(r"^(?:/api)?" + _TAIL)


class AnyPath(Convertor[str]):
    """Starlette's ``path`` convertor, newlines included (``%0A`` in an id
    must reach the route, to be refused as a bad id, not as no route)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


#: the convertor's name in route paths: ``{rest:jobbertrack_path}``
PATH_CONVERTOR = "jobbertrack_path"
register_url_convertor(PATH_CONVERTOR, AnyPath())


def job_path(request: Request) -> tuple[str, str | None] | None:
    """(id, action or None) from ``[/api]/jobs/<encoded id>[/<action>]``
    after the mount point, or None."""
    raw = request.scope.get("raw_path")
    path = (raw.decode("latin-1") if raw else quote(request.scope["path"], safe="/")).split("?", 1)[0]
    root = quote(str(request.scope.get("root_path", "")).rstrip("/"), safe="/")
    # anchored after the mount point, so that with a mount at /jobs an id
    # such as "history" or "start" is not taken for an action; a raw path
    # that does not carry the root path is cut from its end
    inside = path.startswith(f"{root}/")
    match = _ROUTE.search(path[len(root) :]) if inside else _JOB.search(path)
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


def queue_api(base: str, queue: str) -> str:
    """A queue's API path (``/pause`` and ``/resume`` follow), ``base`` being
    the mount point: the name percent-encoded whole (it may hold ``/``)."""
    return f"{base}/api/queues/{quote(queue, safe='')}"
