"""Finding jobs over HTTP (issue 26): ``tags`` on create and push, the
filters of ``GET /api/jobs`` and ``GET /api/counts``, and the jobs page's
search, filter chips and shareable URLs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

import jobbertrack
from jobbertrack.testing import RedisServer

from .conftest import AUTH, TOKEN, MakeApi, writes
from .test_api import check_error

STATES = [s.value for s in jobbertrack.State]


async def _ids(api: httpx.AsyncClient, **params: Any) -> list[str]:
    r = await api.get("/api/jobs", params=params)
    assert r.status_code == 200, r.text
    return [job["id"] for job in r.json()["jobs"]]


async def test_create_and_push_take_tags_and_every_job_shows_its_tags(api: httpx.AsyncClient) -> None:
    made = await api.post(
        "/api/jobs", json={"timeout": 60, "name": "import", "tags": ["customer-7", "nightly"]}
    )
    assert made.status_code == 201 and made.json()["tags"] == ["customer-7", "nightly"]
    pushed = await api.post("/api/queues/mail/jobs", json={"timeout": 60, "tags": ["urgent"], "data": 1})
    assert pushed.status_code == 201 and pushed.json()["tags"] == ["urgent"]
    plain = await api.post("/api/jobs", json={"timeout": 60})
    assert plain.json()["tags"] == []
    got = (await api.get(f"/api/jobs/{made.json()['id']}")).json()
    assert got["tags"] == ["customer-7", "nightly"]
    listed = {j["id"]: j["tags"] for j in (await api.get("/api/jobs")).json()["jobs"]}
    assert listed == {
        made.json()["id"]: ["customer-7", "nightly"],
        pushed.json()["id"]: ["urgent"],
        plain.json()["id"]: [],
    }


@pytest.mark.parametrize(
    "tags", ["blue", [1], [None], ["x" * 129], [""], ["tab\there"], [f"t{i}" for i in range(17)], {"a": 1}]
)
async def test_bad_tags_are_refused_with_422_and_write_nothing(
    api: httpx.AsyncClient, admin: Any, tags: Any
) -> None:
    before = writes(admin)
    check_error(await api.post("/api/jobs", json={"timeout": 60, "tags": tags}), 422, "invalid")
    check_error(await api.post("/api/queues/q/jobs", json={"timeout": 60, "tags": tags}), 422, "invalid")
    assert writes(admin) == before


async def test_jobs_filter_by_tag_queue_name_and_state(api: httpx.AsyncClient, track: Any) -> None:
    both = await track.create(60, name="nightly-a", tags=["blue", "big"])
    blue = await track.create(60, name="daily-b", tags=["blue"])
    mail = await track.push({"to": "x"}, queue="mail", timeout=60, name="nightly-mail", tags=["red"])
    await track.create(60, name="other")
    assert await _ids(api, tag="blue") == [blue.id, both.id]
    assert await _ids(api, tag=["blue", "big"]) == [both.id]
    assert await _ids(api, tag="nope") == []
    assert await _ids(api, queue="mail") == [mail.id]
    assert await _ids(api, name="nightly") == [mail.id, both.id]
    assert await _ids(api, name="nightly", tag="red", queue="mail") == [mail.id]
    await both.start()
    assert await _ids(api, tag="blue", state="running") == [both.id]
    assert await _ids(api, tag="blue", state=["waiting", "running"]) == [blue.id, both.id]
    # empty values are no filter (a form's blank inputs)
    assert len(await _ids(api, tag="", queue="", name="", since="", until="")) == 4


async def test_jobs_filter_by_creation_time(api: httpx.AsyncClient, track: Any) -> None:
    job = await track.create(60, name="only")
    created = job.created_at
    at, later = created.isoformat(), (created + timedelta(milliseconds=1)).isoformat()
    assert await _ids(api, since=at) == [job.id]  # inclusive
    assert await _ids(api, until=at) == []  # exclusive
    assert await _ids(api, until=later) == [job.id]
    assert await _ids(api, since=f"{created.timestamp():.3f}") == [job.id]  # epoch seconds
    assert await _ids(api, since=created.replace(tzinfo=None).isoformat()) == [job.id]  # naive: UTC
    assert await _ids(api, since="1h") == [job.id]
    assert await _ids(api, until="1h") == []
    assert await _ids(api, since="2000-01-01", until="2999-01-01") == [job.id]


async def test_a_filtered_listing_pages_with_its_cursor(api: httpx.AsyncClient, track: Any) -> None:
    tagged = [await track.create(60, name=f"t{i}", tags=["page"]) for i in range(5)]
    for i in range(4):
        await track.create(60, name=f"u{i}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"tag": "page", "limit": "2", **({"cursor": cursor} if cursor else {})}
        body = (await api.get("/api/jobs", params=params)).json()
        seen += [j["id"] for j in body["jobs"]]
        cursor = body["cursor"]
        if cursor is None:
            break
    assert seen == [j.id for j in reversed(tagged)]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2h ago"},
        {"since": "2026-13-01"},
        {"since": "-1h"},
        {"tag": "x" * 129},
        {"tag": "tab\there"},
        {"queue": "no spaces\n"},
        {"tag": "x" * 129, "cursor": "1:abc"},
    ],
)
async def test_bad_filters_are_400(api: httpx.AsyncClient, admin: Any, params: dict[str, str]) -> None:
    before = writes(admin)
    body = check_error(await api.get("/api/jobs", params=params), 400, "invalid")
    assert body["message"]
    assert writes(admin) == before


async def test_counts_of_a_tag_or_queue(api: httpx.AsyncClient, track: Any) -> None:
    a = await track.create(60, tags=["blue"])
    await track.create(60, tags=["blue", "big"])
    await track.create(60, tags=["red"])
    await track.push(None, queue="mail", timeout=60, tags=["blue"])
    await a.start()
    everything = (await api.get("/api/counts")).json()
    assert list(everything) == STATES and sum(everything.values()) == 4
    blue = (await api.get("/api/counts", params={"tag": "blue"})).json()
    assert blue == {**dict.fromkeys(STATES, 0), "waiting": 2, "running": 1}
    assert (await api.get("/api/counts", params={"tag": ["blue", "big"]})).json()["waiting"] == 1
    mail = (await api.get("/api/counts", params={"queue": "mail", "tag": "blue"})).json()
    assert mail == {**dict.fromkeys(STATES, 0), "waiting": 1}
    check_error(await api.get("/api/counts", params={"tag": "x" * 129}), 400, "invalid")
    check_error(await api.get("/api/counts", params={"since": "1h"}), 400, "invalid")


async def test_the_openapi_document_has_the_filters_and_tags(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/openapi.json")).json()
    listing = doc["paths"]["/api/jobs"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"state", "limit", "cursor", "tag", "queue", "name", "since", "until"} <= names
    assert "400" in listing["responses"]
    assert {p["name"] for p in doc["paths"]["/api/counts"]["get"]["parameters"]} == {"tag", "queue"}
    for path in ("/api/jobs", "/api/queues/{name}/jobs"):
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["properties"]["tags"]["maxItems"] == 16
    assert "tags" in doc["components"]["schemas"]["Job"]["properties"]


# -- the jobs page -------------------------------------------------------------


def _query(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).query)


async def test_the_search_box_goes_to_a_job_or_to_the_filters_url(api: httpx.AsyncClient, track: Any) -> None:
    job = await track.create(60, name="nightly")
    r = await api.get("/jobs", params={"q": job.id})
    assert r.status_code == 303 and r.headers["location"] == f"/jobs/{job.id}"
    r = await api.get(
        "/jobs", params={"q": "tag:blue tag:'big batch' queue:mail night", "since": "2h", "until": ""}
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert urlsplit(location).path == "/jobs"
    assert _query(location) == [
        ("tag", "blue"),
        ("tag", "big batch"),
        ("queue", "mail"),
        ("name", "night"),
        ("since", "2h"),
    ]
    r = await api.get("/jobs", params={"q": "no-such-job", "state": "failed"})
    assert _query(r.headers["location"]) == [("state", "failed"), ("name", "no-such-job")]
    r = await api.get("/jobs", params={"q": ""})
    assert r.headers["location"] == "/jobs"


async def test_a_filtered_page_shows_its_jobs_chips_and_links(api: httpx.AsyncClient, track: Any) -> None:
    blue = await track.create(60, name="nightly-blue", tags=["blue"])
    red = await track.create(60, name="nightly-red", tags=["red"])
    r = await api.get("/jobs", params={"tag": "blue", "name": "nightly", "since": "1h"})
    assert r.status_code == 200
    page = r.text
    assert f'data-job-id="{blue.id}"' in page and f'data-job-id="{red.id}"' not in page
    assert 'data-filter="tag" data-value="blue"' in page and 'data-filter="since" data-value="1h"' in page
    assert 'value="tag:blue nightly"' in page  # the search box says the filter
    assert "/jobs?state=failed&amp;tag=blue&amp;name=nightly&amp;since=1h" in page  # a tab keeps the filter
    assert "/jobs?tag=blue&amp;since=1h" in page  # the name chip's removal keeps the rest


async def test_a_bad_filter_on_the_page_says_so(api: httpx.AsyncClient, track: Any) -> None:
    await track.create(60, name="x")
    r = await api.get("/jobs", params={"since": "<b>soon</b>"})
    assert r.status_code == 400
    assert 'id="jt-filter-error"' in r.text and "<b>soon</b>" not in r.text
    assert "&lt;b&gt;soon&lt;/b&gt;" in r.text


async def test_tags_are_escaped_on_the_pages(api: httpx.AsyncClient, track: Any) -> None:
    evil = '<img src=x onerror="alert(1)">'
    job = await track.create(60, name="x", tags=[evil, "a&b"])
    for path, params in ((f"/jobs/{job.id}", {}), ("/jobs", {}), ("/jobs", {"tag": evil})):
        text = (await api.get(path, params=params)).text
        assert evil not in text, path
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text, path
    detail = (await api.get(f"/jobs/{job.id}")).text
    assert 'href="/jobs?tag=a%26b"' in detail  # a tag links to its jobs


async def test_a_sync_handler_filters_and_counts_too(
    make_api: MakeApi, web_redis: RedisServer, track: Any
) -> None:
    blue = await track.create(60, name="nightly", tags=["blue"])
    await track.create(60, name="daily", tags=["red"])
    sync_client = web_redis.client()
    try:
        api = await make_api(jobbertrack.Handler(sync_client), token=TOKEN, headers=AUTH)
        assert await _ids(api, tag="blue", name="night", since="1h") == [blue.id]
        counts = (await api.get("/api/counts", params={"tag": "blue"})).json()
        assert counts == {**dict.fromkeys(STATES, 0), "waiting": 1}
        made = await api.post("/api/jobs", json={"timeout": 60, "tags": ["green"]})
        assert made.status_code == 201 and made.json()["tags"] == ["green"]
        page = (await api.get("/jobs", params={"tag": "green"})).text
        assert f'data-job-id="{made.json()["id"]}"' in page and f'data-job-id="{blue.id}"' not in page
    finally:
        sync_client.close()
