"""What every row of ``workqueue.py`` shares: Redis' counters around a
phase (``Meter``) and worker processes started together (``run_workers``).

The counting helpers are ``server_cost.py``'s: ``OURS`` (our own measuring
commands, left out), ``command_stats``, ``main_cpu``, and its reading of
SLOWLOG (``_top_level``, ``_name``): with ``slowlog-log-slower-than 0``
Redis logs every command a client sent with the time spent inside it, and
a script's inner commands apart (client ``?:0``), so the top-level entries
add up to the in-command time without counting a script and its commands
twice (``INFO commandstats``' ``usec`` of an ``evalsha`` already includes
the commands it calls; commandstats is kept for the per-command breakdown).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from server_cost import OURS, _name, _top_level, command_stats, main_cpu

HERE = Path(__file__).resolve().parent
WORKER = str(HERE / "queue_worker.py")
#: Ours too here: the harness counts Celery's results with DBSIZE and
#: RQ's finished jobs with ZCOUNT (commands neither of them sends).
MEASURING = OURS | {"dbsize", "zcount"}


class Skip(Exception):
    """A system that is not installed here: its row says why."""


class Meter:
    """Redis' own counters over one phase (the pushes, or the workers' run)."""

    def __init__(self, admin: Any, n: int) -> None:
        self.admin, self.n = admin, n
        self.limit = 200 * n + 100_000
        self.cpu0 = 0.0

    def begin(self) -> None:
        self.admin.config_set("slowlog-max-len", self.limit)
        self.admin.config_set("slowlog-log-slower-than", 0)
        self.admin.slowlog_reset()
        self.admin.execute_command("CONFIG", "RESETSTAT")
        self.cpu0 = main_cpu(self.admin)

    def end(self) -> dict[str, Any]:
        """Per job: in-command µs (top-level SLOWLOG durations), Redis main
        thread CPU µs, commands sent, and commandstats (calls, µs) by command."""
        cpu = main_cpu(self.admin) - self.cpu0
        self.admin.config_set("slowlog-log-slower-than", 10_000)
        stats = {k: v for k, v in command_stats(self.admin).items() if k not in MEASURING}
        entries = self.admin.slowlog_get(self.limit)
        self.admin.slowlog_reset()
        sent = [e for e in entries if _top_level(e) and _name(e) not in MEASURING]
        n = self.n
        by_sent: dict[str, list[float]] = {}
        for e in sent:
            key = _sent_key(e)
            tally = by_sent.setdefault(key, [0.0, 0.0])
            tally[0] += 1 / n
            tally[1] += e["duration"] / n
        return {
            "us": sum(e["duration"] for e in sent) / n,
            "cpu_us": cpu * 1e6 / n,
            "sent": len(sent) / n,
            "by_command": {k: (v["calls"] / n, v["usec"] / n) for k, v in stats.items()},
            "by_sent": {k: (c, us) for k, (c, us) in by_sent.items()},
            "overflow": len(entries) >= self.limit,
        }


def _sent_key(entry: dict[str, Any]) -> str:
    """A SLOWLOG entry's command, with the SHA1 of an ``evalsha`` (its script)."""
    name = _name(entry)
    if name in ("evalsha", "evalsha_ro", "fcall", "fcall_ro"):
        command = entry["command"]
        words = (command.decode(errors="replace") if isinstance(command, bytes) else command).split(" ", 2)
        if len(words) > 1:
            return f"{name} {words[1].lower()}"
    return name


def measured(meter: Meter, action: Callable[[], float | None]) -> tuple[float, dict[str, Any]]:
    """Run ``action`` between the counters; its seconds (what it returns, or its wall time)."""
    meter.begin()
    began = time.perf_counter()
    took = action()
    wall = time.perf_counter() - began
    return (wall if took is None else took), meter.end()


def run_workers(
    argv: list[str],
    count: int,
    meter: Meter,
    *,
    env: dict[str, str] | None = None,
    done: Callable[[], bool] | None = None,
    timeout: float = 600,
) -> tuple[float, dict[str, Any], list[str]]:
    """Start ``count`` workers, wait until each has said ``ready``, then
    start Redis' counters and the clock and tell them all to go.  The clock
    stops when every worker has exited (burst mode), or, with ``done``, when
    ``done()`` first says so (the workers are then stopped).  Returns the
    seconds, the counters and each worker's last line of output."""
    cpu_before = _children_cpu()
    with ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile(mode="w+")) for _ in range(count)]
        procs: list[subprocess.Popen[str]] = []
        stack.callback(_reap, procs)
        for log in logs:
            procs.append(
                subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    cwd=HERE,
                    env={**os.environ, **(env or {})},
                )
            )
        for proc, log in zip(procs, logs, strict=True):
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                proc.wait(timeout=30)
                raise RuntimeError(f"a worker did not start: {argv}\n{_tail(log)}")
        startup = sum(_process_cpu(proc.pid) for proc in procs)
        meter.begin()
        began = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.close()
        took = _wait(procs, began, done, timeout)
        stats = meter.end()
        for proc in procs:
            proc.wait(timeout=30)
        stats["worker_cpu_us"] = (_children_cpu() - cpu_before - startup) * 1e6 / meter.n
        outputs = []
        for proc, log in zip(procs, logs, strict=True):
            assert proc.stdout is not None
            lines = proc.stdout.read().strip().splitlines()
            outputs.append(lines[-1] if lines else "")
            if done is None and proc.returncode != 0:
                raise RuntimeError(f"a worker exited {proc.returncode}: {argv}\n{_tail(log)}")
        return took, stats, outputs


def _wait(
    procs: list[subprocess.Popen[str]], began: float, done: Callable[[], bool] | None, timeout: float
) -> float:
    """Seconds from ``began`` until every worker exited, or until ``done()`` (then stop them)."""
    deadline = began + timeout
    if done is None:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
        return time.perf_counter() - began
    while not done():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"workers did not finish in {timeout} s")
        time.sleep(0.005)
    took = time.perf_counter() - began
    stop(procs)
    return took


def _children_cpu() -> float:
    """CPU seconds of this process' children that have exited and been waited
    for (theirs and their own waited children's: RQ's work horses)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (its start-up, at ``ready``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tail(log: Any) -> str:
    log.seek(0)
    return str(log.read()[-3000:])


def _reap(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(procs: list[subprocess.Popen[str]], grace: float = 5.0) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL for those still there after ``grace`` seconds."""
    for proc in procs:
        proc.terminate()
    until = time.perf_counter() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.01, until - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()


def python_worker(system: str, url: str, *extra: str, python: str = sys.executable) -> list[str]:
    return [python, WORKER, system, url, *extra]


RESULTS_NOTE = (
    "jobs/s: N over the workers' wall time (from telling the ready workers to go to the last job "
    "done); push jobs/s: one producer, one push at a time; µs/job: time inside the commands the "
    "clients sent (SLOWLOG, a script counted once with what it calls), push and pop + run + finish "
    "(the workers' every command, idle polls and registration included), over N; Redis CPU: its "
    "main thread, push + work; worker CPU: the worker processes' own CPU (user + system, "
    "start-up left out), over N; commands sent: top-level commands per job."
)
