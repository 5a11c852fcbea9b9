"""The JSON API through httpx's ASGI transport, on a private redis-server:
every route's shape, every error code, ids that need percent-encoding, the
app mounted under a prefix, and the handlers it accepts."""

from __future__ import annotations

import re
from datetime import datetime
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette
from starlette.routing import Mount

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer, free_port
from jobbertrack.web import create_app

from .conftest import AUTH, TOKEN, ChosenIds, MakeApi, asgi_client, eventually, snapshot, writes

STATES = ("waiting", "running", "failed", "finished", "cancelled")
#: redis-py retries a refused connection for seconds by default: fail at once
#: (the asyncio client takes redis.asyncio's Retry; redis-py 8.2 warns at a sync one)
NO_RETRY = Retry(NoBackoff(), 0)
JOB_KEYS = {
    "id",
    "state",
    "name",
    "data",
    "input",
    "result",
    "progress",
    "error",
    "created_at",
    "started_at",
    "ended_at",
}


def iso(value: str) -> datetime:
    """An ISO 8601 time with a UTC offset."""
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, value
    return parsed


def check_job(body: dict[str, Any], job_id: str, state: str) -> None:
    assert set(body) >= JOB_KEYS, body
    assert body["id"] == job_id
    assert body["state"] == state
    iso(body["created_at"])
    for key in ("started_at", "ended_at", "expires_at"):
        if body.get(key) is not None:
            iso(body[key])


async def every_state(track: jobbertrack.aio.Handler) -> dict[str, Any]:
    """One job in each state (created in this order: waiting is the oldest)."""
    waiting = await track.create(60, name="w", data={"n": 1})
    running = await track.create(60, name="r")
    await running.start()
    await running.set_progress(3, 10, "pages")
    finished = await track.create(60, name="f")
    await finished.start()
    await finished.finish({"rows": 3})
    failed = await track.create(60, name="x")
    await failed.start()
    await failed.fail("boom")
    cancelled = await track.create(60, name="c")
    await cancelled.cancel("not now")
    return {
        "waiting": waiting,
        "running": running,
        "finished": finished,
        "failed": failed,
        "cancelled": cancelled,
    }


# --- reads -------------------------------------------------------------------------------


async def test_counts_has_exactly_the_states_of_the_table(api: httpx.AsyncClient, track: Any) -> None:
    r = await api.get("/api/counts")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}
    await every_state(track)
    await track.create(60)
    assert (await api.get("/api/counts")).json() == {
        "waiting": 2,
        "running": 1,
        "failed": 1,
        "finished": 1,
        "cancelled": 1,
    }


async def test_a_job_is_its_value_with_its_id(api: httpx.AsyncClient, track: Any) -> None:
    jobs = await every_state(track)
    for state, job in jobs.items():
        r = await api.get(f"/api/jobs/{job.id}")
        assert r.status_code == 200
        body = r.json()
        check_job(body, job.id, state)
        await job.refresh()
        value = job.get_value()
        keys = ("state", "name", "data", "input", "result", "progress")
        assert {k: body[k] for k in keys} == {k: value.get(k) for k in keys}
    running = (await api.get(f"/api/jobs/{jobs['running'].id}")).json()
    assert running["progress"] == {"current": 3, "total": 10, "message": "pages"}
    assert running["started_at"] is not None and running["ended_at"] is None
    finished = (await api.get(f"/api/jobs/{jobs['finished'].id}")).json()
    assert finished["data"] == finished["result"] == {"rows": 3}
    assert iso(finished["ended_at"]) >= iso(finished["started_at"]) >= iso(finished["created_at"])
    failed = (await api.get(f"/api/jobs/{jobs['failed'].id}")).json()
    assert failed["error"]["message"] == "boom"
    assert failed["error"]["reason"] == "error"
    waiting = (await api.get(f"/api/jobs/{jobs['waiting'].id}")).json()
    assert waiting["data"] == waiting["input"] == {"n": 1} and waiting["result"] is None


async def test_history_lists_every_move_oldest_first(api: httpx.AsyncClient, track: Any) -> None:
    jobs = await every_state(track)
    r = await api.get(f"/api/jobs/{jobs['finished'].id}/history")
    assert r.status_code == 200
    history = r.json()
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "finished"),
    ]
    times = [iso(h["at"]) for h in history]
    assert times == sorted(times)
    waiting = (await api.get(f"/api/jobs/{jobs['waiting'].id}/history")).json()
    assert [(h["from"], h["to"]) for h in waiting] == [(None, "waiting")]


