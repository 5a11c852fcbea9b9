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

/** The text sent for script `name` (as source() in _scripts.py): _states,
 * _lib for the scripts that use it, the command, joined by newlines; on
 * Redis >= 7 (`modern`) preceded by the `#!lua` header with its flags. */
function source(name, modern) {
  if (!(name in manifest.flags)) throw new Error(`jobbertrack: no script ${name}`);
  const parts = manifest.withLib.includes(name) ? ['_states', '_lib', name] : ['_states', name];
  const body = parts.map(read).join('\n');
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

module.exports = { STATES, LAYOUT, source, script, isCompileError, manifest };
