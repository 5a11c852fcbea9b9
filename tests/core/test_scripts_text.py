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
