"""The scripts as sent: the artifacts in ``_lua/assembled/`` are what the one
assembler (``_assemble.py``) builds from the sources, and each holds
``_states.lua``, the parts of ``_lib.lua`` it uses and its own file (no
Redis: every script still runs in the integration tests, so a part left
out would fail there too)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from jobbertrack import _assemble
from jobbertrack._assemble import blocks, header, read_sources, used_parts, words
from jobbertrack._scripts import manifest, source

SOURCES = read_sources()
NAMES = sorted(n for n in SOURCES if not n.startswith("_"))
WITH_LIB = sorted(n for n in NAMES if "_lib" in header(SOURCES[n])["include"].split())
HELPERS = ("_lib", "_groups")  # cut to what each script uses, resolved together
LIB_NAMES = {name for h in HELPERS for names, _ in blocks(SOURCES[h]) for name in names}


def _sent(name: str) -> str:
    """The helper parts script ``name`` is sent with."""
    helpers = [h for h in header(SOURCES[name])["include"].split() if h in HELPERS]
    return "".join(used_parts([SOURCES[h] for h in helpers], SOURCES[name]))


def test_the_artifacts_are_current() -> None:
    """``_lua/assembled`` and ``_states.lua`` are what the assembler builds now.
    After a change of a script, ``_lib.lua`` or the state table, rebuild
    them (from the repository's root): ``make scripts``."""
    assert _assemble.stale() == [], "run `make scripts`"


def test_the_manifest_names_every_script_with_its_header_and_shas() -> None:
    scripts = manifest()["scripts"]
    assert sorted(scripts) == NAMES
    for name, entry in scripts.items():
        head = header(SOURCES[name])
        assert entry["flags"] == head["flags"]
        assert entry["more_keys"] == (head["keys"] == "layout+")
        assert entry["keys"] == len(manifest()["keys"]) == 5 + len(manifest()["states"])
        assert entry["sha"] == hashlib.sha1(source(name, True).encode()).hexdigest()
        assert entry["sha_legacy"] == hashlib.sha1(source(name, False).encode()).hexdigest()


def test_a_script_without_its_header_is_refused() -> None:
    with pytest.raises(ValueError, match="flags"):
        header("-- a script\nreturn 1\n")
    with pytest.raises(ValueError, match="keys"):
        header("--! flags:\n--! include: _states\n--! keys: 3\n")
    wrong = SOURCES["get"].replace("--! include: _states _lib", "--! include: _states _nope")
    broken = dict(SOURCES, get=wrong)
    with pytest.raises(ValueError, match="_nope"):
        _assemble.build(broken)


def test_the_assembler_writes_and_then_finds_nothing_stale(tmp_path: Path) -> None:
    """``main`` into a scratch copy of ``_lua``: a changed script is stale
    until it is rebuilt, and a script that is gone leaves no artifact."""
    lua = tmp_path / "_lua"
    lua.mkdir()
    for name, text in SOURCES.items():
        (lua / f"{name}.lua").write_text(text)
    (lua / "peek.lua").unlink()
    _assemble.main(str(lua))
    assert _assemble.stale(str(lua)) == []
    assert not (lua / "assembled" / "peek.lua").exists()
    assert "peek" not in json.loads((lua / "assembled" / "manifest.json").read_text())["scripts"]
    (lua / "get.lua").write_text(SOURCES["get"] + "-- changed\n")
    assert _assemble.stale(str(lua)) == ["assembled/get.lua", "assembled/manifest.json"]


def _defined(text: str) -> set[str]:
    """The names the parts of ``text`` (cut as ``_lib.lua`` is) define."""
    return {name for names, _ in blocks(text) for name in names}


@pytest.mark.parametrize("name", WITH_LIB)
def test_every_helper_a_script_names_is_sent_with_it(name: str) -> None:
    sent = _sent(name)
    needed = words(SOURCES[name]) & LIB_NAMES
    assert needed <= _defined(sent)
    # and, through them, what they name in turn
    assert (words(sent) & LIB_NAMES) <= _defined(sent)


def test_a_reading_script_leaves_out_the_writers_helpers() -> None:
    sent = _sent("get")
    assert "local function create_fields" not in sent
    assert "local function cleanup" not in sent
    assert "local function settle" in sent and "local function move" in sent  # get settles a stalled job


@pytest.mark.parametrize("helper", HELPERS)
def test_every_lib_part_defines_something(helper: str) -> None:
    for names, text in blocks(SOURCES[helper]):
        assert names, text[:80]
        assert re.match(r"(--[^\n]*\n)*local\s", text)


def test_a_part_that_fills_a_table_comes_with_the_table() -> None:
    # GROUP (in _lib.lua) is filled by _groups.lua: a child's move in any
    # script must find its hooks, or its group's counts would drift
    for name in ("pop", "transition", "sweep", "settle", "touch"):
        sent = _sent(name)
        assert "GROUP.moved = group_moved" in sent and "GROUP.gone = group_gone" in sent, name


@pytest.mark.parametrize("name", NAMES)
def test_the_text_sent_starts_with_the_layout(name: str) -> None:
    modern, legacy = source(name, True), source(name, False)
    flags = header(SOURCES[name])["flags"]
    assert modern.split("\n", 1)[0] == (f"#!lua flags={flags}" if flags else "#!lua")
    assert legacy == modern.split("\n", 1)[1]
    assert legacy.startswith(SOURCES["_states"])
    assert legacy.endswith(SOURCES[name])


#: Names a script may use without defining them: Lua's and Redis' globals.
GLOBALS = {
    "and",
    "break",
    "do",
    "else",
    "elseif",
    "end",
    "false",
    "for",
    "function",
    "goto",
    "if",
    "in",
    "local",
    "nil",
    "not",
    "or",
    "repeat",
    "return",
    "then",
    "true",
    "until",
    "while",
    "KEYS",
    "ARGV",
    "redis",
    "cjson",
    "cmsgpack",
    "bit",
    "struct",
    "string",
    "table",
    "math",
    "tonumber",
    "tostring",
    "type",
    "pairs",
    "ipairs",
    "unpack",
    "select",
    "next",
    "error",
    "pcall",
    "assert",
    "rawget",
    "rawset",
    "setmetatable",
    "getmetatable",
}


def _free_names(text: str) -> set[str]:
    """The names ``text`` uses that nothing in it defines, found without
    the assembler's own cutting: comments and strings dropped; a name after
    ``.`` or ``:`` (a field) or before ``=`` (a table key: scripts may not
    set globals) is no use; ``local`` names, function parameters and loop
    variables define."""
    code = re.sub(r"--[^\n]*", "", text)
    code = re.sub(r"'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"", "''", code)
    defined = set(re.findall(r"\blocal\s+function\s+(\w+)", code))
    for names in re.findall(r"\blocal\s+(?!function\b)([\w\s,]+?)\s*(?:=|\n)", code):
        defined |= {n.strip() for n in names.split(",")}
    for params in re.findall(r"\bfunction\s*\w*\s*\(([^)]*)\)", code):
        defined |= {p.strip() for p in params.split(",") if p.strip() not in ("", "...")}
    for names in re.findall(r"\bfor\s+([\w\s,]+?)\s+(?:in\b|=)", code):
        defined |= {n.strip() for n in names.split(",")}
    used = set(re.findall(r"(?<![.:\w])([A-Za-z_]\w*)\b(?!\s*=[^=])", code))
    return used - defined - GLOBALS


@pytest.mark.parametrize("name", NAMES)
def test_the_text_sent_defines_every_name_it_uses(name: str) -> None:
    """An independent check of ``used_parts``: the text each script is sent
    as uses no name it does not define (so no helper is left out)."""
    assert _free_names(source(name, False)) == set()


def test_the_free_name_check_finds_a_helper_left_out() -> None:
    text = source("transition", False)
    assert "move" in _free_names(text.replace("local function move(", "local function moved("))
    assert "settle" in _free_names(text.replace("local function settle(", "local function settled("))


def test_the_artifacts_are_not_ignored_by_git() -> None:
    """They are committed (a fresh clone has no other way to get them):
    a pattern such as ``dist/`` in .gitignore must not catch them."""
    import shutil
    import subprocess

    root = Path(_assemble.__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "-q", _assemble.ASSEMBLED], capture_output=True, check=False
    )
    assert done.returncode == 1, "src/jobbertrack/_lua/assembled is ignored by git"
