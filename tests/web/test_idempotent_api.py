"""``"key"`` on ``POST /api/jobs`` and ``POST /api/queues/{name}/jobs``
(issue 26): 201 with a new job, 200 with the live job the key names."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import snapshot, writes


async def test_create_with_a_key_answers_201_then_200_with_the_same_job(
    api: httpx.AsyncClient, track: Any, admin: Any
) -> None:
    first = await api.post("/api/jobs", json={"timeout": 60, "key": "order-42", "data": {"n": 1}})
    assert first.status_code == 201
    assert first.json()["key"] == "order-42"
    before = (snapshot(admin), writes(admin))
    again = await api.post("/api/jobs", json={"timeout": 60, "key": "order-42", "data": {"n": 2}})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["input"] == {"n": 1}
    assert (snapshot(admin), writes(admin)) == before
    other = await api.post("/api/jobs", json={"timeout": 60, "key": "order-43"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    plain = await api.post("/api/jobs", json={"timeout": 60})
    assert plain.status_code == 201 and plain.json().get("key") is None


async def test_push_with_a_key_queues_once(api: httpx.AsyncClient, track: Any) -> None:
    body = {"timeout": 60, "key": "import-a", "data": {"file": "a"}}
    first = await api.post("/api/queues/import/jobs", json=body)
    again = await api.post("/api/queues/import/jobs", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert await track.queued("import") == 1


async def test_a_bad_key_is_refused_with_422_and_writes_nothing(api: httpx.AsyncClient, admin: Any) -> None:
    before = writes(admin)
    for key in ("", "x" * 201, 42, "nul\u0000"):
        r = await api.post("/api/jobs", json={"timeout": 60, "key": key})
        assert r.status_code == 422, (key, r.text)
        r = await api.post("/api/queues/q/jobs", json={"timeout": 60, "key": key})
        assert r.status_code == 422, (key, r.text)
    assert writes(admin) == before


async def test_the_openapi_document_takes_the_key(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/openapi.json")).json()
    for path in ("/api/jobs", "/api/queues/{name}/jobs"):
        post = doc["paths"][path]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema["properties"]["key"]["maxLength"] == 200
        assert {"200", "201"} <= set(post["responses"])
