"""The command line sees and moves Node.js jobs as its own."""

from __future__ import annotations

import json
from typing import Any

from jobbertrack.cli import main
from tests.conftest import Backend
from tests.helpers import cli_runner
from tests.node.conftest import NodeDriver


def cli(backend: Backend, *args: str, code: int = 0) -> Any:
    result = cli_runner().invoke(main, ["--redis-url", backend.url, "--json", *args])
    assert result.exit_code == code, (args, result.output, result.exception)
    return json.loads(result.stdout) if code == 0 else result.stderr


def test_the_cli_works_node_jobs(js: NodeDriver, backend: Backend) -> None:
    made = js("create", timeout=60, options={"name": "from node", "data": {"n": 1}})
    shown = cli(backend, "get", made["id"])
    assert (shown["id"], shown["state"], shown["name"], shown["data"]) == (
        made["id"],
        "waiting",
        "from node",
        {"n": 1},
    )
    cli(backend, "start", made["id"], "--lease", "30")
    cli(backend, "progress", made["id"], "2", "--total", "4")
    assert js("get", id=made["id"])["progress"] == {"current": 2, "total": 4, "message": None}
    js("move", id=made["id"], move="finish", data={"pages": 3})
    shown = cli(backend, "get", made["id"])
    assert (shown["state"], shown["data"]) == ("finished", {"pages": 3})
    assert [step["to"] for step in shown["history"]] == ["waiting", "running", "finished"]
    assert cli(backend, "stats") == js("counts")
    listed = cli(backend, "ls")
    assert [job["id"] for job in listed["jobs"]] == [made["id"]]
    refused = cli(backend, "start", made["id"], code=1)  # an illegal move: exit status 1
    assert "finished" in refused
    created = cli(backend, "create", "--timeout", "60")
    assert js("get", id=created["id"])["state"] == "waiting"
