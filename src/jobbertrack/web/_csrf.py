"""Cross-site request forgery: what a write authenticated by the session
cookie must show besides the cookie.

A browser sends the cookie (SameSite=Strict) with any request of a
*same-site* page too, and a page on another port of the same host is
same-site.  So a cookie-authenticated write must also

- not come from another site or origin: ``Sec-Fetch-Site`` is not
  ``cross-site`` or ``same-site``, and an ``Origin`` header, when sent,
  names this app's own host (even an origin of ``allow_origins``: those
  may read, never write with the cookie);
- carry the page's CSRF token in ``X-CSRF-Token``: an HMAC of the session
  value under the dashboard token, so it needs no server-side storage.
  The pages hold it in ``<meta name="jt-csrf">``, which only a page of the
  same origin can read.  A browser's request always says where it comes
  from (``Sec-Fetch-Site``, or ``Origin`` on every cross-origin write), so
  the token is asked of those; a request with neither is no browser's
  (a script that logged in with the form) and no page can forge it.

A write authenticated by ``Authorization: Bearer`` needs none of this: a
page of another site cannot set that header (nor know the token).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.datastructures import Headers

HEADER = "x-csrf-token"
FOREIGN_FETCH_SITES = ("cross-site", "same-site")


def token_for(secret: str, session: str) -> str:
    """The CSRF token of a session: an HMAC of its value under ``secret``."""
    return hmac.new(secret.encode(), b"jobbertrack-csrf:" + session.encode(), hashlib.sha256).hexdigest()


def _own_origin(origin: str, headers: Headers) -> bool:
    try:
        return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
    except ValueError:
        return False


def refusal(headers: Headers, expected: str) -> str | None:
    """Why a cookie-authenticated write is refused (a message), or None."""
    site = headers.get("sec-fetch-site", "").lower()
    if site in FOREIGN_FETCH_SITES:
        return f"a write with the session cookie may not come from another site (Sec-Fetch-Site: {site})"
    origin = headers.get("origin")
    if origin is not None and not _own_origin(origin, headers):
        return "a write with the session cookie may come from the dashboard's own pages only"
    sent = headers.get(HEADER, "")
    if not sent and site == "" and origin is None:  # not sent by a browser: nothing to forge
        return None
    if not sent:
        return "a write with the session cookie needs the page's X-CSRF-Token header"
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        return "the X-CSRF-Token header is not this session's"
    return None
