// Copies the Lua scripts of the Python package (src/jobbertrack/_lua/*.lua)
// into lua/ as they are, and writes lua/manifest.json: each script's
// `#!lua` flags and whether it takes the shared prelude (_lib.lua), read
// from FLAGS and WITH_LIB in src/jobbertrack/_scripts.py.  The one place
// the scripts reach this package: run by `npm run copy-lua` (`make node`)
// and by `npm pack` (prepack).  lua/ is not committed (.gitignore); the
// Python suite checks that the copy matches its source
// (tests/node/test_package.py) and that every assembled script text is
// byte for byte the one the Python package sends.
import { readFileSync, writeFileSync, readdirSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(here, '..', '..', 'src', 'jobbertrack');
const target = join(here, 'lua');

if (!existsSync(join(source, '_lua'))) {
  // Installed from a packed tarball: lua/ shipped inside it.
  if (existsSync(join(target, 'manifest.json'))) process.exit(0);
  console.error(`copy-lua: ${join(source, '_lua')} not found, and no lua/ shipped`);
  process.exit(1);
}

// FLAGS = { "name": "flags", ... } and WITH_LIB = { "a", "b", ... } in _scripts.py
const python = readFileSync(join(source, '_scripts.py'), 'utf8');
function block(name, open, close) {
  const start = python.search(new RegExp(`^${name}\\b[^=]*=\\s*\\${open}`, 'm'));
  if (start < 0) throw new Error(`copy-lua: ${name} not found in _scripts.py`);
  const body = python.slice(python.indexOf(open, start) + 1);
  return body.slice(0, body.indexOf(close));
}
const flags = {};
for (const m of block('FLAGS', '{', '}').matchAll(/"([a-z_]+)"\s*:\s*"([^"]*)"/g)) flags[m[1]] = m[2];
const withLib = [...block('WITH_LIB', '{', '}').matchAll(/"([a-z_]+)"/g)].map((m) => m[1]).sort();

const files = readdirSync(join(source, '_lua')).filter((f) => f.endsWith('.lua')).sort();
const commands = files.filter((f) => !f.startsWith('_')).map((f) => f.slice(0, -4));
for (const name of commands) {
  if (!(name in flags)) throw new Error(`copy-lua: script ${name} has no entry in FLAGS of _scripts.py`);
}
for (const name of [...Object.keys(flags), ...withLib]) {
  if (!commands.includes(name)) throw new Error(`copy-lua: FLAGS/WITH_LIB name ${name} has no .lua file`);
}

rmSync(target, { recursive: true, force: true });
mkdirSync(target);
for (const f of files) writeFileSync(join(target, f), readFileSync(join(source, '_lua', f)));
const manifest = { flags, withLib, files };
writeFileSync(join(target, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`copy-lua: ${files.length} files into lua/ (${commands.length} scripts)`);
