"""The fleet in the HTTP API (issue 23): ``GET /api/queues``, ``GET
/api/workers``, ``POST /api/queues/{name}/pause`` and ``/resume`` (write
access as every write), their OpenAPI entries, the per-queue metrics, the
throughput column's counts, and the Queues and Workers pages as HTML."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import jobbertrack
import jobbertrack.aio

from .conftest import AUTH, TOKEN, MakeApi, check_security_headers, eventually, snapshot, writes

QUEUE_KEYS = {"name", "waiting", "delayed", "running", "oldest_wait_s", "paused", "workers"}
WORKER_KEYS = {
    "id",
    "host",
    "pid",
    "queues",
    "concurrency",
    "started_at",
    "last_seen",
    "jobs",
    "processed",
    "failed",
}
META = re.compile(r'<meta name="jt-csrf" content="([0-9a-f]+)">')


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["name"]: q for q in body["queues"]}


def row_of(page: str, queue: str) -> str:
    """The HTML of a queue's row on the Queues page."""
    return page.split(f'<tr data-queue="{queue}"', 1)[1].split("</tr>", 1)[0]


def pause_path(name: str, action: str = "pause") -> str:
    return f"/api/queues/{quote(name, safe='')}/{action}"


async def two_queues(track: jobbertrack.aio.Handler) -> None:
    """mail: 3 ready, 1 delayed; img: 1 running, 1 ready."""
    for n in range(3):
        await track.push({"n": n}, queue="mail", timeout=60)
    await track.push({"later": True}, queue="mail", timeout=600, delay=300)
    await track.push(None, queue="img", timeout=60)
    await track.push(None, queue="img", timeout=60)
    popped = await track.pop_and_start("img", lease=30)
    assert popped is not None


@contextlib.asynccontextmanager
async def working(
    track: jobbertrack.aio.Handler, queue: str, **options: Any
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Event]]:
    """``track.work(queue, ...)`` in a task: each job sets ``started`` and
    waits for ``release``; stopped (``stop_work``) on leaving."""
    started, release = asyncio.Event(), asyncio.Event()

    async def handle(job: Any) -> str:
        started.set()
        await release.wait()
        return "done"

    task = asyncio.create_task(track.work(queue, handle, block=0.2, grace=5, **options))
    try:
        yield started, release
    finally:
        release.set()
        track.stop_work()
        await asyncio.wait_for(task, 15)


# --- reads ---------------------------------------------------------------------------------------


async def test_no_queue_and_no_worker_are_empty_lists(api: httpx.AsyncClient, track: Any) -> None:
    r = await api.get("/api/queues")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {"queues": []}
    assert (await api.get("/api/workers")).json() == {"workers": []}


async def test_queue_stats_after_pushes_and_pops_on_two_queues(api: httpx.AsyncClient, track: Any) -> None:
    await two_queues(track)
    body = (await api.get("/api/queues")).json()
    assert [q["name"] for q in body["queues"]] == ["img", "mail"]  # sorted
    for q in body["queues"]:
        assert set(q) == QUEUE_KEYS, q
        assert isinstance(q["oldest_wait_s"], float) and q["oldest_wait_s"] >= 0
        assert q == await track.queue_stats(q["name"]) | {"oldest_wait_s": q["oldest_wait_s"]}
    queues = by_name(body)
    pick = ("waiting", "delayed", "running", "paused", "workers")
    assert {k: queues["mail"][k] for k in pick} == {
        "waiting": 3,
        "delayed": 1,
        "running": 0,
        "paused": False,
        "workers": 0,
    }
    assert {k: queues["img"][k] for k in pick} == {
        "waiting": 1,
        "delayed": 0,
        "running": 1,
        "paused": False,
        "workers": 0,
    }
    # everything popped: nothing ready, so no wait
    assert await track.pop_and_start("img", lease=30) is not None
    img = by_name((await api.get("/api/queues")).json())["img"]
    assert (img["waiting"], img["running"], img["oldest_wait_s"]) == (0, 2, 0.0)


async def test_the_oldest_wait_grows_while_a_job_waits(api: httpx.AsyncClient, track: Any) -> None:
    await track.push(None, queue="slow", timeout=60)

    async def waited() -> bool:
        return by_name((await api.get("/api/queues")).json())["slow"]["oldest_wait_s"] >= 0.2

    assert await eventually(waited)


