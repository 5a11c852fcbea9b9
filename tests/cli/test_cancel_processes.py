"""A job cancelled from another process while a worker runs it (issue 22):
``jobbertrack run``, ``jobbertrack work`` and a Python worker loop each
stop within one heartbeat period + 1 s, and the job ends ``cancelled``,
never failed or finished."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

import jobbertrack

from .test_processes import LIMIT, only_job, read_line, spawn

LEASE = 1.5
BEAT = LEASE / 3  # the heartbeat period: a third of the lease
#: the command: says it runs, then ignores SIGTERM and sleeps (only SIGKILL ends it)
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)
POLITE = "import time; print('ready', flush=True); time.sleep(60)"


def test_run_stops_the_command_of_a_cancelled_job(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = spawn(url, "--json", "run", "--lease", str(LEASE), "--", sys.executable, "-c", POLITE)
    procs.append(proc)
    assert read_line(proc.stdout) == b"ready\n"
    cancelled_at = time.monotonic()
    handler.cancel(only_job(handler).id, reason="stop it")
    assert proc.wait(LIMIT) == 124  # run's status for a cancelled job
    assert time.monotonic() - cancelled_at < BEAT + 1
    final = json.loads(read_line(proc.stdout))
    assert final["state"] == "cancelled" and final["error"]["message"] == "stop it"
    assert only_job(handler).state == "cancelled"


def test_run_kills_a_command_that_ignores_sigterm_after_the_grace(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = spawn(url, "run", "--lease", str(LEASE), "--grace", "0.5", "--", sys.executable, "-c", STUBBORN)
    procs.append(proc)
    assert read_line(proc.stdout) == b"ready\n"
    cancelled_at = time.monotonic()
    handler.cancel(only_job(handler).id)
    assert proc.wait(LIMIT) == 124
    assert time.monotonic() - cancelled_at < BEAT + 0.5 + 1
    assert only_job(handler).state == "cancelled"


def test_work_stops_the_command_of_a_cancelled_job_and_takes_the_next(
    url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    doomed = handler.push({"n": 1}, queue="stoppable", timeout=600)
    script = (
        "import sys, json, time; n = json.load(sys.stdin)['n']; "
        "print('ready', n, flush=True); time.sleep(60 if n == 1 else 0)"
    )
    proc = spawn(
        url, "work", "--queue", "stoppable", "--lease", str(LEASE), "--", sys.executable, "-c", script
    )
    procs.append(proc)
    assert read_line(proc.stdout) == b"ready 1\n"
    cancelled_at = time.monotonic()
    handler.cancel(doomed.id)
    nxt = handler.push({"n": 2}, queue="stoppable", timeout=600)
    assert read_line(proc.stdout) == b"ready 2\n"  # the slot is free again: the stopped command ended
    assert time.monotonic() - cancelled_at < BEAT + 1
    assert handler.wait(nxt.id, timeout=LIMIT).state == "finished"
    job = handler.get(doomed.id)
    assert job is not None and job.state == "cancelled"
    assert [s["to"] for s in job.history()] == ["waiting", "running", "cancelled"]


WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    import jobbertrack, jobbertrack.aio
    url, mode, job_id = sys.argv[1:4]
    LEASE = float(sys.argv[4])

    def steps(job):  # a worker's loop: a progress report per step
        for step in range(1200):
            job.set_progress(step, 1200)
            time.sleep(0.05)

    async def in_asyncio():
        job = await jobbertrack.aio.Handler(jobbertrack.aio.connect(url)).get(job_id)
        async with job.running(lease=LEASE):
            print("running", flush=True)
            await asyncio.sleep(60)  # no call on the job: only its heartbeat can notice

    try:
        if mode == "loop":  # pop, heartbeat with keep_alive, report progress
            job = jobbertrack.Handler(jobbertrack.connect(url)).pop_and_start("loop", block=30, lease=LEASE)
            print("running", flush=True)
            with job.keep_alive():
                steps(job)
        elif mode == "running":
            job = jobbertrack.Handler(jobbertrack.connect(url)).get(job_id)
            with job.running(lease=LEASE):
                print("running", flush=True)
                steps(job)
        else:
            asyncio.run(in_asyncio())
    except jobbertrack.JobCancelled as exc:
        print("cancelled", exc.current, flush=True)
    """
)


@pytest.mark.parametrize("mode", ["loop", "running", "asyncio"])
def test_a_python_worker_stops_within_a_heartbeat(
    mode: str, url: str, handler: jobbertrack.Handler, procs: list[subprocess.Popen[bytes]]
) -> None:
    job = handler.push({"n": 1}, queue="loop", timeout=600) if mode == "loop" else handler.create(600)
    argv = [sys.executable, "-c", WORKER, url, mode, job.id, str(LEASE)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(proc)
    assert read_line(proc.stdout) == b"running\n", proc.stderr
    cancelled_at = time.monotonic()
    handler.cancel(job.id)
    assert read_line(proc.stdout) == b"cancelled cancelled\n"
    assert time.monotonic() - cancelled_at < BEAT + 1
    assert proc.wait(LIMIT) == 0
    found = handler.get(job.id)
    assert found is not None and found.state == "cancelled"
    assert [s["to"] for s in found.history()] == ["waiting", "running", "cancelled"]
