"""The action buttons in a real Chromium, for a viewer logged in with the
form: each asks first (dismissed: nothing is sent), calls the API, and the
page shows the outcome without a reload, live; a refused move (409) says the
state the job is in; a viewer who may not write sees no button."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Dialog, Page, expect

import jobbertrack
from jobbertrack.testing import RedisServer

from .conftest import Probe, Served, dashboard, wait_live
from .writer import TOKEN, buttons, log_in

pytestmark = pytest.mark.browser

#: A move the page shows must show within this (live.js redraws in well under a second).
SHOWS_MS = 5000

Open = Callable[..., Probe]


@pytest.fixture(scope="module")
def writable(redis_server: RedisServer) -> Iterator[Served]:
    """The dashboard with a token, per module."""
    with dashboard(redis_server, token=TOKEN) as served:
        yield served


@pytest.fixture
def writer(writable: Served, context: Any, open_page: Open) -> Open:
    """open_page for a browser context that logged in with the form."""
    page = context.new_page()
    log_in(page, writable.url)
    page.close()
    return open_page


class Dialogs:
    """Answers the page's confirm / prompt dialogs as told, and keeps them."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, str]] = []
        self.answer: Callable[[Dialog], None] = lambda d: d.dismiss()
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.seen.append((dialog.type, dialog.message))
        self.answer(dialog)


def detail(writable: Served, job: jobbertrack.Resource, writer: Open) -> tuple[Probe, Dialogs]:
    probe = writer(f"{writable.url}/jobs/{quote(job.id, safe='')}")
    dialogs = Dialogs(probe.page)
    wait_live(probe.page)
    probe.mark()
    return probe, dialogs


def badge(page: Page) -> Any:
    return page.locator("h1 [data-field=state]")


def test_cancel_asks_for_a_reason_then_cancels_live(
    writable: Served, track: jobbertrack.Handler, writer: Open
) -> None:
    job = track.create(name="export")
    probe, dialogs = detail(writable, job, writer)
    page = probe.page
    assert buttons(page) == ["cancel"]

    page.locator("[data-action=cancel]").click()  # dismissed: nothing is sent
    assert dialogs.seen == [("prompt", f"Cancel job {job.id}?\nReason (optional):")]
    expect(page.locator("#jt-action-status")).to_be_empty()
    assert track.status(job.id) == "waiting"

    dialogs.answer = lambda d: d.accept("wrong input file")
    page.locator("[data-action=cancel]").click()
    expect(page.locator("#jt-action-status")).to_have_text("Cancelled.")
    expect(badge(page)).to_have_text("cancelled", timeout=SHOWS_MS)
    expect(page.locator('[data-field="error.message"]')).to_have_text("wrong input file")
    expect(page.locator('[data-field="error.reason"]')).to_have_text("cancelled")
    assert buttons(page) == ["retry", "delete"]
    cancelled = track.get(job.id)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert cancelled.error == {"reason": "cancelled", "message": "wrong input file"}
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_retry_then_delete(writable: Served, track: jobbertrack.Handler, writer: Open) -> None:
    job = track.create(name="resize")
    job.start()
    job.fail("disk full")
    probe, dialogs = detail(writable, job, writer)
    page = probe.page
    assert buttons(page) == ["retry", "delete"]

    page.locator("[data-action=retry]").click()  # dismissed
    assert dialogs.seen == [("confirm", f"Retry job {job.id} as a new attempt?")]
    assert track.status(job.id) == "failed"

    dialogs.answer = lambda d: d.accept()
    page.locator("[data-action=retry]").click()
    expect(badge(page)).to_have_text("waiting", timeout=SHOWS_MS)
    expect(page.locator("#jt-action-status")).to_contain_text("Retried: the job is waiting")
    assert buttons(page) == ["cancel"]
    assert track.status(job.id) == "waiting"
    probe.assert_not_reloaded()

    dialogs.answer = lambda d: d.accept("")  # a cancel without a reason
    page.locator("[data-action=cancel]").click()
    expect(badge(page)).to_have_text("cancelled", timeout=SHOWS_MS)
    assert buttons(page) == ["retry", "delete"]
    assert track.get(job.id).error == {"reason": "cancelled", "message": "cancelled"}  # type: ignore[union-attr]

    dialogs.answer = lambda d: d.dismiss()
    page.locator("[data-action=delete]").click()
    assert dialogs.seen[-1] == ("confirm", f"Delete job {job.id} for good? This cannot be undone.")
    assert track.status(job.id) == "cancelled"
    dialogs.answer = lambda d: d.accept()
    with page.expect_navigation(url=f"{writable.url}/jobs"):
        page.locator("[data-action=delete]").click()
    expect(page.locator("#jt-action-status")).to_have_text(f"Job {job.id} was deleted.")
    assert track.status(job.id) == "deleted"
    expect(page.locator("#jt-jobs tbody tr")).to_have_count(0)
    page.reload()  # the message is said once
    expect(page.locator("#jt-action-status")).to_be_empty()
    response = page.goto(f"{writable.url}/jobs/{quote(job.id, safe='')}")
    assert response is not None and response.status == 404
    expect(page.locator("main h1")).to_have_text("Job deleted")
    probe.assert_clean()