async def test_list_is_newest_first_with_every_state_by_default(api: httpx.AsyncClient, track: Any) -> None:
    jobs = await every_state(track)
    r = await api.get("/api/jobs")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"jobs", "cursor"}
    assert body["cursor"] is None
    newest_first = [jobs[s].id for s in ("cancelled", "failed", "finished", "running", "waiting")]
    assert [j["id"] for j in body["jobs"]] == newest_first
    for job in body["jobs"]:
        check_job(job, job["id"], job["state"])


async def test_list_filters_by_one_or_several_states(api: httpx.AsyncClient, track: Any) -> None:
    jobs = await every_state(track)
    for state in STATES:
        body = (await api.get("/api/jobs", params={"state": state})).json()
        assert [j["id"] for j in body["jobs"]] == [jobs[state].id]
        assert {j["state"] for j in body["jobs"]} == {state}
    both = (await api.get("/api/jobs", params=[("state", "failed"), ("state", "waiting")])).json()
    assert [j["id"] for j in both["jobs"]] == [jobs["failed"].id, jobs["waiting"].id]


async def test_list_pages_with_cursors_newest_first(api: httpx.AsyncClient, track: Any) -> None:
    created = [await track.create(60, name=f"job{i}") for i in range(7)]
    for job in created[::2]:
        await job.start()
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await api.get("/api/jobs", params=params)).json()
        assert len(body["jobs"]) <= 3
        seen += [j["id"] for j in body["jobs"]]
        pages += 1
        cursor = body["cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert seen == [j.id for j in reversed(created)]
    assert pages == 3
    running = (await api.get("/api/jobs", params={"state": "running", "limit": 2})).json()
    assert [j["id"] for j in running["jobs"]] == [created[6].id, created[4].id]
    rest = (await api.get("/api/jobs", params={"state": "running", "cursor": running["cursor"]})).json()
    assert [j["id"] for j in rest["jobs"]] == [created[2].id, created[0].id]
    assert rest["cursor"] is None


async def test_list_limit_defaults_to_50_and_goes_up_to_500(api: httpx.AsyncClient, track: Any) -> None:
    await track.create_many(501, 60)
    default = (await api.get("/api/jobs")).json()
    assert len(default["jobs"]) == 50 and default["cursor"] is not None
    assert len((await api.get("/api/jobs", params={"limit": 1})).json()["jobs"]) == 1
    most = (await api.get("/api/jobs", params={"limit": 500})).json()
    assert len(most["jobs"]) == 500 and most["cursor"] is not None
    last = (await api.get("/api/jobs", params={"limit": 500, "cursor": most["cursor"]})).json()
    assert len(last["jobs"]) == 1 and last["cursor"] is None


async def test_openapi_document_lists_the_routes(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    paths = doc["paths"]
    reads = ["/api/counts", "/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/history", "/api/events"]
    for path in reads:
        assert "get" in paths[path], path
    assert "post" in paths["/api/jobs"]
    for action in ("start", "progress", "heartbeat", "finish", "fail"):
        assert "post" in paths[f"/api/jobs/{{id}}/{action}"], action
    assert "post" in paths["/api/sweep"]
    assert "201" in paths["/api/jobs"]["post"]["responses"]
    start = paths["/api/jobs/{id}/start"]["post"]["responses"]
    assert {"200", "404", "409", "410"} <= set(start)
    assert any(p["name"] == "id" and p["in"] == "path" for p in paths["/api/jobs/{id}"]["get"]["parameters"])
    app = create_app(jobbertrack.aio.Handler(redis.asyncio.Redis()))
    for route in app.routes:  # every API route is documented
        path = getattr(route, "path", "")
        if path.startswith("/api/") and "{rest" not in path and path != "/api/openapi.json":
            assert path in paths, path


async def test_activity_says_its_times_in_iso_8601(api: httpx.AsyncClient, track: Any) -> None:
    await (await track.create(60)).start()
    body = (await api.get("/api/activity")).json()
    assert len(body["minutes"]) == 60 and isinstance(body["status"], str)
    start, end = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    assert start.utcoffset() is not None and (end - start).total_seconds() == 3600
    ats = [datetime.fromisoformat(m["at"]) for m in body["minutes"]]
    assert ats[0] == start and all((b - a).total_seconds() == 60 for a, b in pairwise(ats))


# --- writes ------------------------------------------------------------------------------


async def test_create_answers_201_with_the_job(api: httpx.AsyncClient, track: Any) -> None:
    r = await api.post("/api/jobs", json={"timeout": 60, "name": "nightly", "data": {"a": [1, 2]}})
    assert r.status_code == 201
    body = r.json()
    check_job(body, body["id"], "waiting")
    assert body["name"] == "nightly" and body["data"] == {"a": [1, 2]}
    stored = await track.get(body["id"])
    assert stored is not None and stored.state == "waiting" and stored.data == {"a": [1, 2]}
    assert stored.name == "nightly"
    plain = await api.post("/api/jobs", json={"timeout": 1.5})
    assert plain.status_code == 201
    assert plain.json()["data"] is None and plain.json()["name"] is None
    expires = iso(plain.json()["expires_at"]) - iso(plain.json()["created_at"])
    assert expires.total_seconds() == pytest.approx(1.5, abs=0.01)


async def test_every_move_answers_200_with_the_job(api: httpx.AsyncClient, track: Any) -> None:
    job_id = (await api.post("/api/jobs", json={"timeout": 60})).json()["id"]
    r = await api.post(f"/api/jobs/{job_id}/start", json={"lease": 30, "max_runtime": 50})
    assert r.status_code == 200
    check_job(r.json(), job_id, "running")
    assert r.json()["started_at"] is not None
    r = await api.post(f"/api/jobs/{job_id}/progress", json={"current": 4, "total": 8, "message": "half"})
    assert r.status_code == 200
    assert r.json()["progress"] == {"current": 4, "total": 8, "message": "half"}
    r = await api.post(f"/api/jobs/{job_id}/progress", json={"current": 5})
    assert r.status_code == 200 and r.json()["progress"]["current"] == 5
    r = await api.post(f"/api/jobs/{job_id}/heartbeat", json={})
    assert r.status_code == 200
    check_job(r.json(), job_id, "running")
    r = await api.post(f"/api/jobs/{job_id}/finish", json={"data": {"rows": 9}})
    assert r.status_code == 200
    check_job(r.json(), job_id, "finished")
    assert r.json()["data"] == {"rows": 9} and r.json()["ended_at"] is not None
    stored = await track.get(job_id)
    assert stored is not None and stored.state == "finished" and stored.data == {"rows": 9}

    other = (await api.post("/api/jobs", json={"timeout": 60})).json()["id"]
    assert (await api.post(f"/api/jobs/{other}/start")).status_code == 200  # no body at all
    r = await api.post(f"/api/jobs/{other}/fail", json={"message": "disk full"})
    assert r.status_code == 200
    check_job(r.json(), other, "failed")
    assert r.json()["error"]["message"] == "disk full"
    history = (await api.get(f"/api/jobs/{other}/history")).json()
    assert [h["to"] for h in history] == ["waiting", "running", "failed"]


async def test_sweep_fails_stalled_jobs_and_says_how_many(api: httpx.AsyncClient, track: Any) -> None:
    r = await api.post("/api/sweep", json={})
    assert r.status_code == 200 and r.json() == {"failed": 0}
    stalled = await track.create(60)
    await stalled.start(lease=0.05)
    healthy = await track.create(60)
    await healthy.start(lease=60)

    async def swept() -> int:
        failed: int = (await api.post("/api/sweep", json={})).json()["failed"]
        return failed

    assert await eventually(swept) == 1
    assert (await track.get(stalled.id)).state == "failed"  # type: ignore[union-attr]
    assert (await track.get(healthy.id)).state == "running"  # type: ignore[union-attr]


async def test_the_overview_agrees_with_itself_before_a_stall_is_read(
    api: httpx.AsyncClient, track: Any
) -> None:
    """Its count of failed jobs and its latest failures come from the same
    rule: a job past its lease is failed there, read or not."""
    for _ in range(2):
        await (await track.create(60)).start(lease=0.05)
    await (await track.create(60)).start(lease=60)

    async def failed() -> bool:
        return (await track.counts())["failed"] == 2  # counting reads no record and settles nothing

    await eventually(failed)
    page = (await api.get("/")).text
    assert re.search(r'data-count="failed">\s*2\s*<', page)
    table = page.split('id="jt-failures"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-job-id=") == 2 and table.count("stalled") >= 2


# --- errors ------------------------------------------------------------------------------


def check_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


async def test_unknown_job_is_404_on_every_route(api: httpx.AsyncClient, admin: Any) -> None:
    before = writes(admin)
    check_error(await api.get("/api/jobs/no-such-job"), 404, "unknown")
    check_error(await api.get("/api/jobs/no-such-job/history"), 404, "unknown")
    for action in ("start", "progress", "heartbeat", "finish", "fail"):
        body = {"current": 1} if action == "progress" else {}
        check_error(await api.post(f"/api/jobs/no-such-job/{action}", json=body), 404, "unknown")
    assert writes(admin) == before


async def test_expired_job_is_410(api: httpx.AsyncClient, track: Any, admin: Any) -> None:
    job_id = (await api.post("/api/jobs", json={"timeout": 0.2})).json()["id"]

    async def gone() -> bool:
        return (await api.get(f"/api/jobs/{job_id}")).status_code != 200

    await eventually(gone)
    body = check_error(await api.get(f"/api/jobs/{job_id}"), 410, "expired")
    assert body["job_id"] == job_id
    check_error(await api.get(f"/api/jobs/{job_id}/history"), 410, "expired")
    before = writes(admin)
    check_error(await api.post(f"/api/jobs/{job_id}/start"), 410, "expired")
    assert writes(admin) == before
    assert await track.counts() == {"waiting": 0, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}


async def test_illegal_move_is_409_with_current_and_target(
    api: httpx.AsyncClient, track: Any, admin: Any
) -> None:
    waiting = await track.create(60)
    finished = await track.create(60)
    await finished.start()
    await finished.finish()
    counts = await track.counts()
    before = writes(admin)
    for job_id, action, current, target in [
        (waiting.id, "finish", "waiting", "finished"),
        (waiting.id, "fail", "waiting", "failed"),
        (waiting.id, "heartbeat", "waiting", "running"),
        (finished.id, "start", "finished", "running"),
        (finished.id, "fail", "finished", "failed"),
    ]:
        body = check_error(await api.post(f"/api/jobs/{job_id}/{action}", json={}), 409, "invalid_transition")
        assert (body["current"], body["target"]) == (current, target), (action, body)
        assert body["job_id"] == job_id
    body = check_error(
        await api.post(f"/api/jobs/{waiting.id}/progress", json={"current": 1}), 409, "invalid_transition"
    )
    assert body["current"] == "waiting"
    assert writes(admin) == before
    assert await track.counts() == counts
    assert (await track.get(waiting.id)).state == "waiting"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        b'{"timeout": 0}',
        b'{"timeout": -5}',
        b'{"timeout": "soon"}',
        b'{"timeout": true}',
        b'{"timeout": 60, "data": NaN}',
        b'{"timeout": 60, "data": [Infinity]}',
        b'{"timeout": 60, "name": 7}',
        b'{"timeout": 60, "name": "' + b"n" * 2000 + b'"}',
        b'{"timeout": 60, "data": "' + b"x" * (2**20 + 10) + b'"}',
        b"{}",
    ],
    ids=lambda b: b[:30].decode(),
)
async def test_create_refuses_bad_input_with_422_and_writes_nothing(
    api: httpx.AsyncClient, admin: Any, body: bytes
) -> None:
    before = writes(admin)
    r = await api.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
    check_error(r, 422, "invalid")
    assert writes(admin) == before
    assert (await api.get("/api/counts")).json() == {
        "waiting": 0,
        "running": 0,
        "failed": 0,
        "finished": 0,
        "cancelled": 0,
    }


async def test_moves_refuse_bad_input_with_422_and_write_nothing(
    api: httpx.AsyncClient, track: Any, admin: Any
) -> None:
    waiting = await track.create(60)
    running = await track.create(60)
    await running.start()
    await running.set_progress(1, 10)
    before = writes(admin)
    cases = [
        (waiting.id, "start", b"{oops"),
        (waiting.id, "start", b'{"lease": "long"}'),
        (waiting.id, "start", b'{"lease": -1}'),
        (waiting.id, "start", b'{"max_runtime": 0}'),
        (running.id, "progress", b"{}"),
        (running.id, "progress", b'{"current": "three"}'),
        (running.id, "progress", b'{"current": 1, "message": 5}'),
        (running.id, "progress", b'{"current": NaN}'),
        (running.id, "finish", b'{"data": NaN}'),
        (running.id, "finish", b'{"data": "' + b"x" * (2**20 + 10) + b'"}'),
        (running.id, "fail", b'{"message": ["not", "text"]}'),
        (running.id, "heartbeat", b"[]"),
    ]
    as_json = {"Content-Type": "application/json"}
    for job_id, action, body in cases:
        r = await api.post(f"/api/jobs/{job_id}/{action}", content=body, headers=as_json)
        check_error(r, 422, "invalid")
    check_error(await api.post("/api/sweep", content=b"nope", headers=as_json), 422, "invalid")
    assert writes(admin) == before
    assert (await track.get(waiting.id)).state == "waiting"  # type: ignore[union-attr]
    still = await track.get(running.id)
    assert still is not None and still.state == "running" and still.progress["current"] == 1


async def test_bad_ids_are_422(api: httpx.AsyncClient, admin: Any) -> None:
    before = writes(admin)
    for raw in ("bad%0Aid", "%FF%FE", "x" * 600):
        check_error(await api.get(f"/api/jobs/{raw}"), 422, "invalid")
        check_error(await api.get(f"/api/jobs/{raw}/history"), 422, "invalid")
        check_error(await api.post(f"/api/jobs/{raw}/start"), 422, "invalid")
    assert writes(admin) == before


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "2.5"},
        {"state": "bogus"},
        {"state": "expired"},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_list_refuses_bad_parameters_with_422(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    check_error(await api.get("/api/jobs", params=params), 422, "invalid")


async def test_redis_unreachable_is_503(make_api: MakeApi) -> None:
    closed = redis.asyncio.Redis(host="127.0.0.1", port=free_port(), retry=NO_RETRY)
    try:
        api = await make_api(jobbertrack.aio.Handler(closed), token=TOKEN, headers=AUTH)
        for r in [
            await api.get("/api/counts"),
            await api.get("/api/jobs"),
            await api.get("/api/jobs/some-id"),
            await api.get("/api/jobs/some-id/history"),
            await api.post("/api/jobs", json={"timeout": 60}),
            await api.post("/api/jobs/some-id/start"),
            await api.post("/api/sweep"),
        ]:
            check_error(r, 503, "redis_unavailable")
    finally:
        await closed.aclose()


async def test_redis_stopped_under_the_app_is_503_then_recovers(make_api: MakeApi) -> None:
    with RedisServer() as server:
        client = server.async_client(retry=NO_RETRY)
        try:
            api = await make_api(jobbertrack.aio.Handler(client), token=TOKEN, headers=AUTH)
            job_id = (await api.post("/api/jobs", json={"timeout": 60})).json()["id"]
            server.stop()
            check_error(await api.get("/api/counts"), 503, "redis_unavailable")
            check_error(await api.get(f"/api/jobs/{job_id}"), 503, "redis_unavailable")
            check_error(await api.post("/api/jobs", json={"timeout": 60}), 503, "redis_unavailable")
            check_error(await api.post(f"/api/jobs/{job_id}/start"), 503, "redis_unavailable")
            server.start()
            assert (await api.get("/api/counts")).json()["waiting"] == 0  # a fresh, empty server
            assert (await api.post("/api/jobs", json={"timeout": 60})).status_code == 201
        finally:
            await client.aclose()


async def test_unknown_api_routes_and_methods_answer_json(api: httpx.AsyncClient, track: Any) -> None:
    job = await track.create(60)
    r = await api.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]
    r = await api.get(f"/api/jobs/{job.id}/start")
    assert r.status_code == 405 and r.json()["error"]
    r = await api.post(f"/api/jobs/{job.id}/history")
    assert r.status_code == 405 and r.json()["error"]
    r = await api.put(f"/api/jobs/{job.id}")
    assert r.status_code == 405 and r.json()["error"]
    r = await api.delete(f"/api/jobs/{job.id}/start")
    assert r.status_code == 405 and r.json()["error"]
    assert (await track.get(job.id)).state == "waiting"  # type: ignore[union-attr]


