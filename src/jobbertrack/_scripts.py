"""The Lua scripts: their text (registered per Redis client by ``_client_state``).

Each command is one file in ``_lua/`` (its header documents KEYS, ARGV and
replies).  The text sent is the files as they are on disk, so a client in
another language can assemble the same: ``_lua/_states.lua`` (the KEYS
layout and the states, generated from the state table), then
``_lua/_lib.lua`` for the scripts that use the shared helpers, then the
command's file, joined by newlines.  On Redis >= 7 a
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
from typing import NamedTuple

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
    # issue 14: the work queue
    "push": "",
    "pop": "",
    "peek": "no-writes",
    "queued": "no-writes",
}
#: Scripts that use the shared helpers of ``_lib.lua``.
WITH_LIB = {"create", "create_many", "transition", "touch", "get", "sweep", "settle", "status", "push", "pop"}


_LUA = os.path.join(os.path.dirname(__file__), "_lua")


def _read(name: str) -> str:
    with open(os.path.join(_LUA, f"{name}.lua"), encoding="utf-8") as f:
        return f.read()


@functools.cache
def source(name: str, modern: bool) -> str:
    """The text sent to Redis for script ``name``."""
    parts = ["_states", "_lib", name] if name in WITH_LIB else ["_states", name]
    body = "\n".join(_read(part) for part in parts)
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
