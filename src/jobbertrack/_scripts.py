"""The Lua scripts as sent to Redis: the artifacts in ``_lua/assembled/``, built
from the sources in ``_lua/`` by ``_assemble.py`` (``make scripts``) and
read here as they are.  The Node client loads the same files.

Each ``_lua/assembled/<name>.lua`` is the text for Redis >= 7: a ``#!lua`` line
with the script's flags (so the server refuses a writing script up front
when out of memory and still runs read-only ones), then the body.  Redis
6.2 does not know that line: a client sends the text after it instead, the
first time the server fails to compile the header (``is_compile_error``).
Each call goes as EVALSHA, and as EVAL after NOSCRIPT (SCRIPT FLUSH, a
restart, a failover): see ``_run.py``.  ``_lua/assembled/manifest.json`` lists
every script with its flags, key count and both SHA1s.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, NamedTuple

ASSEMBLED = os.path.join(os.path.dirname(__file__), "_lua", "assembled")


@functools.cache
def manifest() -> dict[str, Any]:
    """``_lua/assembled/manifest.json``: the scripts, and the data model."""
    with open(os.path.join(ASSEMBLED, "manifest.json"), encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@functools.cache
def source(name: str, modern: bool) -> str:
    """The text sent to Redis for script ``name``; without the ``#!lua``
    line unless ``modern`` (Redis >= 7)."""
    path = os.path.join(ASSEMBLED, manifest()["scripts"][name]["file"])
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    return text if modern else text.split("\n", 1)[1]


def is_compile_error(exc: BaseException) -> bool:
    """A server without `#!lua` support (Redis < 7) rejecting the header."""
    return "Error compiling script" in str(exc) or "unexpected symbol" in str(exc)


class Script(NamedTuple):
    script: str  # the text sent with EVAL
    sha: str  # its SHA1, sent with EVALSHA
