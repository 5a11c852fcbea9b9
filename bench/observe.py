"""Flat cost with size: count, counts, a list page, get and a transition
with a small and a large number of jobs stored (default 1,000 and
1,000,000), on a private redis-server started here.  The goal is a
large/small latency ratio <= 1.5 for every operation.

    python bench/observe.py [--small 1000] [--large 1000000] [--repeat 300]

Results go to bench/results/observe-<time>.json and .md (and stdout).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jobbertrack
from jobbertrack.testing import RedisServer

RESULTS = Path(__file__).resolve().parent / "results"


def fill(track: jobbertrack.Handler, total: int, batch: int = 2000) -> list[str]:
    """``total`` jobs: a quarter each waiting, running, finished, failed.
    Transitions go through the library's own pipelined runner (bench only)."""
    from jobbertrack._core.transitions import State
    from jobbertrack._run import run_many

    core, cs = track._core, track._cs
    ids: list[str] = []
    while len(ids) < total:
        ids += [j.id for j in track.create_many(min(batch, total - len(ids)), 3600)]
    quarter = len(ids) // 4

    def bulk(chunk: list[str], target: State, **kwargs: Any) -> None:
        for start in range(0, len(chunk), batch):
            run_many(cs, [core.transition(i, target, **kwargs) for i in chunk[start : start + batch]])

    bulk(ids[quarter:], State.RUNNING)
    bulk(ids[2 * quarter : 3 * quarter], State.FINISHED, data=1)
    bulk(ids[3 * quarter :], State.FAILED, error={"reason": "error", "message": "bench"})
    return ids


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_us": samples[len(samples) // 2] * 1e6, "p99_us": samples[int(len(samples) * 0.99) - 1] * 1e6}


def operations(track: jobbertrack.Handler, ids: list[str], repeat: int) -> dict[str, Callable[[], Any]]:
    fresh = iter(track.create_many(repeat, 3600))
    probe = ids[len(ids) // 2]
    return {
        "count": lambda: track.count("running"),
        "counts": track.counts,
        "list page (50)": lambda: track.list(limit=50),
        "list page (50, running)": lambda: track.list("running", limit=50),
        "get": lambda: track.get(probe),
        "transition (start)": lambda: next(fresh).start(),
    }


def measure(sizes: tuple[int, int], repeat: int) -> tuple[dict[str, Any], ...]:
    """Both sizes live side by side; each operation's samples interleave the
    two, so drift of the machine affects both alike."""
    with RedisServer() as one, RedisServer() as two:
        tracks = [jobbertrack.Handler(one.client()), jobbertrack.Handler(two.client())]
        fills, ops = [], []
        for track, size in zip(tracks, sizes, strict=True):
            t0 = time.perf_counter()
            ids = fill(track, size)
            fills.append(time.perf_counter() - t0)
            ops.append(operations(track, ids, repeat))
        results: tuple[dict[str, Any], ...] = ({}, {})
        for name in ops[0]:
            samples: tuple[list[float], list[float]] = ([], [])
            for _ in range(repeat):
                for side in (0, 1):
                    t0 = time.perf_counter()
                    ops[side][name]()
                    samples[side].append(time.perf_counter() - t0)
            for side in (0, 1):
                results[side][name] = percentiles(samples[side])
        for side, server in enumerate((one, two)):
            results[side]["_meta"] = {
                "fill_seconds": fills[side],
                "used_memory": server.client().info("memory")["used_memory"],
            }
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    small, large = measure((args.small, args.large), args.repeat)
    lines = [
        f"# Flat cost: {args.small:,} vs {args.large:,} jobs stored",
        "",
        "| operation | p50 small (µs) | p50 large (µs) | ratio | p99 small | p99 large |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios = {}
    for op in small:
        if op.startswith("_"):
            continue
        s, lg = small[op], large[op]
        ratios[op] = lg["p50_us"] / s["p50_us"]
        lines.append(
            f"| {op} | {s['p50_us']:.0f} | {lg['p50_us']:.0f} | {ratios[op]:.2f} "
            f"| {s['p99_us']:.0f} | {lg['p99_us']:.0f} |"
        )
    worst = max(ratios.values())
    lines += [
        "",
        f"worst ratio {worst:.2f} (goal <= 1.5): {'met' if worst <= 1.5 else 'MISSED'}",
        f"fill: {small['_meta']['fill_seconds']:.1f} s / {large['_meta']['fill_seconds']:.1f} s",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"observe-{stamp}.md").write_text(report + "\n")
        (RESULTS / f"observe-{stamp}.json").write_text(
            json.dumps({"small": small, "large": large, "ratios": ratios, "args": vars(args)}, indent=2)
        )


if __name__ == "__main__":
    main()
