'use strict';
// The Lua scripts, as assembled by the Python package
// (src/jobbertrack/_assemble.py) and copied into lua/ by
// scripts/copy-lua.mjs, and what their manifest tells about the data model:
// the states in the table's order, the moves Redis holds, the KEYS layout
// and the record's fields (docs/data-model.md, "Scripts").  Nothing is
// assembled here, so a new state, move, key or field reaches this client
// with the copy.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const DIR = join(__dirname, '..', 'lua');

let manifest;
try {
  manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
} catch (err) {
  throw new Error(`jobbertrack: ${DIR} is missing; run \`npm ci\` (or \`npm run copy-lua\`) in clients/node`);
}

const freeze = (list) => Object.freeze([...list]);

/** The states, in the table's order. */
const STATES = freeze(manifest.states);

/** The KEYS layout: per position (0-based), the key's name after `<ns>:{<tag>}:`. */
const LAYOUT = freeze(manifest.keys);
if (LAYOUT[0] !== 'job:<id>' || STATES.some((s) => !LAYOUT.includes(`idx:${s}`))) {
  throw new Error('jobbertrack: lua/manifest.json has no KEYS layout this client can read');
}

/** The table of moves Redis holds, by name: {target, sources, clears}; the
 * scripts look a move up by its name, so this client only names it. */
const MOVES = Object.freeze(
  Object.fromEntries(
    Object.entries(manifest.moves).map(([name, m]) => [
      name,
      Object.freeze({ target: m.target, sources: freeze(m.sources), clears: freeze(m.clears) }),
    ]),
  ),
);

/** Where a worker may heartbeat or report progress. */
const ALIVE = freeze(manifest.alive);

/** The record's fields, by kind (fields.py in the Python package). */
const FIELDS = Object.freeze(manifest.fields);

const texts = {};

/** The text sent for script `name`: as assembled, for Redis >= 7
 * (`modern`); without its `#!lua` line for Redis 6.2. */
function source(name, modern) {
  const entry = manifest.scripts[name];
  if (!entry) throw new Error(`jobbertrack: no script ${name}`);
  if (!(name in texts)) texts[name] = readFileSync(join(DIR, entry.file), 'utf8');
  const text = texts[name];
  return modern ? text : text.slice(text.indexOf('\n') + 1);
}

/** {text, sha} of a script in the form a server takes (the manifest's SHA1s). */
function script(name, modern) {
  const entry = manifest.scripts[name];
  return { text: source(name, modern), sha: modern ? entry.sha : entry.sha_legacy };
}

function isCompileError(err) {
  const message = String(err && err.message);
  return message.includes('Error compiling script') || message.includes('unexpected symbol');
}

module.exports = { STATES, LAYOUT, MOVES, ALIVE, FIELDS, source, script, isCompileError, manifest };
