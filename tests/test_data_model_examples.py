"""The ``redis-cli --eval`` session of docs/data-model.md, run as written
against a private Redis 7: every ```console block of the document, in
order, in one bash session (from a directory that sees the repository's
``src``), each ``redis-cli`` pointed at the private server.  Each reply must
be the one the document shows, times aside (13-digit milliseconds, and
the sequence part of stream ids, which carries microseconds)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobbertrack._core.keys import Keyspace
from jobbertrack.testing import RedisServer, find_redis_cli

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "data-model.md"
MARK = "@@@ jobbertrack example @@@"


def session(text: str) -> list[tuple[str, str]]:
    """(command, the output shown under it) for every ``$ `` line of the
    document's console blocks, in order."""
    out: list[tuple[str, str]] = []
    for block in re.findall(r"^```console\n(.*?)^```$", text, flags=re.M | re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], ""))
            else:
                command, shown = out[-1]
                out[-1] = (command, shown + line + "\n")
    return out


def normal(text: str) -> str:
    text = re.sub(r"\b\d{13}-\d+\b", "<ms>-<seq>", text)
    return re.sub(r"\b\d{13}\b", "<ms>", text)


@pytest.fixture(scope="module")
def redis7() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("the examples are written for Debian's Redis 7 (redis-server on PATH)")
    with RedisServer(binary) as server:
        yield server


def test_the_redis_cli_session_runs_as_documented(redis7: RedisServer, tmp_path: Path) -> None:
    steps = session(DOC.read_text())
    assert sum("redis-cli --eval" in command for command, _ in steps) >= 5  # the examples are there
    cli = find_redis_cli(redis7.binary)
    os.symlink(ROOT / "src", tmp_path / "src")
    script = "set -e\n"
    for command, _ in steps:
        pointed = re.sub(r"^redis-cli ", f"{cli} -p {redis7.port} --no-raw ", command)
        script += f"echo '{MARK}'\n{pointed}\n"
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    outputs = done.stdout.split(MARK + "\n")[1:]
    assert len(outputs) == len(steps)
    for (command, shown), output in zip(steps, outputs, strict=True):
        assert normal(output) == normal(shown), command
    assert Keyspace().job_key("42") == "jt:{8.20}:job:42"  # the tag the document uses is job 42's
    client = redis7.client()
    try:
        assert client.hget("jt:{8.20}:job:42", "state") == b"finished"
    finally:
        client.close()
