"""TLS: rediss:// against a TLS-only redis-server whose CA the test makes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import jobbertrack
from jobbertrack.testing import RedisServer, free_port

REDIS = shutil.which("redis-server")
TlsSetup = tuple[RedisServer, int, Path, Path]
pytestmark = pytest.mark.skipif(
    not (REDIS and shutil.which("openssl")), reason="needs redis-server and openssl"
)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.pem",
        cwd=directory,
    )
    return directory / f"{name}.pem", directory / f"{name}.key"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, int, Path, Path]]:
    d = tmp_path_factory.mktemp("tls")
    ca, ca_key = make_ca(d, "test-ca")
    other_ca, _ = make_ca(d, "other-ca")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
        cwd=d,
    )
    tls_port = free_port()
    server = RedisServer(
        REDIS,
        args=[
            "--tls-port",
            str(tls_port),
            "--tls-cert-file",
            str(d / "server.pem"),
            "--tls-key-file",
            str(d / "server.key"),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
        ],
    )
    with server:  # its plain port stays for the fixture's readiness check only
        yield server, tls_port, ca, other_ca


def test_rediss_with_the_right_ca(tls_server: TlsSetup) -> None:
    _, port, ca, _ = tls_server
    client = jobbertrack.connect(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}")
    track = jobbertrack.Handler(client, namespace="tls")
    job = track.create(30)
    job.start()
    job.finish({"over": "tls"})
    assert track.get(job.id).data == {"over": "tls"}
    assert track.counts()["finished"] == 1


def test_a_wrong_ca_fails_closed(tls_server: TlsSetup) -> None:
    _, port, _, other_ca = tls_server
    client = jobbertrack.connect(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={other_ca}")
    with pytest.raises(jobbertrack.RedisUnavailable, match=r"(?i)certificate|ssl"):
        jobbertrack.Handler(client).create(30)


def test_plaintext_to_the_tls_port_is_refused_not_downgraded(
    tls_server: tuple[RedisServer, int, Path, Path],
) -> None:
    _, port, _, _ = tls_server
    client = jobbertrack.connect(f"redis://127.0.0.1:{port}/0", socket_timeout=2)
    with pytest.raises(jobbertrack.JobberTrackError):
        jobbertrack.Handler(client).create(30)
