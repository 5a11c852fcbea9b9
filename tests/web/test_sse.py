"""``GET /api/events`` over a real uvicorn server (httpx's ASGI transport
buffers whole responses, so a stream needs a real one): message shape,
resuming with ``since`` and ``Last-Event-ID``, the ``job`` filter, 200
streams on one Redis connection, and the handlers the app accepts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisClusterServers
from jobbertrack.web import create_app
from tests.conftest import CLUSTER_BINARY

from .conftest import AUTH, TOKEN, ChosenIds, MakeApi, MakeLive, check_security_headers, eventually, writes
from .live import EventStream, LiveServer, open_events

STREAMS = 200


def http(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0), **kwargs)


def check_event(event_id: str, data: dict[str, Any], job_id: str, state: str) -> None:
    assert event_id, data
    assert data["job_id"] == job_id, data
    assert data["state"] == state, data
    assert datetime.fromisoformat(data["at"]).utcoffset() is not None, data


async def test_each_message_has_an_id_and_json_data(make_live: MakeLive, track: Any) -> None:
    live = make_live()
    async with http() as client, open_events(client, f"{live.url}/api/events") as stream:
        check_security_headers(stream.response)
        assert "no-store" in stream.response.headers.get("cache-control", "")
        job = await track.create(60, name="seen live")
        await job.start()
        await job.set_progress(1, 2, "half")
        await job.finish({"ok": True})
        events = await stream.events(4)
    for (event_id, data), state in zip(events, ["waiting", "running", "running", "finished"], strict=True):
        check_event(event_id, data, job.id, state)
    assert events[2][1]["progress"] == {"current": 1, "total": 2, "message": "half"}
    assert len({event_id for event_id, _ in events}) == 4
    times = [datetime.fromisoformat(data["at"]) for _, data in events]
    assert times == sorted(times)


async def test_a_write_through_the_api_arrives_on_the_stream(make_live: MakeLive) -> None:
    live = make_live(token=TOKEN)
    async with http(headers=AUTH) as client, open_events(client, f"{live.url}/api/events") as stream:
        created = await client.post(f"{live.url}/api/jobs", json={"timeout": 60})
        assert created.status_code == 201
        job_id = created.json()["id"]
        assert (await client.post(f"{live.url}/api/jobs/{job_id}/start")).status_code == 200
        events = await stream.events(2)
    check_event(*events[0], job_id, "waiting")
    check_event(*events[1], job_id, "running")


async def test_the_stream_needs_the_token_when_one_is_set(make_live: MakeLive) -> None:
    live = make_live(token=TOKEN)
    async with http() as client:
        r = await client.get(f"{live.url}/api/events")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        check_security_headers(r)


Resume = Callable[[str], dict[str, Any]]
RESUMES: dict[str, Resume] = {
    "since": lambda cursor: {"params": {"since": cursor}},
    "last-event-id": lambda cursor: {"headers": {"Last-Event-ID": cursor}},
    "header-wins": lambda cursor: {"params": {"since": "0-0"}, "headers": {"Last-Event-ID": cursor}},
}


@pytest.mark.parametrize("how", sorted(RESUMES))
async def test_resuming_misses_nothing_and_repeats_nothing(
    make_live: MakeLive, track: Any, admin: Any, how: str
) -> None:
    live = make_live()
    url = f"{live.url}/api/events"
    first = await track.create(60)
    async with http() as client:
        async with open_events(client, url) as stream:
            await first.start()
            await first.set_progress(1, 3)
            seen = await stream.events(2)  # running, then the progress report
        check_event(*seen[0], first.id, "running")
        cursor = seen[1][0]
        # while no one listens: the job ends, another is made
        await first.finish("done")
        second = await track.create(60)
        before = writes(admin)
        async with open_events(client, url, **RESUMES[how](cursor)) as stream:
            replayed = await stream.events(2)
            check_event(*replayed[0], first.id, "finished")
            check_event(*replayed[1], second.id, "waiting")
            assert writes(admin) == before  # a replay reads only
            await second.start()
            await second.fail("late")
            live_events = await stream.events(2)
            check_event(*live_events[0], second.id, "running")
            check_event(*live_events[1], second.id, "failed")
        # resuming from the last of those gives only what follows it
        async with open_events(client, url, headers={"Last-Event-ID": live_events[0][0]}) as stream:
            check_event(*(await stream.event()), second.id, "failed")
            third = await track.create(60)
            check_event(*(await stream.event()), third.id, "waiting")


async def test_the_job_parameter_filters_the_stream(make_live: MakeLive, web_redis: Any, track: Any) -> None:
    weird = "a/b ü?#%"
    client = web_redis.async_client()
    try:
        named = jobbertrack.aio.Handler(client, resource_factory=ChosenIds([weird]))
        live = make_live()
        async with http() as http_client:
            url = f"{live.url}/api/events?job={quote(weird, safe='')}"
            async with open_events(http_client, url) as stream:
                other = await track.create(60)
                await other.start()
                job = await named.create(60)
                await other.finish()
                await job.start()
                await job.finish()
                events = await stream.events(3)
            for (event_id, data), state in zip(events, ["waiting", "running", "finished"], strict=True):
                check_event(event_id, data, weird, state)
            # the filter applies to the replay too
            since = quote(events[0][0], safe="")
            async with open_events(http_client, f"{url}&since={since}") as stream:
                replayed = await stream.events(2)
            assert [d["state"] for _, d in replayed] == ["running", "finished"]
            assert {d["job_id"] for _, d in replayed} == {weird}
    finally:
        await client.aclose()


async def test_since_0_replays_from_the_oldest_event(make_live: MakeLive, track: Any) -> None:
    live = make_live()
    job = await track.create(60)
    await job.start()
    async with (
        http() as client,
        open_events(client, f"{live.url}/api/events", params={"since": "0"}) as stream,
    ):
        replayed = await stream.events(2)
    check_event(*replayed[0], job.id, "waiting")
    check_event(*replayed[1], job.id, "running")


async def test_a_bad_since_is_422(make_api: MakeApi) -> None:
    api = await make_api()
    for since in ("garbage", "x" * 5000, "c:1-0,2-0"):
        r = await api.get("/api/events", params={"since": since})
        assert r.status_code == 422 and r.json()["error"] == "invalid", (since, r.status_code)
        check_security_headers(r)


async def test_200_streams_share_one_follower_connection(
    make_live: MakeLive, web_redis: Any, track: Any, admin: Any
) -> None:
    live = make_live()
    url = f"{live.url}/api/events"
    limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=0)
    async with http(limits=limits) as client, contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(open_events(client, url))
        warm = await track.create(60)
        check_event(*(await first.event()), warm.id, "waiting")  # the follower is up and following
        before = len(admin.client_list())
        opening: list[Awaitable[EventStream]] = [
            stack.enter_async_context(open_events(client, url)) for _ in range(STREAMS - 1)
        ]
        streams = [first, *await asyncio.gather(*opening)]
        during = len(admin.client_list())
        assert during - before <= 2, (before, during)
        job = await track.create(60)
        got = await asyncio.gather(*(s.event(timeout=20) for s in streams))
        assert all(data["job_id"] == job.id and data["state"] == "waiting" for _, data in got)
        assert len({event_id for event_id, _ in got}) == 1
    after_all = len(admin.client_list())
    assert after_all - before <= 2, (before, after_all)
    follower = live.app.state.jobbertrack.follower

    async def all_gone() -> bool:  # the server sees each client leave in its own time
        return bool(follower.subscribers == 0)

    await eventually(all_gone)


# --- the handlers it accepts -------------------------------------------------------------------


async def test_a_sync_handler_serves_the_stream(make_live: MakeLive, track: Any) -> None:
    live = make_live("sync")
    async with http() as client:
        async with open_events(client, f"{live.url}/api/events") as stream:
            job = await track.create(60)
            await job.start()
            events = await stream.events(2)
        check_event(*events[0], job.id, "waiting")
        check_event(*events[1], job.id, "running")
        await job.finish()
        async with open_events(client, f"{live.url}/api/events", params={"since": events[1][0]}) as stream:
            check_event(*(await stream.event()), job.id, "finished")
        assert (await client.get(f"{live.url}/api/counts")).json()["finished"] == 1
        got = await client.get(f"{live.url}/api/jobs/{job.id}")
        assert got.json()["state"] == "finished"


@pytest.mark.skipif(CLUSTER_BINARY is None, reason="no redis-server with a redis-cli to make a cluster")
async def test_an_aio_handler_on_a_cluster() -> None:
    with RedisClusterServers(3, CLUSTER_BINARY) as cluster:

        async def build() -> tuple[Any, Callable[[], Awaitable[None]]]:
            client = cluster.async_client()
            return create_app(jobbertrack.aio.Handler(client)), client.aclose

        mine = cluster.async_client()
        try:
            theirs = jobbertrack.aio.Handler(mine)
            with LiveServer(build) as live:
                jobs = [await theirs.create(60, name=f"c{i}") for i in range(6)]
                await jobs[0].start()
                async with http() as client:
                    counts = (await client.get(f"{live.url}/api/counts")).json()
                    assert counts == {"waiting": 5, "running": 1, "failed": 0, "finished": 0, "cancelled": 0}
                    listed = (await client.get(f"{live.url}/api/jobs")).json()
                    assert [j["id"] for j in listed["jobs"]] == [j.id for j in reversed(jobs)]
                    got = (await client.get(f"{live.url}/api/jobs/{jobs[0].id}")).json()
                    assert got["state"] == "running" and got["name"] == "c0"
                    history = (await client.get(f"{live.url}/api/jobs/{jobs[0].id}/history")).json()
                    assert [h["to"] for h in history] == ["waiting", "running"]
                    async with open_events(client, f"{live.url}/api/events") as stream:
                        await jobs[0].finish()
                        await jobs[1].start()
                        events = await stream.events(2)
                    check_event(*events[0], jobs[0].id, "finished")
                    check_event(*events[1], jobs[1].id, "running")
                    url = f"{live.url}/api/events"
                    async with open_events(client, url, headers={"Last-Event-ID": events[0][0]}) as stream:
                        check_event(*(await stream.event()), jobs[1].id, "running")
        finally:
            await mine.aclose()


async def test_an_allowed_origin_may_open_the_stream_and_others_may_not(
    make_live: MakeLive, track: Any
) -> None:
    allowed = "http://allowed.test"
    live = make_live(allow_origins=[allowed])
    url = f"{live.url}/api/events"
    async with http() as client:
        async with open_events(client, url, headers={"Origin": allowed}) as stream:
            assert stream.response.headers["access-control-allow-origin"] == allowed
            job = await track.create(60)
            check_event(*(await stream.event()), job.id, "waiting")
        refused = await client.get(url, headers={"Origin": "http://evil.test"})
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
