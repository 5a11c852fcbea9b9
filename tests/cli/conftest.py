"""Fixtures for the command line: one private redis-server for the module
(the CLI is a thin layer over the library, whose behaviour is tested on
every backend), emptied before each test, and a runner bound to it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import jobbertrack
from jobbertrack.cli import main
from jobbertrack.testing import RedisServer
from tests.helpers import cli_runner

CLI = [sys.executable, "-m", "jobbertrack.cli"]


@pytest.fixture(scope="session")
def cli_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No URL or namespace from the outside; an embedded Redis, if one is
    ever started, lives in the test's own directory."""
    monkeypatch.delenv("JOBBERTRACK_REDIS_URL", raising=False)
    monkeypatch.delenv("JOBBERTRACK_NAMESPACE", raising=False)
    monkeypatch.setenv("JOBBERTRACK_HOME", str(tmp_path / "home"))


@pytest.fixture
def url(cli_server: RedisServer) -> str:
    client = cli_server.client()
    client.flushall()
    client.close()
    return cli_server.url


@pytest.fixture
def handler(url: str) -> Iterator[jobbertrack.Handler]:
    client = jobbertrack.connect(url)
    yield jobbertrack.Handler(client)
    client.close()


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(url: str) -> Invoke:
    """invoke(*args, input=None, code=0): run `jobbertrack --redis-url URL
    *args` through click's runner and check its exit status."""

    def run(*args: str, input: str | None = None, code: int | None = 0, **kwargs: Any) -> Result:
        result = cli_runner().invoke(main, ["--redis-url", url, *args], input=input, **kwargs)
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result

    return run


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
