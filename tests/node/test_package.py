"""The Node.js package itself: its copy of the Lua scripts is the Python
package's, the text it sends is byte for byte what Python sends, it builds
the same keys and ARGV, and it has an ES module face, a CommonJS face and
TypeScript types.  No Redis needed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.calls import Commands, error_details
from jobbertrack._core.keys import KNOWN_LAYOUTS, LAYOUT_VERSION, Keyspace, shard_tags
from jobbertrack._core.transitions import State
from jobbertrack._scripts import manifest, source
from tests.node.conftest import NODE_DIR, ROOT

ASSEMBLED = ROOT / "src" / "jobbertrack" / "_lua" / "assembled"
IDS = ["42", "01J2M3K4ZQ8XW5RB7T6YV", "é-ü", "{braces}x", "a b", "日本語", "x" * 512]


def node_eval(node: str, program: str) -> Any:
    """Run a CommonJS program in clients/node; its last console.log as JSON."""
    done = subprocess.run(
        [node, "-e", program], cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_lua_copy_is_the_python_package_s(node: str) -> None:
    """lua/ holds the assembled artifacts as they are: Node assembles
    nothing of its own (one assembler, ``_assemble.py``)."""
    copied = NODE_DIR / "lua"
    assert sorted(p.name for p in copied.iterdir()) == sorted(p.name for p in ASSEMBLED.iterdir())
    for path in ASSEMBLED.iterdir():
        assert (copied / path.name).read_bytes() == path.read_bytes(), f"{path.name}: run `make node` again"
    assert "_assemble" not in (NODE_DIR / "scripts" / "copy-lua.mjs").read_text().replace("_assemble.py", "")


def test_the_lua_copy_is_made_by_one_script_and_not_committed() -> None:
    assert "clients/node/lua/" in (ROOT / ".gitignore").read_text().splitlines()
    package = json.loads((NODE_DIR / "package.json").read_text())
    # made before packing (prepack), so the tarball ships lua/; not an install
    # script (prepare), which npm 11 warns about in every project installing it
    assert package["scripts"]["prepack"] == package["scripts"]["copy-lua"] == "node scripts/copy-lua.mjs"
    assert not {"prepare", "preinstall", "install", "postinstall"} & set(package["scripts"])
    assert "lua/" in package["files"]


def test_every_script_text_is_the_one_python_sends(node: str) -> None:
    texts = node_eval(
        node,
        "const s = require('./lib/scripts.cjs');"
        "const out = {};"
        "for (const n of Object.keys(s.manifest.scripts)) out[n] = [s.script(n, true), s.script(n, false)];"
        "console.log(JSON.stringify(out));",
    )
    assert sorted(texts) == sorted(manifest()["scripts"])
    import hashlib

    for name, (modern, legacy) in texts.items():
        assert modern["text"] == source(name, True) and legacy["text"] == source(name, False), name
        assert modern["sha"] == hashlib.sha1(source(name, True).encode()).hexdigest()
        assert legacy["sha"] == hashlib.sha1(source(name, False).encode()).hexdigest()


def test_keys_and_arguments_are_the_ones_python_builds(node: str) -> None:
    program = f"""
    const {{ Commands }} = require('./lib/calls.cjs');
    const {{ shardTags, LAYOUT_VERSION, KNOWN_LAYOUTS }} = require('./lib/keys.cjs');
    const {{ STATES }} = require('./lib/scripts.cjs');
    const ids = {json.dumps(IDS)};
    const c = new Commands();
    const small = new Commands({{ namespace: 'app', shards: 5, maxEvents: 99, tombstoneTtl: 2.5 }});
    const strip = (call) => [call.keys, call.args.slice(0, 1).concat(call.args.slice(2))];
    console.log(JSON.stringify({{
      tags: [1, 3, 16, 100, 1024].map(shardTags),
      keys: ids.map((id) => [c.keys.jobKeys(id), small.keys.jobKeys(id), small.keys.layoutKey()]),
      shard: [c.keys.shardKeys(3), small.keys.shardKeys(4)],
      start: strip(c.transition('42', 'running', {{ leaseMs: 1500, maxRuntimeMs: 60000 }})),
      startPlain: strip(small.transition('42', 'running')),
      finish: strip(c.transition('é', 'finished', {{ data: {{ a: [1, 'é', null], b: 2.5 }} }})),
      fail: strip(c.transition('42', 'failed', {{ error: {{ reason: 'error', message: 'no' }} }})),
      beat: strip(c.touch('42')),
      progress: strip(c.touch('42', {{ current: 1, total: 2, message: 'm' }})),
      create: strip(c.create('42', 60000, {{ data: [1], name: 'n' }})),
      get: strip(c.get('42')),
      layout: [LAYOUT_VERSION, KNOWN_LAYOUTS],
      states: STATES,
    }}));
    """
    got = node_eval(node, program)
    c = Commands()
    small = Commands(Keyspace("app", 5), max_events=99, tombstone_ttl=2.5)

    def strip(call: Any) -> list[Any]:
        args = [str(a) for a in call.args]
        return [list(call.keys), args[:1] + args[2:]]  # the token aside: unique per call

    assert got["tags"] == [list(shard_tags(n)) for n in (1, 3, 16, 100, 1024)]
    assert got["keys"] == [
        [list(c.keys.job_keys(i)), list(small.keys.job_keys(i)), "app:{layout}"] for i in IDS
    ]
    assert got["shard"] == [list(c.keys.shard_keys(3)), list(small.keys.shard_keys(4))]
    assert got["start"] == strip(c.transition("42", State.RUNNING, lease_ms=1500, max_runtime_ms=60000))
    assert got["startPlain"] == strip(small.transition("42", State.RUNNING))
    assert got["finish"] == strip(c.transition("é", State.FINISHED, data={"a": [1, "é", None], "b": 2.5}))
    assert got["fail"] == strip(c.transition("42", State.FAILED, error={"reason": "error", "message": "no"}))
    assert got["beat"] == strip(c.touch("42"))
    assert got["progress"] == strip(c.touch("42", {"current": 1, "total": 2, "message": "m"}))
    assert got["create"] == strip(c.create("42", 60000, [1], {"name": "n"}))
    assert got["get"] == strip(c.get("42"))
    assert got["layout"] == [LAYOUT_VERSION, list(KNOWN_LAYOUTS)]
    assert got["states"] == [s.value for s in State]
    assert error_details("no") == {"reason": "error", "message": "no"}


def test_ids_and_data_are_checked_as_python_checks_them(node: str) -> None:
    bad_ids = ["", "a" * 513, "line\nbreak", "tab\there", "\x00", "\u2028"]
    program = f"""
    const {{ checkId }} = require('./lib/keys.cjs');
    const {{ newId, encodeJson }} = require('./lib/calls.cjs');
    const refused = (f) => {{ try {{ f(); return null; }} catch (e) {{ return e.constructor.name; }} }};
    console.log(JSON.stringify({{
      ids: {json.dumps(bad_ids)}.map((id) => refused(() => checkId(id))),
      good: {json.dumps(IDS)}.map((id) => refused(() => checkId(id))),
      lone: refused(() => checkId('\\ud800')),
      data: [NaN, Infinity, undefined, () => 1, {{ s: '\\ud800' }}, 'x'.repeat(1024 * 1024)]
        .map((v) => refused(() => encodeJson(v))),
      newIds: Array.from({{ length: 3 }}, newId),
    }}));
    """
    got = node_eval(node, program)
    assert got["ids"] == ["InvalidJobId"] * len(bad_ids) and got["lone"] == "InvalidJobId"
    assert got["good"] == [None] * len(IDS)
    assert got["data"] == ["InvalidData"] * 6
    assert all(len(i) == 21 for i in got["newIds"]) and got["newIds"] == sorted(got["newIds"])


def test_esm_and_commonjs_faces_export_the_same_objects(node: str, tmp_path: Path) -> None:
    cjs = node_eval(node, "console.log(JSON.stringify(Object.keys(require('jobbertrack')).sort()))")
    done = subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            "import * as j from 'jobbertrack'; console.log(JSON.stringify(Object.keys(j).sort()))",
        ],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    esm = [name for name in json.loads(done.stdout) if name != "default"]
    assert esm == cjs
    python_errors = {
        name
        for name in jobbertrack.__all__
        if isinstance(getattr(jobbertrack, name, None), type)
        and issubclass(getattr(jobbertrack, name), jobbertrack.JobberTrackError)
    }
    node_errors = set(cjs) - {"Handler", "Resource", "Group", "ResourceFactory", "STATES", "Tracker", "Job"}
    assert node_errors == python_errors - {"InvalidURL"}  # Node takes no URLs


def test_the_typescript_types_compile(node: str) -> None:
    tsc = NODE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.exists():
        pytest.fail("typescript is missing from clients/node/node_modules: run `make node`")
    done = subprocess.run(
        [node, str(tsc), "-p", "test/tsconfig.json"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_node_knows_every_move_of_the_table_and_builds_it_as_python(node: str) -> None:
    """Node reads MOVES and ALIVE from the copied manifest; for every move
    of Python's table, both build the same call (so a new move reaches Node
    with the copy, and a test iterating the table sees it)."""
    from jobbertrack._core.transitions import ALIVE, MOVES

    program = f"""
    const {{ Commands }} = require('./lib/calls.cjs');
    const {{ MOVES, ALIVE }} = require('./lib/scripts.cjs');
    const c = new Commands();
    const targets = {json.dumps([m.target.value for m in MOVES.values()])};
    console.log(JSON.stringify({{
      moves: MOVES,
      alive: ALIVE,
      calls: targets.map((t) => {{
        const x = c.transition('42', t, {{ data: {{ n: 1 }} }});
        return [x.keys, x.args.slice(0, 1).concat(x.args.slice(2)), x.clears];
      }}),
    }}));
    """
    got = node_eval(node, program)
    table = {}
    for name, m in MOVES.items():
        sources = sorted(s.value for s in m.sources)
        table[name] = {"target": m.target.value, "sources": sources, "clears": list(m.clears)}
    assert {n: {**m, "sources": sorted(m["sources"])} for n, m in got["moves"].items()} == table
    assert sorted(got["alive"]) == sorted(s.value for s in ALIVE)
    c = Commands()
    for (keys, args, clears), move in zip(got["calls"], MOVES.values(), strict=True):
        call = c.transition("42", move.target, data={"n": 1})
        assert keys == list(call.keys) and clears == list(call.clears)
        assert args == [str(a) for a in call.args[:1]] + [str(a) for a in call.args[2:]]


def test_node_checks_the_fields_set_at_create_by_the_manifest_s_table(node: str) -> None:
    """Node takes the fields set at create from the scripts' manifest
    (``fields.create``): each is checked as Python checks it, and an option
    create does not take is refused, before anything is sent."""
    from jobbertrack._core.fields import MAX_NAME

    program = f"""
    const {{ Commands }} = require('./lib/calls.cjs');
    const c = new Commands();
    const refused = (options) => {{
      try {{ c.create('j', 1000, options); return null; }}
      catch (err) {{ return err.constructor.name + ': ' + err.message; }}
    }};
    console.log(JSON.stringify({{
      args: c.create('j', 1000, {{ name: 'nightly', data: 1 }}).args.slice(7),
      unknown: refused({{ nmae: 'x' }}),
      long: refused({{ name: 'n'.repeat({MAX_NAME + 1}) }}),
      fits: refused({{ name: String.fromCodePoint(0x1f600).repeat({MAX_NAME}) }}),
      number: refused({{ name: 3 }}),
      surrogate: refused({{ name: String.fromCharCode(0xd800) }}),
    }}));
    """
    got = node_eval(node, program)
    assert got["args"] == ["name", "nightly", "data", "1"]
    assert got["unknown"].startswith("InvalidData") and "name" in got["unknown"]
    assert got["long"].startswith("InvalidData") and str(MAX_NAME) in got["long"]
    assert got["fits"] is None  # characters, not UTF-16 units, as in Python
    assert got["number"].startswith("InvalidData")
    assert got["surrogate"].startswith("InvalidData")


def test_cancel_retry_and_delete_calls_are_the_ones_python_builds(node: str) -> None:
    """Node's cancel (the `cancel` move with the stored error), retry (the
    `retry` move, its delay in ARGV 8) and delete build Python's calls."""
    program = """
    const { Commands, cancelDetails, delayMs } = require('./lib/calls.cjs');
    const { MOVES } = require('./lib/scripts.cjs');
    const c = new Commands({ maxTombstones: 64 });
    const strip = (call) => [call.script, call.keys, call.args.slice(0, 1).concat(call.args.slice(2))];
    const refused = (f) => { try { f(); return null; } catch (e) { return e.constructor.name; } };
    const long = 'é'.repeat(20000);
    console.log(JSON.stringify({
      cancel: strip(c.transition('42', MOVES.cancel.target, { error: cancelDetails('operator asked') })),
      cancelPlain: strip(c.transition('42', MOVES.cancel.target, { error: cancelDetails(null) })),
      clipped: cancelDetails(long).message,
      retry: strip(c.transition('42', MOVES.retry.target, { delayMs: delayMs(1.5) })),
      retryNow: strip(c.transition('42', MOVES.retry.target, { delayMs: delayMs(0) })),
      delete: strip(c.delete('42')),
      refused: [refused(() => cancelDetails(42)), refused(() => delayMs(-1)), refused(() => delayMs('1'))],
    }));
    """
    got = node_eval(node, program)
    c = Commands(max_tombstones=64)

    def strip(call: Any) -> list[Any]:
        args = [str(a) for a in call.args]
        return [call.script, list(call.keys), args[:1] + args[2:]]

    assert got["cancel"] == strip(c.cancel("42", "operator asked"))
    assert got["cancelPlain"] == strip(c.cancel("42"))
    assert got["clipped"] == json.loads(str(c.cancel("42", "é" * 20000).args[6]))["message"]
    assert got["retry"] == strip(c.retry("42", 1.5))
    assert got["retryNow"] == strip(c.retry("42", 0)) == strip(c.retry("42"))
    assert got["delete"] == strip(c.delete("42"))
    assert got["refused"] == ["InvalidData", "InvalidTimeout", "InvalidTimeout"]
