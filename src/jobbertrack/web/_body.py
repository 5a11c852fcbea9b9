"""Reading a request's body under a cap (``create_app(max_body=...)``): a
body over it is refused with 413 ``too_large`` before it is read whole,
whether it announces its length (``Content-Length``, refused before a byte
is read) or not (chunked: refused at the chunk that crosses the cap).  Every
POST the app reads goes through here.

64 KiB by default (``DEFAULT_CAP``), far above any body the dashboard's
own forms send: a 50 MB body is refused unread.  Under that default, a
body that carries a job's data (create, push, finish) may also hold the
handler's ``max_data_bytes``, so data over the library's own limit still
gets its 422; a cap given to ``create_app`` holds for every body."""

from __future__ import annotations

from starlette.requests import Request

from ._errors import TooLarge
from ._state import app_state

#: The cap of a body that carries no job data, by default.
MAX_BODY = 64 * 1024


class _DefaultCap(int):
    """``create_app``'s default cap: ``MAX_BODY``, plus the handler's
    ``max_data_bytes`` for a body that carries a job's data."""


DEFAULT_CAP = _DefaultCap(MAX_BODY)


async def read_body(request: Request, *, carries_data: bool = False) -> bytes:
    """The request's body, at most the app's cap (TooLarge beyond)."""
    state = app_state(request)
    cap = state.max_body
    if cap is None:
        return await request.body()
    if carries_data and isinstance(cap, _DefaultCap):
        cap += state.backend.handler.max_data_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"the request body is {int(declared)} bytes; the most this app takes is {cap}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"the request body is over {cap} bytes, the most this app takes")
        chunks.append(chunk)
    return b"".join(chunks)
