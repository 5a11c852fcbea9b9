"""One worker process of ``workqueue.py``: ``python queue_worker.py SYSTEM URL``.

Every system's worker imports what it needs, prints ``ready`` and waits for
a line on stdin (the harness starts its clock when it sends that line to
every worker, so interpreter start-up is not timed), then works in burst
mode, one job at a time, and exits when its queue is empty.  Each handler
returns its job's data.  Celery has no burst mode: its workers run until
the harness stops them (it counts the results itself).

``arq-push URL N`` pushes N arq jobs and prints the seconds it took: arq
runs in its own virtualenv (it pins redis-py < 6), so its producer does too.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

QUEUE = "default"  # jobbertrack's default queue (``push`` without ``queue=``)


def gate() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def echo(data: Any) -> Any:
    """RQ's task (imported by name, ``queue_worker.echo``, in RQ's work horse)."""
    return data


def jt_sync(url: str) -> None:
    import jobbertrack

    track = jobbertrack.Handler(jobbertrack.connect(url))
    gate()
    track.work(QUEUE, lambda job: job.data, burst=True)


def jt_async(url: str) -> None:
    import jobbertrack.aio

    async def handler(job: Any) -> Any:
        return job.data

    async def main() -> None:
        track = jobbertrack.aio.Handler(jobbertrack.aio.connect(url))
        gate()
        await track.work(QUEUE, handler, burst=True)
        await track.client.aclose()

    asyncio.run(main())


def rq_worker(url: str) -> None:
    import redis
    import rq

    worker = rq.Worker(["bench"], connection=redis.Redis.from_url(url))
    gate()
    worker.work(burst=True, logging_level="WARNING")


async def arq_echo(ctx: dict[str, Any], data: Any) -> Any:
    return data


def arq_worker(url: str) -> None:
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    gate()
    # max_jobs=1: one job at a time, as every other row; poll_delay=0: arq
    # polls its queue (ZRANGEBYSCORE) rather than blocking, and its default
    # 0.5 s between polls would cap a one-job worker at ~2 jobs/s.
    worker = Worker(
        functions=[func(arq_echo, name="echo")],
        redis_settings=RedisSettings.from_dsn(url),
        burst=True,
        max_jobs=1,
        poll_delay=0,
        handle_signals=False,
    )
    worker.run()


def arq_push(url: str, n: int) -> None:
    from arq.connections import RedisSettings, create_pool

    async def main() -> float:
        pool = await create_pool(RedisSettings.from_dsn(url))
        began = time.perf_counter()
        for i in range(n):
            await pool.enqueue_job("echo", {"n": i})
        took = time.perf_counter() - began
        await pool.aclose()
        return took

    print(asyncio.run(main()), flush=True)


def celery_app(broker: str, backend: str) -> Any:
    from celery import Celery

    app = Celery("bench", broker=broker, backend=backend)
    app.conf.update(
        result_expires=3600, worker_hijack_root_logger=False, broker_connection_retry_on_startup=True
    )
    app.task(name="bench.echo")(echo)
    return app


#: No worker-to-worker chatter (one worker is measured as one process).
QUIET = ("--without-mingle", "--without-gossip", "--without-heartbeat")


def celery_worker(broker: str, backend: str) -> None:
    app = celery_app(broker, backend)
    gate()
    app.worker_main(
        ["worker", "--pool=solo", "--concurrency=1", "--loglevel=WARNING", "-Q", "celery", *QUIET]
    )


if __name__ == "__main__":
    system, url, *rest = sys.argv[1:]
    if system == "jt-sync":
        jt_sync(url)
    elif system == "jt-async":
        jt_async(url)
    elif system == "rq":
        rq_worker(url)
    elif system == "arq":
        arq_worker(url)
    elif system == "arq-push":
        arq_push(url, int(rest[0]))
    elif system == "celery":
        celery_worker(url, rest[0])
    else:
        raise SystemExit(f"unknown system {system}")
