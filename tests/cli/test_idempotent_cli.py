"""`jobbertrack create --key` and `jobbertrack push --key` (issue 26)."""

from __future__ import annotations

import json
from typing import Any

import jobbertrack

from ..helpers import all_keys


def _json(invoke: Any, *args: str) -> Any:
    return json.loads(invoke("--json", *args).stdout)


def test_create_with_a_key_prints_the_same_job_and_says_it_existed(
    invoke: Any, handler: jobbertrack.Handler
) -> None:
    first = _json(invoke, "create", "--timeout", "60", "--key", "order-42", "--data", '{"n": 1}')
    assert first["existed"] is False and first["key"] == "order-42" and first["input"] == {"n": 1}
    again = _json(invoke, "create", "--timeout", "60", "--key", "order-42", "--data", '{"n": 2}')
    assert again["existed"] is True and again["id"] == first["id"] and again["input"] == {"n": 1}
    human = invoke("create", "--timeout", "60", "--key", "order-42").stdout
    assert first["id"] in human and "existed" in human
    assert invoke("create", "-q", "--timeout", "60", "--key", "order-42").stdout.strip() == first["id"]
    fresh = invoke("create", "--timeout", "60", "--key", "other").stdout
    assert "existed" not in fresh
    plain = _json(invoke, "create", "--timeout", "60")
    assert "existed" not in plain  # no key, no word on it
    assert sum(handler.counts().values()) == 3


def test_push_with_a_key_queues_once(invoke: Any, handler: jobbertrack.Handler) -> None:
    first = _json(invoke, "push", "--queue", "q", "--timeout", "60", "--key", "import-a", '{"file": "a"}')
    again = _json(invoke, "push", "--queue", "q", "--timeout", "60", "--key", "import-a", '{"file": "a"}')
    assert (first["existed"], again["existed"]) == (False, True) and first["id"] == again["id"]
    assert handler.queued("q") == 1


def test_a_bad_key_is_refused_and_writes_nothing(invoke: Any, handler: jobbertrack.Handler) -> None:
    bad = invoke("create", "--timeout", "60", "--key", "x" * 201, code=None)
    assert bad.exit_code != 0 and "key" in bad.stderr
    assert invoke("push", "--timeout", "60", "--key", "", code=None).exit_code != 0
    assert all_keys(handler.client, "jt:{*") == []
