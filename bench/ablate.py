"""What each guarantee costs: the working tree against copies of itself
with one feature taken out of the Lua scripts, in ``ab.py``'s harness.

    python bench/ablate.py                 # 8,000 lifecycles per variant
    python bench/ablate.py -n 2000 --slice 100

Variants (experiments only: none of them is a supported configuration):

- ``no-events``: scripts append nothing to the event streams (no ``wait``
  wake-ups, no ``watch``);
- ``no-tokens``: calls carry no token (a retried call would be refused or
  applied twice instead of recognised);
- ``no-ttl-upkeep``: shard keys (indexes, streams) are never given an expiry;
- ``minimal``: all three at once.

What remains between ``minimal`` and the Lua-CAS baseline is the price of
the layout (8 KEYS and 11 ARGV per call, the shared prelude, the lease and
run-time fields read on every move) and of the Python API (a ``Resource``
per job, replies decoded into it).  Each edit asserts the text it replaces,
so a change to the scripts makes this fail loudly rather than measure the
wrong thing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ab import compare

SRC = Path(__file__).resolve().parent.parent / "src" / "jobbertrack"

_NO_EVENTS = [
    (
        "_lua/_lib.lua",
        "local function emit(state, now, expires, extra_k, extra_v)\n",
        "local function emit(state, now, expires, extra_k, extra_v)\n  do return end\n",
    )
]
_NO_TOKENS = [
    ("_core/calls.py", 'return f"{ids._IdState.process}{next(_token_counter):x}"', 'return ""'),
    ("_lua/transition.lua", "local fields = {'token', TOKEN}", "local fields = {}"),
]
_NO_TTL = [
    (
        "_lua/_lib.lua",
        "local function keep_until(key, at_ms, now)\n",
        "local function keep_until(key, at_ms, now)\n  do return end\n",
    )
]
VARIANTS = {
    "no-events": _NO_EVENTS,
    "no-tokens": _NO_TOKENS,
    "no-ttl-upkeep": _NO_TTL,
    "minimal": _NO_EVENTS + _NO_TOKENS + _NO_TTL,
}


def build(into: Path, name: str, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of the working tree's package with ``edits`` applied."""
    root = into / name
    shutil.copytree(SRC, root / "jobbertrack", ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in edits:
        path = root / "jobbertrack" / rel
        text = path.read_text()
        if old not in text:
            raise SystemExit(f"ablate.py is out of date: {rel} no longer holds {old!r}")
        path.write_text(text.replace(old, new))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=8_000, help="lifecycles per variant")
    parser.add_argument("--slice", type=int, default=200, help="lifecycles per turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jt-ablate-") as tmp:
        dirs = [str(build(Path(tmp), name, edits)) for name, edits in VARIANTS.items()]
        compare([str(SRC.parent), *dirs], args.n, args.slice, ["working tree", *VARIANTS])


if __name__ == "__main__":
    main()
