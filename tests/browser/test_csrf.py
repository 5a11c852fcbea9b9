"""A page of another origin cannot press the dashboard's buttons for a
logged-in viewer (CSRF), in a real Chromium.

The attacker's page is served on another port of 127.0.0.1: the same
*site*, so the browser sends it the SameSite=Strict session cookie.  It
auto-submits forms (text/plain JSON, urlencoded, multipart) to every write
route the buttons use and sends fetches (no-cors, and CORS with a CSRF token
read from a dashboard page when it can).  Whether or not its origin is in
``allow_origins`` (which opens reads to it, with credentials), every write
that reaches the dashboard carries the cookie and is refused, and the jobs
are unchanged.  The dashboard's own button in the same browser works."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import BrowserContext, expect
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer, free_port
from jobbertrack.web import create_app

from .conftest import Probe, Served, static_site, wait_live
from .writer import TOKEN, buttons, log_in

pytestmark = pytest.mark.browser

WRITES = ("POST", "DELETE", "PUT", "PATCH")

#: The attacker's page: every form submits into a frame of its own; the
#: fetches run too; when all have settled, the title says so.
ATTACK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>cute cats</title></head><body>
<h1>Cute cats</h1>
{forms}
<script>
const dash = {dash}, waiting = {waiting}, failed = {failed};
const enc = encodeURIComponent, results = [];
const framesLoaded = [...document.querySelectorAll("iframe")].map(
  (f) => new Promise((done) => f.addEventListener("load", done, {{ once: true }})));
document.querySelectorAll("form").forEach((f) => f.submit());
const note = (p) => (what) => p.then(
  (r) => results.push(what + ": answered " + r.status + " " + r.type),
  (e) => results.push(what + ": refused by the browser (" + e + ")"));
const stealThenWrite = fetch(dash + "/jobs", {{ credentials: "include" }})
  .then((r) => r.text(), () => "")  // a page it may not read: no token
  .then((html) => {{
    const token = (html.match(/name="jt-csrf" content="([0-9a-f]+)"/) || [, ""])[1];
    results.push("stole a CSRF token: " + (token !== ""));
    return fetch(dash + "/api/jobs/" + enc(waiting) + "/cancel", {{ method: "POST", credentials: "include",
      headers: {{ "Content-Type": "application/json", "X-CSRF-Token": token }}, body: "{{}}" }});
  }});
const fetches = [
  note(fetch(dash + "/api/jobs/" + enc(waiting) + "/cancel", {{ method: "POST", mode: "no-cors",
    credentials: "include", headers: {{ "Content-Type": "text/plain" }},
    body: '{{"reason": "pwned"}}' }}))("no-cors cancel"),
  note(fetch(dash + "/api/retry", {{ method: "POST", mode: "no-cors", credentials: "include",
    body: '{{"state": "failed"}}' }}))("no-cors retry all"),
  note(fetch(dash + "/api/jobs/" + enc(failed), {{ method: "DELETE", credentials: "include" }}))("delete"),
  note(fetch(dash + "/api/jobs/" + enc(failed) + "/retry", {{ method: "POST", credentials: "include",
    headers: {{ "Content-Type": "application/json" }}, body: "{{}}" }}))("json retry"),
  note(stealThenWrite)("cancel with a stolen token"),
];
Promise.all([...framesLoaded, ...fetches]).then(() => {{
  window.__results = results;
  document.title = "done";
}});
</script>
</body></html>"""

FORM = """<iframe name="sink{n}" title="sink"></iframe>
<form method="post" action="{action}" enctype="{enctype}" target="sink{n}">{fields}</form>"""


def forms(dash: str, waiting: str, failed: str) -> str:
    """Forms for every write route a button uses that a form can reach (a form cannot DELETE)."""
    as_json = '<input name=\'{"reason": "pwned", "x": "\' value=\'"}\'>'  # text/plain: a JSON body
    routes = [
        f"{dash}/api/jobs/{waiting}/cancel",
        f"{dash}/api/jobs/{failed}/retry",
        f"{dash}/api/retry",
        f"{dash}/api/jobs/{failed}",
    ]
    made = []
    for action in routes:
        for enctype, fields in (
            ("text/plain", as_json),
            ("application/x-www-form-urlencoded", '<input name="reason" value="pwned">'),
            ("multipart/form-data", '<input name="state" value="failed">'),
        ):
            made.append(FORM.format(n=len(made), action=action, enctype=enctype, fields=fields))
    return "\n".join(made)


