"""Every body the app reads is capped (``create_app(max_body=...)``): a
bigger one is refused with 413 ``too_large`` before it is read whole, and
nothing is written.  (No cap by default yet: see ``web/_body.py``.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import jobbertrack
from jobbertrack.web import create_app
from jobbertrack.web._body import MAX_BODY

from .conftest import AUTH, TOKEN, MakeApi, snapshot, writes


async def test_a_declared_body_over_the_cap_is_refused_and_writes_nothing(
    make_api: MakeApi, admin: Any
) -> None:
    api = await make_api(token=TOKEN, headers=AUTH, max_body=MAX_BODY)
    before, keys = writes(admin), snapshot(admin)
    body = json.dumps({"timeout": 60, "data": "x" * (64 * 1024)})
    r = await api.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert writes(admin) == before and snapshot(admin) == keys
    fits = await api.post("/api/jobs", json={"timeout": 60, "data": "x" * 1000})
    assert fits.status_code == 201


async def test_a_chunked_body_is_refused_at_the_chunk_that_crosses_the_cap(make_live: Any) -> None:
    """Through a real uvicorn (httpx's ASGI transport would leave the unread
    rest of the body behind as an async generator)."""
    live = make_live(token=TOKEN, max_body=1000)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        yield b'{"timeout": 60, "data": "'
        for _ in range(100):
            yield b"y" * 500
        yield b'"}'

    async with httpx.AsyncClient(base_url=live.url, headers=AUTH) as client:
        r = await client.post("/api/jobs", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        assert r.json()["message"].endswith("the most this app takes")
        assert (await client.get("/api/counts")).json()["waiting"] == 0


async def test_the_app_stops_reading_once_over_the_cap(admin: Any, web_redis: Any) -> None:
    """At the ASGI level: the app asks for no more of a 50 MB body than
    the cap and one chunk (today's servers hand bodies over in chunks)."""
    client = web_redis.async_client()
    app = create_app(jobbertrack.aio.Handler(client), token=TOKEN, max_body=MAX_BODY)
    chunk = b"z" * 65_536
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": chunk, "more_body": asked < 800}  # 50 MiB in all

    answer: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/jobs",
        "raw_path": b"/api/jobs",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "app": app,
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    await client.aclose()
    assert answer[0]["status"] == 413
    assert asked <= 2  # 64 KiB: the first chunk, and the one that crosses


async def test_the_login_form_is_capped_too(make_live: Any) -> None:
    live = make_live(token=TOKEN, max_body=MAX_BODY)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=live.url) as client:
        r = await client.post("/login", content=b"token=" + b"a" * 70_000, headers=form)
    assert r.status_code == 413
    assert "text/html" in r.headers["content-type"]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "64k"])
async def test_a_cap_that_is_not_a_positive_int_is_refused(bad: Any, web_redis: Any) -> None:
    client = web_redis.async_client()
    try:
        with pytest.raises(jobbertrack.JobberTrackError, match="max_body"):
            create_app(jobbertrack.aio.Handler(client), max_body=bad)
    finally:
        await client.aclose()
