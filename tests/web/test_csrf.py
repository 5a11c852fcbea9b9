"""Cross-site request forgery: a write authenticated by the login cookie
needs the page's X-CSRF-Token and may not come from another site or
origin (403 ``csrf``); a bearer write needs neither; the token and the
action buttons are in the pages of a viewer who may write, and only there."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from .conftest import AUTH, TOKEN, MakeApi, writes

ALLOWED = "http://allowed.test"
META = re.compile(r'<meta name="jt-csrf" content="([0-9a-f]+)">')


async def logged_in(make_api: MakeApi, **options: Any) -> tuple[httpx.AsyncClient, str]:
    """A client holding the session cookie of the login form, and the CSRF
    token its pages carry."""
    api = await make_api(token=TOKEN, **options)
    assert (await api.post("/login", data={"token": TOKEN, "next": "/"})).status_code == 303
    page = await api.get("/jobs")
    assert page.status_code == 200
    found = META.search(page.text)
    assert found, "a logged-in viewer's page carries the CSRF token"
    return api, found.group(1)


async def failed_job(track: Any) -> Any:
    job = await track.create(60)
    await job.start()
    await job.fail("disk full")
    return job


def writes_to(waiting: str, failed: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every write a button or a script may send."""
    return [
        ("POST", f"/api/jobs/{waiting}/cancel", {"reason": "no"}),
        ("POST", f"/api/jobs/{failed}/retry", {}),
        ("DELETE", f"/api/jobs/{failed}", None),
        ("POST", "/api/retry", {"state": "failed"}),
        ("POST", "/api/jobs", {"timeout": 60}),
        ("POST", f"/api/jobs/{waiting}/start", {}),
        ("POST", "/api/sweep", {}),
        ("POST", "/api/clean", {"state": "failed", "older_than": 0}),
    ]


async def send(api: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if body is None:
        return await api.request(method, path, headers=headers)
    return await api.request(method, path, json=body, headers=headers)


def check_csrf(r: httpx.Response) -> None:
    assert r.status_code == 403, (r.request.method, r.request.url, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "csrf" and r.json()["message"], r.json()


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no token
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "0" * 64},  # a wrong one
        {"X-CSRF-Token": TOKEN},  # the dashboard token is not the CSRF token
    ],
    ids=["missing", "empty", "wrong", "the-token"],
)
async def test_a_cookie_write_without_the_pages_token_is_403_csrf(
    make_api: MakeApi, track: Any, admin: Any, headers: dict[str, str]
) -> None:
    waiting, failed = await track.create(60), await failed_job(track)
    api, _ = await logged_in(make_api)
    before = writes(admin)
    browser = {"Sec-Fetch-Site": "same-origin", **headers}  # what a browser says of its own page's fetch
    for method, path, body in writes_to(waiting.id, failed.id):
        check_csrf(await send(api, method, path, body, browser))
    assert writes(admin) == before
    assert (await track.get(waiting.id)).state == "waiting"
    assert (await track.get(failed.id)).state == "failed"


async def test_a_browsers_same_origin_write_without_the_token_is_403_even_by_origin(
    make_api: MakeApi, track: Any, admin: Any
) -> None:
    """An old browser without ``Sec-Fetch-Site`` still says ``Origin``: the token is asked of it too."""
    waiting = await track.create(60)
    api, _ = await logged_in(make_api)
    before = writes(admin)
    check_csrf(
        await api.post(f"/api/jobs/{waiting.id}/cancel", json={}, headers={"Origin": "http://testserver"})
    )
    assert writes(admin) == before


