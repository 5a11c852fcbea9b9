'use strict';
// The Lua scripts, as copied from src/jobbertrack/_lua/ by
// scripts/copy-lua.mjs, and what they tell about the data model: the
// states in the table's order and the KEYS layout, read from the generated
// _states.lua (docs/data-model.md, "Scripts"), so a new state or shard key
// reaches this client with the copy.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { createHash } = require('node:crypto');

const DIR = join(__dirname, '..', 'lua');

function read(name) {
  return readFileSync(join(DIR, `${name}.lua`), 'utf8');
}

let manifest;
try {
  manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
} catch (err) {
  throw new Error(`jobbertrack: ${DIR} is missing; run \`npm ci\` (or \`npm run copy-lua\`) in clients/node`);
}

const STATES_LUA = read('_states');

/** The states, in the table's order: `local STATES = {'waiting', ...}`. */
const STATES = Object.freeze([...STATES_LUA.match(/^local STATES = \{(.*)\}$/m)[1].matchAll(/'([a-z_]+)'/g)].map((m) => m[1]));

/** The KEYS layout: per position (0-based), the key's name after
 * `<ns>:{<tag>}:`, from the lines `--   KEYS[i]  <ns>:{<tag>}:name`. */
const LAYOUT = [];
for (const m of STATES_LUA.matchAll(/^--\s+KEYS\[(\d+)\]\s+<ns>:\{<tag>\}:(\S+)/gm)) LAYOUT[Number(m[1]) - 1] = m[2];
if (LAYOUT[0] !== 'job:<id>' || LAYOUT.length < 2 || LAYOUT.some((k) => !k)) {
  throw new Error('jobbertrack: cannot read the KEYS layout from lua/_states.lua');
}
for (const state of STATES) {
  if (!LAYOUT.includes(`idx:${state}`)) throw new Error(`jobbertrack: no index of ${state} in _states.lua`);
}

/** The table of moves Redis holds, by name (`local MOVES = {...}` in
 * _states.lua, each row 'target|sources|clears'): {target, sources, clears};
 * the scripts look a move up by its name, so this client only names it (and
 * knows its target). */
const MOVES = {};
const movesLine = STATES_LUA.match(/^local MOVES = \{(.*)\}$/m);
for (const m of movesLine ? movesLine[1].matchAll(/(\w+) = '([^|']*)\|([^|']*)\|([^']*)'/g) : []) {
  MOVES[m[1]] = Object.freeze({
    target: m[2],
    sources: Object.freeze(m[3].split(' ').filter(Boolean)),
    clears: Object.freeze(m[4].split(' ').filter(Boolean)),
  });
}
if (!Object.keys(MOVES).length) throw new Error('jobbertrack: cannot read MOVES from lua/_states.lua');
Object.freeze(MOVES);

/** Where a worker may heartbeat or report progress (`local ALIVE = ' running '`). */
const ALIVE = Object.freeze(STATES_LUA.match(/^local ALIVE = '([^']*)'/m)[1].split(' ').filter(Boolean));

/** The names `code` mentions, comments and strings left out. */
function words(code) {
  const bare = code.replace(/--[^\n]*/g, '').replace(/'[^'\n]*'|"[^"\n]*"/g, '');
  return new Set(bare.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []);
}

/** _lib.lua cut before each top-level `local` (with the comment lines
 * above it): [{names it defines, text}], as _blocks() in _scripts.py. */
function blocks(lib) {
  const starts = [...lib.matchAll(/^(?:--[^\n]*\n)*local\s/gm)].map((m) => m.index);
  return starts.map((begin, i) => {
    const text = lib.slice(begin, i + 1 < starts.length ? starts[i + 1] : lib.length);
    const found = text.match(/^local\s+(?:function\s+([A-Za-z_]\w*)|([A-Za-z_][\w\s,]*?)\s*=)/m);
    let names = new Set();
    if (found && found[1]) names = new Set([found[1]]);
    if (found && found[2]) names = new Set(found[2].split(',').map((n) => n.trim()));
    return { names, text };
  });
}

/** The parts of _lib.lua that `body` uses, directly or through another
 * part, in the file's order (used_lib() in _scripts.py: Redis runs the
 * whole prelude on every call, so a script sends only what it uses). */
function usedLib(body) {
  const parts = blocks(read('_lib'));
  const wanted = words(body);
  const keep = new Set();
  let grew = true;
  while (grew) {
    grew = false;
    parts.forEach(({ names, text }, i) => {
      if (keep.has(i) || ![...names].some((n) => wanted.has(n))) return;
      keep.add(i);
      for (const w of words(text)) wanted.add(w);
      grew = true;
    });
  }
  return parts.filter((_, i) => keep.has(i)).map((p) => p.text).join('');
}

/** The text sent for script `name` (as source() in _scripts.py): _states,
 * the parts of _lib it uses (for the scripts that use it), the command,
 * joined by newlines; on Redis >= 7 (`modern`) preceded by the `#!lua`
 * header with its flags. */
function source(name, modern) {
  if (!(name in manifest.flags)) throw new Error(`jobbertrack: no script ${name}`);
  const own = read(name);
  const parts = manifest.withLib.includes(name) ? [read('_states'), usedLib(own), own] : [read('_states'), own];
  const body = parts.join('\n');
  if (!modern) return body;
  const flags = manifest.flags[name];
  return (flags ? `#!lua flags=${flags}\n` : '#!lua\n') + body;
}

/** {text, sha} of a script in the form a server takes. */
function script(name, modern) {
  const text = source(name, modern);
  return { text, sha: createHash('sha1').update(text, 'utf8').digest('hex') };
}

function isCompileError(err) {
  const message = String(err && err.message);
  return message.includes('Error compiling script') || message.includes('unexpected symbol');
}

module.exports = { STATES, LAYOUT, MOVES, ALIVE, source, script, isCompileError, manifest };
