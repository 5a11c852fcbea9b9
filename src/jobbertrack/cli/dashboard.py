"""``jobbertrack dashboard``: the web dashboard and HTTP API, served by
uvicorn until Ctrl-C (the ``web`` extra).

Safe by default: it listens on 127.0.0.1; a host other people can reach
needs a token (``--token-file`` or ``$JOBBERTRACK_TOKEN``), or an explicit
``--insecure-no-auth``.  Without a token reads are open and writes answer
403.  ``jobbertrack demo --web`` serves the same app after its run.

The socket is bound here, before uvicorn starts, so a port in use is a
one-line error (and the demo can claim its port before it runs); the URL is
printed once the server accepts connections.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

import jobbertrack
import jobbertrack.aio

from .context import DEFAULT_NAMESPACE, EXIT_USAGE, Failure, common_options, settings
from .output import note, to_json

if TYPE_CHECKING:
    import uvicorn

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
ENV_TOKEN = "JOBBERTRACK_TOKEN"
#: Seconds a stopping server gives requests still in progress (event streams
#: are closed at once) before it cancels them.
SHUTDOWN_GRACE = 5
SHORT_TOKEN = 16
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
WILDCARDS = ("", "0.0.0.0", "::")


@dataclass
class Security:
    """Who may do what: the arguments of ``create_app`` the options decide."""

    token: str | None = None
    public_read: bool = False
    allow_origins: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        if self.token is None:
            return "read-only: no token"
        if self.public_read:
            return "reads open; writes need the token"
        return "the token is needed to sign in"

    @property
    def access(self) -> str:
        """The same, as one word for --json."""
        if self.token is None:
            return "read-only"
        return "public-read" if self.public_read else "token"


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


#: Host names a browser may use for a dashboard bound to loopback (any other
#: name in the Host header is a DNS-rebinding page, and is refused).
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """127.x, ::1 or localhost: only this machine can connect."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None) -> str | None:
    """The token from ``--token-file`` (which wins), else ``$JOBBERTRACK_TOKEN``."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise Failure(f"--token-file {token_file}: no such file", EXIT_USAGE) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise Failure(f"--token-file {token_file}: cannot read it: {reason}", EXIT_USAGE) from None
        if not token:
            raise Failure(f"--token-file {token_file} is empty: put the token in it", EXIT_USAGE)
        where = f"--token-file {token_file}"
    else:
        token = os.environ.get(ENV_TOKEN, "").strip()
        if not token:
            return None
        where = f"${ENV_TOKEN}"
    if not token.isascii() or not token.isprintable():
        # it travels in an HTTP header (Authorization: Bearer ...)
        raise Failure(f"the token in {where} must be printable ASCII on one line", EXIT_USAGE)
    if len(token) < SHORT_TOKEN:
        note(
            f"jobbertrack: warning: the token is short ({len(token)} characters); "
            f"make a better one: {MAKE_TOKEN}"
        )
    return token


def check_origin(origin: str) -> str:
    """``scheme://host[:port]``, as a browser sends it in ``Origin``."""
    text = origin.strip()
    try:
        parts = urlsplit(text)
        valid = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)  # .port raises ValueError when it is not a number
            and not (parts.username or parts.password or parts.query or parts.fragment)
            and parts.path in ("", "/")
        )
    except ValueError:
        valid = False
    if not valid:
        raise Failure(
            f"--allow-origin {origin}: not an origin; give one like https://app.example.com (no path, no *)",
            EXIT_USAGE,
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


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


def check_exposure(host: str, security: Security, insecure_no_auth: bool) -> list[str]:
    """Refuse a host others can reach with no token, unless told to; the
    warnings to show once it listens."""
    warnings = []
    if security.token is None and security.public_read:
        warnings.append(
            f"jobbertrack: warning: --public-read does nothing without a token (--token-file or "
            f"${ENV_TOKEN}): reads are open already, and writes are off"
        )
    if is_loopback(host) or security.token is not None:
        return warnings
    if not insecure_no_auth:
        raise Failure(
            f"refusing to serve on --host {host} with no token: anyone who can reach it could read "
            f"every job; give --token-file FILE (or ${ENV_TOKEN}), or --insecure-no-auth",
            EXIT_USAGE,
        )
    warnings.append(
        f"jobbertrack: warning: serving on {host} with no token (--insecure-no-auth): "
        "anyone who can reach it can read every job (writes stay off)"
    )
    return warnings


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


@click.command()
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    metavar="HOST",
    help="Address to listen on. Another than 127.x, ::1 or localhost needs a token (or --insecure-no-auth).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free one; the URL printed says which).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help=f"A file holding the token every route then needs [env: {ENV_TOKEN}].",
)
@click.option("--public-read", is_flag=True, help="With a token: open the read routes to everyone.")
@click.option(
    "--insecure-no-auth", is_flag=True, help="Allow a non-loopback --host with no token (reads open to all)."
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Another origin whose pages may use the API and <jobbertrack-job> (repeatable).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in a browser once it runs.")
@common_options
def dashboard(
    host: str,
    port: int,
    token_file: Path | None,
    public_read: bool,
    insecure_no_auth: bool,
    allow_origins: Sequence[str],
    open_browser: bool,
) -> None:
    """Serve the web dashboard and HTTP API, until Ctrl-C.

    Live pages of counts, jobs and each job's timeline, a JSON + SSE API
    (/api/openapi.json), /metrics for Prometheus and /widget.js.  It
    prints its URL once it listens (with --json: a JSON line).

    Without a token, reads are open and writes answer 403.  With one
    (--token-file, or $JOBBERTRACK_TOKEN), every route needs it, as
    "Authorization: Bearer TOKEN" or through the sign-in page;
    --public-read opens the reads again.  It listens on 127.0.0.1: another
    host without a token is refused unless --insecure-no-auth is given.

    \b
    Examples:
      jobbertrack dashboard --open
      jobbertrack dashboard --namespace demo          # after `jobbertrack demo`
      python -c 'import secrets; print(secrets.token_urlsafe(32))' > token
      jobbertrack dashboard --host 0.0.0.0 --port 8080 --token-file token
      curl -H "Authorization: Bearer $(cat token)" http://HOST:8080/api/counts
    """
    load_web()
    security = Security(read_token(token_file), public_read, tuple(check_origin(o) for o in allow_origins))
    warnings = check_exposure(host, security, insecure_no_auth)
    opts = settings()
    listener = bind(host, port)
    for warning in warnings:
        note(warning)
    serve(
        listener,
        security,
        namespace=opts.namespace_or(DEFAULT_NAMESPACE),
        url=opts.url,
        open_browser=open_browser,
        json_mode=opts.json,
    )