class Recorder:
    """Around the dashboard: what each request carried and what it was answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "cookie": "jobbertrack_session=" in headers.get("cookie", ""),
            "site": headers.get("sec-fetch-site"),
            "origin": headers.get("origin"),
            "status": None,
            "error": None,
        }
        self.seen.append(entry)
        body = b""

        async def recording_send(message: Message) -> None:
            nonlocal body
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body" and entry["status"] >= 400:
                body += message.get("body", b"")
                if not message.get("more_body"):
                    entry["error"] = json.loads(body).get("error") if body.startswith(b"{") else None
            await send(message)

        await self.app(scope, receive, recording_send)


def recorded_dashboard(redis: RedisServer, **options: Any) -> tuple[Served, Recorder]:
    recorder: list[Recorder] = []

    async def build() -> tuple[Any, Callable[[], Awaitable[None]]]:
        client = jobbertrack.aio.connect(redis.url)
        recorder.append(Recorder(create_app(jobbertrack.aio.Handler(client), **options)))
        return recorder[0], client.aclose

    served = Served(build)
    served.start()
    return served, recorder[0]


@pytest.fixture
def attacker_port() -> int:
    return free_port()


class Target(NamedTuple):
    board: Served
    recorder: Recorder
    allowed: bool  # the attacker's origin is in allow_origins


@pytest.fixture(params=["origin-refused", "origin-allowed"])
def target(request: pytest.FixtureRequest, redis_server: RedisServer, attacker_port: int) -> Iterator[Target]:
    """The dashboard with a token; the attacker's origin is in its
    ``allow_origins`` (reads open to it, with credentials) or not."""
    allowed = request.param == "origin-allowed"
    origins = [f"http://127.0.0.1:{attacker_port}"] if allowed else []
    served, recorder = recorded_dashboard(redis_server, token=TOKEN, allow_origins=origins)
    try:
        yield Target(served, recorder, allowed)
    finally:
        served.stop()


def snapshot(track: jobbertrack.Handler, *jobs: jobbertrack.Resource) -> list[Any]:
    return [(track.status(j.id), [e["to"] for e in track.get(j.id).history()]) for j in jobs]  # type: ignore[union-attr]


def test_a_page_of_another_origin_cannot_press_any_button(
    target: Target,
    attacker_port: int,
    track: jobbertrack.Handler,
    context: BrowserContext,
) -> None:
    board, recorder, allowed = target
    waiting = track.create(name="victim-waiting")
    failed = track.create(name="victim-failed")
    failed.start()
    failed.fail("disk full")
    before = snapshot(track, waiting, failed)
    counts = track.counts()

    victim = context.new_page()
    log_in(victim, board.url)  # the viewer is logged in: the browser holds the session cookie
    victim.close()

    def attack(request: Any) -> Any:
        page = ATTACK_PAGE.format(
            forms=forms(board.url, waiting.id, failed.id),
            dash=json.dumps(board.url),
            waiting=json.dumps(waiting.id),
            failed=json.dumps(failed.id),
        )
        return HTMLResponse(page)

    with static_site(attack, attacker_port) as site:
        page = context.new_page()
        try:
            recorder.seen.clear()
            page.goto(f"{site.url}/")
            expect(page).to_have_title("done", timeout=15_000)
            results = page.evaluate("window.__results")
        finally:
            page.close()

    assert snapshot(track, waiting, failed) == before, results
    assert track.counts() == counts
    writes = [r for r in recorder.seen if r["method"] in WRITES]
    assert len(writes) >= 12 + 2, (results, recorder.seen)  # 12 forms, 2 no-cors fetches at least
    assert all(r["cookie"] for r in writes), writes  # the browser did send the cookie: same site
    assert all(r["status"] == 403 for r in writes), writes
    # refused by the origin check, or (an allowed origin) by the CSRF check for cookie writes
    assert {r["error"] for r in writes} == {"csrf" if allowed else "forbidden_origin"}, writes
    # an allowed origin may even read a page and its CSRF token: it still cannot write with it,
    # since the browser never sends a header that the CORS preflight did not grant
    assert f"stole a CSRF token: {str(allowed).lower()}" in results, results
    stolen = [line for line in results if line.startswith("cancel with a stolen token")]
    assert len(stolen) == 1 and "refused by the browser" in stolen[0], results


def test_the_dashboards_own_button_works_in_that_browser(
    target: Target, track: jobbertrack.Handler, context: BrowserContext
) -> None:
    board, recorder, _ = target
    job = track.create(name="mine")
    page = context.new_page()
    probe = Probe(page)
    try:
        log_in(page, board.url)
        page.goto(f"{board.url}/jobs/{job.id}")
        wait_live(page)
        assert buttons(page) == ["cancel"]
        page.once("dialog", lambda d: d.accept("by hand"))
        page.locator("[data-action=cancel]").click()
        expect(page.locator("h1 [data-field=state]")).to_have_text("cancelled")
        (sent,) = [r for r in recorder.seen if r["method"] == "POST" and r["path"].endswith("/cancel")]
        assert sent["cookie"] and sent["site"] == "same-origin" and sent["status"] == 200
        assert sent["origin"] == board.url
        probe.assert_clean()
    finally:
        page.close()
