"""``GET /api/events``: the event stream as Server-Sent Events.

Each message's ``id:`` is the exact cursor after its event; a client that
reconnects with it (the browser sends ``Last-Event-ID`` by itself, or
``?since=``) first gets what it missed, read from Redis, then the live feed
of the app's one follower.  Without ``since`` the stream costs Redis
nothing: it only listens to the follower.

Replay and live feed overlap on purpose (the subscription is taken before
the replay is read, so nothing falls between them); events of the feed at
or before the last replayed one are skipped, by merge order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

import jobbertrack

from ._api import guard
from ._backend import event_json, event_order
from ._errors import BadRequest
from ._follower import Subscription
from ._state import AppState

KEEPALIVE = 15.0  # seconds between comments on a quiet stream (proxies close idle ones)
RETRY_MS = 1000
REPLAY_LIMIT = 20_000


def message(event: jobbertrack.Event) -> str:
    data = json.dumps(event_json(event), separators=(",", ":"))
    return f"id: {event.cursor}\ndata: {data}\n\n"


def status_message(status: str) -> str:
    return f"event: status\ndata: {json.dumps({'status': status})}\n\n"


FROM_OLDEST = "0"


@guard
async def events(request: Request, state: AppState) -> Response:
    # a browser's own reconnect sends Last-Event-ID, newer than the URL's since
    since = request.headers.get("last-event-id") or request.query_params.get("since") or None
    # job=ID, repeatable: one stream serves every <jobbertrack-job> of a page
    # (browsers allow only 6 HTTP/1.1 connections per host)
    job = frozenset(j for j in request.query_params.getlist("job") if j) or None
    if since is not None and len(since) > 4096:
        raise BadRequest("since is too long to be a cursor")
    sub = state.follower.subscribe()
    try:
        # since=0: from the oldest event Redis keeps (the library's since=None)
        replay = await _replay(state, None if since == FROM_OLDEST else since, job) if since else []
    except BaseException:
        state.follower.unsubscribe(sub)
        raise
    stream = _stream(request, state, sub, replay, job)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _replay(state: AppState, since: str | None, job: frozenset[str] | None) -> list[jobbertrack.Event]:
    out: list[jobbertrack.Event] = []
    async for event in state.backend.events(since=since, block=None):
        if job is None or event.job_id in job:
            out.append(event)
        if len(out) >= REPLAY_LIMIT:
            break
    return out


async def _stream(
    request: Request,
    state: AppState,
    sub: Subscription,
    replay: list[jobbertrack.Event],
    job: frozenset[str] | None,
) -> AsyncIterator[str]:
    follower = state.follower
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield status_message(follower.status if follower.status != "starting" else "live")
        last: tuple[int, int, int] | None = None
        for event in replay:
            last = event_order(event.id)
            yield message(event)
        while not sub.dropped:
            try:
                item: Any = await asyncio.wait_for(sub.queue.get(), KEEPALIVE)
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            if item is None:  # the app is shutting down
                return
            if isinstance(item, str):
                yield status_message(item)
            elif job is None or item.job_id in job:
                if last is not None and event_order(item.id) <= last:
                    continue
                yield message(item)
    finally:
        follower.unsubscribe(sub)
