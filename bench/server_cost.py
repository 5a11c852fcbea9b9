"""Redis' own work per job lifecycle, from Redis' own counters.

    python bench/server_cost.py                  # N = 5,000 lifecycles per system, median of 3 runs
    python bench/server_cost.py -n 2000 --runs 5
    python bench/server_cost.py --quick          # N = 200, one run (the smoke test)
    python bench/server_cost.py --systems lua,jt-sync

Every system runs the same workload as ``lifecycle.py`` (create with a small
payload, start, finish with a small result, get) against one private
redis-server.  Before each system's turn: ``CONFIG RESETSTAT``; after it:
``INFO commandstats`` and ``INFO cpu``.  Per lifecycle it reports

- **CPU µs**: ``used_cpu_user_main_thread + used_cpu_sys_main_thread``
  (the main thread: parsing, networking and the commands), falling back to
  the process' CPU on a server without those fields;
- **in-command µs**: the ``usec`` of every command in commandstats
  (a script's ``evalsha``/``fcall`` includes the commands it calls; those
  are listed too and not counted twice);
- **commands**: every command run, those called inside scripts included
  (the peers' and the floors' as much as ours);
- **ceiling**: 1e6 / CPU µs, lifecycles per second one core could serve.

BullMQ runs on Node (``bench/bullmq/``, installed by ``make bench`` with
npm); without ``node`` the row is skipped and says so.  The systems take
turns, in an order rotated each run; each ratio is taken within one run
and the report gives its median.  Results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path as FsPath
from typing import Any

from baselines import LuaCas, Plain
from lifecycle import server_args
from paths import JtAsync, JtBulk, JtSync, Options, Path, Unavailable
from peers import RQ, Celery

from jobbertrack.testing import RedisServer

HERE = FsPath(__file__).resolve().parent
RESULTS = HERE / "results"
BULLMQ_DIR = HERE / "bullmq"

#: Our own measuring commands, not the system's work.
OURS = {
    "info",
    "config|resetstat",
    "config|set",
    "config|get",
    "flushdb",
    "select",
    "client|setinfo",
    "hello",
    "ping",
    "slowlog|reset",
    "slowlog|get",
    "script|load",
    "client|setname",
}


def command_stats(admin: Any) -> dict[str, dict[str, float]]:
    raw = admin.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): {"calls": float(values["calls"]), "usec": float(values["usec"])}
        for name, values in raw.items()
    }


def main_cpu(admin: Any) -> float:
    info = admin.info("cpu")
    if "used_cpu_user_main_thread" in info:
        return float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class BullMQ(Path):
    """BullMQ 5 on Node: add, a worker completing the job with a result, getState."""

    key = "bullmq"
    label = "BullMQ 5 (Node): add, worker, getState"

    def open(self, server: RedisServer, options: Options) -> None:
        if shutil.which("node") is None:
            raise Unavailable("node is not installed: BullMQ row skipped")
        if not (BULLMQ_DIR / "node_modules" / "bullmq").exists():
            raise Unavailable("bench/bullmq/node_modules missing: run `make bench` (npm ci in bench/bullmq)")
        self.port, self.options = server.port, options
        self.client = server.client(db=self.db)

    def run(self, n: int) -> Any:
        out = subprocess.run(
            ["node", str(BULLMQ_DIR / "lifecycle.mjs"), str(self.port), str(self.db), str(n)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if out.returncode != 0:
            raise RuntimeError(f"bullmq lifecycle failed: {out.stderr.strip()[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


SYSTEMS: dict[str, type[Path]] = {
    "plain": Plain,
    "lua": LuaCas,
    "rq": RQ,
    "celery": Celery,
    "jt-sync": JtSync,
    "jt-async": JtAsync,
    "jt-bulk": JtBulk,
    "bullmq": BullMQ,
}
FLOOR = "lua"


def measure(path: Path, admin: Any, n: int) -> dict[str, Any]:
    """Two passes of ``n`` lifecycles: counters only (CPU, commands), then
    with every command in SLOWLOG (its own cost would blur the CPU figure)
    for the time inside the commands the clients sent: SLOWLOG logs a
    script's inner commands apart (client ``?:0``), so the top-level
    entries' durations add up without counting anything twice."""
    admin.execute_command("CONFIG", "RESETSTAT")
    cpu0 = main_cpu(admin)
    begin = time.perf_counter()
    path.run(n)
    wall = time.perf_counter() - begin
    cpu = main_cpu(admin) - cpu0
    stats = {k: v for k, v in command_stats(admin).items() if k not in OURS}

    admin.config_set("slowlog-max-len", 64 * n + 1000)
    admin.config_set("slowlog-log-slower-than", 0)
    admin.slowlog_reset()
    path.run(n)
    admin.config_set("slowlog-log-slower-than", 10_000)
    entries = admin.slowlog_get(-1)
    admin.slowlog_reset()
    mine = [e for e in entries if _top_level(e) and _name(e) not in OURS]
    return {
        "cpu_us": cpu * 1e6 / n,
        "command_us": sum(e["duration"] for e in mine) / n,
        "commands": sum(s["calls"] for s in stats.values()) / n,
        "top_level": len(mine) / n,
        "by_command": {k: (v["calls"] / n, v["usec"] / n) for k, v in stats.items()},
        "jobs_per_s": n / wall,
    }


