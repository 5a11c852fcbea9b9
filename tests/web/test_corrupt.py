"""The dashboard and the JSON API on records the library did not write:
never a 500; the API answers ``"state": null`` with ``problems``, and the
pages show the job as a row marked broken (issue 17)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import jobbertrack.aio
from jobbertrack._core.keys import Keyspace

KEYS = Keyspace()

#: field -> a malformed stored value
MALFORMED: dict[str, bytes | str] = {
    "state": "bogus",
    "expires": "soon",
    "data": "[" * 100_000 + "]" * 100_000,
    "progress": '{"current": "x"}',
    "name": b"\xff\xfe",
    "error": '"\\ud800"',
}


@pytest.mark.parametrize("field", sorted(MALFORMED))
async def test_api_and_pages_answer_200_with_problems(
    field: str, api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    job = await track.create(600, name="broken one", data={"n": 1})
    healthy = await track.create(600, name="fine")
    admin.hset(KEYS.job_key(job.id), field, MALFORMED[field])

    r = await api.get(f"/api/jobs/{job.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] is None
    assert [p["field"] for p in body["problems"]] == [field]
    assert (await api.get(f"/api/jobs/{healthy.id}")).json()["problems"] == []

    listed = (await api.get("/api/jobs")).json()["jobs"]
    assert {j["id"] for j in listed} == {job.id, healthy.id}
    assert (await api.get(f"/api/jobs/{job.id}/history")).status_code == 200
    assert (await api.get("/api/counts")).status_code == 200

    for page in ("/", "/jobs", "/jobs?state=waiting", f"/jobs/{job.id}"):
        r = await api.get(page)
        assert r.status_code == 200, (page, r.text[:500])
    listing = (await api.get("/jobs")).text
    assert "row-broken" in listing and "state-broken" in listing and field in listing
    detail = (await api.get(f"/jobs/{job.id}")).text
    assert "Malformed record" in detail and "state-broken" in detail


async def test_a_record_without_state_is_listed_as_broken(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    job = await track.create(600)
    admin.hdel(KEYS.job_key(job.id), "state")
    body = (await api.get(f"/api/jobs/{job.id}")).json()
    assert body["state"] is None and body["problems"] == [{"field": "state", "problem": "missing"}]
    assert (await api.get(f"/jobs/{job.id}")).status_code == 200
    assert "row-broken" in (await api.get("/jobs")).text


async def test_unknown_fields_show_under_extra(
    api: httpx.AsyncClient, track: jobbertrack.aio.Handler, admin: Any
) -> None:
    job = await track.create(600)
    admin.hset(KEYS.job_key(job.id), "importance", "high")
    body = (await api.get(f"/api/jobs/{job.id}")).json()
    assert body["state"] == "waiting" and body["problems"] == []
    assert body["extra"] == {"importance": "high"}
