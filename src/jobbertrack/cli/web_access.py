"""The dashboard's safety rules: who may do what (the token, public reads,
allowed origins), and which hosts may be served without a token."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .context import EXIT_USAGE, Failure
from .output import note

ENV_TOKEN = "JOBBERTRACK_TOKEN"  # the token itself
ENV_TOKEN_FILE = "JOBBERTRACK_TOKEN_FILE"  # the path of a file holding it
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
    """The token from ``--token-file`` (which wins), else the file
    ``$JOBBERTRACK_TOKEN_FILE`` names, else ``$JOBBERTRACK_TOKEN`` (the token
    itself: one that names an existing file is refused, as a path put in the
    wrong variable would otherwise become the token)."""
    if token_file is None and os.environ.get(ENV_TOKEN_FILE, "").strip():
        token_file = Path(os.environ[ENV_TOKEN_FILE].strip())
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
        if os.path.exists(token):
            raise Failure(
                f"${ENV_TOKEN} holds the token itself, but it names a file ({token}); "
                f"to read the token from a file, use --token-file or ${ENV_TOKEN_FILE}",
                EXIT_USAGE,
            )
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
