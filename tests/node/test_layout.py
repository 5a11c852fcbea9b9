"""The layout stamp across languages (docs/data-model.md, "Layout
version"): either client writes ``<ns>:{layout}`` with its first create,
each reads the other's, and Node.js refuses a layout it does not know with
a clear error, writing nothing (tests/integration/test_layout.py: Python)."""

from __future__ import annotations

from typing import Any

import jobbertrack
from jobbertrack._core.keys import LAYOUT_VERSION
from tests.conftest import AclServer, Backend
from tests.helpers import all_keys


def test_the_first_create_of_either_side_stamps_the_namespace(
    make_node: Any, py: jobbertrack.Handler, client: Any, backend: Backend
) -> None:
    js = make_node()
    js("counts")  # a read does not write the stamp
    assert client.get("jt:{layout}") is None
    js("create", timeout=60)
    assert client.get("jt:{layout}") == LAYOUT_VERSION.encode()
    assert py.counts()["waiting"] == 1  # Python reads what Node stamped
    client.flushall()
    py.create(60)
    assert client.get("jt:{layout}") == LAYOUT_VERSION.encode()
    assert make_node()("counts")["waiting"] == 1  # and the reverse
    if isinstance(backend, AclServer):
        return  # its user may only use the namespace jt
    other = make_node(namespace="other")
    other("create", timeout=60)
    assert client.get("other:{layout}") == LAYOUT_VERSION.encode()


def test_node_refuses_an_unknown_layout(make_node: Any, py: jobbertrack.Handler, client: Any) -> None:
    job = py.create(60)
    client.set("jt:{layout}", "2")
    before = {k: client.dump(k) for k in all_keys(client, "*")}
    js = make_node()
    for op, request in (
        ("create", {"timeout": 60}),
        ("get", {"id": job.id}),
        ("counts", {}),
        ("status", {"id": job.id}),
        ("move", {"id": job.id, "move": "start"}),
    ):
        refused = js.error(op, **request)
        assert (refused["name"], refused["namespace"], refused["found"]) == ("UnknownLayout", "jt", "2"), op
        assert refused["isJobberTrackError"] and "upgrade jobbertrack" in refused["message"]
    assert {k: client.dump(k) for k in all_keys(client, "*")} == before  # nothing written
