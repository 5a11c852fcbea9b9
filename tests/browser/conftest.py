"""The browser tests' fixtures: Debian's ``chromium`` driven by Playwright's
sync API (Playwright cannot download its own browsers here, so it is given
``executable_path``), the dashboard in a real uvicorn server on a free port,
a private redis-server per module, and transitions made from outside the
dashboard (a separate handler, or a separate process).

Every test here is marked ``browser`` (``pytest -m browser`` runs them
alone).  They skip when no chromium is found, saying so, but never under
``CI=true``: there they fail, since ``.ci/run`` installs chromium first.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect, sync_playwright

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer
from jobbertrack.web import create_app
from tests.web.live import Build, LiveServer

CI = os.environ.get("CI") == "true"
VIEWPORT = {"width": 1400, "height": 900}
#: How long a page may take to come up (first load, first SSE status).
SETTLE_MS = 10_000

#: Installed in every page before its own scripts run: records Content
#: Security Policy violations (the listener is added by the browser's
#: devtools protocol, which the page's CSP does not govern).
PROBE_SCRIPT = """
(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "?") + " " + (e.sample || ""));
  }, true);
})();
"""


def chromium_path() -> str:
    """Debian's chromium (or ``$JOBBERTRACK_CHROMIUM``); skips without one,
    except under CI=true, where a missing browser is a failure."""
    found = (
        os.environ.get("JOBBERTRACK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found:
        return found
    message = "no chromium found: the browser tests need Debian's chromium (apt-get install chromium)"
    if CI:
        pytest.fail(f"{message}; CI=true, so they may not be skipped", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole browser suite."""
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


class Probe:
    """What one page reports that a test must see empty: uncaught script
    errors and Content Security Policy violations; and how often the page
    navigated (a live update must never reload it)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.console: list[str] = []
        self.navigations = 0
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._on_console)
        page.on("framenavigated", self._on_navigated)

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def _on_navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def csp_violations(self) -> list[str]:
        """Violations the current document saw, plus the browser's console
        reports of them (for every document this page showed)."""
        seen: list[str] = list(self.page.evaluate("window.__csp || []"))
        return seen + [line for line in self.console if "Content Security Policy" in line]

    def assert_clean(self) -> None:
        assert self.errors == [], f"uncaught script errors: {self.errors}"
        assert self.csp_violations() == [], f"CSP violations: {self.csp_violations()}"

    def mark(self) -> None:
        """Tag the document: the tag survives anything but a reload."""
        self.page.evaluate("window.__marker = 'still-the-same-document'")

    def assert_not_reloaded(self, navigations: int = 1) -> None:
        assert self.page.evaluate("window.__marker") == "still-the-same-document", "the page reloaded"
        assert self.navigations == navigations, f"the page navigated {self.navigations} times"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    ctx.add_init_script(PROBE_SCRIPT)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def open_page(context: BrowserContext) -> Callable[..., Probe]:
    """open_page(url) -> a Probe on a new tab showing url."""

    def open_(url: str, *, expect_status: int = 200) -> Probe:
        page = context.new_page()
        probe = Probe(page)
        response = page.goto(url)
        assert response is not None and response.status == expect_status, (url, response and response.status)
        return probe

    return open_


def wait_until(page: Page, predicate: str, arg: Any = None, *, timeout: float) -> Any:
    """Wait at most ``timeout`` ms for the page function ``predicate(arg)``
    to give a truthy value, and return it: ``page.wait_for_function`` as
    every Playwright the range allows can do it under the dashboard's CSP.

    Playwright 1.45 evaluates the predicate's text with ``eval`` again on
    each poll, from a page callback; only an evaluation made while the
    browser runs a devtools call escapes the page's ``script-src 'self'``,
    so its polls after the first are refused ("'unsafe-eval' is not an
    allowed source").  Newer releases keep the function the first eval
    made.  Here each poll is a call of its own (``page.evaluate``), which
    no CSP governs."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(predicate, arg)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout:g} ms (last value {value!r}): {predicate}")
        page.wait_for_timeout(10)


def wait_live(page: Page) -> None:
    """Wait until the page says its event stream is live."""
    live = page.locator("#jt-live")
    expect(live).to_have_class(re.compile(r"\bon\b"), timeout=SETTLE_MS)
    expect(live).to_have_text("live")


# ---- servers -------------------------------------------------------------


class Served(LiveServer):
    """An ASGI app in a real uvicorn server on 127.0.0.1, in a thread with
    its own event loop (``tests/web/live.py``); quiet: streams a stop cuts
    are expected here, not news."""

    def __init__(self, build: Build, port: int | None = None, graceful: float = 2.0) -> None:
        super().__init__(build, port, graceful, log_level="critical")


def dashboard(redis: RedisServer, port: int | None = None, graceful: float = 2.0, **options: Any) -> Served:
    """The dashboard (``create_app(handler, **options)``) on an asyncio
    handler of ``redis``, made in the server's loop, with the client
    ``jobbertrack.aio.connect`` makes (as ``jobbertrack dashboard`` does)."""

    async def build() -> tuple[Any, Callable[[], Awaitable[None]]]:
        client = jobbertrack.aio.connect(redis.url)
        app = create_app(jobbertrack.aio.Handler(client), **options)
        return app, client.aclose

    return Served(build, port, graceful)


def static_site(pages: Callable[[Any], Any], port: int | None = None) -> Served:
    """A plain Starlette site (another origin): ``pages(request)`` answers GET /."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def build() -> tuple[Any, Callable[[], Awaitable[None]]]:
        async def page(request: Any) -> Any:
            return pages(request)

        async def nothing() -> None:
            return None

        return Starlette(routes=[Route("/", page)]), nothing

    return Served(build, port)


def widget_host(dashboard_url: str, port: int | None = None, *, defer: bool = True) -> Served:
    """Someone's own site, on an origin of its own: ``GET /?id=A&id=B`` is a
    page with one ``<jobbertrack-job>`` per id, as the README shows it."""
    from starlette.responses import HTMLResponse

    def page(request: Any) -> Any:
        elements = "\n".join(
            f'<p>Your export:</p>\n<jobbertrack-job job-id="{html.escape(job_id)}"></jobbertrack-job>'
            for job_id in request.query_params.getlist("id")
        )
        script = f'<script src="{dashboard_url}/widget.js"{" defer" if defer else ""}></script>'
        return HTMLResponse(
            "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>An app of yours</title>"
            f"</head><body>\n<h1>Your exports</h1>\n{script}\n{elements}\n</body></html>"
        )

    return static_site(page, port)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server per test module."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def board(redis_server: RedisServer) -> Iterator[Served]:
    """The dashboard with its defaults (no token: reads open), per module."""
    with dashboard(redis_server) as served:
        yield served


@pytest.fixture
def track(redis_server: RedisServer) -> Iterator[jobbertrack.Handler]:
    """A sync handler of its own (another client than the dashboard's) on an
    emptied database."""
    client = redis_server.client()
    client.flushall()
    handler = jobbertrack.Handler(client)
    handler.set_default_timeout(600)
    try:
        yield handler
    finally:
        client.close()


def other_process(redis: RedisServer, *args: str) -> str:
    """Run ``jobbertrack ARGS…`` in a process of its own, against ``redis``."""
    done = subprocess.run(
        [sys.executable, "-m", "jobbertrack.cli", *args, "--redis-url", redis.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout.strip()
