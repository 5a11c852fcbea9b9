"""Who may call what (token, login cookie, public reads, no token), the
headers every response carries, and which origins may use the API (CORS)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import free_port
from jobbertrack.web import create_app

from .conftest import AUTH, TOKEN, MakeApi, check_security_headers, eventually, writes

ALLOWED = "http://allowed.test"
EMPTY = {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}


def reads(job_id: str) -> list[str]:
    return [
        "/api/counts",
        "/api/jobs",
        "/api/jobs?state=waiting&limit=5",
        f"/api/jobs/{job_id}",
        f"/api/jobs/{job_id}/history",
        "/api/openapi.json",
        "/api/activity",
        "/metrics",
    ]


PAGES = ["/", "/jobs", "/jobs?state=failed"]


def writes_of(job_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/jobs", {"timeout": 60}),
        (f"/api/jobs/{job_id}/start", {}),
        (f"/api/jobs/{job_id}/progress", {"current": 1}),
        (f"/api/jobs/{job_id}/heartbeat", {}),
        (f"/api/jobs/{job_id}/finish", {}),
        (f"/api/jobs/{job_id}/fail", {}),
        ("/api/sweep", {}),
    ]


def check_refused(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, (r.request.url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == code and r.json()["message"]


# --- with a token ----------------------------------------------------------------------------


async def test_with_a_token_every_api_route_needs_it(make_api: MakeApi, track: Any, admin: Any) -> None:
    job = await track.create(60)
    api = await make_api(token=TOKEN)
    before = writes(admin)
    for credentials in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        for path in [*reads(job.id), "/api/events", f"/api/events?job={job.id}"]:
            r = await api.get(path, headers=credentials)
            check_refused(r, 401, "unauthorized")
            assert r.headers["www-authenticate"].lower().startswith("bearer")
        for path, body in writes_of(job.id):
            check_refused(await api.post(path, json=body, headers=credentials), 401, "unauthorized")
    assert writes(admin) == before
    assert (await track.get(job.id)).state == "waiting"  # type: ignore[union-attr]
    for path in reads(job.id):
        assert (await api.get(path, headers=AUTH)).status_code == 200, path
    assert (await api.get("/api/jobs", headers={"Authorization": f"bearer {TOKEN}"})).status_code == 200
    assert (await api.post(f"/api/jobs/{job.id}/start", headers=AUTH)).status_code == 200


async def test_with_a_token_pages_redirect_to_the_login_form(make_api: MakeApi, track: Any) -> None:
    job = await track.create(60)
    api = await make_api(token=TOKEN)
    for path in [*PAGES, f"/jobs/{job.id}"]:
        r = await api.get(path)
        assert r.status_code in (302, 303, 307), (path, r.status_code)
        assert r.headers["location"].startswith("/login?next="), r.headers["location"]
        assert TOKEN not in r.text
    login = await api.get("/login")
    assert login.status_code == 200 and "text/html" in login.headers["content-type"]
    assert 'name="token"' in login.text
    for open_path in ("/static/app.css", "/static/live.js", "/widget.js"):
        assert (await api.get(open_path)).status_code == 200, open_path


async def test_the_login_form_sets_a_strict_httponly_cookie(make_api: MakeApi, admin: Any) -> None:
    api = await make_api(token=TOKEN)
    r = await api.post("/login", data={"token": TOKEN, "next": "/jobs?state=failed"})
    assert r.status_code == 303
    assert r.headers["location"] == "/jobs?state=failed"
    raw_cookie = r.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(raw_cookie)
    (morsel,) = cookie.values()
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert TOKEN not in raw_cookie  # the cookie is not the token itself
    # the client keeps the cookie: it now authorises reads, pages and writes
    assert (await api.get("/api/counts")).json() == EMPTY
    assert (await api.get("/")).status_code == 200
    assert (await api.get("/jobs?state=failed")).status_code == 200
    created = await api.post("/api/jobs", json={"timeout": 60})
    assert created.status_code == 201
    assert (await api.post(f"/api/jobs/{created.json()['id']}/start")).status_code == 200
    # a write with the cookie from another origin's page is refused
    before = writes(admin)
    r = await api.post("/api/jobs", json={"timeout": 60}, headers={"Origin": "http://evil.test"})
    assert r.status_code == 403
    assert writes(admin) == before
    # logging out drops it
    out = await api.post("/logout")
    assert out.status_code == 303 and "jobbertrack_session" in out.headers["set-cookie"]
    assert not api.cookies
    check_refused(await api.get("/api/counts"), 401, "unauthorized")


async def test_a_wrong_token_on_the_form_is_401_and_sets_no_cookie(make_api: MakeApi) -> None:
    api = await make_api(token=TOKEN)
    for wrong in ("", "nope", TOKEN + "x", TOKEN[:-1]):
        r = await api.post("/login", data={"token": wrong, "next": "/"})
        assert r.status_code == 401
        assert "set-cookie" not in r.headers
        assert "text/html" in r.headers["content-type"]
    check_refused(await api.get("/api/counts"), 401, "unauthorized")
    for forged in ("forged", TOKEN, ""):
        r = await api.get("/api/counts", headers={"Cookie": f"jobbertrack_session={forged}"})
        check_refused(r, 401, "unauthorized")


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"]
)
async def test_the_login_form_never_redirects_off_site(make_api: MakeApi, target: str) -> None:
    api = await make_api(token=TOKEN)
    r = await api.post("/login", data={"token": TOKEN, "next": target})
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_public_read_opens_the_reads_only(make_api: MakeApi, track: Any, admin: Any) -> None:
    job = await track.create(60)
    api = await make_api(token=TOKEN, public_read=True)
    for path in [*reads(job.id), *PAGES, f"/jobs/{job.id}"]:
        assert (await api.get(path)).status_code == 200, path
    before = writes(admin)
    for path, body in writes_of(job.id):
        check_refused(await api.post(path, json=body), 401, "unauthorized")
        check_refused(
            await api.post(path, json=body, headers={"Authorization": "Bearer no"}), 401, "unauthorized"
        )
    assert writes(admin) == before
    assert (await api.post("/api/jobs", json={"timeout": 60}, headers=AUTH)).status_code == 201
    assert (await api.post(f"/api/jobs/{job.id}/start", headers=AUTH)).status_code == 200


async def test_without_a_token_reads_are_open_and_writes_are_403(
    make_api: MakeApi, track: Any, admin: Any
) -> None:
    job = await track.create(60)
    api = await make_api()
    for path in [*reads(job.id), *PAGES, f"/jobs/{job.id}"]:
        assert (await api.get(path)).status_code == 200, path
    before = writes(admin)
    for path, body in writes_of(job.id):
        check_refused(await api.post(path, json=body), 403, "writes_disabled")
        check_refused(await api.post(path, json=body, headers=AUTH), 403, "writes_disabled")
    assert writes(admin) == before
    assert await track.counts() == {**EMPTY, "waiting": 1}
    r = await api.post("/login", data={"token": TOKEN})
    assert r.status_code in (401, 403) and "set-cookie" not in r.headers


@pytest.mark.parametrize("token", ["", "   ", 42])
def test_an_empty_or_odd_token_is_refused(web_redis: Any, token: Any) -> None:
    client = web_redis.async_client()
    with pytest.raises(jobbertrack.JobberTrackError):
        create_app(jobbertrack.aio.Handler(client), token=token)


# --- headers on every response ----------------------------------------------------------------


async def test_every_response_carries_the_security_headers(
    make_api: MakeApi, track: Any, web_redis: Any
) -> None:
    job = await track.create(60)
    short = await track.create(0.1)
    finished = await track.create(60)
    await finished.start()
    await finished.finish()
    api = await make_api(token=TOKEN, allow_origins=[ALLOWED])
    open_api = await make_api()
    responses = [
        await api.get("/api/counts", headers=AUTH),  # 200
        await api.post("/api/jobs", json={"timeout": 60}, headers=AUTH),  # 201
        await api.get("/api/counts"),  # 401
        await api.post("/api/jobs", json={"timeout": 60}),  # 401
        await open_api.post("/api/jobs", json={"timeout": 60}),  # 403 writes_disabled
        await api.get("/api/counts", headers={"Origin": "http://evil.test", **AUTH}),  # 403 origin
        await api.get("/api/jobs/nope", headers=AUTH),  # 404 unknown
        await api.get("/api/no-such-route", headers=AUTH),  # 404 route
        await api.get("/no-such-page", headers=AUTH),  # 404 page route
        await api.get("/jobs/nope", headers=AUTH),  # 404 page
        await api.delete("/api/counts", headers=AUTH),  # 405
        await api.post(f"/api/jobs/{finished.id}/start", headers=AUTH),  # 409
        await api.post("/api/jobs", content=b"{", headers=AUTH),  # 422
        await api.get("/api/jobs?limit=0", headers=AUTH),  # 422
        await api.get("/", headers=AUTH),
        await api.get("/jobs", headers=AUTH),
        await api.get(f"/jobs/{job.id}", headers=AUTH),
        await api.get("/"),  # redirect to login
        await api.get("/login"),
        await api.post("/login", data={"token": "wrong"}),  # 401 page
        await api.post("/login", data={"token": TOKEN}),  # redirect with cookie
        await api.get("/static/app.css"),
        await api.get("/static/live.js"),
        await api.get("/static/no-such-file.js"),
        await api.get("/widget.js"),
        await api.get("/metrics", headers=AUTH),
        await api.get("/api/openapi.json", headers=AUTH),
        await api.options(
            "/api/jobs", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
        ),  # preflight
        await api.head("/api/counts", headers=AUTH),
    ]

    async def expired() -> bool:  # the record lives 0.1 s
        return (await api.get(f"/api/jobs/{short.id}", headers=AUTH)).status_code == 410

    await eventually(expired)
    responses.append(await api.get(f"/api/jobs/{short.id}", headers=AUTH))  # 410
    responses.append(await api.get(f"/jobs/{short.id}", headers=AUTH))  # 410 page
    closed = redis.asyncio.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    try:
        down = await make_api(jobbertrack.aio.Handler(closed), token=TOKEN, headers=AUTH)
        responses += [await down.get("/api/counts"), await down.get("/")]  # 503
    finally:
        await closed.aclose()
    statuses = {r.status_code for r in responses}
    assert {200, 201, 204, 303, 401, 403, 404, 405, 409, 410, 422, 503} <= statuses, statuses
    for r in responses:
        check_security_headers(r)


async def test_scripts_are_served_as_javascript(make_api: MakeApi) -> None:
    api = await make_api()
    for path in ("/widget.js", "/static/live.js"):
        r = await api.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
        assert "customElements" in r.text or "EventSource" in r.text


async def test_pages_hold_no_inline_script(make_api: MakeApi, track: Any) -> None:
    job = await track.create(60, name="<script>alert(1)</script>")
    api = await make_api()
    for path in ("/", "/jobs", f"/jobs/{job.id}", "/login"):
        html = (await api.get(path)).text
        for tag in html.split("<script")[1:]:
            attributes = tag.split(">", 1)[0]
            # a script is a file of the app's own, or inert JSON for it to read
            assert ' src="/' in attributes or 'type="application/json"' in attributes, (path, tag[:80])
        assert "<script>alert(1)</script>" not in html
        assert " onerror=" not in html and " onclick=" not in html


# --- origins ------------------------------------------------------------------------------------


async def test_an_allowed_origin_gets_cors_headers(make_api: MakeApi, track: Any) -> None:
    job = await track.create(60)
    api = await make_api(token=TOKEN, public_read=True, allow_origins=[ALLOWED])
    for path in ("/api/counts", f"/api/jobs/{job.id}", "/widget.js"):
        r = await api.get(path, headers={"Origin": ALLOWED})
        assert r.status_code == 200, path
        assert r.headers["access-control-allow-origin"] == ALLOWED
        assert "origin" in r.headers.get("vary", "").lower()
    write = await api.post("/api/jobs", json={"timeout": 60}, headers={"Origin": ALLOWED, **AUTH})
    assert write.status_code == 201
    assert write.headers["access-control-allow-origin"] == ALLOWED


async def test_a_preflight_from_an_allowed_origin_works(make_api: MakeApi) -> None:
    api = await make_api(token=TOKEN, allow_origins=[ALLOWED])
    r = await api.options(
        "/api/jobs/some-id/start",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert 200 <= r.status_code < 300
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed_headers = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


@pytest.mark.parametrize(
    "origin", ["http://evil.test", "http://allowed.test.evil.test", "https://allowed.test", "null"]
)
async def test_any_other_origin_is_refused(make_api: MakeApi, track: Any, admin: Any, origin: str) -> None:
    job = await track.create(60)
    api = await make_api(token=TOKEN, allow_origins=[ALLOWED])
    before = writes(admin)
    refused = [
        await api.get("/api/counts", headers={"Origin": origin, **AUTH}),
        await api.get(f"/api/jobs/{job.id}", headers={"Origin": origin, **AUTH}),
        await api.get("/api/events", headers={"Origin": origin, **AUTH}),
        await api.post("/api/jobs", json={"timeout": 60}, headers={"Origin": origin, **AUTH}),
        await api.post(f"/api/jobs/{job.id}/start", headers={"Origin": origin, **AUTH}),
        await api.options("/api/jobs", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}),
    ]
    for r in refused:
        assert r.status_code == 403, (r.request.method, r.request.url, r.status_code)
        assert "access-control-allow-origin" not in r.headers
        check_security_headers(r)
    assert writes(admin) == before
    assert (await track.get(job.id)).state == "waiting"  # type: ignore[union-attr]


async def test_without_allowed_origins_only_the_app_itself_may_call(make_api: MakeApi) -> None:
    api = await make_api(token=TOKEN, headers=AUTH)
    assert (await api.get("/api/counts", headers={"Origin": "http://testserver"})).status_code == 200
    assert (await api.get("/api/counts", headers={"Origin": ALLOWED})).status_code == 403


async def test_trusted_hosts_refuse_a_dns_rebinding_host(make_api: MakeApi) -> None:
    """A dashboard on loopback answers only to loopback names: a hostile page
    whose own name was rebound to 127.0.0.1 sends that name as Host."""
    client = await make_api(trusted_hosts=["localhost", "127.0.0.1", "::1"])
    refused = await client.get("/api/counts", headers={"host": "evil.example:8000"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_host"
    check_security_headers(refused)
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        ok = await client.get("/api/counts", headers={"host": host})
        assert ok.status_code == 200, host


async def test_the_favicon_is_served_to_anyone(make_api: MakeApi) -> None:
    """Browsers ask for /favicon.ico by themselves: no 404 in their console."""
    api = await make_api(token=TOKEN)  # no credentials sent
    icon = await api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.lstrip().startswith(b"<svg")
    check_security_headers(icon)
