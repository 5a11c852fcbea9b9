"""The work queue (issue 23): push, then pop + run + finish with 1, 4 and 16
worker processes, for jobbertrack (``track.work``, sync and asyncio; and
its Node client's ``popAndStart`` + ``finish``, issue 25), RQ, arq, Celery
and BullMQ (Node), with Redis' own cost per job.

    python bench/workqueue.py                      # N = 5,000, workers 1,4,16, median of 3
    python bench/workqueue.py -n 3000 --repeat 1
    python bench/workqueue.py --systems jt-sync,bullmq --workers 4
    python bench/workqueue.py --quick              # tiny: the smoke test

Each cell: N jobs pushed one at a time by one producer (timed apart), then
K workers started, each waiting until all are ready; the clock runs from
telling them to go to the last job done.  Redis' counters
(``queue_run.Meter``) around each phase give in-command µs per job
(SLOWLOG, scripts counted once), Redis CPU and commands.  The targets are
ratios of two cells of the same run; the report gives their median over
the runs; ``jt-node`` against ``bullmq`` (jobs/s, in-command µs, worker
CPU) per worker count, the same way, with no goal.  Results go to
``bench/results/queue-<time>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from lifecycle import server_args
from queue_peers import BULLMQ, ROOT, ROUNDS, Round
from queue_run import HERE, RESULTS_NOTE, Meter, Skip, measured, python_worker, run_workers
from server_cost import RESULTS, git_commit, redis_version

import jobbertrack
from jobbertrack.testing import RedisServer


def jt_round(system: str) -> Callable[[RedisServer, int, int], Round]:
    """jobbertrack's round: ``track.push`` here, then the workers:
    ``track.work`` in ``queue_worker.py``, or for ``jt-node`` the Node
    client's ``popAndStart`` + ``finish`` in ``node/queue_worker.mjs``."""

    def round_(server: RedisServer, n: int, workers: int) -> Round:
        argv = node_worker(server.url) if system == "jt-node" else python_worker(system, server.url)
        client = server.client()
        track = jobbertrack.Handler(client)

        def push() -> None:
            for i in range(n):
                track.push({"n": i}, timeout=3600)

        push_s, push_stats = measured(Meter(client, n), push)
        work_s, work, outputs = run_workers(argv, workers, Meter(client, n))
        left, finished = track.queued(), track.counts()["finished"]
        client.close()
        if left:
            raise RuntimeError(f"{system}: {left} jobs left on the queue")
        if finished != n:
            raise RuntimeError(f"{system}: {finished} of {n} jobs finished")
        if system == "jt-node":
            done = sum(json.loads(line)["done"] for line in outputs)
            if done != n:  # each worker's own count: no job finished twice, none lost
                raise RuntimeError(f"jt-node: the workers finished {done} jobs, not {n}")
        return push_s, push_stats, work_s, work

    return round_


def node_worker(url: str) -> list[str]:
    """``node bench/node/queue_worker.mjs URL``: the Node client from
    ``clients/node`` (its node-redis and its copy of the scripts)."""
    node = shutil.which("node")
    if node is None:
        raise Skip("node is not installed")
    if not (NODE_CLIENT / "node_modules" / "redis").exists():
        raise Skip("clients/node/node_modules missing: `make node`")
    if not (NODE_CLIENT / "lua" / "manifest.json").exists():
        raise Skip("clients/node/lua missing (the scripts' copy): `make node`")
    return [node, str(HERE / "node" / "queue_worker.mjs"), url]