async def test_a_worker_is_listed_with_what_it_runs_and_goes_when_stopped(
    api: httpx.AsyncClient, track: Any
) -> None:
    job = await track.push(None, queue="render", timeout=60)
    async with working(track, "render", concurrency=2) as (started, release):
        await asyncio.wait_for(started.wait(), 10)

        async def listed() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await api.get("/api/workers")).json()["workers"]
            return found if found and found[0]["jobs"] == [job.id] else []

        workers = await eventually(listed)
        assert len(workers) == 1
        worker = workers[0]
        assert set(worker) == WORKER_KEYS
        assert worker["queues"] == ["render"] and worker["concurrency"] == 2
        assert isinstance(worker["pid"], int) and worker["host"]
        for key in ("started_at", "last_seen"):
            assert re.match(r"\d{4}-\d\d-\d\dT", worker[key]), worker
        assert (await api.get("/api/workers", params={"queue": "render"})).json()["workers"] == workers
        assert (await api.get("/api/workers", params={"queue": "other"})).json() == {"workers": []}
        render = by_name((await api.get("/api/queues")).json())["render"]
        assert (render["running"], render["workers"]) == (1, 1)
        release.set()

        async def processed() -> bool:
            found = (await api.get("/api/workers")).json()["workers"]
            return bool(found) and found[0]["processed"] == 1 and found[0]["jobs"] == []

        await eventually(processed)

    async def gone() -> bool:
        return (await api.get("/api/workers")).json() == {"workers": []}

    await eventually(gone)


async def test_no_fleet_read_changes_anything_in_redis(
    api: httpx.AsyncClient, track: Any, admin: Any
) -> None:
    await two_queues(track)
    await track.pause("mail")
    gets = [
        "/queues",
        "/workers",
        "/api/queues",
        "/api/workers",
        "/api/workers?queue=mail",
        "/api/throughput",
    ]
    before, keys = writes(admin), snapshot(admin)
    for path in [*gets, "/metrics"]:
        for method in ("GET", "HEAD"):
            r = await api.request(method, path)
            assert r.status_code == 200, (method, path, r.status_code)
            check_security_headers(r)
            assert r.headers["cache-control"] == "no-store", path
    assert writes(admin) == before
    assert snapshot(admin) == keys


@pytest.fixture
def sync_client(web_redis: Any) -> Iterator[Any]:
    """A sync client, closed after the apps of ``make_api`` (asked for before it)."""
    client = web_redis.client()
    yield client
    client.close()


async def test_a_sync_handler_serves_the_fleet_too(sync_client: Any, make_api: MakeApi, track: Any) -> None:
    api = await make_api(jobbertrack.Handler(sync_client), token=TOKEN, headers=AUTH)
    await two_queues(track)
    assert [q["name"] for q in (await api.get("/api/queues")).json()["queues"]] == ["img", "mail"]
    assert (await api.post(pause_path("img"))).json()["paused"] is True
    assert (await api.get("/api/workers")).json() == {"workers": []}
    assert 'jobbertrack_queue_jobs{queue="mail",state="waiting"} 3.0' in (await api.get("/metrics")).text


# --- pause and resume ----------------------------------------------------------------------------


