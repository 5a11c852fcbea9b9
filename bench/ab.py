"""A/B of jobbertrack source trees in one process, for changes too small to
see across separate runs on a busy machine.

    python bench/ab.py HEAD src                  # the last commit vs the working tree
    python bench/ab.py HEAD~1 HEAD /tmp/proto/src -n 20000 --slice 200

Each tree (a git revision of this repository, or a directory holding a
``jobbertrack`` package) is copied under its own package name, so all of
them, and the Lua-CAS baseline, run in the same process against the same
private redis-server, each on its own database, taking turns ``--slice``
lifecycles at a time.  Reported per tree: jobs/s (median over turns), per
step µs, client and Redis CPU per job, and create_many/get_many µs per job
(100 per batch).  Nothing is saved.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path as FsPath
from typing import Any

from baselines import LuaCas, LuaPipelined
from lifecycle import redis_cpu, server_args
from paths import PAYLOAD, RESULT, STEPS, TIMEOUT, Options

from jobbertrack.testing import RedisServer

ROOT = FsPath(__file__).resolve().parent.parent


def materialise(tree: str, name: str, into: FsPath) -> None:
    """Copy ``tree``'s jobbertrack package to ``into/name``."""
    source = FsPath(tree)
    if not (source / "jobbertrack").is_dir():
        export = into / f"{name}-export"
        export.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", tree, "src/jobbertrack"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(export)], input=archive, check=True)
        source = export / "src"
    shutil.copytree(source / "jobbertrack", into / name, ignore=shutil.ignore_patterns("__pycache__", "cli"))
    scripts = into / name / "_scripts.py"  # older trees find their Lua files by package name
    scripts.write_text(scripts.read_text().replace('files("jobbertrack")', "files(__package__)"))


class Tree:
    def __init__(self, label: str, module: Any, client: Any, bulk_client: Any) -> None:
        self.label = label
        self.track = module.Handler(client)
        self.bulk = module.Handler(bulk_client)
        self.track.create(TIMEOUT).start().finish(None)  # load the scripts
        self.steps = [0.0] * 4
        self.walls: list[float] = []
        self.cpu: list[float] = []
        self.redis: list[float] = []
        self.create_many: list[float] = []
        self.get_many: list[float] = []

    def lifecycles(self, k: int) -> None:
        track, steps, clock = self.track, self.steps, time.perf_counter
        for _ in range(k):
            t0 = clock()
            job = track.create(TIMEOUT, data=PAYLOAD)
            t1 = clock()
            job.start()
            t2 = clock()
            job.finish(RESULT)
            t3 = clock()
            track.get(job.id)
            t4 = clock()
            steps[0] += t1 - t0
            steps[1] += t2 - t1
            steps[2] += t3 - t2
            steps[3] += t4 - t3

    def batch(self) -> None:
        t0 = time.perf_counter()
        jobs = self.bulk.create_many(100, TIMEOUT, data=PAYLOAD)
        t1 = time.perf_counter()
        self.bulk.get_many([job.id for job in jobs])
        t2 = time.perf_counter()
        self.create_many.append((t1 - t0) / 100)
        self.get_many.append((t2 - t1) / 100)


class Baseline(Tree):
    """The Lua-CAS baseline of baselines.py, in the same harness."""

    def __init__(self, server: RedisServer, db: int) -> None:
        options = Options()
        self.label = "lua (baseline)"
        self.one, self.pipe = LuaCas(db), LuaPipelined(db + 1)
        self.one.open(server, options)
        self.pipe.open(server, options)
        self.steps = [0.0] * 4
        self.walls, self.cpu, self.redis, self.create_many, self.get_many = [], [], [], [], []

    def lifecycles(self, k: int) -> None:
        out = self.one.run(k)
        for i, step in enumerate(STEPS):
            self.steps[i] += sum(out.samples[step])

    def batch(self) -> None:
        out = self.pipe.run(100)
        self.create_many.append(out.samples["create"][0] / 100)
        self.get_many.append(out.samples["get"][0] / 100)


def compare(sources: list[str], n: int, turn_size: int, labels: list[str] | None = None) -> None:
    """Run and print the comparison of ``sources`` (revisions or directories)."""
    labels = labels or sources
    with tempfile.TemporaryDirectory(prefix="jt-ab-") as tmp, RedisServer(args=server_args()) as server:
        sys.path.insert(0, tmp)
        trees: list[Tree] = []
        for i, (tree, label) in enumerate(zip(sources, labels, strict=True)):
            name = f"jt_ab_{i}"
            materialise(tree, name, FsPath(tmp))
            module = importlib.import_module(name)
            trees.append(Tree(label, module, server.client(db=2 * i + 1), server.client(db=2 * i + 2)))
        trees.append(Baseline(server, 2 * len(sources) + 1))
        admin = server.client()
        done = 0
        while done < n:
            turn = done // turn_size
            for tree in trees[turn % len(trees) :] + trees[: turn % len(trees)]:
                gc.collect()
                redis0, cpu0, t0 = redis_cpu(admin), time.process_time(), time.perf_counter()
                tree.lifecycles(turn_size)
                tree.walls.append((time.perf_counter() - t0) / turn_size)
                tree.cpu.append((time.process_time() - cpu0) / turn_size)
                tree.redis.append((redis_cpu(admin) - redis0) / turn_size)
                tree.batch()
            done += turn_size
    report(trees, done, turn_size)


def report(trees: list[Tree], done: int, turn_size: int) -> None:
    base = 1 / statistics.median(trees[-1].walls)
    print(f"{done:,} lifecycles per tree, turns of {turn_size}; median over turns; µs per job")
    print(
        "| tree | jobs/s | vs lua | create | start | finish | get | client CPU | Redis CPU "
        "| create_many | get_many |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tree in trees:
        rate = 1 / statistics.median(tree.walls)
        many = statistics.median(tree.create_many) * 1e6, statistics.median(tree.get_many) * 1e6
        steps = " | ".join(f"{s / done * 1e6:.0f}" for s in tree.steps)
        print(
            f"| {tree.label} | {rate:,.0f} | {rate / base:.2f} | {steps} "
            f"| {statistics.median(tree.cpu) * 1e6:.0f} | {statistics.median(tree.redis) * 1e6:.0f} "
            f"| {many[0]:.1f} | {many[1]:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", help="git revisions or directories holding jobbertrack/")
    parser.add_argument("-n", type=int, default=10_000, help="lifecycles per tree")
    parser.add_argument("--slice", type=int, default=200, help="lifecycles per turn")
    args = parser.parse_args()
    compare(args.trees, args.n, args.slice)


if __name__ == "__main__":
    main()