SYSTEMS: dict[str, Any] = {
    "jt-sync": jt_round("jt-sync"),
    "jt-async": jt_round("jt-async"),
    "jt-node": jt_round("jt-node"),
    **ROUNDS,
}
LABELS = {
    "jt-sync": "jobbertrack `track.work` (sync)",
    "jt-async": "jobbertrack.aio `track.work`",
    "jt-node": "jobbertrack's Node client, `popAndStart` + `finish` (pushed from Python)",
    "rq": "RQ `Worker.work(burst=True)`",
    "arq": "arq `Worker(burst=True, max_jobs=1)`",
    "celery": "Celery `--pool solo`",
    "bullmq": "BullMQ 5 `Worker` (Node)",
}
JT = ("jt-sync", "jt-async")
NODE_CLIENT = ROOT / "clients" / "node"
NODE_NOTE = (
    "The jobbertrack Node client's workers against BullMQ's, the same worker count: each ratio "
    "taken within one run, median (range) over the runs; jobs/s above 1 and µs below 1 favour "
    "jt-node. jt-node's pushes are jt-sync's (Python `track.push`), BullMQ's its own `queue.add`."
)
WHERE = (
    "Per job, the commands the clients sent (SLOWLOG; calls x, µs in Redis), scripts by name "
    "(jobbertrack's from its manifest, BullMQ's from its package); then every command the workers "
    "ran, scripts' inner ones included (commandstats: a script's µs include them)."
)


def cell(result: Round, n: int) -> dict[str, Any]:
    push_s, push, work_s, work = result
    return {
        "jobs_per_s": n / work_s,
        "push_per_s": n / push_s,
        "push_us": push["us"],
        "work_us": work["us"],
        "total_us": push["us"] + work["us"],
        "cpu_us": push["cpu_us"] + work["cpu_us"],
        "worker_cpu_us": work["worker_cpu_us"],
        "sent": push["sent"] + work["sent"],
        "push_by": push["by_command"],
        "work_by": work["by_command"],
        "push_sent_by": push["by_sent"],
        "work_sent_by": work["by_sent"],
        "overflow": push["overflow"] or work["overflow"],
    }


def run_once(keys: list[str], counts: list[int], n: int, order: int) -> dict[str, Any]:
    """One run: every system with every worker count, on one private
    redis-server, systems in an order rotated each run."""
    rows: dict[str, Any] = {}
    rotated = keys[order % len(keys) :] + keys[: order % len(keys)]
    with RedisServer(args=server_args()) as server:
        admin = server.client()
        for workers in counts:
            for key in rotated:
                admin.flushall()
                try:
                    rows[f"{key}/{workers}"] = cell(SYSTEMS[key](server, n, workers), n)
                except Skip as exc:
                    rows[f"{key}/{workers}"] = {"skipped": str(exc)}
        admin.close()
    return rows


def _value(run: dict[str, Any], key: str, measure: str) -> float | None:
    row = run.get(key, {})
    return row.get(measure) if "skipped" not in row else None


def target_specs(counts: list[int]) -> list[tuple[str, str, int, str, str, int, float, str]]:
    """(label, system a, its workers, measure, system b, its workers, goal, sense): issue 23's targets."""
    few, many = (4, 16) if {4, 16} <= set(counts) else (counts[0], counts[-1])
    k = 4 if 4 in counts else counts[-1]
    specs = []
    for jt in JT:
        specs.append(
            (f"{jt} jobs/s, {many} workers vs {few} (no herd)", jt, many, "jobs_per_s", jt, few, 0.9, ">=")
        )
    for jt in JT:
        label = f"{jt} in-command µs per job (push + work), {k} workers, vs BullMQ"
        specs.append((label, jt, k, "total_us", "bullmq", k, 1.0, "<="))
    for jt in JT:
        label = f"{jt} jobs/s, {k} workers, vs BullMQ's {k} Node workers"
        specs.append((label, jt, k, "jobs_per_s", "bullmq", k, 0.8, ">="))
        for peer in ("rq", "arq", "celery"):
            specs.append((f"{jt} jobs/s, {k} workers, vs {peer}", jt, k, "jobs_per_s", peer, k, 1.0, ">"))
    return specs


