"""jobbertrack/seed, the original jobberTrack API in Node: its own test
file (clients/node/test/seed.test.cjs, callbacks, in the seed's style)
runs against each backend, and the jobs it makes, numeric ids included,
are Python's jobs too."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import jobbertrack
from tests.node.conftest import NODE_DIR, NodeDriver, as_json, node_config


def test_the_seed_test_file_passes(node: str, backend: Any, client: Any) -> None:
    env = {**os.environ, "JOBBERTRACK_TEST_REDIS": json.dumps(node_config(backend))}
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", "test/seed.test.cjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout


def test_python_reads_the_seeds_numeric_ids(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    made = js("seed", steps=["create", "start", "finish"], data={"n": 1}, result="done")
    assert isinstance(made["id"], int) and made["value"] == {
        "state": "finished",
        "data": {"n": 1},
        "result": "done",
    }
    job = py.get(str(made["id"]))
    assert job is not None and job.state == "finished" and job.input == {"n": 1} and job.result == "done"
    assert py.status(str(made["id"])) == "finished"
    assert str(made["id"]) in [j.id for j in py.list("finished")]
    assert client.get("jt:{counter}") == str(made["id"]).encode()  # the counter, documented
    following = js("seed", steps=["create"])
    assert following["id"] == made["id"] + 1
    pushed = js("seed", steps=["createAndPush"], data={"n": 2})
    popped = py.pop_and_start()
    assert popped is not None and popped.id == str(pushed["id"]) and popped.input == {"n": 2}
    py_job = py.create(60)
    seen = js("seed", steps=["get"], id=py_job.id)  # and the seed reads Python's ids
    assert seen["id"] == py_job.id and seen["value"] == {"state": "waiting", "data": {}, "result": {}}
    assert js("get", id=str(made["id"])) == as_json(job.get_value())
