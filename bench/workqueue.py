"""The work queue (issue 14): push + pop_and_start + finish throughput with
1, 4 and 16 worker processes, and Redis' in-command time per job
(``INFO commandstats`` usec), against RQ (``rq worker --burst``) when the
bench extra is installed.  arq and BullMQ are not measured yet (a note says
so).  Ratios of one run go in bench/README.md; nothing here is asserted.

    python bench/workqueue.py [-n JOBS] [--workers 1,4,16] [--repeat R]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jobbertrack
from jobbertrack.testing import RedisServer

JT_WORKER = """
import sys, jobbertrack
track = jobbertrack.Handler(jobbertrack.connect(sys.argv[1]))
while True:
    job = track.pop_and_start(lease=60)
    if job is None:
        if track.queued() == 0:
            break
        continue
    job.finish(job.data)
"""


def _usec(client: Any) -> float:
    """Total in-command µs the server has counted since the last reset."""
    return sum(
        float(v.get("usec", 0)) for k, v in client.info("commandstats").items() if k.startswith("cmdstat_")
    )


def _run_workers(argv: list[str], n: int) -> float:
    began = time.perf_counter()
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL) for _ in range(n)]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit(f"a worker failed: {argv}")
    return time.perf_counter() - began


def jobbertrack_round(server: RedisServer, jobs: int, workers: int) -> tuple[float, float, float]:
    """(jobs/s of the workers, push µs/job, pop+finish µs/job in Redis)."""
    client = server.client()
    client.flushall()
    track = jobbertrack.Handler(client)
    client.config_resetstat()
    for i in range(jobs):
        track.push({"n": i}, timeout=3600)
    push_us = _usec(client) / jobs
    client.config_resetstat()
    took = _run_workers([sys.executable, "-c", JT_WORKER, server.url], workers)
    return jobs / took, push_us, _usec(client) / jobs


RQ_TASK = "bench_queue_task"
TASK_DIR = Path(tempfile.mkdtemp(prefix="jobbertrack-bench-"))


def rq_round(server: RedisServer, jobs: int, workers: int) -> tuple[float, float, float] | str:
    try:
        import rq
    except ImportError:
        return "RQ is not installed (`pip install -e '.[bench]'`)"
    rq_bin = shutil.which("rq", path=str(Path(sys.executable).parent))
    if rq_bin is None:
        return "the `rq` command is not installed"
    client = server.client()
    client.flushall()
    queue = rq.Queue("bench", connection=client)
    client.config_resetstat()
    for i in range(jobs):
        queue.enqueue(f"{RQ_TASK}.echo", {"n": i}, result_ttl=3600)
    push_us = _usec(client) / jobs
    client.config_resetstat()
    argv = [rq_bin, "worker", "--burst", "--url", server.url, "--path", str(TASK_DIR), "bench"]
    took = _run_workers(argv, workers)
    return jobs / took, push_us, _usec(client) / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="jobs per round")
    parser.add_argument("--workers", default="1,4,16", help="worker process counts")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per cell (the median is shown)")
    args = parser.parse_args()
    (TASK_DIR / f"{RQ_TASK}.py").write_text("def echo(data):\n    return data\n")
    counts = [int(w) for w in args.workers.split(",")]
    rows = []
    with RedisServer() as server:
        for workers in counts:
            cells: dict[str, Any] = {}
            for name, round_ in (("jobbertrack", jobbertrack_round), ("rq", rq_round)):
                results = [round_(server, args.n, workers) for _ in range(args.repeat)]
                if isinstance(results[0], str):
                    cells[name] = results[0]
                    continue
                cells[name] = tuple(statistics.median(r[i] for r in results) for i in range(3))  # type: ignore[index]
            rows.append((workers, cells))
    print(f"## Work queue: {args.n} jobs, median of {args.repeat} (µs: in Redis, commandstats)\n")
    print("| workers | system | jobs/s | push µs/job | pop+finish µs/job | jobs/s vs jobbertrack |")
    print("|---|---|---|---|---|---|")
    for workers, cells in rows:
        base = cells["jobbertrack"][0]
        for name, cell in cells.items():
            if isinstance(cell, str):
                print(f"| {workers} | {name} | skipped: {cell} | | | |")
                continue
            rate, push_us, work_us = cell
            print(f"| {workers} | {name} | {rate:,.0f} | {push_us:.1f} | {work_us:.1f} | {rate / base:.2f} |")
    print("\narq and BullMQ: not measured yet.")
    shutil.rmtree(TASK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
