"""``<jobbertrack-job>`` on someone's own site, in a real Chromium: from an
origin the dashboard allows it shows the job and follows it live; from any
other origin the dashboard refuses it and it never shows the job."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import BrowserContext, Page, expect

import jobbertrack
from jobbertrack.testing import RedisServer, free_port

from .conftest import SETTLE_MS, Probe, dashboard, widget_host

pytestmark = pytest.mark.browser

#: Every value the elements' ``state`` attribute takes, in order.
STATES_SEEN = """
(() => {
  window.__states = [];
  new MutationObserver((records) => {
    for (const r of records) window.__states.push(r.target.getAttribute("state"));
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["state"]});
})();
"""


@pytest.fixture
def widget_context(context: BrowserContext) -> BrowserContext:
    context.add_init_script(STATES_SEEN)
    return context


def states_seen(page: Page) -> list[str]:
    return list(page.evaluate("window.__states"))


@pytest.fixture
def site_port() -> int:
    return free_port()


@pytest.fixture
def allowed(redis_server: RedisServer, site_port: int) -> Iterator[str]:
    """A dashboard that allows the site on ``site_port``; yields its URL."""
    with dashboard(redis_server, allow_origins=[f"http://127.0.0.1:{site_port}"]) as board:
        yield board.url


def test_widget_on_an_allowed_origin_follows_its_job(
    allowed: str, site_port: int, track: jobbertrack.Handler, widget_context: BrowserContext
) -> None:
    job = track.create(name="export for ada")
    other = track.create(name="another export")
    with widget_host(allowed, site_port) as site:
        page = widget_context.new_page()
        probe = Probe(page)
        try:
            page.goto(f"{site.url}/?" + urlencode({"id": [job.id, other.id]}, doseq=True))
            widget = page.locator("jobbertrack-job").first
            bar = widget.get_by_role("progressbar")
            expect(widget).to_have_attribute("state", "waiting", timeout=SETTLE_MS)
            expect(widget.locator(".name")).to_have_text("export for ada")  # locators pierce shadow DOM
            expect(widget.locator(".state")).to_have_text("waiting")
            expect(page.locator("jobbertrack-job").last.locator(".name")).to_have_text("another export")
            probe.mark()

            job.start()
            job.set_progress(3, 10, "pages")
            expect(widget).to_have_attribute("state", "running")
            expect(widget.locator(".msg")).to_have_text("3/10 · pages")
            expect(bar).to_have_attribute("aria-valuenow", "30")

            job.finish({"url": "/exports/ada.csv"})
            expect(widget).to_have_attribute("state", "finished")
            expect(widget.locator(".state")).to_have_text("finished")
            expect(widget.locator(".msg")).to_have_text("done")
            expect(bar).to_have_attribute("aria-valuenow", "100")
            expect(page.locator("jobbertrack-job").last).to_have_attribute("state", "waiting")

            assert "refused" not in states_seen(page)
            probe.assert_not_reloaded()
            probe.assert_clean()
        finally:
            page.close()  # before the servers stop: no stream left open


def test_widget_on_a_disallowed_origin_is_refused(
    allowed: str, track: jobbertrack.Handler, widget_context: BrowserContext
) -> None:
    job = track.create(name="payroll export", data={"total": "secret figure"})
    job.start()
    job.set_progress(5, 10, "secret step")
    with widget_host(allowed) as stranger:  # a port of its own: not in allow_origins
        page = widget_context.new_page()
        probe = Probe(page)
        try:
            page.goto(f"{stranger.url}/?" + urlencode({"id": job.id}))
            widget = page.locator("jobbertrack-job")
            expect(widget).to_have_attribute("state", "refused", timeout=SETTLE_MS)
            expect(widget.locator(".msg")).to_have_text(re.compile("refused"))
            shown = page.evaluate("document.querySelector('jobbertrack-job').shadowRoot.textContent")
            for secret in ("payroll", "secret", "5/10", "running"):
                assert secret not in shown
            assert set(states_seen(page)) <= {"loading", "refused"}, states_seen(page)
            assert probe.errors == []
        finally:
            page.close()
