"""What jobbertrack keeps per Redis client: ``ClientState``.

Everything the library learns or builds about one client lives on that
client's one ``ClientState``, never on a class or in a module global, so
two clients (of two servers, or of two event loops) never share any of it:

- the scripts' text in the form its server takes (with the Redis 7 ``#!lua``
  header, or without it after a Redis 6 refused it) and their SHA1s;
- whether its ``maxmemory-policy`` was checked (once per client);
- which namespaces' layout stamp it checked, or wrote (once per namespace:
  ``layout_todo``, carried out by ``_layout``);
- how far its server's clock runs ahead of this host's (``RedisClock``);
- for a ``redis.asyncio`` client, its auto-pipeline and its wait hubs.

``client_state(client)`` finds it: the only table of the process is the
weak map from a client to its state, so a state lives exactly as long as
its client, and the state holds its client weakly.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from ._core.deadlines import RedisClock
from ._core.keys import STAMPING_SCRIPTS, namespace_of
from ._exceptions import WrongType
from ._scripts import Script, source


def is_coroutine_client(client: Any) -> bool | None:
    """Whether ``client``'s commands are coroutines (redis.asyncio); None
    when its ``execute_command`` is wrapped, so not ours to judge.
    WrongType if it is no redis-py client at all."""
    method = getattr(client, "execute_command", None)
    if not callable(method):
        raise WrongType(f"client must be a redis-py client, not {type(client).__name__}")
    code = getattr(method, "__code__", None)
    return None if code is None else bool(code.co_flags & 0x80)  # CO_COROUTINE


def check_client(client: Any, asyncio: bool, what: str) -> None:
    """A redis-py client of the caller's layer: a sync client in the asyncio
    layer (or the reverse) would fail later with a puzzling TypeError."""
    is_coroutine = is_coroutine_client(client)
    if is_coroutine is not None and is_coroutine != asyncio:
        kind = type(client)
        layer, wanted = ("jobbertrack.aio", "redis.asyncio") if asyncio else ("jobbertrack", "redis")
        got = f"{kind.__module__}.{kind.__name__}"
        hint = f" (from a factory? base the factory on {layer}.ResourceFactory)" if what == "Resource" else ""
        raise WrongType(f"{layer}.{what} needs a {wanted}.Redis or RedisCluster client, not a {got}{hint}")


class ClientState:
    """What jobbertrack keeps for one Redis client (see the module
    docstring).  Holds the client weakly: the state is found through a map
    keyed by the client, and must not keep it alive."""

    def __init__(self, client: Any) -> None:
        self._client = weakref.ref(client)
        self.modern = True  # scripts go with the `#!lua` header (Redis >= 7)
        self.checked_policy = False
        self.layouts: dict[str, bool] = {}  # namespace -> its stamp checked (False), or written too (True)
        self.reindexed: set[str] = set()  # namespaces whose older jobs a sweep put into the finding indexes
        # asyncio: the layout checks in flight, per event loop (``_layout.aensure_layout``)
        self.layout_checks: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()
        self._scripts: dict[str, Script] = {}
        self.clock = RedisClock()
        self.hubs: dict[str, Any] = {}  # namespace -> _awatch.WaitHub (asyncio clients)
        self.autopipe: Any = None  # _autopipe.AutoPipe (asyncio clients)

    @property
    def client(self) -> Any:
        client = self._client()
        if client is None:  # only reachable through a handler, which holds the client
            raise ReferenceError("the Redis client of this state is gone")
        return client

    def script(self, name: str) -> Script:
        """Script ``name`` as this client's server takes it."""
        obj = self._scripts.get(name)
        if obj is None:
            import hashlib  # on first use: loading OpenSSL costs a few ms of import

            text = source(name, self.modern)
            obj = self._scripts[name] = Script(text, hashlib.sha1(text.encode("utf-8")).hexdigest())
        return obj

    def layout_todo(self, ops: Iterable[Any]) -> dict[str, bool] | None:
        """The namespaces of ``ops`` (script calls or reads) whose layout
        stamp this client has yet to check, each with whether to write it
        too (a create), or None: the common case, a dict lookup per op."""
        todo: dict[str, bool] | None = None
        layouts = self.layouts
        checked = ""  # "<ns>:{" of the last op whose namespace was found checked
        for op in ops:
            script = getattr(op, "script", None)
            key = op.key if script is None else op.keys[0]
            if checked and key.startswith(checked) and script not in STAMPING_SCRIPTS:
                continue  # a run of ops of one namespace: the usual batch
            namespace = namespace_of(key)
            done = layouts.get(namespace)
            if done or (done is False and script not in STAMPING_SCRIPTS):
                checked = namespace + ":{"
                continue
            if todo is None:
                todo = {}
            todo[namespace] = todo.get(namespace, False) or script in STAMPING_SCRIPTS
        return todo

    def downgrade(self) -> None:
        """Switch to header-less scripts (Redis < 7)."""
        self.modern = False
        self._scripts.clear()


_states: weakref.WeakKeyDictionary[Any, ClientState] = weakref.WeakKeyDictionary()


def client_state(client: Any) -> ClientState:
    """``client``'s state, made on first use."""
    cs = _states.get(client)
    if cs is None:
        cs = _states[client] = ClientState(client)
    return cs