async def test_pause_then_resume_through_the_api(api: httpx.AsyncClient, track: Any) -> None:
    await track.push({"n": 1}, queue="mail", timeout=60)
    r = await api.post(pause_path("mail"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "name": "mail",
        "waiting": 1,
        "delayed": 0,
        "running": 0,
        "oldest_wait_s": r.json()["oldest_wait_s"],
        "paused": True,
        "workers": 0,
    }
    assert by_name((await api.get("/api/queues")).json())["mail"]["paused"] is True
    assert await track.pop_and_start("mail", lease=30) is None
    assert (await api.post(pause_path("mail"), json={})).json()["paused"] is True  # pausing twice is fine
    r = await api.post(pause_path("mail", "resume"))
    assert r.status_code == 200 and r.json()["paused"] is False and r.json()["waiting"] == 1
    popped = await track.pop_and_start("mail", lease=30)
    assert popped is not None and popped.data == {"n": 1}


async def test_a_paused_queue_with_no_job_is_still_listed(api: httpx.AsyncClient, track: Any) -> None:
    assert (await api.post(pause_path("idle"))).json()["paused"] is True
    assert by_name((await api.get("/api/queues")).json())["idle"]["paused"] is True
    await api.post(pause_path("idle", "resume"))
    assert "idle" not in by_name((await api.get("/api/queues")).json())


async def test_a_queue_name_with_a_slash_and_markup(api: httpx.AsyncClient, track: Any) -> None:
    name = "team/a <b>&'\"?#% é"
    await track.push(None, queue=name, timeout=60)
    r = await api.post(pause_path(name))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name and r.json()["paused"] is True
    assert (await track.queue_stats(name))["paused"] is True
    assert (await api.post(pause_path(name, "resume"))).json()["paused"] is False


@pytest.mark.parametrize("name", ["a%07b", "x" * 201], ids=["control", "too-long"])
async def test_a_bad_queue_name_is_400(api: httpx.AsyncClient, track: Any, admin: Any, name: str) -> None:
    before = writes(admin)
    r = await api.post(f"/api/queues/{name}/pause")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "invalid" and r.json()["message"]
    assert (await api.post(f"/api/queues/{name}/resume")).status_code == 400
    assert writes(admin) == before


async def test_a_pause_takes_no_fields(api: httpx.AsyncClient, track: Any) -> None:
    r = await api.post(pause_path("mail"), json={"for": 10})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = await api.post(pause_path("mail"), content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert (await api.get(pause_path("mail"))).status_code == 405
    assert "mail" not in by_name((await api.get("/api/queues")).json())


async def test_pause_needs_write_access(make_api: MakeApi, track: Any, admin: Any) -> None:
    await track.push(None, queue="mail", timeout=60)
    before = writes(admin)
    open_app = await make_api()  # no token: reads open, writes disabled
    assert (await open_app.get("/api/queues")).status_code == 200
    for action in ("pause", "resume"):
        r = await open_app.post(pause_path("mail", action))
        assert r.status_code == 403 and r.json()["error"] == "writes_disabled"
    guarded = await make_api(token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = await guarded.post(pause_path("mail"), headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert (await guarded.get("/api/queues", headers=headers)).status_code == 401
        assert (await guarded.get("/api/workers", headers=headers)).status_code == 401
    public = await make_api(token=TOKEN, public_read=True)
    assert (await public.get("/api/queues")).status_code == 200
    assert (await public.post(pause_path("mail"))).status_code == 401
    assert writes(admin) == before
    assert (await track.queue_stats("mail"))["paused"] is False


async def test_a_cookie_pause_needs_the_pages_csrf_token_and_its_own_site(
    make_api: MakeApi, track: Any, admin: Any
) -> None:
    await track.push(None, queue="mail", timeout=60)
    api = await make_api(token=TOKEN)
    assert (await api.post("/login", data={"token": TOKEN, "next": "/"})).status_code == 303
    page = await api.get("/queues")
    found = META.search(page.text)
    assert found, "a logged-in viewer's Queues page carries the CSRF token"
    csrf = found.group(1)
    before = writes(admin)
    refused = [
        {"Sec-Fetch-Site": "same-origin"},  # no token
        {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "0" * 64},
        {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf},
        {"Sec-Fetch-Site": "same-site", "X-CSRF-Token": csrf},
        {"Origin": "http://testserver"},
    ]
    for headers in refused:
        r = await api.post(pause_path("mail"), json={}, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf", (headers, r.text)
    assert writes(admin) == before
    r = await api.post(
        pause_path("mail"),
        json={},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200 and r.json()["paused"] is True


# --- the OpenAPI document ------------------------------------------------------------------------


async def test_openapi_describes_the_fleet_routes(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/openapi.json")).json()
    paths = doc["paths"]
    assert "get" in paths["/api/queues"] and "get" in paths["/api/workers"]
    for action in ("pause", "resume"):
        post = paths[f"/api/queues/{{name}}/{action}"]["post"]
        assert post["security"] == [{"bearer": []}]
        assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/QueueStats"
        }
        assert {"400", "401", "403"} <= set(post["responses"])
    schemas = doc["components"]["schemas"]
    assert set(schemas["QueueStats"]["required"]) == QUEUE_KEYS == set(schemas["QueueStats"]["properties"])
    assert set(schemas["Worker"]["required"]) == WORKER_KEYS == set(schemas["Worker"]["properties"])
    queues = paths["/api/queues"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert queues["properties"]["queues"]["items"] == {"$ref": "#/components/schemas/QueueStats"}
    workers = paths["/api/workers"]["get"]
    assert workers["parameters"][0]["name"] == "queue"
    listed = workers["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["properties"]["workers"]["items"] == {"$ref": "#/components/schemas/Worker"}


# --- metrics -------------------------------------------------------------------------------------


async def test_queue_metrics(api: httpx.AsyncClient, track: Any) -> None:
    await two_queues(track)
    odd = 'we"ird\\q'
    await track.push(None, queue=odd, timeout=60)
    r = await api.get("/metrics")
    assert r.status_code == 200
    text = r.text
    for name, kind in (
        ("jobbertrack_queue_jobs", "gauge"),
        ("jobbertrack_queue_oldest_wait_seconds", "gauge"),
        ("jobbertrack_workers", "gauge"),
    ):
        assert re.search(rf"^# HELP {name} \S", text, re.M), name
        assert f"# TYPE {name} {kind}\n" in text, name
    assert 'jobbertrack_queue_jobs{queue="we\\"ird\\\\q",state="waiting"} 1.0' in text  # escaped
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def sample(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    expected = {"mail": (3, 1, 0), "img": (1, 0, 1), odd: (1, 0, 0)}
    for queue, (waiting, delayed, running) in expected.items():
        assert sample("jobbertrack_queue_jobs", queue=queue, state="waiting") == waiting
        assert sample("jobbertrack_queue_jobs", queue=queue, state="delayed") == delayed
        assert sample("jobbertrack_queue_jobs", queue=queue, state="running") == running
        assert sample("jobbertrack_queue_oldest_wait_seconds", queue=queue) >= 0
        assert sample("jobbertrack_workers", queue=queue) == 0
    # a queue with nothing left goes from the next scrape
    while (job := await track.pop_and_start(odd, lease=30)) is not None:
        await job.finish()
    again = (await api.get("/metrics")).text
    assert 'queue="we\\"ird\\\\q"' not in again and 'queue="mail"' in again


async def test_queue_metrics_count_workers(api: httpx.AsyncClient, track: Any) -> None:
    async with working(track, "render"):

        async def counted() -> bool:
            return 'jobbertrack_workers{queue="render"} 1.0' in (await api.get("/metrics")).text

        await eventually(counted)


# --- throughput ----------------------------------------------------------------------------------


async def test_throughput_counts_the_jobs_of_each_queue_seen_ending(make_api: MakeApi, track: Any) -> None:
    api = await make_api(token=TOKEN, headers=AUTH)
    await api.get("/api/activity")  # the follower runs from here: what ends now is seen
    for queue, fail in (("mail", False), ("mail", False), ("mail", True), ("img", False)):
        await track.push(None, queue=queue, timeout=60)
        job = await track.pop_and_start(queue, lease=30)
        assert job is not None
        await (job.fail("boom") if fail else job.finish())
    plain = await track.create(60)  # not of a queue: not counted
    await plain.start()
    await plain.finish()

    async def counted() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get("/api/throughput")).json()
        return body if body["queues"].get("img") == {"finished": 1, "failed": 0} else None

    body = await eventually(counted)
    assert body["queues"] == {"img": {"finished": 1, "failed": 0}, "mail": {"finished": 2, "failed": 1}}
    assert body["window_s"] == 3600 and body["since"]


# --- the pages -----------------------------------------------------------------------------------


async def test_the_queues_page(make_api: MakeApi, track: Any) -> None:
    api = await make_api()  # no token: anyone reads, nobody writes
    empty = await api.get("/queues")
    assert empty.status_code == 200
    assert "No queues yet." in empty.text
    assert 'href="/queues"' in empty.text and 'href="/workers"' in empty.text  # in the nav
    await two_queues(track)
    evil = "<script>alert(1)</script>"
    await track.push(None, queue=evil, timeout=60)
    page = (await api.get("/queues")).text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-queue="mail"' in page and 'data-queue="img"' in page
    row = row_of(page, "mail")
    assert 'data-field="waiting">3<' in row and 'data-field="delayed">1<' in row
    assert "data-action" not in page and "jt-csrf" not in page  # no button for a viewer who may not write
    assert "/static/fleet.js" in page


async def test_the_queues_page_offers_the_toggle_to_a_viewer_who_may_write(
    api: httpx.AsyncClient, track: Any
) -> None:
    await track.push(None, queue="mail", timeout=60)
    await track.pause("mail")
    await track.push(None, queue="a/b", timeout=60)
    page = (await api.get("/queues")).text
    mail = row_of(page, "mail")
    assert 'data-api="/api/queues/mail"' in mail and 'data-action="resume"' in mail and "Resume" in mail
    other = row_of(page, "a/b")
    assert 'data-api="/api/queues/a%2Fb"' in other and 'data-action="pause"' in other
    assert "jt-csrf" in page and "/static/actions.js" in page


async def test_the_workers_page(make_api: MakeApi, track: Any) -> None:
    api = await make_api()
    empty = await api.get("/workers")
    assert empty.status_code == 200 and "No workers are running." in empty.text
    job = await track.push(None, queue="a<b>", timeout=60)
    async with working(track, "a<b>") as (started, release):
        await asyncio.wait_for(started.wait(), 10)

        async def shown() -> str:
            page = (await api.get("/workers")).text
            return page if job.id in page else ""

        page = await eventually(shown)
        assert "a<b>" not in page and "a&lt;b&gt;" in page
        assert f'href="/jobs/{quote(job.id, safe="")}"' in page
        assert "No workers are running." in page  # there, hidden, for when the last one goes
        assert re.search(r'<p class="empty" id="jt-workers-empty" hidden', page)
        release.set()
