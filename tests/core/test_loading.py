"""The handler's short way of building a job from a record read
(``ResourceBase._read``) makes what the factory's ``load`` and binding make,
and is used only when neither is the user's own (no Redis: clients here are
never connected)."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio

import jobbertrack
import jobbertrack.aio

RECORD = {
    b"state": b"running",
    b"created": b"1796040099123",
    b"expires": b"1796043699123",
    b"token": b"t1",
    b"started": b"1796040099200",
    b"lease": b"60000",
    b"beat": b"1796040099200",
    b"data": b'{"rows": 42}',
}


def _long_way(track: Any, job_id: str) -> Any:
    return track._adopt(track.resource_factory.load(track.client, job_id, RECORD))


def test_the_short_way_makes_what_the_factory_makes() -> None:
    for track in (
        jobbertrack.Handler(redis.Redis(port=1)),
        jobbertrack.aio.Handler(redis.asyncio.Redis(port=1)),
    ):
        short, long = track._load("job1", RECORD), _long_way(track, "job1")
        assert type(short) is type(long)
        assert vars(short) == vars(long)
        assert short.get_value() == long.get_value()


def test_a_factory_or_resource_of_the_users_own_is_always_called() -> None:
    made: list[str] = []

    class Mine(jobbertrack.Resource):
        def __init__(self, client: Any, id: str) -> None:
            made.append(id)
            super().__init__(client, id)

    class MineFactory(jobbertrack.ResourceFactory):
        resource_class = Mine

    class Loading(jobbertrack.ResourceFactory):
        def load(self, client: Any, id: str, reply: Any) -> jobbertrack.Resource:
            made.append("load:" + id)
            return super().load(client, id, reply)

    client = redis.Redis(port=1)
    assert isinstance(jobbertrack.Handler(client, MineFactory())._load("a", RECORD), Mine)
    jobbertrack.Handler(client, Loading())._load("b", RECORD)
    assert made == ["a", "load:b"]
    assert jobbertrack.Handler(client)._load("c", {}) is None
