// PolicyManager and the control-socket client (no kernel): atomic apply, the old set stays in force
// on invalid input or when an enforcer refuses a table, recompilation on workload changes, and the
// `vigil policy apply/list/delete` commands against a socket served by PolicyManager.handle().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PolicyManager } from '../../../src/policy/manager.ts';
import { sendRequest } from '../../../src/policy/control-client.ts';
import type { NetRuleSet } from '../../../src/policy/compile.ts';
import type { Workload } from '../../../src/policy/model.ts';
import { repoRoot, vigilBin } from '../../helpers/kernel.ts';

const pol = (name: string, extra = '') => `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: web}}
  file:
    matchPaths: [{path: /etc/${name}}]
  network:
    matchEgress: [{ports: [25]}]
  action: Block
${extra}`;

const web: Workload = { id: 'w1', name: 'web-1', labels: { app: 'web' }, rootPid: 100, mntns: 4026530001, cgroupId: '42' };

function recorder() {
  const fan: string[] = [];
  const net: NetRuleSet[] = [];
  let refuse = false;
  const m = new PolicyManager({
    pushFanotifyTable: (t) => {
      if (refuse) throw new Error('fanx_load_table: scope 0: fanotify_mark(/proc/100/root): No such file or directory');
      fan.push(t);
    },
    pushNetRules: (n) => void net.push(n),
    options: { defaultPosture: 'block' },
  });
  return { m, fan, net, refuse: (v: boolean) => (refuse = v) };
}

test('apply, list, delete; tables follow the set and the workloads', async () => {
  const { m, fan, net } = recorder();
  await m.setWorkloads([web]);
  const r = await m.apply(`${pol('a')}---\n${pol('b')}`, 'ab.yaml');
  assert.deepEqual(r, { ok: true, applied: ['a', 'b'], errors: [], warnings: [] });
  assert.deepEqual(
    m.list().map((p) => [p.name, p.workloads]),
    [
      ['a', ['w1']],
      ['b', ['w1']],
    ],
  );
  assert.match(fan.at(-1)!, /rule 0 open path block rw 0 file.matchPaths\[0\] \/etc\/a -\nrule 0 open path block rw 1 file.matchPaths\[0\] \/etc\/b -/);
  assert.equal(net.at(-1)!.scopes[0]!.cgroupId, '42');
  assert.deepEqual(await m.delete('a'), { ok: true, deleted: ['a'], errors: [] });
  assert.doesNotMatch(fan.at(-1)!, /\/etc\/a/);
  await m.removeWorkload('w1');
  assert.doesNotMatch(fan.at(-1)!, /scope/);
  assert.deepEqual(net.at(-1)!.scopes, []);
  assert.deepEqual((await m.delete('nope')).errors, ['no policy named nope']);
});

test('invalid input keeps the old set in force (nothing pushed)', async () => {
  const { m, fan } = recorder();
  await m.setWorkloads([web]);
  await m.apply(pol('a'), 'a.yaml');
  const pushes = fan.length;
  const before = m.tables!.fanotify;
  const r = await m.apply(`${pol('b')}---\n${pol('c').replace('/etc/c', 'etc/c')}`, 'bc.yaml');
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors, ['bc.yaml:18:25: expected an absolute path, got string "etc/c"']);
  assert.equal(fan.length, pushes);
  assert.equal(m.tables!.fanotify, before);
  assert.deepEqual(
    m.list().map((p) => p.name),
    ['a'],
  );
  await assert.rejects(
    m.applyOrThrow('kind: X\n', 'x.yaml'),
    (e: Error & { code?: string; where?: unknown }) => e.code === 'VIGIL_E_POLICY' && JSON.stringify(e.where) === '{"file":"x.yaml","line":1,"col":7}',
  );
});

test('an enforcer refusing the table restores the previous set', async () => {
  const { m, fan, refuse } = recorder();
  await m.setWorkloads([web]);
  await m.apply(pol('a'), 'a.yaml');
  const good = fan.at(-1);
  refuse(true);
  const r = await m.handle({ op: 'policy.apply', yaml: pol('b'), file: 'b.yaml' });
  assert.equal(r.ok, false);
  assert.match(String((r.errors as string[])[0]), /enforcer refused the new tables: .*fanotify_mark/);
  refuse(false);
  assert.deepEqual(
    m.list().map((p) => p.name),
    ['a'],
  );
  assert.equal(fan.at(-1), good);
});

test('vigil policy apply/list/delete over the control socket', async (t) => {
  const { m } = recorder();
  await m.setWorkloads([web]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-sock-'));
  const sock = path.join(dir, 'sensor.sock');
  const server = createServer((c) => {
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', async (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const reply = await m.handle(JSON.parse(buf.slice(0, nl)) as { op: string });
      c.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => server.close());
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, pol('a'));
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(vigilBin, [...args, '--socket', sock], { cwd: repoRoot });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const a = await cli(['policy', 'apply', file]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, 'applied: a\n');
  const l = await cli(['policy', 'list']);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /^NAME +KIND +ACTION +WORKLOADS\na +VigilPolicy +Block +w1\n$/);
  const d = await cli(['policy', 'delete', 'a']);
  assert.equal(d.code, 0, d.stderr);
  const d2 = await cli(['policy', 'delete', 'a']);
  assert.equal(d2.code, 1);
  assert.equal(d2.stderr, 'no policy named a\n');
  assert.deepEqual(await sendRequest({ op: 'policy.list' }, sock), { ok: true, policies: [] });
  await assert.rejects(sendRequest({ op: 'policy.list' }, path.join(dir, 'none.sock')), (e: Error & { code?: string }) => e.code === 'VIGIL_E_SOCKET');
});
