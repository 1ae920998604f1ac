// make gen: writes the files generated from the event-kind table (src/abi/generate.ts) into the
// repository, touching only those whose content changed (so make does not rebuild needlessly).
// `--check` writes nothing and exits 1 when a file is stale. Run: node --import tsx scripts/gen-abi.ts
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { generate, KindTableError } from '../src/abi/generate.ts';

const root = path.resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;
let files: Record<string, string>;
try {
  files = generate();
} catch (e) {
  // a bad row: point at its line in the table
  let where = '';
  if (e instanceof KindTableError && e.sym) {
    const lines = readFileSync(path.join(root, 'src/abi/kinds-table.ts'), 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes(`sym: '${e.sym}'`));
    if (i >= 0) where = ` (src/abi/kinds-table.ts:${i + 1})`;
  }
  process.stderr.write(`gen-abi: ${(e as Error).message}${where}\n`);
  process.exit(1);
}
for (const [rel, text] of Object.entries(files)) {
  const file = path.join(root, rel);
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) continue;
  stale++;
  if (check) {
    process.stderr.write(`gen-abi: ${rel} is stale (run make gen)\n`);
    continue;
  }
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
  process.stdout.write(`gen-abi: wrote ${rel}\n`);
}
process.exit(check && stale ? 1 : 0);
