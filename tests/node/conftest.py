"""The Node.js client (clients/node) driven from the suite: each test
talks to ``clients/node/test/driver.mjs``, a node process running the
package against the same real redis-server (or cluster) as the Python
handler, one JSON line per request.

These tests need ``node`` (20+) and the package's ``npm ci`` (which the
Makefile runs, and which copies the Lua scripts into clients/node/lua).
Without them they skip, saying so, but never under ``CI=true``: there
they fail, as the browser tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisClusterServers
from tests.conftest import AclServer, Backend

ROOT = Path(__file__).resolve().parents[2]
#: The Node client under test: clients/node, or a copy of it with other
#: packages installed (requirements/matrix.sh sets $JOBBERTRACK_NODE_DIR).
NODE_DIR = Path(os.environ.get("JOBBERTRACK_NODE_DIR") or ROOT / "clients" / "node")
CI = os.environ.get("CI") == "true"


def _unavailable(message: str) -> None:
    if CI:
        pytest.fail(f"{message}; CI=true, so the Node.js tests may not be skipped", pytrace=False)
    pytest.skip(message)


def node_binary() -> str:
    """``node`` (or ``$JOBBERTRACK_NODE``), with the package installed."""
    found = os.environ.get("JOBBERTRACK_NODE") or shutil.which("node")
    if not found:
        _unavailable("no node found: the Node.js client tests need node 20+ and npm")
        raise AssertionError  # unreachable: _unavailable raises
    if (
        not (NODE_DIR / "node_modules" / "redis").is_dir()
        or not (NODE_DIR / "lua" / "manifest.json").exists()
    ):
        _unavailable("clients/node is not installed: run `make node` (npm ci in clients/node)")
    return found


@pytest.fixture(scope="session")
def node() -> str:
    return node_binary()


class NodeError(Exception):
    """An error the Node client rejected with: its class name and fields."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details
        self.name = details["name"]
        super().__init__(f"{details['name']}: {details['message']}")


class NodeDriver:
    """One node process running the driver, connected to one backend."""

    def __init__(self, node: str, config: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [node, "test/driver.mjs", json.dumps(config)],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def send(self, op: str, **request: Any) -> None:
        """Send a request without waiting for its answer (see ``receive``)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self.process.stdin.flush()

    def receive(self) -> Any:
        """The answer to the oldest request sent: its result, or NodeError."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            assert self.process.stderr is not None
            raise AssertionError(f"the node driver died: {self.process.stderr.read()}")
        reply = json.loads(line)
        if "error" in reply:
            raise NodeError(reply["error"])
        return reply["ok"]

    def __call__(self, op: str, **request: Any) -> Any:
        self.send(op, **request)
        return self.receive()

    def error(self, op: str, **request: Any) -> dict[str, Any]:
        """The error the request rejects with (it must reject)."""
        with pytest.raises(NodeError) as info:
            self(op, **request)
        return info.value.details

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def node_config(backend: Backend, ids: str | None = None, **handler: Any) -> dict[str, Any]:
    """How the driver reaches ``backend`` (an ACL backend: as its restricted
    user); ``ids``: a prefix for ids chosen by a factory of the driver's."""
    config: dict[str, Any] = {"handler": handler, "ids": ids}
    if isinstance(backend, RedisClusterServers):
        config["cluster"] = [f"redis://127.0.0.1:{n.port}" for n in backend.nodes]
    else:
        config["url"] = backend.url
    return config


@pytest.fixture
def make_node(node: str, backend: Backend, client: Any) -> Iterator[Callable[..., NodeDriver]]:
    """make_node(ids=None, **handler_options) -> a new driver on the backend
    (emptied by ``client``)."""
    drivers: list[NodeDriver] = []

    def make(ids: str | None = None, **handler: Any) -> NodeDriver:
        driver = NodeDriver(node, node_config(backend, ids, **handler))
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.close()


@pytest.fixture
def js(make_node: Callable[..., NodeDriver]) -> NodeDriver:
    """A Node.js handler on the backend."""
    return make_node()


def app_client(backend: Backend, client: Any) -> Any:
    """The client the library uses: the restricted user on the ACL backend."""
    return backend.app_client() if isinstance(backend, AclServer) else client


@pytest.fixture
def py(backend: Backend, client: Any) -> Iterator[jobbertrack.Handler]:
    """A Python (sync) handler on the same backend as ``js``."""
    app = app_client(backend, client)
    yield jobbertrack.Handler(app)
    if app is not client:
        app.close()


def as_json(value: Any) -> Any:
    """A value as JSON would carry it (Python's get_value() next to Node's getValue())."""
    return json.loads(json.dumps(value))