# --- no GET writes -----------------------------------------------------------------------


async def test_no_get_changes_anything_in_redis(api: httpx.AsyncClient, track: Any, admin: Any) -> None:
    jobs = await every_state(track)
    leased = await track.create(60, name="leased")
    await leased.start(lease=60, max_runtime=120)
    gets = [
        "/",
        "/jobs",
        "/jobs?state=running",
        "/api/counts",
        "/api/jobs",
        "/api/jobs?state=failed&state=running&limit=1",
        "/api/jobs/no-such-job",
        "/api/openapi.json",
        "/api/activity",
        "/metrics",
        "/widget.js",
        "/login",
    ]
    for job in [*jobs.values(), leased]:
        gets += [f"/api/jobs/{job.id}", f"/api/jobs/{job.id}/history", f"/jobs/{job.id}"]
    first = (await api.get("/api/jobs", params={"limit": 2})).json()["cursor"]
    gets.append(f"/api/jobs?limit=2&cursor={quote(first)}")
    before, keys = writes(admin), snapshot(admin)
    for path in gets:
        for method in ("GET", "HEAD") if path != "/login" else ("GET",):
            r = await api.request(method, path)
            assert r.status_code in (200, 404), (method, path, r.status_code)
    assert writes(admin) == before
    assert snapshot(admin) == keys


