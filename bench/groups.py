"""Groups (issue 24): what a child's lifecycle costs Redis next to a plain
job's, and what reading a group's counts costs at 10 and at 100,000
children.

    python bench/groups.py                  # 5,000 lifecycles x 4 turns; 10 vs 100,000 children
    python bench/groups.py --quick          # tiny: the smoke test
    python bench/groups.py -n 3000 --turns 6 --large 50000 --no-save

Part 1: in turns (the order alternating), N lifecycles of plain jobs
(``create``, ``start``, ``finish``) and N of children of one open group
(``create(..., group=)``, ``start``, ``finish``) on one private
redis-server; Redis' in-command µs per lifecycle from ``INFO
commandstats`` (scripts and direct commands), Redis' main-thread CPU and
wall time.  Goal: child / plain <= 1.1 (in-command µs, same run).
Part 2: ``group.counts()`` of a group of 10 children and of one of
``--large`` children, the reads alternating: in-command µs and wall µs
per read, medians.  Goal: large / small close to 1 (O(1) counts).
Results go to ``bench/results/groups-<time>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from lifecycle import server_args
from server_cost import RESULTS, git_commit, redis_version

import jobbertrack
from finding import OURS, command_stats, in_redis, main_cpu
from jobbertrack.testing import RedisServer

LIFECYCLE_GOAL = 1.1
COUNTS_GOAL = 1.2
TIMEOUT = 7200


def lifecycles(track: jobbertrack.Handler, n: int, group: str | None) -> None:
    for _ in range(n):
        job = track.create(60, data={"n": 1}, group=group)
        job.start()
        job.finish({"ok": 1})


def lifecycle_part(n: int, turns: int) -> dict[str, Any]:
    with RedisServer(args=server_args()) as server:
        client, admin = server.client(), server.client()
        track = jobbertrack.Handler(client)
        group = track.create_group(TIMEOUT, name="bench")
        lifecycles(track, min(n, 200), group.id)  # warm-up: scripts loaded
        lifecycles(track, min(n, 200), None)
        runs: list[dict[str, Any]] = []
        for turn in range(turns):
            pair: dict[str, Any] = {}
            for kind in ("child", "plain") if turn % 2 == 0 else ("plain", "child"):
                admin.execute_command("CONFIG", "RESETSTAT")
                cpu0 = main_cpu(admin)
                t0 = time.perf_counter()
                lifecycles(track, n, group.id if kind == "child" else None)
                wall = time.perf_counter() - t0
                cpu = main_cpu(admin) - cpu0
                stats = command_stats(admin)
                pair[kind] = {
                    "command_us": in_redis(stats, ("hgetall",)) / n,
                    "cpu_us": cpu * 1e6 / n,
                    "wall_us": wall * 1e6 / n,
                    "by_command": {
                        k: (v["calls"] / n, v["usec"] / n) for k, v in stats.items() if k not in OURS
                    },
                }
            runs.append(pair)
            print(f"lifecycle turn {turn + 1}/{turns} done", file=sys.stderr)
        total = group.counts()
        client.close()
        admin.close()
    summary = {}
    for measure in ("command_us", "cpu_us", "wall_us"):
        ratios = [r["child"][measure] / r["plain"][measure] for r in runs]
        summary[measure] = {
            "child": statistics.median(r["child"][measure] for r in runs),
            "plain": statistics.median(r["plain"][measure] for r in runs),
            "ratio": statistics.median(ratios),
            "range": [min(ratios), max(ratios)],
        }
    return {"n": n, "turns": turns, "summary": summary, "runs": runs, "group_counts": total}


def _read(admin: Any, call: Callable[[], Any]) -> tuple[float, float]:
    admin.execute_command("CONFIG", "RESETSTAT")
    t0 = time.perf_counter()
    call()
    wall = time.perf_counter() - t0
    return in_redis(command_stats(admin), ()), wall * 1e6


def counts_part(small: int, large: int, repeat: int) -> dict[str, Any]:
    with RedisServer(args=server_args()) as server:
        client, admin = server.client(), server.client()
        track = jobbertrack.Handler(client)
        groups = {}
        for size in (small, large):
            group = track.create_group(TIMEOUT, name=f"g{size}")
            t0 = time.perf_counter()
            for start in range(0, size, 10_000):
                track.create_many(min(10_000, size - start), TIMEOUT, group=group.id)
            group.close()
            groups[size] = (group, time.perf_counter() - t0)
            print(f"group of {size:,} made in {groups[size][1]:.1f} s", file=sys.stderr)
        samples: dict[int, list[tuple[float, float]]] = {small: [], large: []}
        for i in range(repeat):
            for size in (small, large) if i % 2 == 0 else (large, small):
                samples[size].append(_read(admin, groups[size][0].counts))
        checked = {size: groups[size][0].counts()["waiting"] for size in (small, large)}
        client.close()
        admin.close()
    out: dict[str, Any] = {"repeat": repeat, "waiting": checked}
    for size in (small, large):
        out[str(size)] = {
            "command_us": statistics.median(s[0] for s in samples[size]),
            "wall_us": statistics.median(s[1] for s in samples[size]),
            "made_s": groups[size][1],
        }
    for measure in ("command_us", "wall_us"):
        out[f"{measure}_ratio"] = out[str(large)][measure] / out[str(small)][measure]
    return out


def report(life: dict[str, Any] | None, counts: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    lines = [f"# Groups ({meta['when']})", "", f"Redis {meta['redis']}; jobbertrack {meta['commit']}.", ""]
    targets = []
    if life:
        s = life["summary"]
        lines += [
            f"## A child's lifecycle vs a plain job's ({life['n']:,} lifecycles x {life['turns']} turns)",
            "",
            "| measure | child | plain | child / plain (median) | range |",
            "|---|---:|---:|---:|---|",
        ]
        for measure, label in (
            ("command_us", "in-command µs"),
            ("cpu_us", "Redis CPU µs"),
            ("wall_us", "wall µs"),
        ):
            m = s[measure]
            lines.append(
                f"| {label} | {m['child']:.1f} | {m['plain']:.1f} | {m['ratio']:.3f} | "
                f"{m['range'][0]:.3f}-{m['range'][1]:.3f} |"
            )
        ok = s["command_us"]["ratio"] <= LIFECYCLE_GOAL
        targets.append(
            f"- child / plain in-command µs {s['command_us']['ratio']:.3f} "
            f"(goal <= {LIFECYCLE_GOAL}): {'met' if ok else 'NOT met'}"
        )
        lines.append("")
    if counts:
        small, large = (k for k in counts if k.isdigit())
        lines += [
            f"## group.counts() at {int(small):,} vs {int(large):,} children ({counts['repeat']} reads each)",
            "",
            "| children | in-command µs | wall µs | made in s |",
            "|---:|---:|---:|---:|",
        ]
        for size in (small, large):
            c = counts[size]
            lines.append(
                f"| {int(size):,} | {c['command_us']:.1f} | {c['wall_us']:.0f} | {c['made_s']:.1f} |"
            )
        ratio = counts["command_us_ratio"]
        lines += ["", f"large / small: in-command {ratio:.3f}, wall {counts['wall_us_ratio']:.3f}", ""]
        targets.append(
            f"- counts at {int(large):,} / at {int(small):,} children, in-command µs {ratio:.3f} "
            f"(goal: the same, <= {COUNTS_GOAL}): {'met' if ratio <= COUNTS_GOAL else 'NOT met'}"
        )
    return "\n".join([*lines, "## Targets", "", *targets, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="lifecycles per turn")
    parser.add_argument("--turns", type=int, default=4, help="turns of each (child, plain)")
    parser.add_argument("--small", type=int, default=10, help="children of the small group")
    parser.add_argument("--large", type=int, default=100_000, help="children of the large group")
    parser.add_argument("--repeat", type=int, default=200, help="counts() reads per group")
    parser.add_argument("--quick", action="store_true", help="200 lifecycles x 2, 10 vs 2,000 children")
    parser.add_argument("--skip-lifecycle", action="store_true")
    parser.add_argument("--skip-counts", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.turns, args.large, args.repeat = 200, 2, 2000, 20
    life = None if args.skip_lifecycle else lifecycle_part(args.n, args.turns)
    counts = None if args.skip_counts else counts_part(args.small, args.large, args.repeat)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "redis": redis_version(),
        "commit": git_commit(),
        "args": vars(args),
    }
    text = report(life, counts, meta)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / time.strftime("groups-%Y%m%d-%H%M%S")
        stem.with_suffix(".md").write_text(text)
        stem.with_suffix(".json").write_text(
            json.dumps({"meta": meta, "lifecycle": life, "counts": counts}, indent=1)
        )


if __name__ == "__main__":
    main()
