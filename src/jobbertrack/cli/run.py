"""``jobbertrack run -- CMD ARGS…``: track any command as a job.

The job is created and started before the command runs, heartbeats while
it runs, and ends finished (exit status 0) or failed (anything else) with
``{command, exit_code, duration, output_tail}``.  The command's output is
passed through byte for byte; only a bounded tail is kept.  jobbertrack
prints nothing of its own unless stderr is a terminal (cron mails any
output), or ``--json`` asks for the job on stdout at the end.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO, Any

import click

import jobbertrack

from .context import Failure, common_options, output, settings
from .output import Output, note
from .params import SECONDS

#: Exit statuses of ``run`` besides the command's own (as a shell's, for 126 and 127).
EXIT_TRACKING = 125  # jobbertrack could not track the command; it did not run
EXIT_CANNOT_RUN = 126
EXIT_COMMAND_NOT_FOUND = 127
EXIT_CANCELLED = 124  # the job was cancelled while the command ran (it was stopped), as timeout(1)'s 124
FORWARDED = (signal.SIGINT, signal.SIGTERM)
#: ``run --grace``: seconds a cancelled job's command has after SIGTERM, before SIGKILL.
GRACE = 10.0


class Stopper:
    """Stops the command of a job that is cancelled while it runs: SIGTERM
    when a heartbeat finds the job cancelled (``keep_alive(on_lost=...)``),
    SIGKILL ``grace`` seconds later if it is still running."""

    def __init__(self, child: list[subprocess.Popen[bytes]], grace: float) -> None:
        self.child, self.grace = child, grace
        self.cancelled = False
        self._kill: threading.Timer | None = None
        self._lock = threading.Lock()

    def on_lost(self, error: Exception) -> None:
        if isinstance(error, jobbertrack.JobCancelled):
            with self._lock:
                self.cancelled = True
            self.stop()

    def stop(self) -> None:
        """SIGTERM the command if it runs and the job was cancelled (again
        once the command exists, if it did not yet)."""
        with self._lock:
            if not self.cancelled or not self.child or self._kill is not None:
                return
            proc = self.child[0]
            if proc.poll() is not None:
                return
            proc.terminate()
            self._kill = threading.Timer(self.grace, self._force, (proc,))
            self._kill.daemon = True
            self._kill.start()

    @staticmethod
    def _force(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()

    def done(self) -> None:
        with self._lock:
            if self._kill is not None:
                self._kill.cancel()


class OutputTail:
    """The last ``max_lines`` lines (at most ``max_bytes``) of an output."""

    def __init__(self, max_bytes: int = 4096, max_lines: int = 20) -> None:
        self.max_bytes, self.max_lines = max_bytes, max_lines
        self._buffer = bytearray()
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self._buffer += chunk
            del self._buffer[: -self.max_bytes]

    def text(self) -> str:
        with self._lock:
            raw = bytes(self._buffer)
        lines = raw.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(lines[-self.max_lines :])


class Pump(threading.Thread):
    """Copies one of the child's pipes to ours, unchanged, as it comes."""

    def __init__(self, source: IO[bytes], target: IO[str], tail: OutputTail) -> None:
        super().__init__(daemon=True, name="jobbertrack-run-output")
        target.flush()  # anything written as text goes out before the child's bytes
        self.source, self.tail = source, tail
        self.target: IO[bytes] | None = getattr(target, "buffer", None)
        self.text = target  # used when the stream has no bytes layer (some test captures)
        self.moved = 0
        self.writing = False

    def run(self) -> None:
        fd = self.source.fileno()
        while chunk := os.read(fd, 65536):
            self.writing = True
            self.tail.add(chunk)
            try:
                if self.target is not None:
                    self.target.write(chunk)
                    self.target.flush()
                else:
                    self.text.write(chunk.decode("utf-8", "replace"))
                    self.text.flush()
            except (OSError, ValueError):  # our output is gone: keep draining the child
                pass
            self.writing = False
            self.moved += len(chunk)

    def drain(self) -> None:
        """Wait for the rest of the output, but not for a grandchild that
        keeps the pipe open without writing."""
        moved = -1
        while self.is_alive() and (self.writing or self.moved != moved):
            moved = self.moved
            self.join(1.0)
        if not self.is_alive():  # else the pipe stays open: closing it under a reader is unsafe
            self.source.close()


