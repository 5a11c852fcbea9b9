"""The one assembler of the Lua scripts (run at development time, never at
import): ``python -m jobbertrack._assemble`` (``make scripts``) writes

- ``_lua/_states.lua``, generated from the state table (``keys.states_lua``);
- ``_lua/assembled/<name>.lua``, the exact text each script sends to Redis >= 7;
- ``_lua/assembled/manifest.json``: per script its file, flags, key count and
  SHA1s, and what another client needs to know of the data model (states,
  moves, KEYS layout, record fields).

Python (``_scripts.py``) and the Node client (``clients/node``, copied by
``scripts/copy-lua.mjs``) both load these artifacts and assemble nothing;
``tests/core/test_scripts_text.py`` keeps them equal to what this module
builds from the sources, as for ``_states.lua``.

A command's source is ``_lua/<name>.lua`` and starts with its header:

    --! flags: allow-oom        the `#!lua flags=` of Redis >= 7 (may be empty)
    --! include: _states _lib   files sent before it, in that order
    --! keys: layout            the job layout of _states.lua (``layout+``:
                                more KEYS follow, as create_many's job hashes)

``_states.lua`` is included whole (it checks KEYS).  A helper file such as
``_lib.lua`` is cut before each top-level ``local`` and only the parts the
script uses, directly or through another part, are sent, in the file's
order: Redis runs the whole prelude on every call, and a helper never
called costs a few µs each time (about a tenth of a transition).

Redis 6.2 does not know the ``#!lua`` line: a client sends the text
without its first line there (``sha_legacy``), see ``_scripts.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from ._core import fields
from ._core.attempts import QUEUE_FIELDS
from ._core.group_fields import GROUP_FIELDS
from ._core.keys import LAYOUT_VERSION, SHARD_KEYS, states_lua
from ._core.transitions import ALIVE, ENDED, FINAL, INITIAL, MOVES, State

LUA = os.path.join(os.path.dirname(__file__), "_lua")
ASSEMBLED = os.path.join(LUA, "assembled")
WHOLE = frozenset({"_states"})  # included whole; other included files are cut to what is used

_HEADER = re.compile(r"^--!\s*(\w+):[ \t]*(.*?)[ \t]*$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A top-level ``TABLE.field = ...``: the part holding it fills a table that
#: an earlier part defines (``GROUP`` in _lib.lua, filled in _groups.lua).
_FILLS = re.compile(r"^([A-Za-z_]\w*)\.[A-Za-z_]\w*\s*=", re.M)
_DEFINES = re.compile(r"^local\s+(?:function\s+([A-Za-z_]\w*)|([A-Za-z_][\w\s,]*?)\s*=)", re.M)


def header(text: str) -> dict[str, str]:
    """The ``--! key: value`` lines a command's source starts with."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        found = _HEADER.match(line)
        if not found:
            break
        out[found.group(1)] = found.group(2)
    for needed in ("flags", "include", "keys"):
        if needed not in out:
            raise ValueError(f"the script's header has no `--! {needed}:` line")
    if out["keys"] not in ("layout", "layout+"):
        raise ValueError(f"--! keys: {out['keys']!r} (layout or layout+)")
    return out


def words(code: str) -> set[str]:
    """The names ``code`` mentions (comments and strings left out)."""
    code = re.sub(r"--[^\n]*", "", code)
    code = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "", code)
    return set(_WORD.findall(code))


def blocks(lib: str) -> list[tuple[set[str], str]]:
    """A helper file cut before each top-level ``local`` (with the comment
    lines above it): (names it defines, text)."""
    starts = [m.start() for m in re.finditer(r"^(?:--[^\n]*\n)*local\s", lib, re.M)]
    out = []
    for begin, end in zip(starts, [*starts[1:], len(lib)], strict=True):
        text = lib[begin:end]
        found = _DEFINES.search(text)
        names = {found.group(1)} if found and found.group(1) else set()
        if found and found.group(2):
            names = {n.strip() for n in found.group(2).split(",")}
        names |= set(_FILLS.findall(text))  # it fills a table: it comes with the table
        out.append((names, text))
    return out


def used_parts(libs: list[str], body: str) -> list[str]:
    """The parts of each helper file of ``libs`` that ``body`` uses,
    directly or through another part (of any of them), in each file's order."""
    parts = [(n, names, text) for n, lib in enumerate(libs) for names, text in blocks(lib)]
    wanted = words(body)
    keep: set[int] = set()
    grew = True
    while grew:
        grew = False
        for i, (_, names, text) in enumerate(parts):
            if i not in keep and names & wanted:
                keep.add(i)
                wanted |= words(text)
                grew = True
    return [
        "".join(text for i, (n, _, text) in enumerate(parts) if n == k and i in keep)
        for k in range(len(libs))
    ]