# --- ids that need percent-encoding --------------------------------------------------------

WEIRD_IDS = [
    "a/b",
    "a/b/history",
    "100%",
    "%2F",
    "what?x=1",
    "#fragment",
    "with space",
    "ünïcødé ✓",
    "日本語/ジョブ",
    "emoji 🚀",
    "history",
    "start",
    "jobs",
    "a+b&c=d;e",
]


def encoded(job_id: str) -> str:
    return quote(job_id, safe="")


async def test_ids_needing_encoding_work_on_every_route(
    make_api: MakeApi, web_redis: RedisServer, track: Any
) -> None:
    client = web_redis.async_client()
    try:
        factory = ChosenIds(WEIRD_IDS)
        api = await make_api(
            jobbertrack.aio.Handler(client, resource_factory=factory), token=TOKEN, headers=AUTH
        )
        for job_id in WEIRD_IDS:
            r = await api.post("/api/jobs", json={"timeout": 60, "name": job_id})
            assert r.status_code == 201, (job_id, r.text)
            assert r.json()["id"] == job_id
            path = f"/api/jobs/{encoded(job_id)}"
            got = await api.get(path)
            assert got.status_code == 200, (job_id, got.text)
            check_job(got.json(), job_id, "waiting")
            assert (await api.post(f"{path}/start", json={})).json()["state"] == "running"
            r = await api.post(f"{path}/progress", json={"current": 1, "total": 2, "message": job_id})
            assert r.json()["progress"]["message"] == job_id
            assert (await api.post(f"{path}/heartbeat", json={})).status_code == 200
            assert (await api.post(f"{path}/finish", json={"data": job_id})).json()["state"] == "finished"
            history = (await api.get(f"{path}/history")).json()
            assert [h["to"] for h in history] == ["waiting", "running", "finished"], job_id
            stored = await track.get(job_id)
            assert stored is not None and stored.state == "finished" and stored.data == job_id
            page = await api.get(f"/jobs/{encoded(job_id)}")
            assert page.status_code == 200, job_id
        listed = (await api.get("/api/jobs", params={"limit": 500})).json()["jobs"]
        assert sorted(j["id"] for j in listed) == sorted(WEIRD_IDS)
        # an id of the same text, not encoded, is another path: "a/b" is not "a%2Fb"
        assert (await api.get("/api/jobs/a%252Fb")).status_code == 404
    finally:
        await client.aclose()


