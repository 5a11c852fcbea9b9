"""``jobbertrack push`` and ``jobbertrack work -- CMD ARGS…``: the
work queue from the command line.  ``work`` runs CMD once per popped job
through ``run._run_tracked`` (heartbeats, output tail, exit status: exactly
as ``jobbertrack run``), with the job's data as JSON on stdin and its id as
``$JOBBERTRACK_JOB_ID``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from types import FrameType
from typing import Any

import click

import jobbertrack

from .context import common_options, output, settings
from .output import note
from .params import (
    SECONDS,
    create_options,
    group_option,
    json_value,
    key_option,
    no_key_with_group,
    tag_option,
)
from .render import print_created
from .run import EXIT_CANCELLED, Reporter, _run_tracked


@click.command()
@click.option("--queue", default="default", show_default=True, help="The queue to put the job on.")
@click.option(
    "--timeout", type=SECONDS, metavar="S", required=True, help="Seconds the job's record lives (any state)."
)
@click.option("--delay", type=SECONDS, metavar="S", help="Seconds before the job may be popped.")
@click.option(
    "--retries",
    type=click.IntRange(0, 10_000),
    default=0,
    show_default=True,
    help="Attempts after a failed one.",
)
@click.option("--backoff", type=SECONDS, metavar="S", help="Seconds between a failed attempt and the next.")
@click.option(
    "--priority",
    type=click.IntRange(-999_999, 999_999),
    default=0,
    show_default=True,
    help="A higher priority pops first (push order within one).",
)
@create_options
@tag_option
@key_option
@group_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the new job's id.")
@click.argument("data", metavar="[DATA]", required=False)
@common_options
def push(
    queue: str,
    timeout: float,
    delay: float | None,
    retries: int,
    backoff: float | None,
    priority: int,
    tags: tuple[str, ...],
    key: str | None,
    group: str | None,
    quiet: bool,
    data: str | None,
    **fields: Any,
) -> None:
    """Create a job, waiting on a queue, for `jobbertrack work` (or
    pop_and_start) to take.  DATA is JSON, given to the worker's command.

    \b
    Examples:
      jobbertrack push --timeout 3600 '{"file": "a.csv"}'
      jobbertrack push --queue mail --retries 3 --backoff 60 --timeout 86400 '"user@example.com"'
      jobbertrack push --priority 10 --timeout 600 '{"urgent": true}'
      jobbertrack push --queue import --tag customer-7 --timeout 3600 '{"file": "a.csv"}'
      jobbertrack push --group 01J2M3K4ZQ8XW5RB7T6YV --timeout 3600 '{"file": "b.csv"}'
    """
    no_key_with_group(key, group)
    value = None if data is None else json_value(data, "DATA")
    if tags:
        fields["tags"] = list(tags)
    if group is not None:
        fields["group"] = group
    job = (
        settings()
        .handler()
        .push(
            value,
            queue=queue,
            timeout=timeout,
            delay=delay,
            retries=retries,
            backoff=backoff,
            priority=priority,
            key=key,
            **fields,
        )
    )
    if quiet:
        click.echo(job.id)
    else:
        print_created(output(), job, keyed=key is not None)


class _Stop(BaseException):
    """Raised by SIGTERM/SIGINT in the main thread while it waits for a job."""


class _Slots:
    """The commands running, at most ``--concurrency`` at once, each in a
    thread of its own (``run._run_tracked``: heartbeats, output tail, exit
    status).  Jobs are popped by the main thread only, so a stop signal
    interrupts its wait and no job is taken after it."""

    def __init__(self, size: int, argv: list[str], reporter: Reporter, grace: float, registry: Any) -> None:
        self.free = threading.Semaphore(size)
        self.argv, self.reporter, self.grace = argv, reporter, grace
        self.registry = registry  # Handler.register_worker's: what runs shows in `jobbertrack workers`
        self.lock = threading.Lock()
        self.running: dict[threading.Thread, list[subprocess.Popen[bytes]]] = {}
        self.idle = threading.Condition(self.lock)

    def start(self, job: jobbertrack.Resource) -> None:
        child: list[subprocess.Popen[bytes]] = []
        thread = threading.Thread(target=self._one, args=(job, child), name="jobbertrack-work", daemon=True)
        with self.lock:
            self.running[thread] = child
        thread.start()

    def _one(self, job: jobbertrack.Resource, child: list[subprocess.Popen[bytes]]) -> None:
        self.registry.begin(job.id)
        outcome = "failed"
        try:
            env = {**os.environ, "JOBBERTRACK_JOB_ID": job.id}
            stdin = json.dumps(job.input).encode()  # what it was pushed with, on every attempt
            status = _run_tracked(
                job, self.argv, self.reporter, stdin=stdin, env=env, child=child, grace=self.grace
            )
            outcome = "processed" if status == 0 else "cancelled" if status == EXIT_CANCELLED else "failed"
        finally:
            self.registry.end(job.id, outcome)
            with self.lock:
                self.running.pop(threading.current_thread(), None)
                self.idle.notify_all()
            self.free.release()

    def wait_all(self, timeout: float | None) -> bool:
        """Wait until no command runs (True), or ``timeout`` seconds (False)."""
        with self.lock:
            return self.idle.wait_for(lambda: not self.running, timeout)

    def terminate(self) -> None:
        with self.lock:
            procs = [p for child in self.running.values() for p in child]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()


def _take_jobs(
    track: jobbertrack.Handler,
    slots: _Slots,
    queue: str,
    burst: bool,
    lease: float,
    max_runtime: float | None,
    stop: threading.Event,
    interruptible: threading.Event,
) -> None:
    """Pop jobs and start their commands until ``stop`` is set or, with
    ``burst``, nothing waits on the queue and nothing runs."""
    pending = False  # --burst: only delayed entries or retries wait on the queue
    while not stop.is_set():
        interruptible.set()
        slots.free.acquire()
        block = 0 if not burst else (BURST_WAIT if pending else None)
        job = track.pop_and_start(queue, block=block, lease=lease, max_runtime=max_runtime)
        interruptible.clear()
        if job is not None:
            slots.start(job)
            continue
        slots.free.release()
        if not slots.running:
            # --burst: the queue is empty once nothing waits on it, delayed
            # entries and retries in their backoff included
            pending = track.queued(queue) > 0
            if pending:
                continue
            return
        interruptible.set()
        slots.wait_all(None)


#: --burst, while only delayed entries wait: how long one pop blocks before
#: the queue is counted again (a pop wakes as soon as an entry is ready)
BURST_WAIT = 1.0


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--queue", default="default", show_default=True, help="The queue to take jobs from.")
@click.option(
    "--concurrency", type=click.IntRange(1, 256), default=1, show_default=True, help="Commands run at once."
)
@click.option(
    "--lease",
    type=SECONDS,
    metavar="S",
    default=60,
    show_default=True,
    help="Seconds without a heartbeat (sent every third of it) before a job counts as stalled.",
)
@click.option(
    "--max-runtime", type=SECONDS, metavar="S", help="Fail a job (not the command) after this long."
)
@click.option(
    "--burst",
    is_flag=True,
    help="Exit once the queue is empty: no job waits on it, delayed ones and retries included.",
)
@click.option(
    "--grace",
    type=SECONDS,
    metavar="S",
    default=30,
    show_default=True,
    help="After SIGTERM, how long running commands may take before they are terminated; "
    "a cancelled job's command: seconds from its SIGTERM to SIGKILL.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@common_options
def work(
    queue: str,
    concurrency: int,
    lease: float,
    max_runtime: float | None,
    burst: bool,
    grace: float,
    command: tuple[str, ...],
) -> None:
    """Take jobs from a queue and run a command for each, as `jobbertrack
    run` does: heartbeats while it runs, exit status 0 finishes the job,
    anything else fails it (or retries it, if it was pushed with retries).
    The job's data is on the command's stdin as JSON, its id in
    $JOBBERTRACK_JOB_ID.

    SIGTERM (or SIGINT) takes no new job and lets running commands finish,
    for up to --grace seconds, then terminates them.  A job cancelled while
    its command runs has the command stopped: SIGTERM at its next
    heartbeat, SIGKILL --grace seconds later; the job stays cancelled.

    \b
    Examples:
      jobbertrack work --concurrency 4 -- python handle.py
      jobbertrack work --queue mail --burst -- ./send-mail.sh
    """
    track = settings().handler()
    with track.register_worker(queue, concurrency=concurrency, lease=lease) as registry:
        _work(track, registry, queue, concurrency, lease, max_runtime, burst, grace, command)


def _work(
    track: jobbertrack.Handler,
    registry: Any,
    queue: str,
    concurrency: int,
    lease: float,
    max_runtime: float | None,
    burst: bool,
    grace: float,
    command: tuple[str, ...],
) -> None:
    slots = _Slots(concurrency, list(command), Reporter(output(), always=True), grace, registry)
    interruptible = threading.Event()  # set while the main thread only waits
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if os.isatty(2) and not stop.is_set():
            note("jobbertrack: stopping: no new job; waiting for the running commands")
        stop.set()
        if interruptible.is_set():
            interruptible.clear()
            raise _Stop

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    stopped, error = False, None
    try:
        _take_jobs(track, slots, queue, burst, lease, max_runtime, stop, interruptible)
        stopped = stop.is_set()
    except _Stop:
        stopped = True
    except jobbertrack.JobberTrackError as exc:  # Redis lost: the running commands still end tracked
        stopped, error = True, exc
    finally:
        interruptible.clear()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped and not slots.wait_all(grace):
        slots.terminate()
        slots.wait_all(10)
    else:
        slots.wait_all(None)
    if error is not None:
        raise error
