"""The public surface: names, the two layers' parity, what importing loads."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import jobbertrack
import jobbertrack.aio

EXPECTED = {
    "Event",
    "Handler",
    "Resource",
    "ResourceFactory",
    "State",
    "JobberTrackError",
    "InvalidTransition",
    "JobNotFound",
    "JobExpired",
    "JobExists",
    "InvalidTimeout",
    "InvalidJobId",
    "InvalidData",
    "InvalidURL",
    "WaitTimeout",
    "RedisUnavailable",
    "RedisCommandError",
    "Tracker",
    "Job",
    "connect",
    "aio",
    "__version__",
}


def test_public_names_are_what_we_mean_to_export() -> None:
    assert set(jobbertrack.__all__) == EXPECTED
    for name in jobbertrack.__all__:
        assert getattr(jobbertrack, name) is not None


def test_every_error_derives_from_the_root() -> None:
    for name in jobbertrack.__all__:
        obj = getattr(jobbertrack, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, jobbertrack.JobberTrackError)


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


def test_sync_and_async_layers_have_the_same_names_and_signatures() -> None:
    for name in ("Handler", "Resource", "ResourceFactory"):
        sync_cls, async_cls = getattr(jobbertrack, name), getattr(jobbertrack.aio, name)
        sync_m, async_m = _public_methods(sync_cls), _public_methods(async_cls)
        assert sync_m.keys() == async_m.keys(), name
        for method, sig in sync_m.items():
            other = async_m[method]
            assert list(sig.parameters) == list(other.parameters), f"{name}.{method}"
            assert [p.default for p in sig.parameters.values()] == [
                p.default for p in other.parameters.values()
            ], f"{name}.{method}"
    for name in set(jobbertrack.aio.__all__):
        assert hasattr(jobbertrack, name), name


def test_import_is_light_and_starts_no_threads() -> None:
    """Importing the package loads no client library, event loop or optional layer.

    What "light" means is checked by what gets loaded, not by a stopwatch: a
    timed assertion flakes on a shared machine (CI once measured 0.107 s
    against a 0.1 s limit).
    """
    heavy = ["redis", "asyncio", "click", "starlette", "jinja2", "hiredis", "pickle"]
    # stdlib modules put off until first use (each costs milliseconds)
    heavy += ["logging", "pathlib", "hashlib", "urllib.parse", "traceback", "secrets"]
    code = (
        "import sys, threading, json; import jobbertrack; "
        f"print(json.dumps([threading.active_count(), [m for m in {heavy!r} if m in sys.modules]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    threads, loaded = json.loads(out.stdout)
    assert threads == 1
    assert loaded == []  # redis-py is imported by the caller, not by us


def test_a_handler_does_not_keep_its_client_alive() -> None:
    """The per-client script registry holds the client weakly."""
    import gc
    import weakref

    import redis

    client = redis.Redis(host="127.0.0.1", port=1)  # never connected: nothing is sent
    track = jobbertrack.Handler(client)
    track._reg.script("create")  # the registry has been used
    ref = weakref.ref(client)
    del track, client
    gc.collect()
    assert ref() is None
