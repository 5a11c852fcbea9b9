"""Untrusted text through the action buttons, in a real Chromium: a cancel
reason that holds markup, and ids, names and data that do (the matrix of
test_xss), show literally in the page redrawn live, in the status the
buttons write and in the list's "was deleted" message; nothing runs and no
element is injected.  Twice, as in test_xss: with the page's CSP enforced
and with the browser told to ignore it (the escaping alone)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Dialog, expect

from jobbertrack.testing import RedisServer

from .conftest import Probe, Served, dashboard, wait_live
from .test_xss import INJECTION_JS, PAYLOADS, Jobs, context, jobs  # noqa: F401  (the fixtures: the same matrix)
from .writer import TOKEN, log_in

pytestmark = pytest.mark.browser

SHOWS_MS = 5000


@pytest.fixture(scope="module")
def writable(redis_server: RedisServer) -> Iterator[Served]:
    with dashboard(redis_server, token=TOKEN) as served:
        yield served


def assert_safe(probe: Probe, base_url: str) -> None:
    scripts = [f"{base_url}/static/live.js", f"{base_url}/static/actions.js"]
    assert probe.page.evaluate(INJECTION_JS, scripts) == []
    probe.assert_clean()


def test_markup_through_the_buttons_stays_text(writable: Served, jobs: Jobs, context: BrowserContext) -> None:  # noqa: F811
    probe = Probe(context.new_page())
    page = probe.page
    try:
        log_in(page, writable.url)
        for payload in PAYLOADS:
            job = jobs.create(payload, "cancel")
            other = jobs.create(payload, "gone")
            other.cancel(payload)
            page.goto(f"{writable.url}/jobs/{quote(job.id, safe='')}")
            wait_live(page)
            assert_safe(probe, writable.url)

            # a reason with markup, sent by the Cancel button, redrawn live
            page.once("dialog", lambda d, p=payload: d.accept(p))
            page.locator("[data-action=cancel]").click()
            expect(page.locator("h1 [data-field=state]")).to_have_text("cancelled", timeout=SHOWS_MS)
            expect(page.locator('[data-field="error.message"]')).to_have_text(payload)
            expect(page.locator("#jt-timeline .note")).to_have_text(f"cancelled: {payload}")
            expect(page.locator("#jt-action-status")).to_have_text("Cancelled.")
            assert_safe(probe, writable.url)

            # the list says which job was deleted: the id, as text
            page.once("dialog", lambda d: d.accept())
            with page.expect_navigation(url=f"{writable.url}/jobs"):
                page.locator("[data-action=delete]").click()
            expect(page.locator("#jt-action-status")).to_have_text(f"Job {job.id} was deleted.")
            assert_safe(probe, writable.url)

            # an error the API words (it names the id), shown as text
            page.goto(f"{writable.url}/jobs/{quote(other.id, safe='')}")
            expect(page.locator('[data-field="error.message"]')).to_have_text(payload)

            def delete_then_accept(dialog: Dialog, job_id: str = other.id) -> None:
                assert jobs.handler.delete(job_id)  # another client deletes it meanwhile
                dialog.accept()

            page.once("dialog", delete_then_accept)
            page.locator("[data-action=retry]").click()
            expect(page.locator("#jt-action-status")).to_have_text(
                f"Could not retry: job {other.id!r} was deleted (unknown)"
            )
            assert_safe(probe, writable.url)
    finally:
        page.close()  # before the server stops: no stream left open
