"""The benchmark harnesses still run (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(args: list[str], timeout: float, cwd: Path | None = None) -> str:
    """Run a harness; its stdout, or a failure that shows its stderr."""
    done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert done.returncode == 0, f"{args[1]} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done.stdout


def test_observe_benchmark_runs() -> None:
    out = bench(
        [
            sys.executable,
            str(ROOT / "bench" / "observe.py"),
            "--small",
            "40",
            "--large",
            "200",
            "--repeat",
            "5",
            "--no-save",
        ],
        timeout=120,
    )
    assert "| count |" in out and "worst ratio" in out


def test_lifecycle_benchmark_runs() -> None:
    """Every path of bench/lifecycle.py still runs (N = 200, one run); RQ and
    Celery rows are skipped with a note when the bench extra is missing."""
    out = bench(
        [sys.executable, str(ROOT / "bench" / "lifecycle.py"), "--quick", "--no-save", "--observe", "none"],
        timeout=120,
    )
    for key in ("jt-sync", "jt-async", "jt-bulk", "plain", "lua", "lua-pipe"):
        assert f"(`{key}`) |" in out
    assert "sync lifecycle vs the Lua-CAS baseline" in out and "## Targets" in out
    for key in ("rq", "celery"):
        assert f"(`{key}`) |" in out or f"`{key}` skipped" in out


def test_ab_and_ablation_run() -> None:
    """bench/ab.py (the working tree against itself) and bench/ablate.py,
    whose edits must still match the scripts they take features out of."""
    for script, extra in (("ab.py", [str(ROOT / "src"), str(ROOT / "src")]), ("ablate.py", [])):
        out = bench(
            [sys.executable, str(ROOT / "bench" / script), "-n", "20", "--slice", "10", *extra], timeout=180
        )
        assert "| lua (baseline) | " in out and "lifecycles per tree" in out


def test_server_cost_benchmark_runs() -> None:
    """bench/server_cost.py at N = 200: every system has a row (measured, or
    skipped with its reason: RQ/Celery without the bench extra, BullMQ
    without node or its npm install), and the targets are judged."""
    out = bench(
        [sys.executable, str(ROOT / "bench" / "server_cost.py"), "--quick", "--no-save"],
        timeout=180,
        cwd=ROOT / "bench",
    )
    for key in ("plain", "lua", "rq", "celery", "jt-sync", "jt-async", "jt-bulk", "bullmq"):
        assert f"| {key}: " in out
    assert "in-command µs, sync vs the Lua-CAS floor" in out


def test_web_benchmark_runs() -> None:
    """bench/web.py at a tiny size: fill, every route, SLOWLOG, SSE."""
    out = bench(
        [
            sys.executable,
            str(ROOT / "bench" / "web.py"),
            *("--jobs", "2000", "--small", "100", "--repeat", "3", "--warmup", "1", "--probe", "1"),
            "--no-save",
        ],
        timeout=180,
    )
    assert "/api/counts" in out and "## Targets" in out


def test_work_queue_benchmark_runs() -> None:
    """bench/workqueue.py (issue 23) at a tiny size (N = 20, 1 and 2 workers):
    every system has its rows (measured, or skipped with the reason: RQ,
    Celery, arq without their installs, BullMQ and jt-node without node or
    npm's), the targets are judged and jt-node is set against BullMQ."""
    out = bench(
        [sys.executable, str(ROOT / "bench" / "workqueue.py"), "--quick", "--no-save"],
        timeout=120,
        cwd=ROOT / "bench",
    )
    for key in ("jt-sync", "jt-async"):
        assert f"| 2 | {key} | " in out and f"| 1 | {key} | " in out and f"| 1 | {key} | skipped" not in out
    for key in ("jt-node", "rq", "arq", "celery", "bullmq"):
        assert f"| 2 | {key} | " in out
    assert "## Targets" in out and "vs BullMQ's 2 Node workers" in out
    assert "## jt-node ÷ bullmq" in out


def test_finding_benchmark_runs() -> None:
    """bench/finding.py (issue 26) at a tiny size (1,000 vs 5,000 jobs, 200
    lifecycles): every filter has its row, and both targets are judged."""
    out = bench([sys.executable, str(ROOT / "bench" / "finding.py"), "--quick", "--no-save"], timeout=180)
    assert "| filter | page | rows small / large |" in out
    for label in ('state="failed", tag="t3" | first page', 'name="job-7-"', "created_after=middle | page 4"):
        assert label in out
    assert "## Targets" in out and "lifecycle with two tags vs none: in-command µs" in out


def test_groups_benchmark_runs() -> None:
    """bench/groups.py (issue 24) at a tiny size: both parts report, both
    targets are judged."""
    out = bench([sys.executable, str(ROOT / "bench" / "groups.py"), "--quick", "--no-save"], timeout=180)
    assert "## A child's lifecycle vs a plain job's" in out and "| in-command µs |" in out
    assert "## group.counts() at 10 vs 2,000 children" in out
    assert "## Targets" in out and "child / plain in-command µs" in out and "counts at 2,000 / at 10" in out
