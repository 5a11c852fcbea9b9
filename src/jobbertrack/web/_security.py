"""What every response carries, who may call what, and from which origin.

- Headers on every response: a Content-Security-Policy allowing scripts,
  styles and connections from 'self' only (no inline script, no eval),
  ``frame-ancestors 'none'``, ``nosniff`` and ``no-referrer``.
- Origins: a request whose ``Origin`` is neither this app's own host nor in
  ``allow_origins`` is refused (403); an allowed one gets CORS headers, so
  ``<jobbertrack-job>`` on its pages can read the API and the event stream.
- Access (see ``Access``): with a token, every route but the login page and
  static assets needs it, as ``Authorization: Bearer`` or the session cookie
  the login form sets; ``public_read`` opens the reads.  Without a token,
  reads are open and writes answer 403.  Tokens are compared in constant time.
  A write authenticated by the cookie must also pass ``_csrf`` (403 ``csrf``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import jobbertrack

from . import _csrf

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
COOKIE = "jobbertrack_session"
#: Paths (after the app's mount point) open to everyone: what the login page needs.
OPEN_PATHS = ("/login", "/logout", "/static/", "/widget.js", "/favicon.ico")
CORS_METHODS = b"GET, POST, DELETE, OPTIONS"
CORS_HEADERS = b"Authorization, Content-Type, Last-Event-ID"


class BadToken(jobbertrack.JobberTrackError, ValueError):
    """create_app() was given a token that is not a non-empty string."""


class Access:
    """The access rules of one app."""

    def __init__(self, token: str | None, public_read: bool) -> None:
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise BadToken("the dashboard token must be a non-empty string")
        self.token = token.strip() if token else None
        self.public_read = public_read

    @property
    def session_value(self) -> str:
        """The cookie value for a logged-in browser: a MAC of the token, not the token."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"jobbertrack-dashboard-session", hashlib.sha256).hexdigest()

    @property
    def csrf_token(self) -> str:
        """The session's CSRF token (``_csrf``): what its pages send in ``X-CSRF-Token``."""
        assert self.token is not None
        return _csrf.token_for(self.token, self.session_value)

    def check_token(self, candidate: str) -> bool:
        if self.token is None:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def credential(self, headers: Headers, cookies: dict[str, str]) -> str | None:
        """How the request proves it holds the token: ``"bearer"``, ``"cookie"`` or None."""
        if self.token is None:
            return None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.check_token(value.strip()):
            return "bearer"
        cookie = cookies.get(COOKIE, "")
        if cookie and hmac.compare_digest(cookie.encode(), self.session_value.encode()):
            return "cookie"
        return None

    def verdict(
        self, method: str, path: str, headers: Headers, cookies: dict[str, str]
    ) -> tuple[str, str] | None:
        """None when the request may go on, else the (error code, message) it gets."""
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_PATHS):
            return None
        write = method not in ("GET", "HEAD", "OPTIONS")
        if self.token is None:
            return (
                ("writes_disabled", "writes are disabled: start the dashboard with a token")
                if write
                else None
            )
        if not write and self.public_read:
            return None
        how = self.credential(headers, cookies)
        if how is None:
            return "unauthorized", "a valid token is required (Authorization: Bearer TOKEN)"
        if write and how == "cookie":
            why = _csrf.refusal(headers, self.csrf_token)
            if why is not None:
                return "csrf", why
        return None


def _same_host(origin: str, headers: Headers) -> bool:
    try:
        return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
    except ValueError:
        return False


def _hostname(headers: Headers) -> str:
    try:
        return (urlsplit("//" + headers.get("host", "")).hostname or "").lower()
    except ValueError:
        return ""


def _own_form_post(scope: Scope) -> bool:
    """Our login form's POST: under ``Referrer-Policy: no-referrer`` browsers
    send it with ``Origin: null``.  It gets no CORS headers, and logging in
    needs the token, so an opaque origin gains nothing there."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return scope["method"] == "POST" and path in ("/login", "/logout")


class SecurityMiddleware:
    """Headers, origin checks and CORS, around the whole app (pure ASGI, so
    streaming responses pass through untouched)."""

    def __init__(
        self, app: ASGIApp, allow_origins: Iterable[str] = (), trusted_hosts: Iterable[str] | None = None
    ) -> None:
        self.app = app
        self.allow_origins = {o.rstrip("/").lower() for o in allow_origins}
        self.trusted_hosts = None if trusted_hosts is None else {h.strip("[]").lower() for h in trusted_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.trusted_hosts is not None and _hostname(headers) not in self.trusted_hosts:
            # DNS rebinding: a hostile page whose name now points at 127.0.0.1
            # reaches the dashboard with its own name in the Host header
            await _send_json(send, 400, {"error": "invalid_host", "message": "this Host is not served here"})
            return
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin and origin != "null" and not _same_host(origin, headers):
            if origin.rstrip("/").lower() not in self.allow_origins:
                await _send_json(
                    send, 403, {"error": "forbidden_origin", "message": f"origin {origin} is not allowed"}
                )
                return
            cors = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin"),
            ]
            if scope["method"] == "OPTIONS" and headers.get("access-control-request-method"):
                cors += [
                    (b"access-control-allow-methods", CORS_METHODS),
                    (b"access-control-allow-headers", CORS_HEADERS),
                    (b"access-control-max-age", b"600"),
                ]
                await _send(send, 204, b"", cors)
                return
        elif origin == "null" and not _own_form_post(scope):
            await _send_json(
                send, 403, {"error": "forbidden_origin", "message": "an opaque origin is not allowed"}
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS + cors if k not in present]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [*HEADERS, *headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await _send(send, status, body, [(b"content-type", b"application/json")])
