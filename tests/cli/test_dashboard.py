"""`jobbertrack dashboard` and `jobbertrack demo --web` as real processes:
they print their URL once they listen, serve the app, refuse unsafe
setups in one line, and stop cleanly on a signal."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import jobbertrack
from jobbertrack.cli import main
from tests.helpers import cli_runner

from .conftest import CLI

LIMIT = 30.0  # seconds: generous, the machine is shared; nothing waits this long when all is well
URL_LINE = re.compile(r"^jobbertrack: dashboard on (http://\S+/) \((.*)\)")
TOKEN = "an-honest-token-of-some-length"


def interruptible() -> None:
    """Ctrl-C as at a terminal, even if the runner was started with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Dashboard:
    """A `jobbertrack dashboard` (or `demo --web`) process and what it printed."""

    def __init__(self, url: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "--redis-url", url, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            preexec_fn=interruptible,  # noqa: PLW1509 - one signal() call, nothing to deadlock on
        )
        self.lines: list[str] = []

    def read_until_url(self) -> str:
        """Stdout lines up to the one naming the URL (which it returns)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + LIMIT
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"no URL in time; stdout so far: {self.lines}"
            raw = self.proc.stdout.readline()
            assert raw, f"stdout ended: {self.lines}; stderr: {self.stderr()}"
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            found = URL_LINE.match(line)
            if found:
                return found.group(1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(LIMIT)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def dashboards() -> Iterator[list[Dashboard]]:
    started: list[Dashboard] = []
    yield started
    for dashboard in started:
        dashboard.close()


@pytest.fixture
def start(url: str, dashboards: list[Dashboard]) -> Any:
    """start(*args, env=None): a dashboard on the test's Redis, on any free port."""

    def run(*args: str, env: dict[str, str] | None = None) -> Dashboard:
        dashboard = Dashboard(url, "dashboard", *args, env=env)
        dashboards.append(dashboard)
        return dashboard

    return run


