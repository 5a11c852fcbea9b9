"""The worker registry's I/O in sync code (``_core/workers.py`` holds what
is written and how it is read; ``_aregistry.py`` is the asyncio twin)."""

from __future__ import annotations

from typing import Any

from ._core.keys import Keyspace
from ._core.wire import text
from ._core.workers import WorkerInfo, ids_ttl_ms, read_workers
from ._exceptions import translate
from ._log import log_warning


def beat(client: Any, keys: Keyspace, info: WorkerInfo, record: str) -> None:
    """Write the worker's record for two heartbeat periods (a failure is
    only logged: the worker goes on, and shows again at its next beat)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(keys.worker_key(info.id), record, px=info.ttl_ms)
        pipe.sadd(keys.workers_key(), info.id)
        pipe.pexpire(keys.workers_key(), ids_ttl_ms(info))
        pipe.execute()
    except Exception as exc:
        log_warning("jobbertrack: could not register worker %s: %s", info.id, exc)


def unregister(client: Any, keys: Keyspace, info: WorkerInfo) -> None:
    try:
        pipe = client.pipeline(transaction=False)
        pipe.delete(keys.worker_key(info.id))
        pipe.srem(keys.workers_key(), info.id)
        pipe.execute()
    except Exception as exc:  # its record expires by itself
        log_warning("jobbertrack: could not unregister worker %s: %s", info.id, exc)


def workers(client: Any, keys: Keyspace, queue: str | None) -> list[dict[str, Any]]:
    """The live workers (of ``queue`` only, when given); drops the ids of
    the dead ones from the set."""
    try:
        ids = sorted(client.smembers(keys.workers_key()))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.get(keys.worker_key(text(worker_id)))
        live, dead = read_workers(ids, pipe.execute(), queue)
        if dead:
            client.srem(keys.workers_key(), *dead)
    except Exception as exc:
        raise translate(exc) from exc
    return live