def test_retry_all_failed(writable: Served, track: jobbertrack.Handler, writer: Open) -> None:
    failed = [track.create(name=f"f{i}") for i in range(3)]
    for job in failed:
        job.start()
        job.fail("boom")
    done = track.create(name="done")
    done.start()
    done.finish()
    probe = writer(f"{writable.url}/jobs?state=failed")
    page = probe.page
    dialogs = Dialogs(page)
    expect(page.locator("#jt-jobs tbody tr")).to_have_count(3)
    assert buttons(page) == ["retry-all"]
    wait_live(page)
    probe.mark()

    dialogs.answer = lambda d: d.accept()
    page.locator("[data-action=retry-all]").click()
    assert dialogs.seen == [("confirm", "Retry every failed job (up to 1000) as a new attempt?")]
    expect(page.locator("#jt-action-status")).to_have_text("Retried 3 failed jobs.")
    expect(page.locator("#jt-jobs tbody tr.gone")).to_have_count(3, timeout=SHOWS_MS)  # they left the tab
    expect(page.locator('.tabs [data-count="failed"]')).to_have_text("0")
    expect(page.locator('.tabs [data-count="waiting"]')).to_have_text("3")
    assert track.counts() == {"waiting": 3, "running": 0, "failed": 0, "finished": 1, "cancelled": 0}
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_a_refused_move_says_the_jobs_state(
    writable: Served, track: jobbertrack.Handler, writer: Open
) -> None:
    """The job finishes (another client) while its page asks whether to
    cancel it: the cancel is refused (409), the page says why, and shows
    the job as it is."""
    job = track.create(name="race")
    job.start()
    probe, dialogs = detail(writable, job, writer)
    page = probe.page
    assert buttons(page) == ["cancel"]

    def finish_then_accept(dialog: Dialog) -> None:
        job.finish({"rows": 1})  # done before the page's request is sent
        dialog.accept("too late")

    dialogs.answer = finish_then_accept
    page.locator("[data-action=cancel]").click()
    status = page.locator("#jt-action-status")
    expect(status).to_have_text("Could not cancel: the job is finished now.")
    expect(status).to_have_class("action-status error")
    expect(badge(page)).to_have_text("finished", timeout=SHOWS_MS)
    assert buttons(page) == ["delete"]
    finished = track.get(job.id)
    assert finished is not None and finished.state == "finished" and finished.error is None
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_a_viewer_who_may_not_write_sees_no_button(
    board: Served, redis_server: RedisServer, track: jobbertrack.Handler, open_page: Open
) -> None:
    failed = track.create()
    failed.start()
    failed.fail("x")
    waiting = track.create()
    with dashboard(redis_server, token=TOKEN, public_read=True) as public:
        for served in (board, public):  # no token; a token, public reads and no session
            for path in (f"/jobs/{failed.id}", f"/jobs/{waiting.id}", "/jobs?state=failed"):
                probe = open_page(f"{served.url}{path}")
                try:
                    assert buttons(probe.page) == []
                    expect(probe.page.locator('meta[name="jt-csrf"]')).to_have_count(0)
                    expect(probe.page.locator("#jt-action-status")).to_have_count(0)
                    probe.assert_clean()
                finally:
                    probe.page.close()  # before the server stops: no stream left open