async def test_weird_ids_that_do_not_exist_are_404(api: httpx.AsyncClient) -> None:
    for job_id in WEIRD_IDS:
        check_error(await api.get(f"/api/jobs/{encoded(job_id)}"), 404, "unknown")
        check_error(await api.get(f"/api/jobs/{encoded(job_id)}/history"), 404, "unknown")
        check_error(await api.post(f"/api/jobs/{encoded(job_id)}/start"), 404, "unknown")


# --- mounted under a prefix ----------------------------------------------------------------


async def test_mounted_under_a_prefix(web_redis: RedisServer, track: Any) -> None:
    client = web_redis.async_client()
    factory = ChosenIds(["history", "a/b ü"])
    inner = create_app(jobbertrack.aio.Handler(client, resource_factory=factory), token=TOKEN)
    outer = Starlette(routes=[Mount("/jobs", app=inner)])
    try:
        async with asgi_client(outer) as http:
            page = await http.get("/jobs/")
            assert page.status_code == 303
            assert page.headers["location"].startswith("/jobs/login?next=")
            login = await http.post("/jobs/login", data={"token": TOKEN, "next": "/jobs/jobs"})
            assert login.status_code == 303 and login.headers["location"] == "/jobs/jobs"
            assert "path=/jobs/" in login.headers["set-cookie"].lower()
            assert (await http.get("/jobs/api/counts")).json()["waiting"] == 0
            # a cookie's writes carry the page's CSRF token (docs/web.md, "Access")
            csrf = re.search(
                r'<meta name="jt-csrf" content="([0-9a-f]+)">', (await http.get("/jobs/jobs")).text
            )
            assert csrf is not None
            http.headers["X-CSRF-Token"] = csrf[1]
            for job_id in ("history", "a/b ü"):
                r = await http.post("/jobs/api/jobs", json={"timeout": 60, "name": "mounted"})
                assert r.status_code == 201 and r.json()["id"] == job_id
                path = f"/jobs/api/jobs/{encoded(job_id)}"
                assert (await http.get(path)).json()["id"] == job_id
                assert (await http.post(f"{path}/start")).json()["state"] == "running"
                history = (await http.get(f"{path}/history")).json()
                assert [h["to"] for h in history] == ["waiting", "running"]
                detail = await http.get(f"/jobs/jobs/{encoded(job_id)}")
                assert detail.status_code == 200, job_id
            listed = (await http.get("/jobs/api/jobs")).json()
            assert {j["id"] for j in listed["jobs"]} == {"history", "a/b ü"}
            assert (await http.get("/jobs/api/openapi.json")).json()["paths"]["/api/counts"]
            assert (await http.get("/jobs/metrics")).status_code == 200
            assert (await http.get("/jobs/widget.js")).status_code == 200
            assert (await http.get("/api/counts")).status_code == 404  # nothing outside the mount
            for path in ("/jobs/", "/jobs/jobs", f"/jobs/jobs/{encoded('a/b ü')}"):
                html = (await http.get(path)).text
                links = re.findall(r'(?:href|src|action)="([^"]*)"', html)
                local = [link for link in links if link.startswith("/")]
                assert local, path
                assert all(link.startswith("/jobs/") for link in local), (path, local)
                if path == "/jobs/jobs":  # the list links each job's page, under the prefix
                    assert f'href="/jobs/jobs/{encoded("a/b ü")}"' in html
                    assert 'href="/jobs/jobs/history"' in html
            for link in re.findall(r'(?:href|src)="(/jobs/static/[^"]*)"', html):
                assert (await http.get(link)).status_code == 200, link
    finally:
        await inner.state.jobbertrack.aclose()
        await client.aclose()


