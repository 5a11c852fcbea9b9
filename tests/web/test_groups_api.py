"""Groups in the HTTP API: a group's JSON carries its children's counts, a
child's its ``group_id``; ``GET /api/jobs/{id}/children`` pages a group's
children; ``POST /api/groups`` makes one; ``POST /api/jobs`` and pushes take
``group``.  Refusals answer the usual error shape and write nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer

from .conftest import AUTH, TOKEN, ChosenIds, MakeApi, snapshot, writes
from .test_csrf import logged_in

STATES = [s.value for s in jobbertrack.State]
GROUP_KEYS = {"counts", "total", "closed", "expired", "then"}


def error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"], body
    return body


async def group_with_children(track: jobbertrack.aio.Handler, n: int = 4) -> tuple[Any, list[Any]]:
    """An open group with ``n`` waiting children (made oldest first)."""
    group = await track.create_group(60, name="nightly import")
    return group, [await track.create(60, group=group.id, name=f"part {i}") for i in range(n)]


# --- a group's and a child's JSON ----------------------------------------------------------------


async def test_a_group_answers_its_counts_and_a_child_its_group(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler
) -> None:
    group, kids = await group_with_children(track)
    await kids[0].start()
    await kids[1].start()
    await kids[1].finish()
    await kids[2].start()
    await kids[2].fail("disk full")
    body = (await api.get(f"/api/jobs/{group.id}")).json()
    assert body["id"] == group.id and body["state"] == "running" and body["name"] == "nightly import"
    assert set(body["group"]) >= GROUP_KEYS
    assert body["group"]["counts"] == {"waiting": 1, "running": 1, "failed": 1, "finished": 1, "cancelled": 0}
    assert list(body["group"]["counts"]) == STATES  # every state, in the table's order
    assert (body["group"]["total"], body["group"]["closed"], body["group"]["then"]) == (4, False, None)
    child = (await api.get(f"/api/jobs/{kids[0].id}")).json()
    assert child["group_id"] == group.id and "group" not in child
    plain = await track.create(60)
    assert "group_id" not in (await api.get(f"/api/jobs/{plain.id}")).json()


async def test_reading_a_group_and_its_children_writes_nothing(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    group, _ = await group_with_children(track, 3)
    before = writes(admin)
    assert (await api.get(f"/api/jobs/{group.id}")).status_code == 200
    assert (await api.get(f"/api/jobs/{group.id}/children")).status_code == 200
    assert (await api.get(f"/api/jobs/{group.id}/history")).status_code == 200
    assert writes(admin) == before


# --- GET /api/jobs/{id}/children -----------------------------------------------------------------


async def test_children_come_a_page_at_a_time_newest_first(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler
) -> None:
    group, kids = await group_with_children(track, 5)
    await kids[1].start()
    page = (await api.get(f"/api/jobs/{group.id}/children")).json()
    assert set(page) == {"jobs", "cursor"} and page["cursor"] is None
    assert [j["id"] for j in page["jobs"]] == [k.id for k in reversed(kids)]
    assert all(j["group_id"] == group.id for j in page["jobs"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        got = (await api.get(f"/api/jobs/{group.id}/children", params=params)).json()
        assert len(got["jobs"]) <= 2
        seen += [j["id"] for j in got["jobs"]]
        cursor = got["cursor"]
        if cursor is None:
            break
    assert seen == [k.id for k in reversed(kids)]
    running = (await api.get(f"/api/jobs/{group.id}/children", params={"state": "running"})).json()
    assert [j["id"] for j in running["jobs"]] == [kids[1].id] and running["jobs"][0]["state"] == "running"


async def test_children_refuse_what_api_jobs_refuses(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    group, kids = await group_with_children(track, 1)
    route = f"/api/jobs/{group.id}/children"
    before = writes(admin)
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"state": "sleeping"}, {"cursor": "nope"}):
        error(await api.get(route, params=params), 422, "invalid")
    error(await api.get(route, params=[("state", "waiting"), ("state", "running")]), 422, "invalid")
    assert len((await api.get(route, params={"limit": 500})).json()["jobs"]) == 1
    error(await api.get("/api/jobs/no-such-job/children"), 404, "unknown")
    body = error(await api.get(f"/api/jobs/{kids[0].id}/children"), 404, "unknown")  # a job, not a group
    assert body["job_id"] == kids[0].id
    error(await api.post(route, json={}), 405, "method_not_allowed")
    assert writes(admin) == before


async def test_an_id_ending_in_an_encoded_children_is_a_job(
    make_api: MakeApi, web_redis: RedisServer
) -> None:
    client = web_redis.async_client()
    try:
        handler = jobbertrack.aio.Handler(client, resource_factory=ChosenIds(["a/children"]))
        job = await handler.create(60)
        api = await make_api(token=TOKEN, headers=AUTH)
        r = await api.get(f"/api/jobs/{quote(job.id, safe='')}")
        assert r.status_code == 200 and r.json()["id"] == "a/children"
    finally:
        await client.aclose()


async def test_a_sync_handler_serves_groups_too(make_api: MakeApi, web_redis: RedisServer) -> None:
    client = web_redis.client()
    try:
        handler = jobbertrack.Handler(client)
        api = await make_api(handler, token=TOKEN, headers=AUTH)
        made = await api.post("/api/groups", json={"timeout": 60, "children": [{"name": "a"}, {"name": "b"}]})
        assert made.status_code == 201 and made.json()["group"]["total"] == 2
        page = (await api.get(f"/api/jobs/{made.json()['id']}/children")).json()
        assert [j["name"] for j in page["jobs"]] == ["b", "a"]
    finally:
        client.close()


# --- POST /api/groups ----------------------------------------------------------------------------


async def test_post_groups_makes_an_open_group(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler
) -> None:
    r = await api.post("/api/groups", json={"timeout": 60, "name": "import", "data": {"batch": 7}})
    assert r.status_code == 201
    body = r.json()
    assert (body["state"], body["name"], body["data"]) == ("waiting", "import", {"batch": 7})
    assert body["group"]["counts"] == dict.fromkeys(STATES, 0)
    assert (body["group"]["total"], body["group"]["closed"]) == (0, False)
    assert isinstance(await track.group(body["id"]), jobbertrack.aio.Group)


async def test_post_groups_with_children_and_then(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler
) -> None:
    children = [{"name": "a", "data": {"n": 1}}, {"name": "b", "queue": "parts", "retries": 2}]
    then = {"queue": "reports", "name": "summary", "data": {"to": "ada"}}
    r = await api.post("/api/groups", json={"timeout": 60, "children": children, "then": then})
    assert r.status_code == 201
    group = r.json()["group"]
    assert (group["total"], group["closed"], group["counts"]["waiting"]) == (2, True, 2)
    assert group["then"]["queue"] == "reports" and group["then"]["pushed"] is False
    page = (await api.get(f"/api/jobs/{r.json()['id']}/children")).json()["jobs"]
    assert [(j["name"], j.get("queue")) for j in page] == [("b", "parts"), ("a", None)]


async def test_create_and_push_join_a_group(api: httpx.AsyncClient, track: jobbertrack.aio.Handler) -> None:
    group = await track.create_group(60)
    made = await api.post("/api/jobs", json={"timeout": 60, "name": "one", "group": group.id})
    pushed = await api.post("/api/queues/parts/jobs", json={"timeout": 60, "group": group.id, "priority": 3})
    assert made.status_code == 201 and pushed.status_code == 201
    assert made.json()["group_id"] == group.id == pushed.json()["group_id"]
    assert (await api.get(f"/api/jobs/{group.id}")).json()["group"]["total"] == 2


async def test_a_closed_group_refuses_a_child_and_writes_nothing(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    group = await track.create_group(60)
    await group.close()
    before, keys = writes(admin), snapshot(admin)
    for route in ("/api/jobs", "/api/queues/parts/jobs"):
        body = error(await api.post(route, json={"timeout": 60, "group": group.id}), 409, "group_closed")
        assert body["job_id"] == group.id
    assert writes(admin) == before and snapshot(admin) == keys


async def test_an_unknown_group_is_404_and_writes_nothing(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    plain = await track.create(60)
    before, keys = writes(admin), snapshot(admin)
    for group_id in ("no-such-group", plain.id):  # never made, or a job that is not a group
        for route in ("/api/jobs", "/api/queues/parts/jobs"):
            body = error(await api.post(route, json={"timeout": 60, "group": group_id}), 404, "unknown")
            assert body["job_id"] == group_id
    assert writes(admin) == before and snapshot(admin) == keys


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/api/groups", {}),  # no timeout
        ("/api/groups", {"timeout": 0}),
        ("/api/groups", {"timeout": "60"}),
        ("/api/groups", {"timeout": 60, "name": 5}),
        ("/api/groups", {"timeout": 60, "tags": ["a"]}),  # not a field of groups
        ("/api/groups", {"timeout": 60, "then": "reports"}),
        ("/api/groups", {"timeout": 60, "then": {"name": "no queue"}}),
        ("/api/groups", {"timeout": 60, "then": {"queue": "q", "bogus": 1}}),
        ("/api/groups", {"timeout": 60, "children": "abc"}),
        ("/api/groups", {"timeout": 60, "children": [{"name": "ok"}, 5]}),
        ("/api/groups", {"timeout": 60, "children": [{"name": "ok"}, {"bogus": 1}]}),
        ("/api/groups", {"timeout": 60, "children": [{"name": "ok"}, {"queue": ""}]}),
        ("/api/groups", {"timeout": 60, "children": [{"name": "ok"}, {"timeout": -1}]}),
        ("/api/jobs", {"timeout": 60, "group": 5}),
        ("/api/jobs", {"timeout": 60, "group": "GROUP", "key": "k1"}),  # a keyed child: not yet
        ("/api/queues/parts/jobs", {"timeout": 60, "group": ["GROUP"]}),
    ],
)
async def test_bad_input_is_422_and_writes_nothing(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any, route: str, body: dict[str, Any]
) -> None:
    group = await track.create_group(60)
    if body.get("group") == "GROUP":
        body = {**body, "group": group.id}
    before, keys = writes(admin), snapshot(admin)
    error(await api.post(route, json=body), 422, "invalid")
    assert writes(admin) == before and snapshot(admin) == keys


async def test_post_groups_follows_the_write_rules(make_api: MakeApi, admin: Any) -> None:
    body = {"timeout": 60}
    closed = await make_api()  # no token: writes disabled
    error(await closed.post("/api/groups", json=body), 403, "writes_disabled")
    guarded = await make_api(token=TOKEN)
    error(await guarded.post("/api/groups", json=body), 401, "unauthorized")
    error(
        await guarded.post("/api/groups", json=body, headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )
    error(
        await guarded.post("/api/groups", content=b"timeout=60", headers=AUTH), 415, "unsupported_media_type"
    )
    assert admin.dbsize() == 0
    browser, csrf = await logged_in(make_api)
    site = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    error(await browser.post("/api/groups", json=body, headers=site), 403, "csrf")
    assert admin.dbsize() == 0
    made = await browser.post("/api/groups", json=body, headers={**site, "X-CSRF-Token": csrf})
    assert made.status_code == 201 and "group" in made.json()


# --- the OpenAPI document ------------------------------------------------------------------------


async def test_the_openapi_document_describes_groups(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/openapi.json")).json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    post = paths["/api/groups"]["post"]
    assert post["security"] == [{"bearer": []}] and {"201", "401", "403", "415", "422"} <= set(
        post["responses"]
    )
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"timeout", "name", "data", "then", "children"}
    assert body["required"] == ["timeout"] and body["additionalProperties"] is False
    children = paths["/api/jobs/{id}/children"]["get"]
    assert {p["name"] for p in children["parameters"]} == {"id", "state", "limit", "cursor"}
    assert children["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobPage"
    }
    assert {"404", "410", "422"} <= set(children["responses"])
    for route in ("/api/jobs", "/api/queues/{name}/jobs"):
        made = paths[route]["post"]
        assert "group" in made["requestBody"]["content"]["application/json"]["schema"]["properties"]
        assert {"404", "409"} <= set(made["responses"])
    job = schemas["Job"]["properties"]
    assert job["group"]["$ref"] == "#/components/schemas/GroupInfo" and job["group_id"]["type"] == "string"
    info = schemas["GroupInfo"]
    assert set(info["properties"]) == GROUP_KEYS and set(info["properties"]["counts"]["required"]) == set(
        STATES
    )
