"""Fixtures for the web app: one private redis-server for the whole of
tests/web (emptied before each test), apps driven through httpx's ASGI
transport, and a real uvicorn server where a test needs one (SSE)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer
from jobbertrack.web import create_app

from .live import LiveServer

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "http://testserver"

MakeApi = Callable[..., Awaitable[httpx.AsyncClient]]
MakeLive = Callable[..., LiveServer]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBBERTRACK_REDIS_URL", raising=False)
    monkeypatch.delenv("JOBBERTRACK_NAMESPACE", raising=False)
    monkeypatch.delenv("JOBBERTRACK_TOKEN", raising=False)


@pytest.fixture(scope="session")
def web_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def admin(web_redis: RedisServer) -> Iterator[Any]:
    """A plain (bytes) client on the server, for inspection; the server is
    emptied before each test."""
    client = web_redis.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
async def track(web_redis: RedisServer, admin: Any) -> AsyncIterator[jobbertrack.aio.Handler]:
    """The library itself, on a client of its own: "another process"."""
    client = web_redis.async_client()
    yield jobbertrack.aio.Handler(client)
    await client.aclose()


@pytest.fixture
async def make_api(web_redis: RedisServer, admin: Any) -> AsyncIterator[MakeApi]:
    """make_api(handler=None, headers=None, **create_app_kwargs): an httpx
    client on a fresh app (lifespan entered) over the ASGI transport.  With
    no handler the app gets an aio.Handler on a client of its own.

    After the apps' lifespans end and their clients close, what they left
    running is cancelled and awaited, as ``asyncio.run`` (so any ASGI
    server) and pytest-asyncio >= 1.1 do when a loop ends: an app stopped
    during its follower's first call leaves the client's layout check (a
    shared, shielded task) a round trip to finish.  pytest-asyncio 0.24
    closes the loop with such a task pending, and the garbage collector then
    reports it ("Task was destroyed but it is pending") in a later test."""
    before = asyncio.all_tasks()
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            handler: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any
        ) -> httpx.AsyncClient:
            if handler is None:
                client = web_redis.async_client()
                stack.push_async_callback(client.aclose)
                handler = jobbertrack.aio.Handler(client)
            app = create_app(handler, **kwargs)
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(asgi_client(app, headers))

        yield make
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


class ChosenIds(jobbertrack.aio.ResourceFactory):
    """Makes jobs with the ids it is given, in order."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)

    def create(self, client: Any) -> jobbertrack.aio.Resource:
        return jobbertrack.aio.Resource(client, self.ids.pop(0))


def asgi_client(app: Any, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers)


@pytest.fixture
async def api(make_api: MakeApi) -> httpx.AsyncClient:
    """An app with a token, and a client that sends it."""
    return await make_api(token=TOKEN, headers=AUTH)


@pytest.fixture
def make_live(web_redis: RedisServer, admin: Any) -> Iterator[MakeLive]:
    """make_live(handler_kind="aio", **create_app_kwargs): a started uvicorn
    server on the test's redis-server, stopped after the test."""
    servers: list[LiveServer] = []

    def make(handler_kind: str = "aio", **kwargs: Any) -> LiveServer:
        async def build() -> tuple[Any, Callable[[], Awaitable[None]]]:
            if handler_kind == "sync":
                sync_client = web_redis.client()
                app = create_app(jobbertrack.Handler(sync_client), **kwargs)

                async def close_sync() -> None:
                    sync_client.close()

                return app, close_sync
            client = web_redis.async_client()
            return create_app(jobbertrack.aio.Handler(client), **kwargs), client.aclose

        server = LiveServer(build).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


async def eventually(predicate: Callable[[], Awaitable[Any]], limit: float = 10.0, step: float = 0.02) -> Any:
    """Await ``predicate()`` until it is truthy, within ``limit`` seconds:
    for time-based rules (expiry) and for what the app does in the
    background (metrics fed by its follower)."""
    deadline = time.monotonic() + limit
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


def writes(admin: Any) -> int:
    """Changes made to the dataset so far (Redis' dirty counter: every write
    command counts, even one that leaves a value as it was)."""
    return int(admin.info("persistence")["rdb_changes_since_last_save"])


def snapshot(admin: Any) -> dict[bytes, bytes]:
    """Every key with its serialised value."""
    return {key: admin.dump(key) for key in admin.keys("*")}


def check_security_headers(response: httpx.Response) -> None:
    """What every response carries: scripts from 'self' only (no inline, no
    eval), no framing, no sniffing, no referrer."""
    csp = response.headers.get("content-security-policy")
    where = (response.request.method, str(response.request.url), response.status_code)
    assert csp, where
    directives = {part.split()[0].lower(): part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    for weaker in ("script-src-elem", "script-src-attr"):
        assert directives.get(weaker, ["'self'"]) == ["'self'"], (where, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "no-referrer", where
