"""Small helpers shared by the tests."""

from __future__ import annotations

import time
from typing import Any

from jobbertrack._connect import BACKOFF_CAP, RETRIES


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


def fail_fast_bound(connect_timeout: float, *, connections: int = 1, margin: float = 1.0) -> float:
    """The longest a call on a client from ``jobbertrack.connect()`` may take
    to fail when its server is gone, derived from the settings under test:
    each of the RETRIES + 1 attempts may spend ``connect_timeout`` on each of
    ``connections`` connections (a cluster client refreshing its slot map
    asks every node), with at most BACKOFF_CAP between attempts.  A refused
    connection costs far less; the bound is for a loaded machine."""
    attempts = RETRIES + 1
    return attempts * connections * connect_timeout + RETRIES * BACKOFF_CAP + margin


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


def expire_together(client: Any, a: str, b: str, within_ms: int = 5) -> bool:
    """Whether keys ``a`` and ``b`` expire within ``within_ms`` of each
    other.  Their PTTLs are read one after the other (they may be on two
    cluster nodes): the time that passes between reads, seen on ``a``
    read again, is allowed on top, so a loaded host is no false alarm."""
    first, other, again = client.pttl(a), client.pttl(b), client.pttl(a)
    return min(first, other, again) > 0 and abs(other - again) <= within_ms + (first - again)


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


def cli_runner() -> Any:
    """click's CliRunner with stderr kept apart from stdout, on every click
    the range allows: 8.2 always keeps them apart (and has no ``mix_stderr``),
    8.1 mixes them unless told not to."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
