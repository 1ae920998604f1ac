// CLI tests: `vigil server` subcommands (token create, api-token create, sensor revoke), the API
// clients (sensors, events, alerts, insights; table and --json) and `vigil up --no-sensor` (prints
// URL and token location, stops cleanly on SIGINT). Runs the real CLI entry (bin/vigil,
// src/cli/main.ts). `vigil up` with its local sensor (root, kernel): tests/e2e/up.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../../src/common/log.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { freePort } from '../../helpers/services.ts';
import { makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';
import { repoRoot, spawnServer, startVigilUp, VIGIL_FROM_SOURCE, type ApiSensor, type ChildServer } from '../../helpers/backend-server.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
const dataDir = path.join(tmp, 'server');
let srv: ChildServer;
let sensorId: string;

function vigil(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(path.join(repoRoot, 'bin/vigil'), args, { cwd: tmp, env: { ...process.env, VIGIL_API: '', VIGIL_TOKEN: '' } });
}

before(async () => {
  srv = await spawnServer({ dataDir, logLevel: 'warn' });
  assert.equal(statSync(path.join(dataDir, 'admin-token')).mode & 0o777, 0o600);
  const { stdout } = await vigil('server', 'token', 'create', '--data', dataDir, '--ttl', '5m');
  const up = new SensorUplink({
    dir: path.join(tmp, 'sensor'),
    server: srv.url,
    token: stdout.trim(),
    logger: silentLogger(),
    flushIntervalMs: 5,
    hostname: 'cli-host',
  });
  await up.start();
  sensorId = up.sensorId!;
  for (let i = 1; i <= 20; i++) up.push(makeEvent({ num: i, proc: i % 2 ? 'cat' : 'ls', container: 'c0ffee000001' }));
  up.pushAlert(makeAlert({ rule: 'CLI rule', priority: 'Error', container: 'c0ffee000001' }));
  assert.equal(await up.drain(20_000), true);
  await up.close();
});
after(async () => {
  await srv.kill();
  rmSync(tmp, { recursive: true, force: true });
});

test('vigil sensors / events / alerts / insights over the API', async () => {
  const s = await vigil('sensors', '--data', dataDir);
  assert.match(s.stdout, /ID\s+HOSTNAME/);
  assert.match(s.stdout, new RegExp(sensorId));
  const sj = JSON.parse((await vigil('sensors', '--data', dataDir, '--json')).stdout);
  assert.equal(sj[0].hostname, 'cli-host');
  const ev = (await vigil('events', '--data', dataDir, '--json', '--all', 'proc.name=cat')).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(ev.length, 10);
  assert.ok(ev.every((e) => e.proc.name === 'cat'));
  const et = await vigil('events', '--data', dataDir, '--limit', '3');
  assert.equal(et.stdout.trim().split('\n').length, 4);
  // Explicit --api/--token/--ca instead of the data dir.
  const tok = (await vigil('server', 'api-token', 'create', '--data', dataDir, '--scope', 'read')).stdout.trim();
  const viaApi = await vigil('alerts', '--api', srv.url, '--token', tok, '--ca', path.join(dataDir, 'ca.pem'), '--json');
  assert.equal(JSON.parse(viaApi.stdout.trim()).rule, 'CLI rule');
  await assert.rejects(vigil('alerts', 'ack', 'x', '--api', srv.url, '--token', tok, '--ca', path.join(dataDir, 'ca.pem')), /403/);
  const ins = await vigil('insights', '--data', dataDir);
  assert.match(ins.stdout, /container:c0ffee000001/);
  const one = await vigil('insights', 'container:c0ffee000001', '--data', dataDir);
  assert.match(one.stdout, /PROCESSES/);
  assert.match(one.stdout, /\/usr\/bin\/cat/);
  assert.match(one.stdout, /CLI rule/);
});

test('vigil server sensor revoke', async () => {
  const r = await vigil('server', 'sensor', 'revoke', sensorId, '--data', dataDir);
  assert.match(r.stdout, /revoked/);
  const sj = JSON.parse((await vigil('sensors', '--data', dataDir, '--json')).stdout) as ApiSensor[];
  assert.equal(sj.find((x) => x.id === sensorId)!.revoked, true);
  await assert.rejects(vigil('server', 'sensor', 'revoke', 'bogus', '--data', dataDir), /invalid sensor id/);
});

// --no-sensor: a unit test loads no eBPF whoever runs it (as root `vigil up` starts the local
// sensor: that case is tests/e2e/up.test.ts)
test('vigil up: prints where things are and stops cleanly on SIGINT', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const dir = path.join(tmp, 'up');
  const up = await startVigilUp(VIGIL_FROM_SOURCE, ['--no-sensor', '--data', dir, '--listen', `127.0.0.1:${port}`], tmp);
  const p = up.proc;
  const out = up.output();
  assert.match(out, new RegExp(`https://127.0.0.1:${port}/api/v1`));
  assert.match(out, /admin token: .*admin-token/);
  p.kill('SIGINT');
  assert.equal(await up.exit, 0, up.output());
});
