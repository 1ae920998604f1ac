// `vigil up` as root: the backend and the local sensor (real loader, real eBPF) enrolled to it in
// one process; it prints where things are, the sensor is local, and Ctrl-C (SIGINT) stops both
// with exit code 0. (Without root or with --no-sensor, the backend alone: tests/unit/backend/cli.test.ts.)
// Under VIGIL_REQUIRE_BPF=1 a missing prerequisite fails instead of skipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needKernel, repoRoot } from '../helpers/kernel.ts';
import { freePort } from '../helpers/services.ts';

test('vigil up (root): prints where things are, starts the local sensor, stops cleanly on SIGINT', { timeout: 90_000 }, async (t) => {
  if (!needKernel(t)) return;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-up-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const port = await freePort();
  const dir = path.join(tmp, 'up');
  const p = spawn(process.execPath, ['--import', path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'), path.join(repoRoot, 'src/cli/main.ts'), 'up', '--data', dir, '--listen', `127.0.0.1:${port}`], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, new RegExp(`https://127.0.0.1:${port}/api/v1`));
  assert.match(out, /admin token: .*admin-token/);
  assert.match(out, new RegExp(`sensor: +local, state in ${dir}/sensor`));
  const exit = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGINT');
  assert.equal(await exit, 0, out);
});