# --- the handlers it accepts -----------------------------------------------------------------


async def test_a_sync_handler_serves_reads_and_writes(
    make_api: MakeApi, web_redis: RedisServer, track: Any
) -> None:
    jobs = await every_state(track)
    sync_client = web_redis.client()
    try:
        api = await make_api(jobbertrack.Handler(sync_client), token=TOKEN, headers=AUTH)
        assert (await api.get("/api/counts")).json() == {
            "waiting": 1,
            "running": 1,
            "failed": 1,
            "finished": 1,
            "cancelled": 1,
        }
        listed = (await api.get("/api/jobs", params={"state": "running"})).json()
        assert [j["id"] for j in listed["jobs"]] == [jobs["running"].id]
        check_job((await api.get(f"/api/jobs/{jobs['finished'].id}")).json(), jobs["finished"].id, "finished")
        history = (await api.get(f"/api/jobs/{jobs['failed'].id}/history")).json()
        assert [h["to"] for h in history] == ["waiting", "running", "failed"]
        created = await api.post("/api/jobs", json={"timeout": 60})
        assert created.status_code == 201
        r = await api.post(f"/api/jobs/{created.json()['id']}/start")
        assert r.status_code == 200 and r.json()["state"] == "running"
        check_error(await api.post(f"/api/jobs/{jobs['waiting'].id}/finish"), 409, "invalid_transition")
        check_error(await api.get("/api/jobs/missing"), 404, "unknown")
        assert (await api.get("/")).status_code == 200
    finally:
        sync_client.close()


