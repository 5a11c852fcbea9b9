"""Every finding index a job is in expires with it (issue 26): 10,000
tagged, named, queued jobs expire and Redis' memory returns to baseline."""

from __future__ import annotations

from typing import Any

import jobbertrack
from jobbertrack.testing import RedisServer
from tests.helpers import all_keys, wait_for


def _used_memory(client: Any) -> int:
    """Memory Redis holds for data: ``used_memory`` less the script cache
    (which grows by each script first run after the baseline, whatever the
    data) and the clients' buffers (which follow the last reply, not what
    is stored).  Lua's heap is not in ``used_memory``: its allocator is not
    Redis' own."""
    info = client.info("memory")
    held = int(info["used_memory"])
    return held - int(info.get("used_memory_scripts", 0)) - int(info.get("mem_clients_normal", 0))


def test_ten_thousand_tagged_jobs_expire_and_memory_returns_to_baseline(server: RedisServer) -> None:
    with RedisServer(server.binary) as own:
        client = own.client()
        track = jobbertrack.Handler(client)
        track.push(None, queue="warm", timeout=0.05, name="warm", tags=["warm"])  # every script loaded
        assert track.count(tag="warm") == len(track.list(tag="warm")) == 1
        wait_for(lambda: track.counts()["waiting"] == 0)
        track.sweep()
        wait_for(lambda: client.dbsize() <= 16 + 1, limit=10)
        baseline = _used_memory(client)
        made = 0
        for batch in range(10):
            made += len(track.create_many(500, 3, name=f"export-{batch}", tags=["export", f"user:{batch}"]))
            for i in range(500):
                track.push(
                    {"n": i}, queue=f"q{i % 3}", timeout=3, name=f"mail-{i}", tags=[f"user:{i % 50}", "mail"]
                )
                made += 1
        assert made == 10_000
        # (the first may have expired already: counted and listed alike)
        for tag in ("export", "mail", "user:7"):
            before = track.count(tag=tag)
            listed = track.list(tag=tag, limit=10_000)
            assert listed.cursor is None and before >= len(listed) >= track.count(tag=tag)
        assert int(client.info("memory")["used_memory_peak"]) > baseline + 2_000_000  # they were stored
        wait_for(lambda: sum(track.counts().values()) == 0, limit=20)
        assert (
            track.count(tag="export") == 0 and track.list(tag="mail") == [] and track.list(name="mail-") == []
        )
        track.sweep()

        # only the bounded tombstone sets remain, the layout stamp, and the
        # queues' wake-up lists (one day, as before)
        def left() -> list[bytes]:
            return [k for k in all_keys(client, "*") if not k.endswith(b":tomb") and b".wakeup}" not in k]

        wait_for(lambda: left() == [b"jt:{layout}"], limit=10)  # queues and streams: just after their jobs
        try:
            wait_for(lambda: _used_memory(client) <= baseline * 1.10, limit=10, step=0.2)
        except AssertionError:
            info = client.info("memory")
            raise AssertionError(f"baseline {baseline}: {info}, keys {all_keys(client, '*')}") from None
