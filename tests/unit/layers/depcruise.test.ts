// The layering check of `make lint` (dependency-cruiser with .dependency-cruiser.cjs) fails on an
// upward import and on a cycle, and passes a downward one: each case is a tiny src/ tree in a temp
// directory checked with the repository's own config, so a config that stops catching them fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** Writes `files` (path under the temp dir -> text) and runs depcruise on its src/ with the repo config. */
async function cruise(t: { after: (fn: () => void) => void }, files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const all = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
    ...files,
  };
  for (const [f, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return new Promise((resolve) => {
    execFile(DEPCRUISE, ['src', '--config', CONFIG], { cwd: dir }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

test('an upward import (common -> cli) fails the check, naming the rule and the import', async (t) => {
  const r = await cruise(t, {
    'src/cli/top.ts': 'export const x = 1;\n',
    'src/common/low.ts': "import { x } from '../cli/top.ts';\nexport const y = x;\n",
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /error layer-common: src\/common\/low\.ts → src\/cli\/top\.ts/);
  assert.match(r.out, /1 dependency violations \(1 errors, 0 warnings\)/);
});

test('an import cycle inside one layer fails the check as no-circular', async (t) => {
  const r = await cruise(t, {
    'src/rules/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
    'src/rules/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /error no-circular: src\/rules\/a\.ts → \s+src\/rules\/b\.ts →\s+src\/rules\/a\.ts/);
});

test('a downward import (cli -> common) passes', async (t) => {
  const r = await cruise(t, {
    'src/common/low.ts': 'export const y = 1;\n',
    'src/cli/top.ts': "import { y } from '../common/low.ts';\nexport const x = y;\n",
  });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found \(2 modules, 1 dependencies cruised\)/);
});
