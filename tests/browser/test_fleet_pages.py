"""The Queues and Workers pages in a real Chromium (issue 23): they render,
keep themselves live from the API without a reload, show names from users
as text, offer the pause / resume toggle to a viewer who may write (and it
toggles), and show a worker of ``track.work`` while it runs, gone once it
stops.  Every wait polls with a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

import jobbertrack
from jobbertrack.testing import RedisServer

from .conftest import Probe, Served, dashboard, wait_live, wait_until
from .writer import TOKEN, buttons, log_in

pytestmark = pytest.mark.browser

#: The pages poll every 2 s: what changes shows within this.
SHOWS_MS = 8000
EVIL = "<script>window.__pwned=1</script>"

Open = Callable[..., Probe]


@pytest.fixture(scope="module")
def writable(redis_server: RedisServer) -> Iterator[Served]:
    with dashboard(redis_server, token=TOKEN) as served:
        yield served


@pytest.fixture
def writer(writable: Served, context: Any, open_page: Open) -> Open:
    page = context.new_page()
    log_in(page, writable.url)
    page.close()
    return open_page


def row(page: Page, queue: str) -> Any:
    return page.locator(f"#jt-queues tbody tr[data-queue={quote_attr(queue)}]")


def quote_attr(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field(locator: Any, name: str) -> Any:
    return locator.locator(f'[data-field="{name}"]')


class Worker:
    """``track.work(queue, ...)`` in a thread; each job waits for ``release``."""

    def __init__(self, track: jobbertrack.Handler, queue: str) -> None:
        self.track = track
        self.started = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(
            target=track.work,
            args=(queue, self.handle),
            kwargs={"block": 0.2, "grace": 5},
            name="fleet-test-worker",
            daemon=True,
        )

    def handle(self, job: Any) -> str:
        self.started.set()
        assert self.release.wait(30), "the test never released its job"
        return "done"

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.track.stop_work()
        self.thread.join(15)
        assert not self.thread.is_alive(), "track.work did not stop"


def test_the_queues_page_renders_and_follows_the_queues(
    board: Served, track: jobbertrack.Handler, open_page: Open
) -> None:
    probe = open_page(f"{board.url}/queues")
    page = probe.page
    wait_live(page)
    probe.mark()
    expect(page.locator("#jt-queues-empty")).to_be_visible()
    expect(page.locator("#jt-queues")).to_be_hidden()
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Queues")

    for n in range(3):
        track.push({"n": n}, queue="mail")
    track.push(None, queue="mail", delay=300)
    track.push(None, queue="img")
    assert track.pop_and_start("img", lease=30) is not None
    mail, img = row(page, "mail"), row(page, "img")
    expect(field(mail, "waiting")).to_have_text("3", timeout=SHOWS_MS)
    expect(field(mail, "delayed")).to_have_text("1")
    expect(field(mail, "running")).to_have_text("0")
    expect(field(img, "running")).to_have_text("1", timeout=SHOWS_MS)
    expect(field(img, "waiting")).to_have_text("0")
    expect(field(img, "oldest_wait_s")).to_have_text("—")
    expect(field(mail, "paused")).to_have_text("active")
    expect(page.locator("#jt-queues-empty")).to_be_hidden()
    # sorted by name, as the API gives them
    assert page.locator("#jt-queues tbody tr").evaluate_all("(rows) => rows.map((r) => r.dataset.queue)") == [
        "img",
        "mail",
    ]
    assert buttons(page) == []  # no token: nobody may write, no button

    assert track.pop_and_start("img", lease=30) is None  # nothing of img is left waiting
    while (job := track.pop_and_start("mail", lease=30)) is not None:
        job.finish()
    expect(field(mail, "waiting")).to_have_text("0", timeout=SHOWS_MS)
    expect(field(mail, "throughput")).to_have_text("3 finished", timeout=SHOWS_MS)
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_a_queue_name_from_a_user_shows_as_text(
    board: Served, track: jobbertrack.Handler, open_page: Open
) -> None:
    track.push(None, queue=EVIL)
    probe = open_page(f"{board.url}/queues")
    page = probe.page
    expect(field(row(page, EVIL), "name")).to_have_text(EVIL)  # rendered on the server
    later = '"><img src=x onerror=window.__pwned=1>'
    track.push(None, queue=later)
    expect(field(row(page, later), "name")).to_have_text(later, timeout=SHOWS_MS)  # drawn by fleet.js
    page.wait_for_timeout(300)  # an injected handler would have run by now
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main script").count() == 0
    probe.assert_clean()


def test_the_pause_button_toggles_the_queue(
    writable: Served, track: jobbertrack.Handler, writer: Open
) -> None:
    track.push({"n": 1}, queue=EVIL)
    probe = writer(f"{writable.url}/queues")
    page = probe.page
    wait_live(page)
    probe.mark()
    mail = row(page, EVIL)
    button = mail.locator("button[data-action]")
    expect(button).to_have_text("Pause")
    expect(field(mail, "paused")).to_have_text("active")

    button.click()
    expect(button).to_have_text("Resume", timeout=SHOWS_MS)
    expect(field(mail, "paused")).to_have_text("paused")
    expect(page.locator("#jt-action-status")).to_have_text(
        f"Queue {EVIL} is paused: its jobs wait until it is resumed."
    )
    assert track.queue_stats(EVIL)["paused"] is True
    assert track.pop_and_start(EVIL, lease=30) is None

    button.click()
    expect(button).to_have_text("Pause", timeout=SHOWS_MS)
    expect(field(mail, "paused")).to_have_text("active")
    assert track.queue_stats(EVIL)["paused"] is False

    track.pause(EVIL)  # from elsewhere: the page follows
    expect(button).to_have_text("Resume", timeout=SHOWS_MS)
    track.resume(EVIL)
    expect(button).to_have_text("Pause", timeout=SHOWS_MS)
    popped = track.pop_and_start(EVIL, lease=30)
    assert popped is not None and popped.data == {"n": 1}
    assert page.evaluate("window.__pwned") is None
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_the_workers_page_shows_a_worker_while_it_runs(
    board: Served, track: jobbertrack.Handler, open_page: Open
) -> None:
    probe = open_page(f"{board.url}/workers")
    page = probe.page
    wait_live(page)
    probe.mark()
    expect(page.locator("#jt-workers-empty")).to_be_visible()
    job = track.push(None, queue="render")
    with Worker(track, "render") as worker:
        assert worker.started.wait(10)
        rows = page.locator("#jt-workers tbody tr")
        expect(rows).to_have_count(1, timeout=SHOWS_MS)
        link = rows.locator('[data-field="jobs"] a')
        expect(link).to_have_text(job.id, timeout=SHOWS_MS)
        assert link.get_attribute("href") == f"/jobs/{quote(job.id, safe='')}"
        expect(field(rows, "queues")).to_have_text("render")
        expect(field(rows, "processed")).to_have_text("0")
        expect(field(rows, "started_at").locator("time")).to_have_count(1)
        expect(page.locator("#jt-workers-empty")).to_be_hidden()
        worker.release.set()
        expect(field(rows, "processed")).to_have_text("1", timeout=SHOWS_MS)
        expect(field(rows, "jobs")).to_contain_text("idle")
    expect(page.locator("#jt-workers tbody tr")).to_have_count(0, timeout=SHOWS_MS)
    expect(page.locator("#jt-workers-empty")).to_be_visible()
    probe.assert_not_reloaded()
    probe.assert_clean()


def test_the_workers_page_after_a_reload_and_its_job_link(
    board: Served, track: jobbertrack.Handler, open_page: Open
) -> None:
    job = track.push(None, queue="render", name="thumbs")
    with Worker(track, "render") as worker:
        assert worker.started.wait(10)
        probe = open_page(f"{board.url}/workers")
        page = probe.page
        link = page.locator('#jt-workers [data-field="jobs"] a')
        one_row = "() => document.querySelectorAll('#jt-workers tbody tr').length === 1"
        wait_until(page, one_row, timeout=SHOWS_MS)
        expect(link).to_have_text(job.id, timeout=SHOWS_MS)
        with page.expect_navigation():
            link.click()
        expect(page.locator("h1 [data-field=state]")).to_have_text("running")
        probe.assert_clean()