def targets(runs: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    out = []
    for label, a, ka, measure, b, kb, goal, sense in target_specs(counts):
        found = ratio_over_runs(runs, f"{a}/{ka}", f"{b}/{kb}", measure)
        row: dict[str, Any] = {"target": label, "goal": f"{sense} {goal}"}
        row.update(ratio=None, verdict="not measured")
        if found:
            ratio = found["ratio"]
            met = {">=": ratio >= goal, ">": ratio > goal, "<=": ratio <= goal}[sense]
            row.update(ratio=ratio, range=found["range"], verdict="met" if met else "not met")
        out.append(row)
    return out


#: Issue 25: the Node client against BullMQ's Node worker, per worker count
#: (no goal: the ratios are reported).  (label, measure)
NODE_RATIOS = (
    ("jobs/s", "jobs_per_s"),
    ("in-command µs/job, push + work", "total_us"),
    ("in-command µs/job, pop + finish", "work_us"),
    ("worker CPU µs/job", "worker_cpu_us"),
)


def ratio_over_runs(runs: list[dict[str, Any]], a: str, b: str, measure: str) -> dict[str, Any] | None:
    """Median and range over the runs of cell ``a``'s ``measure`` / cell ``b``'s, each run's own."""
    values = []
    for run in runs:
        x, y = _value(run, a, measure), _value(run, b, measure)
        if x is not None and y:
            values.append(x / y)
    if not values:
        return None
    return {"ratio": statistics.median(values), "range": [min(values), max(values)], "runs": values}


def node_vs_bullmq(runs: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    """Per worker count, ``jt-node`` ÷ ``bullmq`` (each ratio within one run)."""
    return [
        {
            "workers": workers,
            **{
                measure: ratio_over_runs(runs, f"jt-node/{workers}", f"bullmq/{workers}", measure)
                for _, measure in NODE_RATIOS
            },
        }
        for workers in counts
    ]


def median_table(runs: list[dict[str, Any]], keys: list[str], counts: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for workers in counts:
        for key in keys:
            name = f"{key}/{workers}"
            done = [run[name] for run in runs if "skipped" not in run[name]]
            if not done:
                table[name] = runs[0][name]
                continue
            row = {m: statistics.median(r[m] for r in done) for m in done[0] if not m.endswith("_by")}
            row["overflow"] = any(r["overflow"] for r in done)
            middle = sorted(done, key=lambda r: r["jobs_per_s"])[len(done) // 2]
            row.update({m: middle[m] for m in middle if m.endswith("_by")})
            table[name] = row
    return table


def script_names() -> dict[str, str]:
    """SHA1 -> script name: jobbertrack's (its manifest), BullMQ's (when node has it)."""
    from jobbertrack._scripts import manifest

    names = {}
    for name, script in manifest()["scripts"].items():
        names[script["sha"]] = names[script["sha_legacy"]] = f"jt:{name}"
    try:
        out = subprocess.run(
            ["node", str(BULLMQ / "queue.mjs"), "shas"],
            capture_output=True,
            text=True,
            check=True,
            cwd=BULLMQ,
        )
        names.update({sha: f"bullmq:{name}" for sha, name in json.loads(out.stdout).items()})
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    return names


def busiest(by: dict[str, Any], names: dict[str, str], top: int = 6) -> str:
    items = sorted(by.items(), key=lambda kv: -kv[1][1])[:top]
    named = ((names.get(k.split(" ")[-1], k[:16]) if " " in k else k, c, u) for k, (c, u) in items)
    return ", ".join(f"{k} {c:.2f}x {u:.1f}" for k, c, u in named)


def _ratio_text(found: dict[str, Any] | None) -> str:
    return "-" if found is None else f"{found['ratio']:.2f} ({found['range'][0]:.2f}-{found['range'][1]:.2f})"


def report(
    table: dict[str, Any], found: list[dict[str, Any]], node: list[dict[str, Any]], meta: dict[str, Any]
) -> str:
    lines = [
        f"# Work queue ({meta['when']})",
        "",
        f"N = {meta['n']:,} jobs per cell, median of {meta['repeat']} run(s); workers {meta['workers']}; "
        f"Redis {meta['redis']}; jobbertrack {meta['commit']}.",
        "",
        "| workers | system | jobs/s | push jobs/s | push µs/job | pop+finish µs/job | total µs/job "
        "| Redis CPU µs/job | worker CPU µs/job | commands sent/job |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        key, workers = name.split("/")
        if "skipped" in row:
            lines.append(f"| {workers} | {key} | skipped: {row['skipped']} | | | | | | | |")
            continue
        lines.append(
            f"| {workers} | {key} | {row['jobs_per_s']:,.0f} | {row['push_per_s']:,.0f} "
            f"| {row['push_us']:.1f} | {row['work_us']:.1f} | {row['total_us']:.1f} "
            f"| {row['cpu_us']:.0f} | {row['worker_cpu_us']:.0f} | {row['sent']:.1f} |"
        )
    lines += ["", *(f"- `{k}`: {v}" for k, v in LABELS.items()), "", RESULTS_NOTE, "", "## Targets", ""]
    lines += ["| target | ratio (range) | goal | |", "|---|---:|---|---|"]
    for t in found:
        ratio = "-" if t["ratio"] is None else f"{t['ratio']:.2f} ({t['range'][0]:.2f}-{t['range'][1]:.2f})"
        lines.append(f"| {t['target']} | {ratio} | {t['goal']} | {t['verdict']} |")
    lines += ["", "## jt-node ÷ bullmq (issue 25)", "", NODE_NOTE, ""]
    lines += ["| workers | " + " | ".join(label for label, _ in NODE_RATIOS) + " |"]
    lines += ["|---:|" + "---:|" * len(NODE_RATIOS)]
    for row in node:
        cells = " | ".join(_ratio_text(row[measure]) for _, measure in NODE_RATIOS)
        lines.append(f"| {row['workers']} | {cells} |")
    lines += ["", "## Where Redis' time goes", "", WHERE, ""]
    names = script_names()
    for name, row in table.items():
        if "push_by" in row:
            lines.append(f"- {name} push: {busiest(row['push_sent_by'], names)}")
            lines.append(f"- {name} work: {busiest(row['work_sent_by'], names)}")
            lines.append(f"  - inside, by command: {busiest(row['work_by'], names)}")
    if any(row.get("overflow") for row in table.values()):
        lines += ["", "Note: SLOWLOG filled up in a cell: its in-command µs are too low."]
    return "\n".join(lines) + "\n"


def main() -> None:
    # A SIGTERM unwinds like Ctrl-C: workers killed, the private redis-server stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="jobs per cell")
    parser.add_argument("--workers", default="1,4,16", help="worker process counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs (each cell's median is shown)")
    parser.add_argument("--systems", help="comma-separated (default: all): " + ",".join(SYSTEMS))
    parser.add_argument("--quick", action="store_true", help="N = 20, workers 1,2, one run: the smoke test")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    n, workers, repeat = (20, "1,2", 1) if args.quick else (args.n, args.workers, args.repeat)
    counts = [int(w) for w in workers.split(",")]
    keys = args.systems.split(",") if args.systems else list(SYSTEMS)
    unknown = [k for k in keys if k not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    runs = [run_once(keys, counts, n, order) for order in range(repeat)]
    table = median_table(runs, keys, counts)
    found = targets(runs, counts)
    node = node_vs_bullmq(runs, counts)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "n": n,
        "repeat": repeat,
        "workers": counts,
        "redis": redis_version(),
        "commit": git_commit(),
    }
    text = report(table, found, node, meta)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / time.strftime("queue-%Y%m%d-%H%M%S")
        stem.with_suffix(".md").write_text(text)
        stem.with_suffix(".json").write_text(
            json.dumps(
                {"meta": meta, "table": table, "targets": found, "node_vs_bullmq": node, "runs": runs},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
