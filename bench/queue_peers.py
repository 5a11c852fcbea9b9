"""The peers' rounds of ``workqueue.py``: RQ, arq, Celery and BullMQ.

Each round: N jobs pushed one at a time by one producer (Redis' counters
around the pushes), then K worker processes (``queue_worker.py`` or
``bullmq/queue.mjs``), each taking one job at a time, until all N are done
(counters and clock around that).  A peer that is not installed raises
``Skip`` with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from typing import Any

from queue_run import HERE, Meter, Skip, measured, python_worker, run_workers

from jobbertrack.testing import RedisServer

Round = tuple[float, dict[str, Any], float, dict[str, Any]]
ROOT = HERE.parent
BULLMQ = HERE / "bullmq"


def rq_round(server: RedisServer, n: int, workers: int) -> Round:
    """``rq.Worker(...).work(burst=True)``, what ``rq worker --burst`` runs
    (a forked work horse per job), on queue ``bench``.  The clock stops when
    the finished registry holds N jobs: RQ 3's burst exit can hang for a
    minute in its teardown (the pub/sub thread's join, with redis-py 8)."""
    if importlib.util.find_spec("rq") is None:
        raise Skip("RQ is not installed (`pip install -e '.[bench]'`)")
    import rq

    client = server.client()
    queue = rq.Queue("bench", connection=client)

    def push() -> None:
        for i in range(n):
            queue.enqueue("queue_worker.echo", {"n": i}, result_ttl=3600)

    push_s, push = measured(Meter(client, n), push)
    finished = f"rq:finished:{queue.name}"
    work_s, work, _ = run_workers(
        python_worker("rq", server.url),
        workers,
        Meter(client, n),
        done=lambda: client.zcount(finished, "-inf", "+inf") >= n,
    )
    left = queue.count
    client.close()
    if left:
        raise RuntimeError(f"rq: {left} jobs left in the queue")
    return push_s, push, work_s, work


def arq_python() -> str:
    """arq pins redis-py < 6 and Celery 5.6+ needs >= 6.4: arq lives in
    ``.venv-arq`` (``make bench-queue`` makes it) unless this one has it."""
    if importlib.util.find_spec("arq") is not None:
        return sys.executable
    for candidate in (ROOT / ".venv-arq" / "bin" / "python",):
        if candidate.exists():
            probe = subprocess.run([str(candidate), "-c", "import arq"], capture_output=True, check=False)
            if probe.returncode == 0:
                return str(candidate)
    raise Skip("arq is not installed (`make .venv-arq/.installed`: its own venv, it needs redis-py < 6)")


def arq_round(server: RedisServer, n: int, workers: int) -> Round:
    """arq workers (``burst=True``, ``max_jobs=1``, ``poll_delay=0``); the
    pushes by ``enqueue_job`` in a process of arq's venv (its own timing)."""
    python = arq_python()
    client = server.client()

    def push() -> float:
        out = subprocess.run(
            python_worker("arq-push", server.url, str(n), python=python),
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE,
        )
        if out.returncode != 0:
            raise RuntimeError(f"arq push failed: {out.stderr[-3000:]}")
        return float(out.stdout.strip().splitlines()[-1])

    push_s, push_stats = measured(Meter(client, n), push)
    work_s, work, _ = run_workers(python_worker("arq", server.url, python=python), workers, Meter(client, n))
    left = client.zcard("arq:queue")
    client.close()
    if left:
        raise RuntimeError(f"arq: {left} jobs left in the queue")
    return push_s, push_stats, work_s, work


def celery_round(server: RedisServer, n: int, workers: int) -> Round:
    """Celery workers (``--pool solo``, concurrency 1), Redis broker (db 0)
    and result backend (db 1); no burst mode: the clock stops when db 1
    holds N results (DBSIZE), then the workers are terminated.  The
    producer's app has no result backend (with one, every ``send_task``
    would subscribe to its task's result channel)."""
    if importlib.util.find_spec("celery") is None:
        raise Skip("Celery is not installed (`pip install -e '.[bench]'`)")
    from celery import Celery

    client = server.client()
    results = server.client(db=1)
    broker, backend = server.url, server.url.rsplit("/", 1)[0] + "/1"
    app = Celery("bench", broker=broker)

    def push() -> None:
        with app.producer_or_acquire() as producer:
            for i in range(n):
                app.send_task("bench.echo", args=[{"n": i}], producer=producer)

    push_s, push = measured(Meter(client, n), push)
    work_s, work, _ = run_workers(
        python_worker("celery", broker, backend),
        workers,
        Meter(client, n),
        done=lambda: results.dbsize() >= n,
    )
    app.close()
    client.close()
    results.close()
    return push_s, push, work_s, work


def bullmq_round(server: RedisServer, n: int, workers: int) -> Round:
    """BullMQ 5 on Node: ``queue.add`` one at a time, then K ``Worker``
    processes (concurrency 1), each leaving when the queue is drained."""
    node = shutil.which("node")
    if node is None:
        raise Skip("node is not installed")
    if not (BULLMQ / "node_modules" / "bullmq").exists():
        raise Skip("bench/bullmq/node_modules missing: `make bench/bullmq/node_modules/.installed`")
    script, port = str(BULLMQ / "queue.mjs"), str(server.port)
    client = server.client()

    def push() -> float:
        out = subprocess.run(
            [node, script, "push", port, str(n)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"bullmq push failed: {out.stderr[-3000:]}")
        return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])

    push_s, push_stats = measured(Meter(client, n), push)
    work_s, work, outputs = run_workers([node, script, "work", port], workers, Meter(client, n))
    done = sum(json.loads(line)["done"] for line in outputs)
    client.close()
    if done != n:
        raise RuntimeError(f"bullmq: {done} of {n} jobs completed")
    return push_s, push_stats, work_s, work


ROUNDS: dict[str, Any] = {
    "rq": rq_round,
    "arq": arq_round,
    "celery": celery_round,
    "bullmq": bullmq_round,
}
