"""A real uvicorn server for tests that need one (SSE: httpx's ASGI transport
buffers whole responses), and a small Server-Sent Events reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn

#: build() runs in the server's own event loop and returns (app, cleanup):
#: the app's Redis client must be made there, since asyncio clients belong
#: to the loop that first uses them.
Build = Callable[[], Awaitable[tuple[Any, Callable[[], Awaitable[None]]]]]


class LiveServer:
    """uvicorn on 127.0.0.1 in a thread with its own loop.  The listening
    socket is bound here, before uvicorn starts (port 0: the system picks a
    free one), so no other process can take the port between choosing it
    and listening on it (CI once saw uvicorn exit on a port found free a
    moment before).  ``port``: a given port (a restarted server takes its
    old one back)."""

    def __init__(
        self, build: Build, port: int | None = None, graceful: float = 3.0, log_level: str = "warning"
    ) -> None:
        self.build = build
        self.graceful = graceful  # seconds open streams get to end when it stops
        self.log_level = log_level
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port or 0))
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = self.url
        self.server: uvicorn.Server | None = None
        self.app: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"uvicorn-{self.port}", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to the test by start()/stop()
            self._error = exc
        finally:
            self.socket.close()
            self._ready.set()

    async def _serve(self) -> None:
        app, cleanup = await self.build()
        self.app = app
        try:
            config = uvicorn.Config(
                app,
                log_level=self.log_level,
                lifespan="on",
                ws="none",
                timeout_graceful_shutdown=self.graceful,
            )
            self.server = uvicorn.Server(config)
            task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
            # uvicorn offers a flag, not an event: look at it until it is up
            while not self.server.started and not task.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await task
        finally:
            await cleanup()

    def start(self) -> LiveServer:
        self._thread.start()
        assert self._ready.wait(30), "uvicorn did not start"
        if self._error is not None or self.server is None or not self.server.started:
            raise RuntimeError(f"uvicorn did not start on port {self.port}: {self._error!r}")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self._thread.join(30)
        assert not self._thread.is_alive(), "uvicorn did not stop"
        if self._error is not None:
            raise self._error

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EventStream:
    """Messages of one open ``text/event-stream`` response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self, timeout: float = 10.0) -> dict[str, str]:
        """The next message as its fields (``id``, ``event``, ``data``, ``retry``);
        comments are skipped."""
        return await asyncio.wait_for(self._message(), timeout)

    async def _message(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value
        raise EOFError("the event stream ended")

    async def status(self, timeout: float = 10.0) -> str:
        """The next ``event: status`` message's status word."""
        while True:
            msg = await self.message(timeout)
            if msg.get("event") == "status":
                return str(json.loads(msg["data"])["status"])

    async def event(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """The next job event: (its ``id:``, its ``data:`` as JSON)."""
        while True:
            msg = await self.message(timeout)
            if "event" not in msg and "data" in msg:
                return msg.get("id", ""), json.loads(msg["data"])

    async def events(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        return [await self.event(timeout) for _ in range(count)]


@contextlib.asynccontextmanager
async def open_events(client: httpx.AsyncClient, url: str, **kwargs: Any) -> AsyncIterator[EventStream]:
    """GET an event stream; checks it is one, and waits for its first status
    message (sent once the server has subscribed this stream to the feed)."""
    async with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        assert await stream.status() in ("live", "reconnecting")
        yield stream
