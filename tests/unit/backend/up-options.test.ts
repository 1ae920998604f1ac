// `vigil up` / `vigil run --server` storage options: which raw events the uplink ships (--ship,
// src/uplink/ship.ts) and the retention options, whose bad values are refused before anything starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { parseShip, SHIP_DEFAULT_UP } from '../../../src/uplink/ship.ts';
import { makeEvent } from '../../helpers/backend-fixtures.ts';
import { repoRoot } from '../../helpers/backend-server.ts';

const ev = (type: string, extra: Record<string, unknown> = {}) => ({ ...makeEvent({ num: 1, type }), ...extra }) as unknown as VigilEvent;

test('--ship: the default of vigil up keeps execs and policy decisions only; lists and all', () => {
  const up = parseShip(SHIP_DEFAULT_UP);
  assert.deepEqual(
    ['execve', 'execveat', 'openat', 'connect', 'clone', 'capability'].map((t) => up(ev(t))),
    [true, true, false, false, false, false],
  );
  assert.equal(up(ev('openat', { policy: { name: 'p', action: 'Block' } })), true);
  const fileNet = parseShip('file, net');
  assert.deepEqual(
    ['execve', 'openat', 'connect'].map((t) => fileNet(ev(t))),
    [false, true, true],
  );
  assert.equal(parseShip('all')(ev('openat')), true);
  assert.equal(parseShip('none')(ev('execve')), false);
  assert.throws(() => parseShip('exec,opens'), /--ship: unknown value "opens"; expected all, none, exec, policy, process, file, net, priv/);
  assert.throws(() => parseShip(' , '), /--ship: empty value/);
});

test('vigil up / vigil server: bad retention and --ship values are refused with exit code 2', { timeout: 60_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-up-opts-'));
  try {
    const run = promisify(execFile);
    const cases: [string[], RegExp][] = [
      [['up', '--no-sensor', '--retention-age', '0'], /VIGIL_E_USAGE: --retention-age must be a positive duration \(e\.g\. 24h, 7d\), got "0"/],
      [['up', '--no-sensor', '--retention-age', 'soon'], /VIGIL_E_USAGE: --retention-age: invalid duration "soon"/],
      [['up', '--no-sensor', '--retention-size', '10XB'], /VIGIL_E_USAGE: --retention-size: invalid size "10XB"/],
      [['up', '--no-sensor', '--ship', 'bogus'], /VIGIL_E_USAGE: --ship: unknown value "bogus"/],
      [['server', '--retention-size', '0'], /VIGIL_E_USAGE: --retention-size must be a positive size/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(path.join(repoRoot, 'bin/vigil'), [...args, '--data', path.join(tmp, 'd'), '--listen', '127.0.0.1:0'], { cwd: tmp }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, msg);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
