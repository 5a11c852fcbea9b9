"""The public surface: names, the two layers' parity, what importing loads."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import jobbertrack
import jobbertrack.aio

EXPECTED = {
    "CorruptRecord",
    "Group",
    "GroupClosed",
    "GroupNotFound",
    "Event",
    "Handler",
    "Resource",
    "ResourceFactory",
    "State",
    "JobberTrackError",
    "InvalidTransition",
    "JobCancelled",
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
    "UnknownLayout",
    "Tracker",
    "Job",
    "connect",
    "current_job",
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
    for name in ("Handler", "Resource", "ResourceFactory", "Group"):
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


TWINS = ("Handler", "Resource", "ResourceFactory")
#: Public methods that do no I/O (or return an iterator or a context
#: manager): plain in both layers.  Every other asyncio method is awaited.
NOT_AWAITED = {"events", "get_value", "set_value", "set_default_timeout", "running", "job"}
NOT_AWAITED |= {"keep_alive", "as_current", "stop_work"}  # stop_work only sets a flag
NOT_AWAITED |= {"register_worker"}  # returns an async context manager
NOT_AWAITED |= {"child_id"}  # computes an id: no I/O


def _public_attributes(cls: type) -> dict[str, object]:
    """Every public name of ``cls`` (methods, properties, fields), as declared."""
    return {name: inspect.getattr_static(cls, name) for name in dir(cls) if not name.startswith("_")}


def _doc(member: object) -> str | None:
    return member.__doc__ if isinstance(member, property) else inspect.getdoc(member)


def test_the_twins_have_the_same_attributes_each_with_a_docstring() -> None:
    for name in TWINS:
        sync_cls, async_cls = getattr(jobbertrack, name), getattr(jobbertrack.aio, name)
        assert inspect.getdoc(sync_cls) and inspect.getdoc(async_cls), name
        sync_a, async_a = _public_attributes(sync_cls), _public_attributes(async_cls)
        assert sync_a.keys() == async_a.keys(), name
        for attr, member in sync_a.items():
            assert type(member) is type(async_a[attr]), f"{name}.{attr}"
            assert _doc(member) and _doc(async_a[attr]), f"{name}.{attr} has no docstring"


def test_the_asyncio_layer_awaits_exactly_what_does_io() -> None:
    for name in TWINS:
        sync_cls, async_cls = getattr(jobbertrack, name), getattr(jobbertrack.aio, name)
        for method in _public_methods(sync_cls):
            sync_m, async_m = getattr(sync_cls, method), getattr(async_cls, method)
            if not inspect.isfunction(sync_m):
                continue  # e.g. ResourceFactory.resource_class
            assert not inspect.iscoroutinefunction(sync_m), f"{name}.{method}"
            local = method in NOT_AWAITED or (name == "Resource" and method == "history")
            local = local or name == "ResourceFactory"
            assert inspect.iscoroutinefunction(async_m) is not local, f"aio.{name}.{method}"


def test_each_layer_makes_its_own_resources() -> None:
    for layer in (jobbertrack, jobbertrack.aio):
        assert layer.ResourceFactory.resource_class is layer.Resource
        assert isinstance(layer.ResourceFactory().load(None, "x", {"state": "waiting"}), layer.Resource)


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
    """The per-client state holds the client weakly."""
    import gc
    import weakref

    import redis

    client = redis.Redis(host="127.0.0.1", port=1)  # never connected: nothing is sent
    track = jobbertrack.Handler(client)
    track._cs.script("create")  # the client state has been used
    ref = weakref.ref(client)
    del track, client
    gc.collect()
    assert ref() is None


def test_what_is_learned_of_a_client_stays_with_that_client() -> None:
    """Scripts, the server's clock offset, the asyncio pipeline and hubs live
    on one state per client: two handlers of one client share it, two
    clients (of two servers, say) share nothing."""
    import redis

    one, other = redis.Redis(host="127.0.0.1", port=1), redis.Redis(host="127.0.0.1", port=2)
    first, second = jobbertrack.Handler(one), jobbertrack.Handler(one, namespace="other")
    assert first._cs is second._cs
    third = jobbertrack.Handler(other)
    assert third._cs is not first._cs and third._cs.clock is not first._cs.clock
    first._cs.clock.ahead_ms = 5000.0
    assert third._cs.clock.ahead_ms == 0
    job = jobbertrack.Resource(one, "x")  # made without a handler: finds its client's state
    assert job._client_state is first._cs


def test_the_extras_import_public_names_only() -> None:
    """The CLI, the web app and the integrations use the library as any
    user would: ``jobbertrack`` and ``jobbertrack.aio`` names (and their
    own modules), never a private module of the package."""
    import ast
    from pathlib import Path

    package = Path(jobbertrack.__file__).parent
    for extra in ("cli", "web", "integrations"):
        for path in (package / extra).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    private = node.level == 0 and (node.module or "").startswith("jobbertrack._")
                    if node.level >= 2 or private:
                        raise AssertionError(f"{path.name}: from {'.' * node.level}{node.module} import ...")
                    if node.level == 0 and node.module == "jobbertrack":
                        private = [a.name for a in node.names if a.name.startswith("_")]
                        assert not private, (path.name, private)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        assert not alias.name.startswith("jobbertrack._"), (path.name, alias.name)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, every import counted:
    at the top, inside functions (lazy) and under ``TYPE_CHECKING``."""
    import ast
    from pathlib import Path

    root = Path(jobbertrack.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    target = f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                    if target in modules and target != name:
                        graph[name].add(target)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules and a.name != name)
    return graph


def test_no_import_cycle_not_even_a_lazy_or_typing_one() -> None:
    """A module imports only what sits below it: the import graph (lazy and
    TYPE_CHECKING imports included) has no cycle."""
    graph = _import_graph()
    assert graph["jobbertrack._core.transitions"] == set()  # the bottom: the state table
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
