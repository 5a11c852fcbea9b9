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


def is_cluster(client: Any) -> bool:
    return hasattr(client, "get_primaries")


def all_keys(client: Any, pattern: str = "*") -> list[bytes]:
    """KEYS on every master of a cluster (redis-py sends it to one node)."""
    if not is_cluster(client):
        return list(client.keys(pattern))
    found: list[bytes] = []
    for node in client.get_primaries():
        found += node.redis_connection.keys(pattern)
    return found


def command_calls(client: Any, command: str) -> int:
    """Calls of ``command`` (lower case) counted by the server(s) so far."""
    nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]
    stat = f"cmdstat_{command}"
    return sum(int(n.info("commandstats").get(stat, {}).get("calls", 0)) for n in nodes)


def evalsha_calls(client: Any) -> int:
    """EVALSHA calls counted by the server(s) so far."""
    return command_calls(client, "evalsha")


def connections(client: Any, name: str) -> int:
    """Connections open to the server(s) under the client name ``name``."""
    nodes = [n.redis_connection for n in client.get_primaries()] if is_cluster(client) else [client]
    return sum(1 for n in nodes for c in n.client_list() if c.get("name") == name)


def page_through(track: Any, limit: int, state: Any = None) -> list[str]:
    """Every id ``track.list`` gives, following cursors to the end."""
    seen: list[str] = []
    cursor = None
    while True:
        page = track.list(state, limit=limit, cursor=cursor)
        seen += [job.id for job in page]
        cursor = page.cursor
        if cursor is None:
            return seen
