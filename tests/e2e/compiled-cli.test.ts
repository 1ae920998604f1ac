// Tests that bin/vigil runs the compiled output: every module a call loads is JavaScript under
// dist/ or node_modules (no .ts source, no tsx), for the top-level help, `rules validate` and a
// `replay` with two worker threads (the workers start dist/rules/worker.js). A resolve hook passed
// through NODE_OPTIONS (main thread and workers) logs each module URL. No root needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const vigil = path.join(repoRoot, 'bin', 'vigil');
const STABLE = path.resolve(repoRoot, '..', 'shared', 'falco', 'falco_rules.yaml');

function loaded(args: string[]): { status: number | null; stdout: string; urls: string[] } {
  const hook = `import { writeSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'LOADED ' + r.url + '\\n'); return r; }`;
  const reg = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  const env = { ...process.env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(reg)}` };
  const r = spawnSync(vigil, args, { cwd: tmpdir(), env, encoding: 'utf8' });
  const urls = [
    ...new Set(
      r.stderr
        .split('\n')
        .filter((l) => l.startsWith('LOADED file:'))
        .map((l) => l.slice(7)),
    ),
  ];
  return { status: r.status, stdout: r.stdout, urls };
}

const dist = pathToFileURL(path.join(repoRoot, 'dist')).href + '/';

function assertCompiled(urls: string[], entry: string): void {
  assert.ok(urls.includes(dist + entry), `${entry} not loaded; saw ${urls.filter((u) => u.startsWith(dist)).join(', ')}`);
  assert.deepEqual(
    urls.filter((u) => u.endsWith('.ts') || u.includes('/node_modules/tsx/')),
    [],
  );
  assert.deepEqual(
    urls.filter((u) => u.includes('/src/')),
    [],
  );
}

test('vigil --help runs dist/cli/main.js and loads no TypeScript and no command module', () => {
  const r = loaded(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: vigil \[options\] \[command\]/);
  assertCompiled(r.urls, 'cli/main.js');
  assert.deepEqual(
    r.urls.filter((u) => u.startsWith(dist + 'cli/commands/')),
    [],
  );
});

test('vigil rules validate on the stable rules runs compiled', () => {
  const r = loaded(['rules', 'validate', STABLE]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^OK: \d+ rules/);
  assertCompiled(r.urls, 'cli/commands/rules.js');
});

test('vigil replay --workers 2 starts the compiled worker threads', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-compiled-'));
  try {
    const file = path.join(dir, 'rec.ndjson');
    writeFileSync(file, '');
    const r = loaded(['replay', file, '--rules', STABLE, '--workers', '2']);
    assert.equal(r.status, 0);
    assertCompiled(r.urls, 'rules/worker.js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
