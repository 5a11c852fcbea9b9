"""The Lua scripts: their text, and one registration per Redis client.

Each command is one file in ``_lua/`` (its header documents KEYS, ARGV and
replies); job scripts get ``_lua/_lib.lua`` prepended.  On Redis >= 7 a
``#!lua`` header with flags goes first, so the server refuses a writing
script up front when out of memory and still runs read-only ones; Redis 6.2
does not know the header, so a client falls back to header-less text the
first time the server fails to compile it.  Each call goes as EVALSHA,
and as EVAL after NOSCRIPT (SCRIPT FLUSH, a restart, a failover): see
``_run.py``.
"""

from __future__ import annotations

import functools
import os
import weakref
from typing import Any, NamedTuple

#: Script name -> flags of its `#!lua` header (Redis >= 7).
FLAGS: dict[str, str] = {
    "create": "",
    "create_many": "",
    "transition": "",
    "touch": "",
    "get": "allow-oom",  # reads; writes only to fail a stalled job
    "count": "no-writes",
    "list": "no-writes",
    "status": "allow-oom",  # reads; writes only to fail a stalled job
    "sweep": "",
    "settle": "",
}
#: Scripts that work on one job or shard and need the shared prelude.
WITH_LIB = {"create", "create_many", "transition", "touch", "get", "sweep", "settle", "status"}


_LUA = os.path.join(os.path.dirname(__file__), "_lua")


def _read(name: str) -> str:
    with open(os.path.join(_LUA, f"{name}.lua"), encoding="utf-8") as f:
        return f.read()


@functools.cache
def source(name: str, modern: bool) -> str:
    """The text sent to Redis for script ``name``."""
    body = _read(name)
    if name in WITH_LIB:
        body = _read("_lib") + "\n" + body
    if not modern:
        return body
    flags = FLAGS[name]
    return (f"#!lua flags={flags}\n" if flags else "#!lua\n") + body


def is_compile_error(exc: BaseException) -> bool:
    """A server without `#!lua` support (Redis < 7) rejecting the header."""
    return "Error compiling script" in str(exc) or "unexpected symbol" in str(exc)


class Script(NamedTuple):
    script: str  # the text sent with EVAL
    sha: str  # its SHA1, sent with EVALSHA


class Registry:
    """The scripts' text for one client (modern or legacy), and per-client
    state of the asyncio layer.  Holds the client weakly: the registry lives
    in a dictionary keyed by the client, and must not keep it alive."""

    def __init__(self, client: Any) -> None:
        self._client = weakref.ref(client)
        self.modern = True
        self.checked_policy = False
        self._scripts: dict[str, Script] = {}
        self.hubs: dict[str, Any] = {}  # namespace -> _awatch.WaitHub (asyncio clients)
        self.autopipe: Any = None  # _autopipe.AutoPipe (asyncio clients)

    @property
    def client(self) -> Any:
        client = self._client()
        if client is None:  # only reachable through a handler, which holds the client
            raise ReferenceError("the Redis client of this registry is gone")
        return client

    def script(self, name: str) -> Script:
        obj = self._scripts.get(name)
        if obj is None:
            import hashlib  # on first use: loading OpenSSL costs a few ms of import

            text = source(name, self.modern)
            obj = self._scripts[name] = Script(text, hashlib.sha1(text.encode("utf-8")).hexdigest())
        return obj

    def downgrade(self) -> None:
        """Switch to header-less scripts (Redis < 7)."""
        self.modern = False
        self._scripts.clear()


_registries: weakref.WeakKeyDictionary[Any, Registry] = weakref.WeakKeyDictionary()


def registry(client: Any) -> Registry:
    reg = _registries.get(client)
    if reg is None:
        reg = _registries[client] = Registry(client)
    return reg
