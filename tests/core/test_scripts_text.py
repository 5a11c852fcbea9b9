"""The text sent for each script: ``_states.lua``, the parts of ``_lib.lua``
it uses, its own file (no Redis: every script still runs in the
integration tests, so a part left out would fail there too)."""

from __future__ import annotations

import re

import pytest

from jobbertrack._scripts import FLAGS, WITH_LIB, _blocks, _read, _words, source, used_lib

LIB_NAMES = {name for names, _ in _blocks(_read("_lib")) for name in names}


def _defined(text: str) -> set[str]:
    """The names the parts of ``text`` (cut as ``_lib.lua`` is) define."""
    return {name for names, _ in _blocks(text) for name in names}


@pytest.mark.parametrize("name", sorted(WITH_LIB))
def test_every_helper_a_script_names_is_sent_with_it(name: str) -> None:
    sent = used_lib(_read(name))
    needed = _words(_read(name)) & LIB_NAMES
    assert needed <= _defined(sent)
    # and, through them, what they name in turn
    assert (_words(sent) & LIB_NAMES) <= _defined(sent)


def test_a_reading_script_leaves_out_the_writers_helpers() -> None:
    sent = used_lib(_read("get"))
    assert "local function create_fields" not in sent
    assert "local function cleanup" not in sent
    assert "local function settle" in sent and "local function move" in sent  # get settles a stalled job


def test_every_lib_part_defines_something() -> None:
    for names, text in _blocks(_read("_lib")):
        assert names, text[:80]
        assert re.match(r"(--[^\n]*\n)*local\s", text)


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_the_text_sent_starts_with_the_layout(name: str) -> None:
    modern, legacy = source(name, True), source(name, False)
    assert modern.startswith("#!lua")
    assert legacy == modern.split("\n", 1)[1]
    assert legacy.startswith(_read("_states"))
    assert legacy.endswith(_read(name))


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


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_the_text_sent_defines_every_name_it_uses(name: str) -> None:
    """An independent check of ``used_lib``: the text each script is sent
    as uses no name it does not define (so no helper is left out)."""
    assert _free_names(source(name, False)) == set()


def test_the_free_name_check_finds_a_helper_left_out() -> None:
    text = source("transition", False)
    assert "move" in _free_names(text.replace("local function move(", "local function moved("))
    assert "settle" in _free_names(text.replace("local function settle(", "local function settled("))
