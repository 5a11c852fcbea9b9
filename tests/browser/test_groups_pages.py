"""Groups in a real Chromium: a group's page shows its children by state as
a stacked bar and a page of them, both following the children live (a
child's move emits the child's event only); the jobs list marks groups;
``<jobbertrack-job>`` of a group says "2 / 4 done · 1 failed", live, with no
code of the user's page.  Names from job data show as text, never as HTML."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import BrowserContext, expect

import jobbertrack
from jobbertrack.testing import RedisServer, free_port

from .conftest import SETTLE_MS, Probe, Served, dashboard, wait_live, wait_until, widget_host
from .writer import TOKEN, buttons, log_in

pytestmark = pytest.mark.browser

#: The promise: a child's move shows within about a second, with no reload.
LIVE_MS = 1000
HOSTILE = '<img src=x onerror="window.__pwned=1">'

BAR_JS = """() => Object.fromEntries([...document.querySelectorAll("#jt-group-bar rect.seg")].map(
  (r) => [r.dataset.state, [Number(r.dataset.n), Number(r.getAttribute("width"))]]))"""
COUNT_JS = """(state) => document.querySelector(`[data-group-count="${state}"]`).textContent"""
SUMMARY_JS = "() => document.getElementById('jt-group-summary').textContent.trim()"
CHILD_STATE_JS = """(id) => {
  const tr = [...document.querySelectorAll("#jt-children tbody tr")].find((r) => r.dataset.jobId === id);
  return tr ? tr.querySelector("[data-field=state]").textContent : null;
}"""


def test_the_group_page_follows_its_children_live(
    board: Served, track: jobbertrack.Handler, open_page: Callable[..., Probe]
) -> None:
    group = track.create_group(600, name=f"import {HOSTILE}")
    kids = [track.create(group=group.id, name=f"part {i} {HOSTILE}") for i in range(4)]
    probe = open_page(f"{board.url}/jobs/{group.id}")
    page = probe.page
    expect(page.locator("#jt-group-summary")).to_have_text("0 / 4 done")
    expect(page.locator("#jt-children tbody tr")).to_have_count(4)
    expect(page.locator("[data-field=name]")).to_have_text(f"import {HOSTILE}")  # text, not HTML
    expect(page.locator("#jt-children tbody tr").first.locator("td.name")).to_contain_text(
        f"part 3 {HOSTILE}"
    )
    assert page.evaluate(BAR_JS) == {"waiting": [4, 100]}
    wait_live(page)
    probe.mark()

    kids[0].start()  # a child's event only: the page still redraws its counts
    wait_until(page, f"() => ({COUNT_JS})('running') === '1'", timeout=LIVE_MS)
    wait_until(page, f"() => ({CHILD_STATE_JS})({kids[0].id!r}) === 'running'", timeout=LIVE_MS)
    kids[0].finish()
    wait_until(page, f"() => ({SUMMARY_JS})() === '1 / 4 done'", timeout=LIVE_MS)
    kids[1].start()
    kids[1].fail("disk full")
    wait_until(page, f"() => ({SUMMARY_JS})() === '2 / 4 done · 1 failed'", timeout=LIVE_MS)
    assert page.evaluate(BAR_JS) == {"finished": [1, 25], "failed": [1, 25], "waiting": [2, 50]}
    extra = track.create(group=group.id, name="late part")  # a new child: counted and listed
    wait_until(page, f"() => ({COUNT_JS})('total') === '5'", timeout=LIVE_MS)
    wait_until(page, f"() => ({CHILD_STATE_JS})({extra.id!r}) === 'waiting'", timeout=LIVE_MS)

    group.close()
    for kid in (kids[2], kids[3], extra):
        kid.start()
        kid.finish()
    wait_until(page, f"() => ({SUMMARY_JS})() === '5 / 5 done · 1 failed'", timeout=LIVE_MS)
    expect(page.locator("h1 [data-field=state]")).to_have_text("failed")  # the group's own end
    expect(page.locator('[data-field="error.reason"]')).to_have_text("children_failed")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#jt-group img, #jt-children img, #jt-detail img").count() == 0
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_the_group_page_pages_its_children_and_links_each(
    board: Served, track: jobbertrack.Handler, open_page: Callable[..., Probe]
) -> None:
    group = track.create_group(600, name="big batch")
    kids = track.create_many(53, group=group.id, name="piece")
    probe = open_page(f"{board.url}/jobs/{group.id}")
    page = probe.page
    rows = page.locator("#jt-children tbody tr")
    expect(rows).to_have_count(50)
    first_ids = [rows.nth(i).get_attribute("data-job-id") for i in range(50)]
    with page.expect_navigation():
        page.locator("#jt-children-panel a[rel=next]").click()
    expect(rows).to_have_count(3)
    later_ids = [rows.nth(i).get_attribute("data-job-id") for i in range(3)]
    assert sorted(first_ids + later_ids) == sorted(k.id for k in kids)  # each once, over the two pages
    with page.expect_navigation():
        rows.first.locator("td.id a").click()
    expect(page.locator("h1 code.jobid")).to_have_text(later_ids[0])
    expect(page.locator("[data-field=group_id] a")).to_have_text(group.id)  # and back to its group
    probe.assert_clean()


def test_the_jobs_list_marks_groups(
    board: Served, track: jobbertrack.Handler, open_page: Callable[..., Probe]
) -> None:
    group = track.create_group(600, name="exports")
    kids = [track.create(group=group.id) for _ in range(3)]
    kids[0].start()
    kids[0].finish()
    plain = track.create(name="plain")
    probe = open_page(f"{board.url}/jobs")
    page = probe.page
    row = page.locator(f'#jt-jobs tr[data-job-id="{group.id}"]')
    expect(row.locator(".group-badge")).to_have_text("group 1 / 3")
    expect(row.locator(".ptext")).to_have_text("1/3")
    expect(page.locator(f'#jt-jobs tr[data-job-id="{plain.id}"] .group-badge')).to_have_count(0)
    expect(page.locator(f'#jt-jobs tr[data-job-id="{kids[1].id}"] .group-badge')).to_have_count(0)
    probe.assert_clean()


# --- the embeddable element ----------------------------------------------------------------------


@pytest.fixture
def site_port() -> int:
    return free_port()


@pytest.fixture
def allowed(redis_server: RedisServer, site_port: int) -> Iterator[str]:
    with dashboard(redis_server, allow_origins=[f"http://127.0.0.1:{site_port}"]) as served:
        yield served.url


def test_the_element_of_a_group_counts_its_children_live(
    allowed: str, site_port: int, track: jobbertrack.Handler, context: BrowserContext
) -> None:
    group = track.create_group(
        600, name=f"your exports {HOSTILE}", children=[{"name": f"e{i}"} for i in range(4)]
    )
    kids = list(reversed(track.group(group.id).children()))
    with widget_host(allowed, site_port) as site:
        page = context.new_page()
        probe = Probe(page)
        try:
            page.goto(f"{site.url}/?" + urlencode({"id": group.id}))
            widget = page.locator("jobbertrack-job")
            bar = widget.get_by_role("progressbar")
            expect(widget).to_have_attribute("state", "waiting", timeout=SETTLE_MS)
            expect(widget.locator(".name")).to_have_text(f"your exports {HOSTILE}")
            expect(widget.locator(".msg")).to_have_text("0 / 4 done")
            probe.mark()

            kids[0].start()
            kids[0].finish()
            expect(widget.locator(".msg")).to_have_text("1 / 4 done", timeout=LIVE_MS)
            expect(widget).to_have_attribute("state", "running")
            expect(bar).to_have_attribute("aria-valuenow", "25")
            kids[1].start()
            kids[1].fail("disk full")
            expect(widget.locator(".msg")).to_have_text("2 / 4 done · 1 failed", timeout=LIVE_MS)
            for kid in kids[2:]:
                kid.start()
                kid.finish()
            expect(widget.locator(".msg")).to_have_text("4 / 4 done · 1 failed", timeout=LIVE_MS)
            expect(widget).to_have_attribute("state", "failed")
            expect(bar).to_have_attribute("aria-valuenow", "100")
            assert page.evaluate("window.__pwned") is None
            probe.assert_not_reloaded()
            assert probe.errors == []
        finally:
            page.close()  # before the servers stop: no stream left open


# --- the buttons of a group's page -------------------------------------------------------------


@pytest.fixture(scope="module")
def writable(redis_server: RedisServer) -> Iterator[Served]:
    with dashboard(redis_server, token=TOKEN) as served:
        yield served


def test_cancelling_a_group_from_its_page_cancels_its_children_and_it_is_never_retried(
    writable: Served, track: jobbertrack.Handler, context: BrowserContext, open_page: Callable[..., Probe]
) -> None:
    group = track.create_group(600, name="cancel me", children=[{"name": f"c{i}"} for i in range(3)])
    login = context.new_page()
    log_in(login, writable.url)
    login.close()
    probe = open_page(f"{writable.url}/jobs/{group.id}")
    page = probe.page
    page.on("dialog", lambda dialog: dialog.accept("not needed"))
    wait_live(page)
    probe.mark()
    assert buttons(page) == ["cancel"]
    page.locator("[data-action=cancel]").click()
    expect(page.locator("h1 [data-field=state]")).to_have_text("failed", timeout=LIVE_MS * 5)
    expect(page.locator("#jt-group-summary")).to_have_text("3 / 3 done · 3 cancelled")
    assert buttons(page) == ["delete"]  # a group moves with its children: no Retry of its own
    assert {c.state for c in track.group(group.id).children()} == {"cancelled"}
    probe.assert_not_reloaded()
    probe.assert_clean()
