"""Untrusted job data in a real browser: an XSS matrix stored in ids, names,
data, errors and progress messages never runs, on any page (overview, list,
detail, 404, 410, login) nor in the widget, whether the page was rendered
on the server or redrawn live by its script; the text shows literally.

Each test runs twice: with the dashboard's Content-Security-Policy enforced
(our own script and styles must cause no violation) and with the browser
told to ignore it, so the tripwire checks the escaping alone rather than
the CSP's backstop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

import jobbertrack
from jobbertrack.testing import RedisServer, free_port
from tests.helpers import wait_for

from .conftest import PROBE_SCRIPT, VIEWPORT, Probe, Served, dashboard, wait_live, wait_until, widget_host

pytestmark = pytest.mark.browser

RLO = "\u202e"  # right-to-left override: must show as the character it is, never reorder our own text
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=window.__pwned=1>',
    "</script><script>window.__pwned=1</script>",
    "javascript:window.__pwned=1",
    "{{7*7}}",
    f"{RLO}fdp.exe",
]
SETTLE_MS = 5000

#: Finds what an injection would leave behind, in the document and in every
#: shadow root: the tripwire, elements or attributes the page never makes,
#: javascript: URLs, scripts other than ours.
INJECTION_JS = """(allowedScripts) => {
  const problems = [];
  if (window.__pwned !== undefined) problems.push("the tripwire fired: window.__pwned = " + window.__pwned);
  const roots = [document];
  document.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) roots.push(el.shadowRoot); });
  for (const root of roots) {
    root.querySelectorAll("img, iframe, frame, object, embed, base").forEach((el) => {
      problems.push("injected element: " + el.outerHTML);
    });
    root.querySelectorAll("script").forEach((s) => {
      if (!allowedScripts.includes(s.src)) problems.push("foreign script: " + s.outerHTML);
    });
    root.querySelectorAll("*").forEach((el) => {
      for (const a of el.attributes) {
        if (a.name.startsWith("on")) problems.push("event handler attribute " + a.name + " on " + el.tagName);
        if (["href", "src", "action", "formaction", "xlink:href", "data"].includes(a.name) &&
            /^\\s*javascript:/i.test(a.value)) problems.push("javascript: URL in " + a.name + ": " + a.value);
      }
    });
    root.querySelectorAll("a[href]").forEach((a) => {
      if (a.protocol === "javascript:") problems.push("javascript: link " + a.getAttribute("href"));
    });
  }
  return problems;
}"""

ROWS_JS = """() => [...document.querySelectorAll("#jt-jobs tbody tr")].map((tr) => {
  const text = (sel) => { const n = tr.querySelector(sel); return n ? n.textContent.trim() : null; };
  const link = tr.querySelector("td.id a");
  return {
    key: tr.dataset.jobId, id: text("td.id"),
    path: link ? decodeURIComponent(new URL(link.href).pathname) : null,
    name: text("td.name"), state: text("[data-field=state]"), progress: text(".ptext"),
    reason: text("td.reason"),
  };
})"""

FAILURES_JS = """() => [...document.querySelectorAll("#jt-failures tbody tr")].map((tr) => {
  const text = (sel) => tr.querySelector(sel).textContent.trim();
  return {key: tr.dataset.jobId, id: text("td.id"), name: text("td.name"), reason: text("td.reason"),
          message: text("td.message")};
})"""

DETAIL_JS = """() => {
  const text = (sel) => { const n = document.querySelector(sel); return n ? n.textContent.trim() : null; };
  return {
    id: text("h1 code.jobid"), title: document.title, name: text("[data-field=name]"),
    state: text("h1 [data-field=state]"), progress: text("[data-field=progress] .ptext"),
    input: JSON.parse(document.querySelector("[data-field=input]").textContent),
    reason: text('[data-field="error.reason"]'), message: text('[data-field="error.message"]'),
    notes: [...document.querySelectorAll("#jt-timeline .note")].map((n) => n.textContent.trim()),
  };
}"""

WIDGETS_JS = """() => [...document.querySelectorAll("jobbertrack-job")].map((w) => ({
  key: w.getAttribute("job-id"), state: w.getAttribute("state"),
  name: w.shadowRoot.querySelector(".name").textContent,
  badge: w.shadowRoot.querySelector(".state").textContent,
  message: w.shadowRoot.querySelector(".msg").textContent,
}))"""


def job_id(payload: str, tag: str) -> str:
    """The payload as (the start of) an id; U+202E is refused in ids (not printable)."""
    return f"rlo-{tag}" if payload.startswith(RLO) else f"{payload}~{tag}"


def data_of(payload: str) -> dict[str, Any]:
    return {"text": payload, payload: [payload, {"nested": payload}]}


class ChosenIds(jobbertrack.ResourceFactory):
    """Ids of the test's choosing (the library accepts any printable text)."""

    def __init__(self) -> None:
        self.next_id = ""

    def create(self, client: Any) -> jobbertrack.Resource:
        return self.resource_class(client, self.next_id)


