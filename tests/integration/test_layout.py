"""The layout stamp (docs/data-model.md, "Layout version"), Python side, on
every backend and both layers: the first create on a namespace writes
``<ns>:{layout}``, every client checks it once before its first call, and a
layout this version does not know is refused with UnknownLayout, nothing
read or written.  (tests/node/test_layout.py: the same, across languages.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._core.keys import KNOWN_LAYOUTS, LAYOUT_VERSION
from tests.conftest import AclServer
from tests.helpers import all_keys, command_calls


def test_the_first_create_stamps_the_namespace_and_reads_do_not(track: Any, client: Any) -> None:
    track.counts()
    assert track.get("x") is None and track.status("x") == "unknown"
    assert client.get("jt:{layout}") is None  # reads write nothing
    track.create(60)
    assert client.get("jt:{layout}") == LAYOUT_VERSION.encode()
    assert client.ttl("jt:{layout}") == -1  # kept while the namespace is in use


def test_create_many_stamps_too(track: Any, client: Any) -> None:
    track.create_many(3, 60)
    assert client.get("jt:{layout}") == LAYOUT_VERSION.encode()


@pytest.fixture
def fresh(layer: str, backend: Any, make_handler: Any) -> Iterator[Any]:
    """A handler of the test's layer on a client of its own, which has not
    checked the layout stamp yet."""
    if layer == "async":
        yield make_handler()  # a new asyncio client each time
        return
    own = backend.app_client() if isinstance(backend, AclServer) else backend.client()
    yield jobbertrack.Handler(own)
    own.close()


def test_an_unknown_layout_is_refused_before_anything_is_done(
    make_handler: Any, client: Any, fresh: Any
) -> None:
    job = make_handler().create(60)
    client.set("jt:{layout}", "2")
    before = {k: client.dump(k) for k in all_keys(client, "*")}
    track = fresh  # its client checks the stamp at its first call, now
    calls = {
        "create": lambda: track.create(60),
        "create_many": lambda: track.create_many(2, 60),
        "get": lambda: track.get(job.id),
        "get_many": lambda: track.get_many([job.id]),
        "counts": track.counts,
        "status": lambda: track.status(job.id),
        "list": track.list,
        "history": lambda: track.history(job.id),
        "sweep": track.sweep,
        "wait": lambda: track.wait(job.id, timeout=0.1),
    }
    for name, call in calls.items():
        with pytest.raises(jobbertrack.UnknownLayout) as info:
            call()
        assert (info.value.namespace, info.value.found, info.value.known) == ("jt", "2", KNOWN_LAYOUTS), name
        assert "layout '2'" in str(info.value) and "upgrade jobbertrack" in str(info.value)
    assert {k: client.dump(k) for k in all_keys(client, "*")} == before  # nothing written


def test_an_unknown_layout_is_refused_to_an_event_reader(client: Any, backend: Any) -> None:
    jobbertrack.Handler(client).create(60)
    client.set("jt:{layout}", "2")
    fresh = backend.client()
    try:
        with pytest.raises(jobbertrack.UnknownLayout):
            next(iter(jobbertrack.Handler(fresh).events()))
    finally:
        fresh.close()


async def test_an_unknown_layout_is_refused_to_asyncio_event_readers(client: Any, aclient: Any) -> None:
    jobbertrack.Handler(client).create(60)
    client.set("jt:{layout}", "2")
    with pytest.raises(jobbertrack.aio.UnknownLayout):
        async for _ in jobbertrack.aio.Handler(aclient).events():
            pass


def test_the_stamp_is_checked_once_per_client_and_namespace(client: Any) -> None:
    track = jobbertrack.Handler(client)
    job = track.create(60)  # checked and written here, in one round trip
    gets, sets = command_calls(client, "get"), command_calls(client, "set")
    for _ in range(5):
        track.get(job.id)
        track.counts()
        track.create(60).start()
        list(track.events())
    other = jobbertrack.Handler(client, namespace="other")
    other.get("x")
    assert (command_calls(client, "get"), command_calls(client, "set")) == (gets + 1, sets)
    other.create(60)  # a create after a read: the stamp is written then
    assert (command_calls(client, "get"), command_calls(client, "set")) == (gets + 2, sets + 1)
    client.set("jt:{layout}", "2")  # under a client that checked it: not read again
    assert track.get(job.id) is not None


async def test_concurrent_first_calls_share_one_check(backend: Any, client: Any, aclosing: Any) -> None:
    import asyncio

    aclient = aclosing(backend.async_client())
    track = jobbertrack.aio.Handler(aclient)
    gets = command_calls(client, "get")
    jobs = await asyncio.gather(*(track.create(60) for _ in range(50)))
    assert len({job.id for job in jobs}) == 50
    assert command_calls(client, "get") - gets == 1


def test_the_error_is_exported() -> None:
    assert issubclass(jobbertrack.UnknownLayout, jobbertrack.JobberTrackError)
    assert jobbertrack.aio.UnknownLayout is jobbertrack.UnknownLayout
    assert "UnknownLayout" in jobbertrack.__all__ and "UnknownLayout" in jobbertrack.aio.__all__