def jt(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--redis-url", url, *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=LIMIT,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The process failed with ``code`` and said why in one line, serving nothing."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serves_the_dashboard_and_stops_cleanly(start: Any, handler: jobbertrack.Handler) -> None:
    job = handler.create(600, name="<b>visible</b>")
    port = free_port()
    dashboard = start("--port", str(port))
    base = dashboard.read_until_url()
    assert base == f"http://127.0.0.1:{port}/"
    assert dashboard.lines == [f"jobbertrack: dashboard on {base} (read-only: no token)"]

    counts = httpx.get(base + "api/counts", timeout=LIMIT)
    assert counts.status_code == 200
    assert counts.json() == {"waiting": 1, "running": 0, "failed": 0, "finished": 0, "cancelled": 0}
    page = httpx.get(f"{base}jobs/{job.id}", timeout=LIMIT)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "&lt;b&gt;visible&lt;/b&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.post(base + "api/jobs", json={"timeout": 60}, timeout=LIMIT).status_code == 403

    assert dashboard.stop() == 0
    stderr = dashboard.stderr()
    assert stderr.splitlines() == ["jobbertrack: dashboard stopped"]


def test_ctrl_c_with_a_live_page_open_stops_at_once_and_quietly(start: Any) -> None:
    """An event stream never ends by itself: stopping closes it rather than
    waiting for it (or cancelling it with a traceback)."""
    dashboard = start("--port", "0")
    base = dashboard.read_until_url()
    with httpx.stream("GET", base + "api/events", timeout=LIMIT) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        assert dashboard.stop(signal.SIGINT) == 0
        with pytest.raises(httpx.HTTPError):  # the server closed the stream in the middle
            for _ in lines:
                pass
    stderr = dashboard.stderr()
    assert stderr.splitlines() == ["jobbertrack: dashboard stopped"]


def test_json_prints_the_address_as_a_json_line(start: Any) -> None:
    dashboard = start("--port", "0", "--json", "--namespace", "elsewhere")
    assert dashboard.proc.stdout is not None
    ready, _, _ = select.select([dashboard.proc.stdout], [], [], LIMIT)
    assert ready
    document = json.loads(dashboard.proc.stdout.readline())
    assert document["url"] == f"http://127.0.0.1:{document['port']}/"
    assert document["namespace"] == "elsewhere" and document["access"] == "read-only"
    assert httpx.get(document["url"] + "api/counts", timeout=LIMIT).status_code == 200
    assert dashboard.stop() == 0


def test_a_host_others_can_reach_needs_a_token(url: str) -> None:
    result = jt(url, "dashboard", "--host", "0.0.0.0", "--port", "0")
    message = one_line_error(result, 2)
    assert "refusing to serve on --host 0.0.0.0 with no token" in message
    assert "--token-file" in message and "--insecure-no-auth" in message


def test_insecure_no_auth_serves_everywhere_with_a_warning(start: Any) -> None:
    dashboard = start("--host", "0.0.0.0", "--port", "0", "--insecure-no-auth")
    base = dashboard.read_until_url()
    assert "all interfaces; read-only: no token" in dashboard.lines[-1]
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 200
    assert dashboard.stop() == 0
    (warning, stopped) = dashboard.stderr().splitlines()
    assert warning.startswith("jobbertrack: warning: serving on 0.0.0.0 with no token")
    assert stopped == "jobbertrack: dashboard stopped"


def test_a_token_file_guards_every_route(start: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    dashboard = start("--port", "0", "--token-file", str(token_file))
    base = dashboard.read_until_url()
    assert dashboard.lines[-1].endswith("(the token is needed to sign in)")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 401
    assert (
        httpx.get(base + "api/counts", headers={"Authorization": "Bearer nope"}, timeout=LIMIT).status_code
        == 401
    )
    assert httpx.get(base + "api/counts", headers=bearer, timeout=LIMIT).status_code == 200
    assert httpx.post(base + "api/jobs", json={"timeout": 60}, timeout=LIMIT).status_code == 401
    created = httpx.post(base + "api/jobs", json={"timeout": 60}, headers=bearer, timeout=LIMIT)
    assert created.status_code == 201 and created.json()["state"] == "waiting"
    assert dashboard.stop() == 0


def test_public_read_opens_the_reads_only(start: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    dashboard = start("--port", "0", "--token-file", str(token_file), "--public-read")
    base = dashboard.read_until_url()
    assert dashboard.lines[-1].endswith("(reads open; writes need the token)")
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 200
    assert httpx.post(base + "api/jobs", json={"timeout": 60}, timeout=LIMIT).status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (
        httpx.post(base + "api/jobs", json={"timeout": 60}, headers=bearer, timeout=LIMIT).status_code == 201
    )
    assert dashboard.stop() == 0


def test_the_token_from_the_environment_also_lets_it_serve_everywhere(start: Any) -> None:
    dashboard = start("--host", "0.0.0.0", "--port", "0", env={"JOBBERTRACK_TOKEN": TOKEN})
    base = dashboard.read_until_url()
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(base + "api/counts", headers=bearer, timeout=LIMIT).status_code == 200
    assert dashboard.stop() == 0
    assert "warning" not in dashboard.stderr()


def test_a_token_file_named_by_the_environment_guards_every_route(start: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    dashboard = start("--port", "0", env={"JOBBERTRACK_TOKEN_FILE": str(token_file)})
    base = dashboard.read_until_url()
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(base + "api/counts", headers=bearer, timeout=LIMIT).status_code == 200
    path_as_token = {"Authorization": f"Bearer {token_file}"}
    assert httpx.get(base + "api/counts", headers=path_as_token, timeout=LIMIT).status_code == 401
    assert dashboard.stop() == 0


def test_a_path_in_the_token_variable_is_refused(url: str, tmp_path: Path) -> None:
    """$JOBBERTRACK_TOKEN holds the token itself: a path put there by mistake
    would become a token anyone reading the command line could use."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    env = {**os.environ, "JOBBERTRACK_TOKEN": str(token_file)}
    message = one_line_error(jt(url, "dashboard", "--port", "0", env=env), 2)
    assert "$JOBBERTRACK_TOKEN holds the token itself" in message
    assert "--token-file" in message and "$JOBBERTRACK_TOKEN_FILE" in message


def test_help_tells_the_token_variables_apart() -> None:
    shown = cli_runner().invoke(main, ["dashboard", "--help"]).output
    lines = [line.strip() for line in shown.splitlines()]
    assert any(line.startswith("$JOBBERTRACK_TOKEN ") and "the token itself" in line for line in lines), shown
    assert any(line.startswith("$JOBBERTRACK_TOKEN_FILE") and "file" in line for line in lines), shown
    option = max(i for i, line in enumerate(lines) if line.startswith("--token-file PATH  "))  # Options:
    assert "env: JOBBERTRACK_TOKEN]" not in " ".join(lines[option : option + 2])


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "no such file"), ("  \n", "is empty"), ("tab\there", "printable ASCII")],
)
def test_a_bad_token_file_is_one_line(url: str, tmp_path: Path, content: str | None, expected: str) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    message = one_line_error(jt(url, "dashboard", "--port", "0", "--token-file", str(token_file)), 2)
    assert f"--token-file {token_file}" in message or "token" in message
    assert expected in message


def test_public_read_without_a_token_warns_and_stays_read_only(start: Any) -> None:
    dashboard = start("--port", "0", "--public-read")
    base = dashboard.read_until_url()
    assert dashboard.lines[-1].endswith("(read-only: no token)")
    assert httpx.get(base + "api/counts", timeout=LIMIT).status_code == 200
    assert httpx.post(base + "api/jobs", json={"timeout": 60}, timeout=LIMIT).status_code == 403
    assert dashboard.stop() == 0
    (warning, _stopped) = dashboard.stderr().splitlines()
    assert warning.startswith("jobbertrack: warning: --public-read does nothing without a token")


def test_an_origin_must_be_an_origin(url: str) -> None:
    message = one_line_error(jt(url, "dashboard", "--port", "0", "--allow-origin", "https://a.example/x"), 2)
    assert "not an origin" in message
    one_line_error(jt(url, "dashboard", "--port", "0", "--allow-origin", "*"), 2)


def test_an_allowed_origin_gets_cors_and_another_is_refused(start: Any) -> None:
    dashboard = start("--port", "0", "--allow-origin", "https://app.example")
    base = dashboard.read_until_url()
    allowed = httpx.get(base + "api/counts", headers={"Origin": "https://app.example"}, timeout=LIMIT)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.get(base + "api/counts", headers={"Origin": "https://evil.example"}, timeout=LIMIT)
    assert other.status_code == 403
    assert dashboard.stop() == 0


def test_a_port_in_use_is_one_line(url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = one_line_error(jt(url, "dashboard", "--port", str(port)), 1)
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in message


def test_redis_unavailable_is_one_line_before_any_url() -> None:
    result = jt(f"redis://127.0.0.1:{free_port()}", "dashboard", "--port", "0")
    message = one_line_error(result, 4)
    assert "Redis is unavailable" in message


def test_help_shows_examples() -> None:
    result = cli_runner().invoke(main, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "jobbertrack dashboard --open" in result.output
    assert "--token-file token" in result.output
    listing = cli_runner().invoke(main, ["--help"])
    assert "dashboard" in listing.output


def test_demo_web_serves_the_demos_jobs(url: str, dashboards: list[Dashboard]) -> None:
    demo = Dashboard(url, "demo", "--web", "--jobs", "2", "--workers", "2", "--port", "0")
    dashboards.append(demo)
    base = demo.read_until_url()
    assert any(line.startswith("Done in") for line in demo.lines)
    assert demo.lines[-1] == f"jobbertrack: dashboard on {base} (read-only: no token)"
    # no hint to start what runs already
    assert not any(re.search(r"--namespace demo dashboard\b", line) for line in demo.lines)
    counts = httpx.get(base + "api/counts", timeout=LIMIT).json()
    assert sum(counts.values()) == 2 and counts["waiting"] == counts["running"] == 0
    listing = httpx.get(base + "api/jobs", timeout=LIMIT).json()
    assert {job["name"] for job in listing["jobs"]} == {"resize photo-001.jpg", "invoice INV-0002"}
    assert demo.stop(signal.SIGINT) == 0


def test_the_demo_ends_with_the_dashboard_command(url: str) -> None:
    result = jt(url, "demo", "--jobs", "2", "--workers", "2")
    assert result.returncode == 0, result.stderr
    hint = f"jobbertrack --redis-url {url} --namespace demo dashboard"
    (line,) = [line for line in result.stdout.splitlines() if hint in line]
    assert "demo --web" in line


def test_demo_options_of_the_web_need_web(url: str) -> None:
    message = one_line_error(jt(url, "demo", "--port", "9000"), 2)
    assert "--web" in message


def test_the_demo_names_the_program_it_was_started_by(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make demo` runs .venv/bin/jobbertrack, which need not be on $PATH:
    the commands the demo suggests then start with that path."""
    from jobbertrack.cli.demo import _program

    program = tmp_path / "bin" / "jobbertrack"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.argv", [str(program), "demo"])
    assert _program() == str(program)
    monkeypatch.setenv("PATH", str(program.parent))
    assert _program() == "jobbertrack"
    monkeypatch.setattr("sys.argv", ["jobbertrack", "demo"])
    assert _program() == "jobbertrack"


@pytest.mark.parametrize("command", [["dashboard"], ["demo", "--web"]])
def test_without_the_web_extra_it_says_what_to_install(url: str, command: list[str]) -> None:
    """uvicorn made unimportable in the child, as when the extra is not installed."""
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from jobbertrack.cli import main\n"
        f"main(['--redis-url', {url!r}, *{command!r}, '--port', '0'], prog_name='jobbertrack')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=LIMIT
    )
    message = one_line_error(result, 1)
    assert "pip install 'jobbertrack[web]'" in message and "uvicorn" in message
    client = jobbertrack.connect(url)
    demo_jobs = jobbertrack.Handler(client, namespace="demo").counts()
    client.close()
    assert sum(demo_jobs.values()) == 0  # the demo did not run first only to fail at the end
