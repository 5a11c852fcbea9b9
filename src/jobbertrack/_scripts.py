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
import re
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
    # the work queue
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


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINES = re.compile(r"^local\s+(?:function\s+([A-Za-z_]\w*)|([A-Za-z_][\w\s,]*?)\s*=)", re.M)


def _words(code: str) -> set[str]:
    """The names ``code`` mentions (comments and strings left out)."""
    code = re.sub(r"--[^\n]*", "", code)
    code = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "", code)
    return set(_WORD.findall(code))


def _blocks(lib: str) -> list[tuple[set[str], str]]:
    """``_lib.lua`` cut before each top-level ``local``: (names it defines, text)."""
    starts = [m.start() for m in re.finditer(r"^(?:--[^\n]*\n)*local\s", lib, re.M)]
    out = []
    for begin, end in zip(starts, [*starts[1:], len(lib)], strict=True):
        text = lib[begin:end]
        found = _DEFINES.search(text)
        names = {found.group(1)} if found and found.group(1) else set()
        if found and found.group(2):
            names = {n.strip() for n in found.group(2).split(",")}
        out.append((names, text))
    return out


def used_lib(body: str) -> str:
    """The parts of ``_lib.lua`` that ``body`` uses, directly or through
    another part, in the file's order.  A script runs its prelude on every
    call: defining helpers it never calls would cost Redis a few µs each
    time (about a tenth of a transition)."""
    blocks = _blocks(_read("_lib"))
    wanted = _words(body)
    keep: set[int] = set()
    grew = True
    while grew:
        grew = False
        for i, (names, text) in enumerate(blocks):
            if i not in keep and names & wanted:
                keep.add(i)
                wanted |= _words(text)
                grew = True
    return "".join(text for i, (_, text) in enumerate(blocks) if i in keep)


@functools.cache
def source(name: str, modern: bool) -> str:
    """The text sent to Redis for script ``name``: ``_states.lua``, the parts
    of ``_lib.lua`` it uses (``used_lib``), and its own file."""
    own = _read(name)
    parts = [_read("_states"), used_lib(own), own] if name in WITH_LIB else [_read("_states"), own]
    body = "\n".join(parts)
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
