"""Passwords never appear in errors or logs."""

from __future__ import annotations

import logging

import pytest

import jobbertrack
from jobbertrack._connect import redact
from jobbertrack.testing import RedisServer, free_port


def test_redact_hides_the_password() -> None:
    assert redact("redis://user:hunter2@host:6380/0") == "redis://user:***@host:6380/0"
    assert redact("redis://host:6380/0") == "redis://host:6380/0"
    assert "hunter2" not in redact("redis+sentinel://:hunter2@a:1,b:2/mymaster")


def test_a_wrong_password_error_does_not_show_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with RedisServer(args=["--requirepass", "the-real-one"]) as server:
        client = jobbertrack.connect(f"redis://default:hunter2-secret@127.0.0.1:{server.port}/0")
        with pytest.raises(jobbertrack.JobberTrackError) as info:
            jobbertrack.Handler(client).create(30)
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in caplog.text


@pytest.mark.parametrize("url", ["redis://u:hunter2-secret@127.0.0.1:abc/0", "foo://u:hunter2-secret@h:1"])
def test_an_unusable_url_is_a_jobbertrack_error_without_the_password(url: str) -> None:
    with pytest.raises(jobbertrack.InvalidURL) as info:
        jobbertrack.connect(url)
    assert isinstance(info.value, ValueError)  # as redis-py's own error was
    assert "hunter2-secret" not in str(info.value)


def test_an_unreachable_server_error_does_not_show_the_password() -> None:
    client = jobbertrack.connect(f"redis://u:hunter2-secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(jobbertrack.RedisUnavailable) as info:
        jobbertrack.Handler(client).get("x")
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in repr(info.value)


@pytest.mark.parametrize("url", [123, b"redis://h:1", ["x"], "redis://u:hunter2-secret@[::1"])
def test_what_is_not_a_usable_url_is_invalid_url(url: object) -> None:
    with pytest.raises(jobbertrack.InvalidURL) as info:
        jobbertrack.connect(url)  # type: ignore[arg-type]
    assert "hunter2-secret" not in str(info.value)
