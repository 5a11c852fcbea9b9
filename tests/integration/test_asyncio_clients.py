"""The asyncio entry points hand their clients asyncio objects only.

redis-py 8.2 warns ("A synchronous redis.retry.Retry was passed to an
asyncio client") when a ``redis.retry.Retry`` reaches a ``redis.asyncio``
client.  Each test here turns every warning into an error itself, so it
holds whatever the pytest configuration, and drives a whole lifecycle so a
warning raised at the first command (not only at construction) is caught.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import redis.asyncio.retry

import jobbertrack
import jobbertrack.aio


def _configured_retry(client: Any) -> Any:
    """The Retry a standalone client's connections are made with."""
    return client.connection_pool.connection_kwargs.get("retry")


async def _lifecycle(track: jobbertrack.aio.Handler) -> str:
    job = await track.create(60)
    await job.start()
    await job.finish({"ok": True})
    again = await track.get(job.id)
    assert again is not None
    return str(again.state)


async def test_aio_connect_warns_about_nothing(backend: Any, aclosing: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = aclosing(jobbertrack.aio.connect(backend.url))
        assert await _lifecycle(jobbertrack.aio.Handler(client)) == "finished"
    if backend.url.startswith("redis://"):  # the library chose the retry policy
        assert isinstance(_configured_retry(client), redis.asyncio.retry.Retry)


async def test_aio_connect_from_the_environment_warns_about_nothing(
    backend: Any, aclosing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBBERTRACK_REDIS_URL", backend.url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = aclosing(jobbertrack.aio.connect())
        assert await _lifecycle(jobbertrack.aio.Handler(client)) == "finished"
    if backend.url.startswith("redis://"):
        assert isinstance(_configured_retry(client), redis.asyncio.retry.Retry)


async def test_the_web_app_on_its_own_client_warns_about_nothing(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_app() with no handler connects through aio.connect()."""
    httpx = pytest.importorskip("httpx")
    web = pytest.importorskip("jobbertrack.web")
    monkeypatch.setenv("JOBBERTRACK_REDIS_URL", backend.url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app = web.create_app()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                counts = await http.get("/api/counts")
                page = await http.get("/")
    assert counts.status_code == 200 and set(counts.json()) == {
        "waiting",
        "running",
        "failed",
        "finished",
        "cancelled",
    }
    assert page.status_code == 200