class Jobs:
    """Makes the matrix's jobs: every field carries the payload."""

    def __init__(self, redis: RedisServer) -> None:
        self.client = redis.client()
        self.client.flushall()
        self.ids = ChosenIds()
        self.handler = jobbertrack.Handler(self.client, resource_factory=self.ids)

    def create(self, payload: str, tag: str, timeout: float = 600) -> jobbertrack.Resource:
        self.ids.next_id = job_id(payload, tag)
        return self.handler.create(timeout, name=payload, data=data_of(payload))

    @staticmethod
    def move(job: jobbertrack.Resource, payload: str) -> None:
        """start, progress with the payload as message, fail with it as reason and message."""
        job.start()
        job.set_progress(1, 3, payload)
        job.fail({"reason": payload, "message": payload})

    def failed(self, tag: str) -> list[jobbertrack.Resource]:
        jobs = [self.create(p, tag) for p in PAYLOADS]
        for job, payload in zip(jobs, PAYLOADS, strict=True):
            self.move(job, payload)
        return jobs

    def waiting(self, tag: str) -> list[jobbertrack.Resource]:
        return [self.create(p, tag) for p in PAYLOADS]

    def move_all(self, jobs: list[jobbertrack.Resource]) -> None:
        for job, payload in zip(jobs, PAYLOADS, strict=True):
            self.move(job, payload)


@pytest.fixture
def jobs(redis_server: RedisServer) -> Iterator[Jobs]:
    made = Jobs(redis_server)
    try:
        yield made
    finally:
        made.client.close()


@pytest.fixture(params=["csp-enforced", "csp-bypassed"])
def context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT, bypass_csp=request.param == "csp-bypassed")  # type: ignore[arg-type]
    ctx.add_init_script(PROBE_SCRIPT)
    try:
        yield ctx
    finally:
        ctx.close()


def assert_safe(probe: Probe, allowed_scripts: list[str]) -> None:
    problems = probe.page.evaluate(INJECTION_JS, allowed_scripts)
    assert problems == []
    probe.assert_clean()


def failed_row(payload: str, job_id_: str) -> dict[str, Any]:
    return {
        "key": job_id_,
        "id": job_id_,
        "path": f"/jobs/{job_id_}",
        "name": payload,
        "state": "failed",
        "progress": f"1/3 {payload}",
        "reason": f"{payload}: {payload}",
    }


def test_list_page(board: Served, jobs: Jobs, open_page: Callable[..., Probe]) -> None:
    stored = jobs.failed("stored")
    live = jobs.waiting("live")
    probe = open_page(f"{board.url}/jobs")
    page = probe.page
    live_js = f"{board.url}/static/live.js"

    rows = {row["key"]: row for row in page.evaluate(ROWS_JS)}
    for job, payload in zip(stored, PAYLOADS, strict=True):
        assert rows[job.id] == failed_row(payload, job.id)
    for job, payload in zip(live, PAYLOADS, strict=True):
        assert (rows[job.id]["name"], rows[job.id]["state"]) == (payload, "waiting")
    assert_safe(probe, [live_js])

    wait_live(page)
    probe.mark()
    jobs.move_all(live)  # rows redrawn by live.js
    arrivals = jobs.waiting("arrived")  # rows added by live.js
    wait_reasons = f"""() => {{
      const rows = [...document.querySelectorAll("#jt-jobs tbody tr")];
      const failed = rows.filter((r) => r.querySelector("td.reason").textContent.trim() !== "");
      return failed.length === {2 * len(PAYLOADS)} && rows.length === {3 * len(PAYLOADS)};
    }}"""
    wait_until(page, wait_reasons, timeout=SETTLE_MS)
    rows = {row["key"]: row for row in page.evaluate(ROWS_JS)}
    for job, payload in zip(live, PAYLOADS, strict=True):
        assert rows[job.id] == failed_row(payload, job.id)
    for job, payload in zip(arrivals, PAYLOADS, strict=True):
        assert rows[job.id]["id"] == job.id
        assert rows[job.id]["path"] == f"/jobs/{job.id}"
        assert (rows[job.id]["name"], rows[job.id]["state"]) == (payload, "waiting")
    probe.assert_not_reloaded()
    assert_safe(probe, [live_js])


