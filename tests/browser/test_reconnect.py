"""Streams that drop under an open page, in a real Chromium: Redis restarting
(the page says it is reconnecting, then is live again and shows what
happens next), Redis down when a page is asked for (it says so, then comes
back by itself), and the dashboard itself restarting (the page resumes and
shows the transition it missed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

import jobbertrack
from jobbertrack.testing import RedisServer, free_port

from .conftest import SETTLE_MS, Probe, Served, dashboard, wait_live, wait_until

pytestmark = pytest.mark.browser

#: Redis restarts, the follower retries with pauses of up to 2 s, the
#: browser's EventSource retries after 1 s: generous, never a timed assertion.
RECOVERY_MS = 20_000

ROW_STATE = """([id]) => {
  const row = [...document.querySelectorAll("#jt-jobs tbody tr")].find((r) => r.dataset.jobId === id);
  return row ? row.querySelector("[data-field=state]").textContent : null;
}"""


@pytest.fixture
def fresh_handler(redis_server: RedisServer) -> Iterator[Callable[[], jobbertrack.Handler]]:
    """Handlers on new clients (the server restarts under the test)."""
    clients: list[Any] = []

    def make() -> jobbertrack.Handler:
        client = redis_server.client()
        clients.append(client)
        handler = jobbertrack.Handler(client)
        handler.set_default_timeout(600)
        return handler

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def restarting_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The module's server, running again after the test whatever happened."""
    redis_server.client().flushall()
    yield redis_server
    if not redis_server.ping():
        redis_server.start()


def test_page_says_reconnecting_while_redis_restarts_then_is_live_again(
    board: Served,
    restarting_redis: RedisServer,
    fresh_handler: Callable[[], jobbertrack.Handler],
    open_page: Callable[..., Probe],
) -> None:
    before = fresh_handler().create(name="before the restart")
    probe = open_page(f"{board.url}/jobs")
    page = probe.page
    live = page.locator("#jt-live")
    expect(page.locator("#jt-jobs tbody tr")).to_have_count(1)
    wait_live(page)
    probe.mark()

    restarting_redis.stop()
    expect(live).to_have_class(re.compile(r"\breconnecting\b"), timeout=RECOVERY_MS)
    expect(live).to_contain_text("reconnecting")
    restarting_redis.start()  # the same port; it comes back empty (no persistence)
    expect(live).to_have_class(re.compile(r"\bon\b"), timeout=RECOVERY_MS)
    expect(live).to_have_text("live")

    track = fresh_handler()
    after = track.create(name="after the restart")
    wait_until(page, f"(a) => ({ROW_STATE})(a) === 'waiting'", [after.id], timeout=SETTLE_MS)
    after.start()
    wait_until(page, f"(a) => ({ROW_STATE})(a) === 'running'", [after.id], timeout=SETTLE_MS)
    assert track.get(before.id) is None  # it really was a new, empty Redis
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_page_asked_for_while_redis_is_down_comes_back_by_itself(
    board: Served,
    restarting_redis: RedisServer,
    fresh_handler: Callable[[], jobbertrack.Handler],
    open_page: Callable[..., Probe],
) -> None:
    restarting_redis.stop()
    probe = open_page(f"{board.url}/", expect_status=503)
    page = probe.page
    expect(page.locator("main h1")).to_have_text("Redis is unavailable")
    expect(page.locator("#jt-live")).to_contain_text("reconnecting", timeout=RECOVERY_MS)

    restarting_redis.start()
    fresh_handler().create(name="after the outage")
    expect(page.locator('.counts [data-count="waiting"]')).to_have_text("1", timeout=RECOVERY_MS)
    wait_live(page)
    assert probe.errors == []


def test_page_resumes_after_the_dashboard_restarts(
    restarting_redis: RedisServer,
    fresh_handler: Callable[[], jobbertrack.Handler],
    open_page: Callable[..., Probe],
) -> None:
    port = free_port()
    job = fresh_handler().create(name="survives a restart")
    first = dashboard(restarting_redis, port, graceful=0.2).start()
    try:
        probe = open_page(f"http://127.0.0.1:{port}/jobs/{job.id}")
        page = probe.page
        wait_live(page)
        probe.mark()
    finally:
        first.stop()
    expect(page.locator("#jt-live")).to_contain_text("reconnecting", timeout=RECOVERY_MS)

    job.start()  # while no dashboard runs: the page must not miss it
    job.set_progress(1, 2, "made while the dashboard was down")
    with dashboard(restarting_redis, port):
        try:
            expect(page.locator("h1 [data-field=state]")).to_have_text("running", timeout=RECOVERY_MS)
            expect(page.locator("[data-field=progress] .ptext")).to_have_text(
                "1/2 made while the dashboard was down"
            )
            wait_live(page)
            expect(page.locator("#jt-timeline li")).to_have_count(2)
            probe.assert_not_reloaded()
            assert probe.errors == []
        finally:
            page.close()