async def test_a_cookie_write_that_no_browser_sent_needs_no_token(make_api: MakeApi, track: Any) -> None:
    """A script that logged in with the form (no ``Origin``, no ``Sec-Fetch-Site``):
    no page can forge such a request, so the cookie is enough, as before the token."""
    waiting = await track.create(60)
    api, _ = await logged_in(make_api)
    r = await api.post(f"/api/jobs/{waiting.id}/cancel", json={"reason": "script"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


async def test_a_cookie_write_with_the_pages_token_goes_through(make_api: MakeApi, track: Any) -> None:
    waiting, failed = await track.create(60), await failed_job(track)
    api, csrf = await logged_in(make_api)
    headers = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    r = await api.post(f"/api/jobs/{waiting.id}/cancel", json={"reason": "wrong input"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"
    assert r.json()["error"] == {"reason": "cancelled", "message": "wrong input"}
    r = await api.post(f"/api/jobs/{waiting.id}/retry", json={}, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "waiting"
    assert (await api.post("/api/retry", json={"state": "failed"}, headers=headers)).json() == {"retried": 1}
    assert (await api.delete(f"/api/jobs/{failed.id}", headers=headers)).status_code == 204
    assert await track.status(failed.id) == "deleted"
    gone = await api.get(f"/jobs/{failed.id}")
    assert gone.status_code == 404 and "<h1>Job deleted</h1>" in gone.text
    # no Sec-Fetch-Site and no Origin (an older browser, a same-origin GET-less client): the token suffices
    r = await api.post(f"/api/jobs/{waiting.id}/cancel", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


@pytest.mark.parametrize("site", ["cross-site", "same-site", "CROSS-SITE"])
async def test_a_cookie_write_from_another_site_is_403_even_with_the_token(
    make_api: MakeApi, track: Any, admin: Any, site: str
) -> None:
    waiting, failed = await track.create(60), await failed_job(track)
    api, csrf = await logged_in(make_api)
    before = writes(admin)
    for method, path, body in writes_to(waiting.id, failed.id):
        r = await send(api, method, path, body, {"X-CSRF-Token": csrf, "Sec-Fetch-Site": site})
        check_csrf(r)
        assert "Sec-Fetch-Site" in r.json()["message"]
    assert writes(admin) == before


async def test_an_allowed_origin_may_read_but_never_write_with_the_cookie(
    make_api: MakeApi, track: Any, admin: Any
) -> None:
    """``allow_origins`` opens the API to the pages of another origin (CORS
    with credentials), for reads: even with the CSRF token, which such a
    page could read, a cookie write from it is refused.  With the bearer
    token it may write."""
    waiting, failed = await track.create(60), await failed_job(track)
    api, csrf = await logged_in(make_api, allow_origins=[ALLOWED])
    read = await api.get("/api/counts", headers={"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"})
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == ALLOWED
    before = writes(admin)
    for method, path, body in writes_to(waiting.id, failed.id):
        for site in ({}, {"Sec-Fetch-Site": "cross-site"}):
            check_csrf(await send(api, method, path, body, {"X-CSRF-Token": csrf, "Origin": ALLOWED, **site}))
    assert writes(admin) == before
    r = await api.post(
        f"/api/jobs/{waiting.id}/cancel",
        json={},
        headers={**AUTH, "Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"},
    )
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


async def test_a_bearer_write_needs_no_csrf_token(make_api: MakeApi, track: Any) -> None:
    """Scripts and curl send the token itself: no cookie, no CSRF token,
    whatever Sec-Fetch-Site says (a page cannot set Authorization)."""
    waiting, failed = await track.create(60), await failed_job(track)
    api = await make_api(token=TOKEN, headers=AUTH)
    r = await api.post(f"/api/jobs/{waiting.id}/cancel", json={"reason": "by script"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = await api.post(f"/api/jobs/{failed.id}/retry", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200 and r.json()["state"] == "waiting"
    assert (await api.delete(f"/api/jobs/{waiting.id}")).status_code == 204
    # a right bearer token wins over a cookie sent along (no CSRF token needed)
    cookie_api, _ = await logged_in(make_api)
    assert (await cookie_api.post("/api/jobs", json={"timeout": 60}, headers=AUTH)).status_code == 201
    # a wrong bearer token with the cookie is a cookie write: it needs the CSRF token
    wrong = {"Authorization": "Bearer no", "Sec-Fetch-Site": "same-origin"}
    check_csrf(await cookie_api.post("/api/jobs", json={"timeout": 60}, headers=wrong))


async def test_the_csrf_token_is_an_hmac_of_the_session(make_api: MakeApi) -> None:
    api, csrf = await logged_in(make_api)
    _, csrf_again = await logged_in(make_api)  # another app (process) on the same token
    assert csrf == csrf_again  # derived, not stored: any process of the same token agrees
    session = api.cookies["jobbertrack_session"]
    assert csrf not in (session, TOKEN) and TOKEN not in csrf and len(csrf) == 64
    different = await make_api(token=TOKEN + "-rotated")
    assert (await different.post("/login", data={"token": TOKEN + "-rotated"})).status_code == 303
    page = await different.get("/jobs")
    found = META.search(page.text)
    assert found and found.group(1) != csrf  # a new token makes new sessions and new CSRF tokens


async def test_the_login_and_logout_forms_still_work(make_api: MakeApi) -> None:
    """Our forms post with ``Origin: null`` (the pages' no-referrer policy)
    and without the CSRF header: the login form needs the token anyway."""
    api = await make_api(token=TOKEN)
    r = await api.post("/login", data={"token": TOKEN, "next": "/jobs"}, headers={"Origin": "null"})
    assert r.status_code == 303 and "jobbertrack_session" in r.headers["set-cookie"]
    assert (await api.get("/api/counts")).status_code == 200
    out = await api.post("/logout", headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert out.status_code == 303
    assert (await api.get("/api/counts")).status_code == 401


async def test_buttons_and_token_are_only_in_a_writers_pages(make_api: MakeApi, track: Any) -> None:
    job = await failed_job(track)
    pages = [f"/jobs/{job.id}", "/jobs?state=failed", "/jobs", "/"]
    viewers = {
        "no token": await make_api(),
        "public read, no session": await make_api(token=TOKEN, public_read=True),
    }
    for who, api in viewers.items():
        for path in pages:
            html = (await api.get(path)).text
            assert "jt-csrf" not in html and "data-action" not in html, (who, path)
            assert "actions.js" not in html and "jt-action-status" not in html, (who, path)
    bearer = await make_api(token=TOKEN, public_read=True, headers=AUTH)
    cookie, csrf = await logged_in(make_api, public_read=True)
    for api in (bearer, cookie):
        detail = (await api.get(f"/jobs/{job.id}")).text
        assert f'<meta name="jt-csrf" content="{csrf}">' in detail
        assert "/static/actions.js" in detail and 'id="jt-action-status"' in detail
        assert re.findall(r'data-action="([a-z-]+)"', detail) == ["retry", "delete"]
        failed_list = (await api.get("/jobs?state=failed")).text
        assert re.findall(r'data-action="([a-z-]+)"', failed_list) == ["retry-all"]
        for path in ("/jobs", "/jobs?state=waiting", "/"):
            assert "data-action" not in (await api.get(path)).text, path


@pytest.mark.parametrize(
    ("moves", "buttons"),
    [
        ([], ["cancel"]),
        (["start"], ["cancel"]),
        (["start", "finish"], ["delete"]),
        (["start", "fail"], ["retry", "delete"]),
        (["cancel"], ["retry", "delete"]),
    ],
    ids=["waiting", "running", "finished", "failed", "cancelled"],
)
async def test_a_jobs_page_offers_the_moves_its_state_allows(
    make_api: MakeApi, track: Any, moves: list[str], buttons: list[str]
) -> None:
    job = await track.create(60)
    for move in moves:
        await getattr(job, move)()
    api = await make_api(token=TOKEN, headers=AUTH)
    detail = (await api.get(f"/jobs/{job.id}")).text
    assert re.findall(r'data-action="([a-z-]+)"', detail) == buttons
    assert f'data-api="/api/jobs/{job.id}"' in detail
