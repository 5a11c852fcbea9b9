// Copies the assembled Lua scripts of the Python package
// (src/jobbertrack/_lua/assembled/: each script's text as sent to Redis >= 7,
// and manifest.json with the flags, key counts, SHA1s and the data model)
// into lua/ as they are.  Nothing is assembled or parsed here: the one
// assembler is the Python package's (`make scripts`).  Run by `npm run
// copy-lua` (`make node`) and by `npm pack` (prepack).  lua/ is not
// committed (.gitignore); tests/node/test_package.py checks that the copy
// matches its source.
import { readFileSync, writeFileSync, readdirSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(here, '..', '..', 'src', 'jobbertrack', '_lua', 'assembled');
const target = join(here, 'lua');

if (!existsSync(source)) {
  // Installed from a packed tarball: lua/ shipped inside it.
  if (existsSync(join(target, 'manifest.json'))) process.exit(0);
  console.error(`copy-lua: ${source} not found, and no lua/ shipped`);
  process.exit(1);
}

const manifest = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8'));
const files = readdirSync(source).filter((f) => f.endsWith('.lua') || f === 'manifest.json').sort();
for (const [name, entry] of Object.entries(manifest.scripts)) {
  if (!files.includes(entry.file)) throw new Error(`copy-lua: script ${name}: ${entry.file} is missing`);
}

rmSync(target, { recursive: true, force: true });
mkdirSync(target);
for (const f of files) writeFileSync(join(target, f), readFileSync(join(source, f)));
console.log(`copy-lua: ${files.length} files into lua/ (${Object.keys(manifest.scripts).length} scripts)`);
