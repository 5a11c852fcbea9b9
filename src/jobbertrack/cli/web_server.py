"""Serving the web app: the socket bound before uvicorn starts (so a port in
use is a one-line error, and the demo can claim its port before it runs),
uvicorn until Ctrl-C, and the line that says where it serves."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

import click

import jobbertrack
import jobbertrack.aio

from .context import EXIT_USAGE, Failure
from .output import note, to_json
from .web_access import LOOPBACK_NAMES, WILDCARDS, Security, is_loopback

if TYPE_CHECKING:
    import uvicorn

#: Seconds a stopping server gives requests still in progress (event streams
#: are closed at once) before it cancels them.
SHUTDOWN_GRACE = 5


@dataclass
class Listener:
    """A bound, listening socket, and how to name it in a URL."""

    sock: socket.socket
    host: str

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        """A URL a browser on this machine can open."""
        host = self.host.strip("[]")
        if host in WILDCARDS:  # every interface: this machine's own address works
            host = "::1" if self.sock.family == socket.AF_INET6 else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    @property
    def everywhere(self) -> bool:
        return self.host.strip("[]") in WILDCARDS

    def close(self) -> None:
        self.sock.close()


def load_web() -> ModuleType:
    """``jobbertrack.web`` once uvicorn is there too, or a one-line error naming the extra."""
    try:
        import uvicorn  # noqa: F401

        from jobbertrack import web
    except ImportError as exc:
        missing = f" ({exc.name} is missing)" if exc.name else ""
        raise Failure(f"the dashboard needs the web extra{missing}: pip install 'jobbertrack[web]'") from None
    return web


def bind(host: str, port: int) -> Listener:
    """Listen on ``host:port`` now (0: any free port), or fail in one line."""
    name = host.strip().strip("[]")
    try:
        infos = socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Failure(f"cannot listen on --host {host}: {exc.strerror}", EXIT_USAGE) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
        sock.bind(address)
        sock.listen(2048)  # at once: the port is ours (two binds with SO_REUSEADDR may both succeed)
    except OSError as exc:
        sock.close()
        raise Failure(_bind_error(exc, host, port)) from None
    return Listener(sock, name)


def _bind_error(exc: OSError, host: str, port: int) -> str:
    where = f"{host}:{port}" if ":" not in host else f"[{host.strip('[]')}]:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is in use (choose another with --port, or --port 0 for any)"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need privileges; try --port 8000)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no such address on this machine"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def _server(config: uvicorn.Config, on_started: Callable[[], None]) -> uvicorn.Server:
    """A uvicorn server that announces itself once it listens, and that a
    signal stops gracefully and then lets return (exit 0), instead of
    raising the signal again as uvicorn does."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_started()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            _end_streams(self.server_state.connections)
            await super().shutdown(sockets=sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit:  # a second Ctrl-C: do not wait for open responses
                self.force_exit = True
            else:
                self.should_exit = True

    return Server(config)


def _end_streams(connections: Iterable[Any]) -> None:
    """Close the connections in the middle of a response: the live pages'
    event streams, which never end by themselves and would hold the
    shutdown.  Their browsers see a dropped stream (and reconnect to the
    next server); requests still waiting for their answer get it first."""
    for connection in list(connections):
        cycle = getattr(connection, "cycle", None)
        transport = getattr(connection, "transport", None)
        if cycle is None or transport is None:
            continue
        if getattr(cycle, "response_started", False) and not getattr(cycle, "response_complete", True):
            transport.close()


def serve(
    listener: Listener,
    security: Security,
    *,
    namespace: str,
    url: str | None,
    quiet: bool = False,
    open_browser: bool = False,
    json_mode: bool = False,
) -> None:
    """Serve the dashboard on ``listener`` until a signal; the URL goes to
    stdout (one line) once connections are accepted."""
    web = load_web()
    try:
        asyncio.run(_serve(web, listener, security, namespace, url, quiet, open_browser, json_mode))
    finally:
        listener.close()
    note("jobbertrack: dashboard stopped")


async def _serve(
    web: ModuleType,
    listener: Listener,
    security: Security,
    namespace: str,
    url: str | None,
    quiet: bool,
    open_browser: bool,
    json_mode: bool,
) -> None:
    import uvicorn

    # aio.connect prints its one-line note when it falls back to the embedded Redis
    client = jobbertrack.aio.connect(url, quiet=quiet)
    try:
        handler = jobbertrack.aio.Handler(client, namespace=namespace)
        await handler.counts()  # Redis is there (or a one-line error and exit 4), before the URL is shown
        app = web.create_app(
            handler,
            token=security.token,
            public_read=security.public_read,
            allow_origins=security.allow_origins,
            trusted_hosts=(*LOOPBACK_NAMES, listener.host) if is_loopback(listener.host) else None,
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            server_header=False,
        )

        def started() -> None:
            announce(listener, security, namespace, json_mode)
            if open_browser:
                threading.Thread(target=_open, args=(listener.url,), daemon=True).start()

        server = _server(config, started)
        await server.serve(sockets=[listener.sock])
    finally:
        await client.aclose()


def announce(listener: Listener, security: Security, namespace: str, json_mode: bool) -> None:
    if json_mode:
        document = {
            "url": listener.url,
            "host": listener.host or "0.0.0.0",
            "port": listener.port,
            "namespace": namespace,
            "access": security.access,
        }
        click.echo(to_json(document))
        return
    where = "all interfaces; " if listener.everywhere else ""
    hint = " · Ctrl-C to stop" if sys.stdout.isatty() else ""
    click.echo(f"jobbertrack: dashboard on {listener.url} ({where}{security.summary}){hint}")


def _open(url: str) -> None:
    if sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    ):
        # no desktop: webbrowser would run a text browser in this very terminal
        note(f"jobbertrack: no browser to open here (no display); open {url} yourself")
        return
    try:
        opened = webbrowser.open(url)
    except Exception:  # any browser trouble: say so, and keep serving
        opened = False
    if not opened:
        note(f"jobbertrack: could not open a browser; open {url} yourself")
