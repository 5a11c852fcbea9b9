"""Retries, lost scripts, a dead server, memory limits: nothing doubled,
nothing lost, errors the caller can catch."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.exceptions
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ConstantBackoff
from redis.retry import Retry

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer, free_port
from tests.helpers import all_keys, fail_fast_bound


def _events_of(client: Any, job_id: str) -> list[bytes]:
    out = []
    for key in all_keys(client, "jt:*:events"):
        out += [f[b"state"] for _, f in client.xrange(key) if f[b"job"] == job_id.encode()]
    return out


def _evalsha_calls(client: Any) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _flaky_client(server: RedisServer) -> Any:
    """A client that times out fast and sends a call again, many times: redis-py
    5.x retries only what ``retry_on_error`` lists, 6.0+ what the Retry does."""
    return server.client(
        socket_timeout=0.3,
        retry=Retry(ConstantBackoff(0.2), 10),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    )


@contextlib.contextmanager
def frozen(server: RedisServer, seconds: float) -> Iterator[None]:
    """The server stopped (SIGSTOP) now, and thawed ``seconds`` later."""
    server.signal(signal.SIGSTOP)
    thaw = threading.Timer(seconds, server.signal, args=(signal.SIGCONT,))
    thaw.start()
    try:
        yield
    finally:
        thaw.join()
        server.signal(signal.SIGCONT)


#: A client that times out after 0.3 s and sends the call again, and how long
#: a freeze it rides out: its own Retry (10 tries), or connect()'s policy,
#: which really retries on every redis-py (on 5.x a Retry alone does
#: nothing): thawed before its third attempt ends, as 3 timeouts of 0.3 s
#: and 2 backoffs of at least 0.05 and 0.1 s come to more than 1 s.
FLAKY: dict[str, tuple[Callable[[RedisServer], Any], float]] = {
    "own-retry": (_flaky_client, 1.2),
    "connect": (lambda server: jobbertrack.connect(server.url, socket_timeout=0.3), 0.8),
}


@pytest.mark.parametrize("how", sorted(FLAKY))
def test_a_transition_replayed_by_a_retry_takes_effect_once(
    server: RedisServer, client: Any, how: str
) -> None:
    """Freeze the server mid-call for longer than the socket timeout: redis-py
    times out and sends the same call again; both reach Redis on SIGCONT."""
    make_client, freeze = FLAKY[how]
    track = jobbertrack.Handler(make_client(server))
    job = track.create(60)
    job.start()
    calls_before = _evalsha_calls(client)
    with frozen(server, freeze):
        job.finish({"once": True})
    assert job.state == "finished"
    assert track.get(job.id).data == {"once": True}
    assert _evalsha_calls(client) - calls_before >= 2, "the call was not actually sent twice"
    assert _events_of(client, job.id) == [b"waiting", b"running", b"finished"]


def test_a_create_replayed_by_a_retry_is_not_a_duplicate(server: RedisServer, client: Any) -> None:
    track = jobbertrack.Handler(_flaky_client(server))
    track.create(60)  # scripts loaded, policy checked
    with frozen(server, 1.2):
        job = track.create(60)
    assert job.state == "waiting"
    assert _events_of(client, job.id) == [b"waiting"]


def test_scripts_come_back_after_script_flush(make_handler: Any, client: Any) -> None:
    track = make_handler()
    job = track.create(30)
    client.script_flush()
    job.start()
    client.script_flush()
    assert track.get(job.id).state == "running"
    client.script_flush()
    job.finish(5)
    client.script_flush()
    assert track.create(30).state == "waiting"


def test_scripts_come_back_after_a_server_restart(server: RedisServer) -> None:
    with RedisServer(server.binary) as own:
        track = jobbertrack.Handler(own.client())
        job = track.create(30)
        own.stop()
        own.start()
        assert track.get(job.id) is None  # --save '': data gone, scripts too
        assert track.create(30).start().state == "running"


def test_a_dead_server_is_a_catchable_error_not_a_hang() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    connect_timeout = 2.0
    client = jobbertrack.connect(url, socket_connect_timeout=connect_timeout)
    track = jobbertrack.Handler(client)
    started = time.monotonic()
    with pytest.raises(jobbertrack.RedisUnavailable) as info:
        track.create(30)
    assert isinstance(info.value, jobbertrack.JobberTrackError)
    assert isinstance(info.value, ConnectionError)
    assert time.monotonic() - started < fail_fast_bound(connect_timeout)
    with pytest.raises(jobbertrack.RedisUnavailable):
        track.get("x")


async def test_a_dead_server_async(aclosing: Any) -> None:
    import redis.asyncio

    client = aclosing(redis.asyncio.Redis(port=free_port(), retry=AsyncRetry(ConstantBackoff(0.01), 1)))
    track = jobbertrack.aio.Handler(client)
    with pytest.raises(jobbertrack.RedisUnavailable):
        await track.create(30)


def test_eviction_policy_warns_once(server: RedisServer, client: Any) -> None:
    client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        track = jobbertrack.Handler(server.client())
        with pytest.warns(RuntimeWarning, match="allkeys-lru"):
            track.create(30)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            track.create(30)  # once per client, not per call
    finally:
        client.config_set("maxmemory-policy", "noeviction")


def test_out_of_memory_refuses_writes_up_front(server: RedisServer, client: Any) -> None:
    track = jobbertrack.Handler(server.client())
    job = track.create(60)
    job.start()
    before = {k: client.type(k) for k in all_keys(client, "*")}
    client.config_set("maxmemory", 1)
    try:
        with pytest.raises(jobbertrack.RedisCommandError, match=r"(?i)oom|memory"):
            track.create(60)
        with pytest.raises(jobbertrack.RedisCommandError):
            job.finish("x")
        assert track.get(job.id).state == "running"  # reads still work
    finally:
        client.config_set("maxmemory", 0)
    assert {k: client.type(k) for k in all_keys(client, "*")} == before
    job.finish("x")
    assert job.state == "finished"