def test_create_app_refuses_what_is_not_a_handler(web_redis: RedisServer) -> None:
    client = web_redis.client()
    try:
        with pytest.raises(jobbertrack.JobberTrackError):
            create_app(client)
    finally:
        client.close()


async def test_without_a_handler_it_connects_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, track: Any
) -> None:
    with RedisServer() as other:
        monkeypatch.setenv("JOBBERTRACK_REDIS_URL", other.url)
        theirs = jobbertrack.aio.Handler(other.async_client())
        try:
            job = await theirs.create(60, name="over there")
            await track.create(60, name="not this one")  # on the suite's server
            app = create_app(token=TOKEN)
            async with app.router.lifespan_context(app), asgi_client(app, AUTH) as api:
                assert (await api.get("/api/counts")).json()["waiting"] == 1
                got = (await api.get(f"/api/jobs/{job.id}")).json()
                assert got["name"] == "over there"
                created = (await api.post("/api/jobs", json={"timeout": 60})).json()
            assert (await theirs.get(created["id"])) is not None
        finally:
            await theirs.client.aclose()


async def test_a_write_must_say_it_sends_json(api: httpx.AsyncClient, track: Any, admin: Any) -> None:
    """A page of another site can POST a form or text/plain without asking
    first: such a write is refused with 415, and writes nothing."""
    job = await track.create(60)
    before = writes(admin)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        headers = {"Content-Type": content_type}
        check_error(
            await api.post("/api/jobs", content=b'{"timeout": 60}', headers=headers),
            415,
            "unsupported_media_type",
        )
        r = await api.post(f"/api/jobs/{job.id}/start", content=b"{}", headers=headers)
        check_error(r, 415, "unsupported_media_type")
        check_error(
            await api.post("/api/queues/q/jobs", content=b'{"timeout": 60}', headers=headers),
            415,
            "unsupported_media_type",
        )
    check_error(await api.post("/api/jobs", content=b'{"timeout": 60}'), 415, "unsupported_media_type")
    assert writes(admin) == before
    plain = await api.post(f"/api/jobs/{job.id}/start")  # no body, no type: {}, as curl -X POST sends
    assert plain.status_code == 200 and plain.json()["state"] == "running"
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert (await api.post("/api/jobs", content=b'{"timeout": 60}', headers=charset)).status_code == 201