def test_overview_page(board: Served, jobs: Jobs, open_page: Callable[..., Probe]) -> None:
    stored = jobs.failed("stored")
    live = jobs.waiting("live")
    probe = open_page(f"{board.url}/")
    page = probe.page
    shown = {row["key"]: row for row in page.evaluate(FAILURES_JS)}
    for job, payload in zip(stored, PAYLOADS, strict=True):
        want = {"key": job.id, "id": job.id, "name": payload, "reason": payload, "message": payload}
        assert shown[job.id] == want
    assert_safe(probe, [f"{board.url}/static/live.js"])

    wait_live(page)
    probe.mark()
    jobs.move_all(live)  # the failures table is redrawn by live.js
    live_ids = json.dumps([job.id for job in live])
    wait_until(
        page,
        f"""() => {{
          const keys = [...document.querySelectorAll("#jt-failures tbody tr")].map((r) => r.dataset.jobId);
          return {live_ids}.every((id) => keys.includes(id));
        }}""",
        timeout=SETTLE_MS,
    )
    shown = {row["key"]: row for row in page.evaluate(FAILURES_JS)}
    for job, payload in zip(live, PAYLOADS, strict=True):
        want = {"key": job.id, "id": job.id, "name": payload, "reason": payload, "message": payload}
        assert shown[job.id] == want
    probe.assert_not_reloaded()
    assert_safe(probe, [f"{board.url}/static/live.js"])


def check_detail(page: Page, job: jobbertrack.Resource, payload: str) -> None:
    shown = page.evaluate(DETAIL_JS)
    assert shown["id"] == job.id
    assert job.id in shown["title"]
    assert shown["name"] == payload
    assert shown["state"] == "failed"
    assert shown["progress"] == f"1/3 {payload}"
    assert shown["input"] == data_of(payload)
    assert (shown["reason"], shown["message"]) == (payload, payload)
    assert shown["notes"] == [f"{payload}: {payload}"]


def test_detail_pages(board: Served, jobs: Jobs, open_page: Callable[..., Probe]) -> None:
    stored = jobs.failed("stored")
    live = jobs.waiting("live")
    live_js = f"{board.url}/static/live.js"
    probe = open_page(f"{board.url}/")
    page = probe.page
    for job, payload in zip(stored, PAYLOADS, strict=True):
        response = page.goto(f"{board.url}/jobs/{quote(job.id, safe='')}")
        assert response is not None and response.status == 200
        check_detail(page, job, payload)
        assert_safe(probe, [live_js])

    for job, payload in zip(live, PAYLOADS, strict=True):
        response = page.goto(f"{board.url}/jobs/{quote(job.id, safe='')}")
        assert response is not None and response.status == 200
        wait_live(page)
        probe.mark()
        navigations = probe.navigations
        jobs.move(job, payload)  # every field redrawn by live.js
        expect(page.locator("#jt-timeline .note")).to_have_count(1, timeout=SETTLE_MS)
        check_detail(page, job, payload)
        probe.assert_not_reloaded(navigations)
        assert_safe(probe, [live_js])


def test_404_and_410_pages(board: Served, jobs: Jobs, open_page: Callable[..., Probe]) -> None:
    expiring = [jobs.create(p, "expired", timeout=0.2) for p in PAYLOADS]
    probe = open_page(f"{board.url}/")
    page = probe.page
    live_js = f"{board.url}/static/live.js"
    for payload in PAYLOADS:
        missing = job_id(payload, "missing")
        response = page.goto(f"{board.url}/jobs/{quote(missing, safe='')}")
        assert response is not None and response.status == 404
        expect(page.locator("main code.jobid")).to_have_text(missing)
        assert_safe(probe, [live_js])

    # an id the library refuses (U+202E is not printable): an error page, still literal
    response = page.goto(f"{board.url}/jobs/{quote(f'refused-{RLO}-id', safe='')}")
    assert response is not None and response.status == 422
    expect(page.locator("main")).to_contain_text("printable")
    assert_safe(probe, [live_js])

    wait_for(lambda: all(jobs.handler.status(j.id) == "expired" for j in expiring))  # lifetimes: time-based
    for job in expiring:
        response = page.goto(f"{board.url}/jobs/{quote(job.id, safe='')}")
        assert response is not None and response.status == 410
        expect(page.locator("main h1")).to_have_text("Job expired")
        expect(page.locator("main code.jobid")).to_have_text(job.id)
        assert_safe(probe, [live_js])


