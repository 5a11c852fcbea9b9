"""The live views: `watch` on a real terminal (a pty), and `demo`."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator

import pytest

import jobbertrack

from .conftest import CLI, Invoke
from .test_processes import LIMIT, interruptible

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Terminal:
    """A pseudo-terminal (120x40 unless told) running one command; ``until``
    reads what it draws (escape sequences stripped) until a condition holds."""

    def __init__(self, argv: list[str], columns: int = 120) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=interruptible,  # noqa: PLW1509 - one signal() call, nothing to deadlock on
        )
        os.close(slave)
        self.raw = b""

    def mark(self) -> int:
        return len(self.raw)

    def until(self, condition: Callable[[str], bool], since: int = 0) -> str:
        """The text drawn after position ``since``, once ``condition`` holds for it."""
        deadline = time.monotonic() + LIMIT
        while True:
            text = ANSI.sub(b"", self.raw[since:]).decode("utf-8", "replace")
            if condition(text):
                return text
            left = deadline - time.monotonic()
            assert left > 0, f"the screen never showed it; it shows:\n{text[-3000:]}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the program exited and the terminal closed
                    assert condition(ANSI.sub(b"", self.raw[since:]).decode("utf-8", "replace")), self.raw
                    return text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_(argv: list[str], columns: int = 120) -> Terminal:
        opened.append(Terminal(argv, columns))
        return opened[-1]

    yield open_
    for term in opened:
        term.close()


def test_watch_draws_jobs_and_counts_as_events_arrive(
    url: str, handler: jobbertrack.Handler, terminal: Callable[[list[str]], Terminal]
) -> None:
    handler.create(600, name="already here")
    term = terminal([*CLI, "--redis-url", url, "watch"])
    first = term.until(lambda s: "already here" in s and "Ctrl-C to quit" in s)
    assert "jobbertrack watch · namespace jt" in first
    assert re.search(r"waiting 1\s+running 0\s+failed 0\s+finished 0\s+cancelled 0\s+total 1", first)

    since = term.mark()
    job = handler.create(600, name="arrives later").start()
    job.set_progress(2, 4, "halfway")
    handler.create(600, name="breaks").start().fail("disk full")
    screen = term.until(lambda s: "halfway" in s and "disk full" in s and "running 1" in s, since)
    (line,) = [row for row in screen.splitlines() if "arrives later" in row][-1:]
    assert "running" in line and "2/4 ████░░░░ halfway" in line and "s ago" in line
    assert re.search(r"waiting 1\s+running 1\s+failed 1\s+finished 0\s+cancelled 0\s+total 3", screen)

    term.proc.send_signal(signal.SIGINT)
    assert term.proc.wait(LIMIT) == 0


def test_demo_runs_by_itself_and_catches_the_stalled_job(invoke: Invoke, url: str) -> None:
    result = invoke("demo", "--jobs", "4", "--workers", "2", "--seed", "1")
    out = result.stdout
    assert "Done in" in out and "1 stalled" in out and "Try next:" in out
    assert f"jobbertrack --redis-url {url} --namespace demo get " in out
    stalled = re.search(r"Worker 1 died in the middle of job (\S+);", out)
    assert stalled is not None
    client = jobbertrack.connect(url)
    track = jobbertrack.Handler(client, namespace="demo")
    assert sum(track.counts().values()) == 4
    assert all(job.is_final for job in track.list())
    job = track.get(stalled.group(1))
    client.close()
    assert job is not None and job.error is not None and job.error["reason"] == "stalled"
    assert "\x1b[" not in out  # not a terminal: progress lines, not the live view


def test_the_demo_fits_an_80_column_terminal(url: str, terminal: Callable[..., Terminal]) -> None:
    """Names are never cut to "invoice…" there: the detail and time columns
    and the progress bar make room, and each hint's note goes above it."""
    term = terminal([*CLI, "--redis-url", url, "demo", "--jobs", "6", "--workers", "2", "--seed", "3"], 80)
    screen = term.until(lambda s: "Try next:" in s and s.rstrip().endswith("--namespace demo dashboard"))
    assert term.proc.wait(LIMIT) == 0
    client = jobbertrack.connect(url)
    names = [job.name for job in jobbertrack.Handler(client, namespace="demo").list()]
    client.close()
    assert len(names) == 6
    board = screen[: screen.rindex("Done in")]
    for name in names:
        assert re.search(rf"\b{re.escape(name)}\s", board), f"{name!r} cut on the board:\n{board[-2500:]}"
    hints = screen[screen.rindex("Try next:") :]
    assert "# the failures, newest first" in hints and "…" not in hints
    assert all(len(line) <= 80 for line in hints.splitlines())