async def test_unknown_fields_are_refused_by_name(api: httpx.AsyncClient, track: Any, admin: Any) -> None:
    job = await track.create(60)
    before = writes(admin)
    body = check_error(await api.post("/api/jobs", json={"timeout": 60, "queue": "import"}), 422, "invalid")
    assert "'queue'" in body["message"]
    body = check_error(await api.post(f"/api/jobs/{job.id}/start", json={"leases": 5}), 422, "invalid")
    assert "'leases'" in body["message"] and "lease" in body["message"]
    check_error(await api.post("/api/sweep", json={"all": True}), 422, "invalid")
    check_error(await api.post("/api/queues/q/jobs", json={"timeout": 60, "prio": 1}), 422, "invalid")
    assert writes(admin) == before
    assert (await track.get(job.id)).state == "waiting"  # type: ignore[union-attr]


async def test_push_puts_a_job_on_a_queue(api: httpx.AsyncClient, track: Any, admin: Any) -> None:
    r = await api.post(
        "/api/queues/import/jobs",
        json={
            "timeout": 60,
            "data": {"file": "f1.csv"},
            "name": "f1",
            "retries": 2,
            "backoff": 1,
            "delay": 30,
        },
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["state"], job["queue"], job["retries"], job["data"], job["name"]) == (
        "waiting",
        "import",
        2,
        {"file": "f1.csv"},
        "f1",
    )
    assert await track.queued("import") == 1
    assert (await api.get(f"/api/jobs/{job['id']}")).json()["queue"] == "import"
    urgent = await api.post("/api/queues/urgent/jobs", json={"timeout": 60, "priority": 5})
    low = await api.post("/api/queues/urgent/jobs", json={"timeout": 60})
    assert urgent.json()["priority"] == 5 and low.json()["priority"] == 0
    await api.post("/api/queues/urgent/jobs", json={"timeout": 60, "priority": 5})
    assert (await track.pop_and_start("urgent")).id == urgent.json()["id"]  # type: ignore[union-attr]
    before = writes(admin)
    for bad in (
        {"timeout": 60, "retries": -1},
        {"timeout": 60, "retries": "2"},
        {"timeout": 60, "delay": 120},
        {"timeout": 60, "priority": 1_000_000},
        {"timeout": 60, "priority": "high"},
        {},
    ):
        check_error(await api.post("/api/queues/import/jobs", json=bad), 422, "invalid")
    check_error(await api.post("/api/queues/no%20spaces%0A/jobs", json={"timeout": 60}), 422, "invalid")
    assert writes(admin) == before