@contextmanager
def forwarding(child: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Pass SIGINT and SIGTERM on to the child (``child[0]`` once it exists).

    A Ctrl-C at a terminal reaches the whole foreground process group,
    child included, so SIGINT is not sent a second time then."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child and child[0].poll() is None and not (signum == signal.SIGINT and _in_foreground()):
            child[0].send_signal(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _in_foreground() -> bool:
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except OSError:
            continue
    return False


def exit_status(returncode: int) -> int:
    """The child's exit status as a shell reports it (128 + N for signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def command_result(argv: list[str], returncode: int, duration: float, tail: str) -> dict[str, Any]:
    """What the job stores of the command's run (its data, or its error's details)."""
    result: dict[str, Any] = {
        "command": argv,
        "exit_code": exit_status(returncode),
        "duration": round(duration, 3),
        "output_tail": tail,
    }
    if returncode < 0:
        result["signal"] = signal.Signals(-returncode).name
    return result


@click.command(context_settings={"allow_interspersed_args": False})
@click.option(
    "--timeout",
    type=SECONDS,
    metavar="S",
    default=86_400,
    show_default=True,
    help="Seconds the job's record lives.",
)
@click.option(
    "--lease",
    type=SECONDS,
    metavar="S",
    default=60,
    show_default=True,
    help="Seconds without a heartbeat (sent every third of it) before the job counts as stalled.",
)
@click.option(
    "--max-runtime",
    type=SECONDS,
    metavar="S",
    help="Fail the job (not the command) as timed out after this long.",
)
@click.option("--name", help="The job's label [default: the command line].")
@click.option(
    "--grace",
    type=SECONDS,
    metavar="S",
    default=GRACE,
    show_default=True,
    help="When the job is cancelled: seconds the command has after SIGTERM before SIGKILL.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@common_options
def run(
    timeout: float,
    lease: float,
    max_runtime: float | None,
    name: str | None,
    grace: float,
    command: tuple[str, ...],
) -> None:
    """Run a command as a tracked job, and exit with its exit status.

    The job starts before the command and heartbeats while it runs.  Exit
    status 0 finishes it, anything else fails it; either way it stores
    {command, exit_code, duration, output_tail}.  The command's output
    passes through unchanged.  SIGINT and SIGTERM are forwarded to it.

    Cancelling the job (`jobbertrack cancel ID`, the dashboard) stops the
    command: SIGTERM at the next heartbeat, SIGKILL --grace seconds later;
    the job stays cancelled.

    Exit status: the command's (128+N if signal N killed it), 124 if the
    job was cancelled, 125 if the job could not be created, 126/127 if the
    command cannot be run.

    \b
    Examples:
      jobbertrack run --timeout 3600 -- /usr/local/bin/backup.sh
      jobbertrack run --name "nightly import" --lease 120 -- python import.py --all
    """
    argv = list(command)
    label = name or shlex.join(argv)[:200]
    try:
        job = settings().handler().create(timeout, name=label, data={"command": argv})
        job.start(lease=lease, max_runtime=max_runtime)
    except jobbertrack.JobberTrackError as exc:
        raise Failure(
            f"the job could not be started, so the command did not run: {exc}", EXIT_TRACKING
        ) from None
    _say(f"job {job.id} running: {label}")
    status = _run_tracked(job, argv, Reporter(output()), grace=grace)
    raise SystemExit(status)


class Reporter:
    """How a command's outcome is told: one JSON line on stdout with
    ``--json``, else one line on stderr.  Made in the main thread (it reads
    click's context, which worker threads do not have) and safe to share
    between the threads of ``jobbertrack work``.  ``always``: say the line
    even when stderr is not a terminal (``work`` logs each job; ``run`` stays
    silent under cron)."""

    def __init__(self, out: Output, *, always: bool = False) -> None:
        self.out, self.always = out, always
        self.lock = threading.Lock()

    def outcome(self, job: jobbertrack.Resource, message: str, duration: float) -> None:
        with self.lock:
            if self.out.json:
                self.out.json_line(job.get_value())
            elif self.always or sys.stderr.isatty():
                note(f"jobbertrack: job {job.id} {job.state} ({message}, {duration:.1f} s)")


def _run_tracked(
    job: jobbertrack.Resource,
    argv: list[str],
    reporter: Reporter,
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    child: list[subprocess.Popen[bytes]] | None = None,
    grace: float = GRACE,
) -> int:
    """Run ``argv`` as ``job`` (heartbeats, output tail, exit status).
    ``stdin``: bytes fed to the command (``jobbertrack work``: the job's data
    as JSON); ``env``: its environment; ``child``: a list that receives the
    process, so a caller can signal it; ``grace``: seconds a cancelled
    job's command has between SIGTERM and SIGKILL.  EXIT_CANCELLED when the
    job was cancelled (it stays so)."""
    tail = OutputTail()
    child = [] if child is None else child
    began = time.monotonic()
    stopper = Stopper(child, grace)
    # the heartbeat policy of job.running(), quiet: cron mails any output
    with job.keep_alive(quiet=True, on_lost=stopper.on_lost) as beats, forwarding(child):
        try:
            pipe_in = None if stdin is None else subprocess.PIPE  # None: inherits ours, as before
            proc_ = subprocess.Popen(
                argv, stdin=pipe_in, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            child.append(proc_)
            if stdin is not None:
                threading.Thread(target=_feed, args=(proc_.stdin, stdin), daemon=True).start()
        except OSError as exc:
            status = EXIT_COMMAND_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_CANNOT_RUN
            message = f"cannot run {argv[0]!r}: {exc.strerror}"
            click.echo(f"jobbertrack: {message}", err=True)
            _store_result(job, command_result(argv, status, 0.0, "") | {"message": message}, reporter)
            return status
        proc = child[0]
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            Pump(proc.stdout, sys.stdout, tail),
            Pump(proc.stderr, sys.stderr, tail),
        ]
        for pump in pumps:
            pump.start()
        stopper.stop()  # a cancel noticed before the command existed
        returncode = proc.wait()
        stopper.done()
        for pump in pumps:
            pump.drain()
    result = command_result(argv, returncode, time.monotonic() - began, tail.text())
    if stopper.cancelled:
        reporter.outcome(job.refresh(), f"stopped: {result['exit_code']}", result["duration"])
        return EXIT_CANCELLED
    lost = _store_result(job, result, reporter, lost=beats.lost)
    return EXIT_CANCELLED if isinstance(lost, jobbertrack.JobCancelled) else exit_status(returncode)


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    """Write the command's stdin and close it (a command that never reads
    it only makes this thread end with a broken pipe)."""
    if pipe is None:
        return
    with contextlib.suppress(OSError), pipe:
        pipe.write(data)


def _store_result(
    job: jobbertrack.Resource, result: dict[str, Any], reporter: Reporter, lost: Exception | None = None
) -> Exception | None:
    """Finish or fail the job with the result; a job lost meanwhile (or
    cancelled) is left as it is, and the error that said so returned."""
    code = result["exit_code"]
    if "message" in result:
        message = result["message"]
    elif "signal" in result:
        message = f"killed by {result['signal']}"
    else:
        message = f"exited with status {code}" if code else "exit status 0"
    try:
        if code == 0:
            job.finish(result)
        else:
            job.fail({**result, "message": message})
    except jobbertrack.JobberTrackError as exc:
        note(f"jobbertrack: job {job.id}: the command's result was not stored: {lost or exc}")
        return exc
    reporter.outcome(job, message, result["duration"])
    return None


def _say(message: str) -> None:
    if sys.stderr.isatty() and not output().json:
        note(f"jobbertrack: {message}")