def _top_level(entry: dict[str, Any]) -> bool:
    address = entry.get("client_address") or b""
    return address not in (b"?:0", "?:0")


def _name(entry: dict[str, Any]) -> str:
    command = entry["command"]
    if isinstance(command, bytes):
        command = command.decode(errors="replace")
    words = command.split(" ", 2)
    if words[0].upper() in ("CONFIG", "CLIENT", "SLOWLOG") and len(words) > 1:
        return f"{words[0]}|{words[1]}".lower()
    return words[0].lower()


def run_once(keys: list[str], n: int, options: Options, order: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with RedisServer(args=server_args()) as server:
        admin = server.client()
        rotated = keys[order % len(keys) :] + keys[: order % len(keys)]
        for db, key in enumerate(rotated, start=1):
            path = SYSTEMS[key](db)
            try:
                path.open(server, options)
            except Unavailable as exc:
                rows[key] = {"skipped": str(exc)}
                continue
            try:
                path.run(min(200, n))  # warm-up: scripts loaded, pools filled
                rows[key] = measure(path, admin, n)
            finally:
                path.close()
        admin.close()
    return rows


#: (label, system, measure, other system, goal, "<=" or ">="): the issue's targets.
TARGETS = (
    ("in-command µs, sync vs the Lua-CAS floor", "jt-sync", "command_us", "lua", 1.6, "<="),
    ("in-command µs, sync vs BullMQ", "jt-sync", "command_us", "bullmq", 0.6, "<="),
    ("Redis CPU, asyncio (128 in flight) vs the Lua-CAS floor", "jt-async", "cpu_us", "lua", 0.5, "<="),
)
COLUMNS = (
    ("CPU µs", "cpu_us", "{:.0f}"),
    ("in-command µs", "command_us", "{:.0f}"),
    ("commands", "commands", "{:.1f}"),
    ("sent", "top_level", "{:.1f}"),
    ("ceiling /s", "ceiling", "{:,.0f}"),
)


def median_rows(runs: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key in keys:
        done = [run[key] for run in runs if "skipped" not in run.get(key, {"skipped": ""})]
        if not done:
            table[key] = {"skipped": runs[0].get(key, {}).get("skipped", "not run")}
            continue
        row = {
            m: statistics.median(r[m] for r in done)
            for m in ("cpu_us", "command_us", "commands", "top_level")
        }
        row["ceiling"] = 1e6 / row["cpu_us"] if row["cpu_us"] else 0.0
        row["by_command"] = done[len(done) // 2]["by_command"]
        table[key] = row
    return table


def ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for label, a, measure_, b, goal, sense in TARGETS:
        values = [
            run[a][measure_] / run[b][measure_]
            for run in runs
            if measure_ in run.get(a, {}) and measure_ in run.get(b, {}) and run[b][measure_]
        ]
        if not values:
            out.append({"target": label, "ratio": None, "goal": f"{sense} {goal}", "verdict": "not measured"})
            continue
        ratio = statistics.median(values)
        met = ratio <= goal if sense == "<=" else ratio >= goal
        out.append(
            {
                "target": label,
                "ratio": ratio,
                "range": [min(values), max(values)],
                "goal": f"{sense} {goal}",
                "verdict": "met" if met else "MISSED",
            }
        )
    return out


def report(table: dict[str, Any], targets: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Server cost per lifecycle ({meta['when']})",
        "",
        f"N = {meta['n']:,} lifecycles (create, start, finish, get) per system, median of "
        f"{meta['runs']} runs; Redis {meta['redis']}; jobbertrack {meta['commit']}.",
        "",
        "| system | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for key, row in table.items():
        label = SYSTEMS[key].label or key
        if "skipped" in row:
            lines.append(f"| {key}: {label} | skipped: {row['skipped']} |" + " |" * (len(COLUMNS) - 1))
            continue
        cells = " | ".join(fmt.format(row[m]) for _, m, fmt in COLUMNS)
        lines.append(f"| {key}: {label} | {cells} |")
    lines += [
        "",
        "CPU µs: Redis' main thread (INFO cpu) per lifecycle; in-command µs: the time inside the "
        "commands the client sent (SLOWLOG durations: a script includes what it calls); commands: "
        "every command run, scripts' inner ones included (commandstats); sent: commands the client "
        "sent; ceiling: 1e6 / CPU µs, lifecycles per second one core could serve.",
        "",
        "| target | ratio (range) | goal | |",
        "|---|---:|---|---|",
    ]
    for t in targets:
        if t["ratio"] is None:
            lines.append(f"| {t['target']} | - | {t['goal']} | {t['verdict']} |")
        else:
            lo, hi = t["range"]
            lines.append(
                f"| {t['target']} | {t['ratio']:.2f} ({lo:.2f} to {hi:.2f}) | {t['goal']} | {t['verdict']} |"
            )
    lines += ["", "Commands per lifecycle (calls, µs), busiest first:", ""]
    for key, row in table.items():
        if "by_command" not in row:
            continue
        busiest = sorted(row["by_command"].items(), key=lambda kv: -kv[1][1])[:10]
        lines.append(f"- {key}: " + ", ".join(f"{k} {c:.1f}x {u:.1f}" for k, (c, u) in busiest))
    return "\n".join(lines) + "\n"


def redis_version() -> str:
    from jobbertrack.testing import find_redis_server

    out = subprocess.run([find_redis_server(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split()[2].removeprefix("v=") if out.stdout else "?"


def git_commit() -> str:
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=HERE, check=False
    )
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5_000, help="lifecycles per system and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 200, one run: the smoke test")
    parser.add_argument("--systems", help="comma-separated keys (default: all): " + ",".join(SYSTEMS))
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    n, runs = (200, 1) if args.quick else (args.n, args.runs)
    keys = args.systems.split(",") if args.systems else list(SYSTEMS)
    unknown = [k for k in keys if k not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    options = Options()
    results = [run_once(keys, n, options, order) for order in range(runs)]
    table = median_rows(results, keys)
    targets = ratios(results)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "n": n,
        "runs": runs,
        "redis": redis_version(),
        "commit": git_commit(),
    }
    text = report(table, targets, meta)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / time.strftime("server-cost-%Y%m%d-%H%M%S")
        stem.with_suffix(".md").write_text(text)
        stem.with_suffix(".json").write_text(
            json.dumps({"meta": meta, "table": table, "targets": targets, "runs": results}, indent=1)
        )


if __name__ == "__main__":
    main()
