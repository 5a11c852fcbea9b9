"""Small helpers shared by the tests."""

from __future__ import annotations

import time
from typing import Any


def wait_for(predicate: Any, limit: float = 5.0, step: float = 0.02) -> Any:
    """Poll a time-based rule (expiry, lease) until it holds: no event exists
    for 'a deadline passed', so this is the honest way to observe one."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(step)