def script_text(name: str, sources: Mapping[str, str]) -> str:
    """The text script ``name`` sends to Redis >= 7: its ``#!lua`` line, the
    files it includes, its own source; joined by newlines."""
    own = sources[name]
    head = header(own)
    included = head["include"].split()
    for lib in included:
        if lib not in sources:
            raise ValueError(f"{name}.lua includes {lib}.lua, which does not exist")
    helpers = [lib for lib in included if lib not in WHOLE]
    cut = dict(zip(helpers, used_parts([sources[lib] for lib in helpers], own), strict=True))
    parts = [sources[lib] if lib in WHOLE else cut[lib] for lib in included]
    flags = head["flags"]
    return (f"#!lua flags={flags}\n" if flags else "#!lua\n") + "\n".join([*parts, own])


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def data_model() -> dict[str, Any]:
    """What a client in another language reads instead of this package's
    code: the states, the moves Redis holds, the KEYS layout, the fields."""
    return {
        "layout_version": LAYOUT_VERSION,
        "states": [s.value for s in State],
        "initial": INITIAL.value,
        "final": [s.value for s in State if s in FINAL],
        "ended": [s.value for s in State if s in ENDED],
        "alive": [s.value for s in State if s in ALIVE],
        "moves": {
            name: {
                "target": move.target.value,
                "sources": [s.value for s in State if s in move.sources],
                "clears": list(move.clears),
            }
            for name, move in MOVES.items()
        },
        "keys": ["job:<id>", *SHARD_KEYS, *(f"idx:{s.value}" for s in State)],
        "fields": {
            "times": dict(fields.TIMES),
            "durations": dict(fields.DURATIONS),
            "objects": list(fields.JSON_OBJECTS),
            "create": {
                name: {"kind": f.kind, "max_length": f.max_length} for name, f in fields.CREATE_FIELDS.items()
            },
            "queue": list(QUEUE_FIELDS),
            "payloads": {"input": "data", "result": "result", "result_in_data_when": fields.FINISHED},
            "stored_only": sorted(fields.STORED_ONLY),
            "group": sorted(GROUP_FIELDS),
        },
    }


def build(sources: Mapping[str, str]) -> dict[str, str]:
    """Every generated file (path relative to ``_lua/``) and its text, from
    the sources (``_states`` is taken from the table, not from ``sources``)."""
    sources = {**sources, "_states": states_lua()}
    out = {"_states.lua": sources["_states"]}
    scripts: dict[str, Any] = {}
    for name in sorted(n for n in sources if not n.startswith("_")):
        text = script_text(name, sources)
        legacy = text.split("\n", 1)[1]
        out[f"assembled/{name}.lua"] = text
        keys = header(sources[name])["keys"]
        scripts[name] = {
            "file": f"{name}.lua",
            "flags": header(sources[name])["flags"],
            "keys": len(data_model()["keys"]),
            "more_keys": keys.endswith("+"),
            "sha": _sha(text),
            "sha_legacy": _sha(legacy),
        }
    manifest = {
        "generated_by": "python -m jobbertrack._assemble (make scripts): do not edit by hand",
        "scripts": scripts,
        **data_model(),
    }
    out["assembled/manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    return out


def read_sources(lua: str = LUA) -> dict[str, str]:
    """The source files of ``_lua/`` by name (without ``.lua``)."""
    out = {}
    for entry in sorted(os.listdir(lua)):
        if entry.endswith(".lua"):
            with open(os.path.join(lua, entry), encoding="utf-8") as f:
                out[entry[:-4]] = f.read()
    return out


def stale(lua: str = LUA) -> list[str]:
    """The generated files that differ from what ``build`` makes now."""
    wrong = []
    for path, text in build(read_sources(lua)).items():
        try:
            with open(os.path.join(lua, path), encoding="utf-8", newline="") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        wrong.append(path)
    return wrong


def main(lua: str = LUA) -> None:
    os.makedirs(os.path.join(lua, "assembled"), exist_ok=True)
    built = build(read_sources(lua))
    for entry in os.listdir(os.path.join(lua, "assembled")):
        if f"assembled/{entry}" not in built:
            os.remove(os.path.join(lua, "assembled", entry))  # a script that is gone
    for path, text in built.items():
        with open(os.path.join(lua, path), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    print(
        f"assembled {len(built) - 2} scripts into {os.path.relpath(os.path.join(lua, 'assembled'))}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
