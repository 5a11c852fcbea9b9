"""Sentinel: one master, one replica, three sentinels on loopback; the
master dies, the replica is promoted, operations resume."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer, free_port
from tests.helpers import fail_fast_bound

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="needs redis-server")


class Sentinels:
    def __init__(self, directory: Path, master_port: int, count: int = 3) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for port in self.ports:
            conf = directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
                "sentinel down-after-milliseconds mymaster 1000\n"
                "sentinel failover-timeout mymaster 5000\n"
            )
            self.procs.append(
                subprocess.Popen(
                    [str(REDIS), str(conf), "--sentinel", "--logfile", str(directory / f"s{port}.log")],
                    stdin=subprocess.DEVNULL,
                )
            )

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.ports) + "/mymaster"

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer, Sentinels]]:
    with RedisServer(REDIS) as master:
        replica = RedisServer(REDIS, args=["--replicaof", "127.0.0.1", str(master.port)])
        with replica:
            sentinels = Sentinels(tmp_path, master.port)
            try:
                _until(lambda: _sees_replicas(sentinels), 20)
                yield master, replica, sentinels
            finally:
                sentinels.close()


def _sees_replicas(sentinels: Sentinels) -> bool:
    import redis

    try:
        for port in sentinels.ports:
            with redis.Redis(port=port, socket_timeout=1) as s:
                if not s.sentinel_slaves("mymaster"):
                    return False
        return True
    except Exception:
        return False


def _until(predicate: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


def test_operations_resume_after_the_master_is_killed(
    sentinel_setup: tuple[RedisServer, RedisServer, Sentinels],
) -> None:
    master, replica, sentinels = sentinel_setup
    socket_timeout, connect_timeout = 2.0, 1.0
    client = jobbertrack.connect(
        sentinels.url, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout
    )
    # an attempt may ask each sentinel, then wait on the old master's socket
    bound = fail_fast_bound(connect_timeout + socket_timeout, connections=len(sentinels.ports) + 1)
    track = jobbertrack.Handler(client)
    job = track.create(120)
    job.start()
    master.process.kill()  # type: ignore[union-attr]
    master.process.wait()  # type: ignore[union-attr]
    errors: list[str] = []
    deadline = time.monotonic() + 30
    while True:
        started = time.monotonic()
        try:
            fresh = track.create(120)
            break
        except jobbertrack.RedisUnavailable as exc:  # a clear error during the switch, not a hang
            errors.append(str(exc))
            assert time.monotonic() - started < bound
        assert time.monotonic() < deadline, "no failover within 30 s"
        time.sleep(0.2)
    assert errors, "the switch should have been visible as RedisUnavailable"
    fresh.start()
    fresh.finish("after failover")
    assert track.get(fresh.id).data == "after failover"
    promoted = replica.client().info("replication")["role"]
    assert promoted == "master"
    # replication is asynchronous: what the old master acknowledged just
    # before dying may or may not have reached the replica (README: Scaling out)
    survivor = track.get(job.id)
    assert survivor is None or survivor.state == "running"
