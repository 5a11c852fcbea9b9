"""The integrations load their runner only when used."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_after(code: str) -> list[str]:
    runners = ("celery", "kombu", "rq")
    probe = f"{code}; import sys, json; print(json.dumps([m for m in {runners!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def test_import_jobbertrack_imports_neither_celery_nor_rq() -> None:
    assert loaded_after("import jobbertrack, jobbertrack.aio") == []


def test_importing_an_integration_does_not_import_its_runner() -> None:
    assert loaded_after("import jobbertrack.integrations.celery, jobbertrack.integrations.rq") == []