def test_login_page(
    redis_server: RedisServer, jobs: Jobs, context: BrowserContext, open_page: Callable[..., Probe]
) -> None:
    stored = jobs.failed("stored")
    with dashboard(redis_server, token="s3cret-token") as board:
        live_js = f"{board.url}/static/live.js"
        probe = open_page(f"{board.url}/login")
        page = probe.page
        try:
            assert_safe(probe, [live_js])
            for payload in PAYLOADS:  # where to go after logging in: an attribute's value
                response = page.goto(f"{board.url}/login?next=" + quote(f"/{payload}", safe=""))
                assert response is not None and response.status == 200
                expect(page.locator("input[name=next]")).to_have_value(f"/{payload}")
                assert_safe(probe, [live_js])
            # a page that needs the token sends the browser to log in, then back to it
            # (this id holds "/", "<" and ">": it must come back intact)
            job, payload = stored[2], PAYLOADS[2]
            response = page.goto(f"{board.url}/jobs/{quote(job.id, safe='')}")
            assert response is not None and response.status == 200
            assert page.url.startswith(f"{board.url}/login?next=")
            expect(page.locator("input[name=next]")).to_have_value(f"/jobs/{quote(job.id, safe='')}")
            assert_safe(probe, [live_js])
            page.locator("input[name=token]").fill(f"wrong {payload}")
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_have_text("That token is not right.")
            assert_safe(probe, [live_js])
            page.locator("input[name=token]").fill("s3cret-token")
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            expect(page.locator("h1 code.jobid")).to_have_text(job.id)
            check_detail(page, job, payload)
            assert_safe(probe, [live_js, f"{board.url}/static/actions.js"])  # a writer's page: its buttons
        finally:
            page.close()  # before the server stops: no stream left open


def test_widget(redis_server: RedisServer, jobs: Jobs, context: BrowserContext) -> None:
    stored = jobs.failed("stored")
    live = jobs.waiting("live")
    site_port = free_port()
    with (
        dashboard(redis_server, allow_origins=[f"http://127.0.0.1:{site_port}"]) as board,
        widget_host(board.url, site_port, defer=False) as site,
    ):
        probe = Probe(context.new_page())
        page = probe.page
        try:
            page.goto(f"{site.url}/?" + urlencode({"id": [j.id for j in stored + live]}, doseq=True))
            widget_js = [f"{board.url}/widget.js"]
            wait_until(
                page,
                """() => [...document.querySelectorAll("jobbertrack-job")]
                      .every((w) => ["failed", "waiting"].includes(w.getAttribute("state")))""",
                timeout=SETTLE_MS,
            )
            shown = {w["key"]: w for w in page.evaluate(WIDGETS_JS)}
            for job, payload in zip(stored, PAYLOADS, strict=True):
                assert shown[job.id] == {
                    "key": job.id,
                    "state": "failed",
                    "name": payload,
                    "badge": "failed",
                    "message": payload,
                }
            for job, payload in zip(live, PAYLOADS, strict=True):
                assert shown[job.id] == {
                    "key": job.id,
                    "state": "waiting",
                    "name": payload,
                    "badge": "waiting",
                    "message": "",
                }
            assert_safe(probe, widget_js)
            probe.mark()

            for job, payload in zip(live, PAYLOADS, strict=True):  # drawn live by the widget
                job.start()
                job.set_progress(1, 3, payload)
            wanted = json.dumps(
                {job.id: f"1/3 \u00b7 {payload}" for job, payload in zip(live, PAYLOADS, strict=True)}
            )
            wait_until(
                page,
                f"""() => Object.entries({wanted}).every(([id, text]) => {{
                  const w = document.querySelector(`jobbertrack-job[job-id="${{CSS.escape(id)}}"]`);
                  return w.shadowRoot.querySelector(".msg").textContent === text;
                }})""",
                timeout=SETTLE_MS,
            )
            assert_safe(probe, widget_js)
            for job, payload in zip(live, PAYLOADS, strict=True):
                job.fail({"reason": payload, "message": payload})
            wait_until(
                page,
                f"""() => {json.dumps([j.id for j in live])}.every((id) => document.querySelector(
                  `jobbertrack-job[job-id="${{CSS.escape(id)}}"]`).getAttribute("state") === "failed")""",
                timeout=SETTLE_MS,
            )
            shown = {w["key"]: w for w in page.evaluate(WIDGETS_JS)}
            for job, payload in zip(live, PAYLOADS, strict=True):
                assert shown[job.id] == {
                    "key": job.id,
                    "state": "failed",
                    "name": payload,
                    "badge": "failed",
                    "message": payload,
                }
            probe.assert_not_reloaded()
            assert_safe(probe, widget_js)
        finally:
            page.close()  # before the servers stop: no stream left open
