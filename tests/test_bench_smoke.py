"""The benchmark harnesses still run (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_observe_benchmark_runs() -> None:
    out = subprocess.run(
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
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "| count |" in out and "worst ratio" in out
