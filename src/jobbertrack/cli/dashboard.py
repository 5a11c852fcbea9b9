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

from collections.abc import Sequence
from pathlib import Path

import click

from .context import DEFAULT_NAMESPACE, common_options, settings
from .output import note
from .web_access import (
    ENV_TOKEN_FILE,
    Security,
    check_exposure,
    check_origin,
    read_token,
)
from .web_server import bind, load_web, serve

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


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
    help=f"A file holding the token every route then needs [env: {ENV_TOKEN_FILE}].",
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

    Without a token, reads are open and writes answer 403.  With one, every
    route needs it, as "Authorization: Bearer TOKEN" or through the sign-in
    page; --public-read opens the reads again.  It listens on 127.0.0.1:
    another host without a token is refused unless --insecure-no-auth is
    given.

    \b
    The token, the first found of:
      --token-file PATH           a file holding it
      $JOBBERTRACK_TOKEN_FILE     the path of a file holding it
      $JOBBERTRACK_TOKEN          the token itself (never a path)

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
