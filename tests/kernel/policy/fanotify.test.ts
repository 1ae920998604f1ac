// Kernel tests of the fanotify enforcer with real runc containers: file Block only in the selected
// container, allow-list posture block/audit for execs, Audit never blocks, readOnly and fromSource,
// a rejected table keeps the old one, and the fail-open behaviour when the enforcer is SIGKILLed.
// Policies go through the real path: YAML -> validate -> compile -> table -> fanx-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { needKernel } from '../../helpers/kernel.ts';
import { cleanupContainers, runContainer, type Container } from '../../helpers/runc.ts';
import { parsePolicyText } from '../../../src/policy/validate.ts';
import { compile } from '../../../src/policy/compile.ts';
import type { CompileOptions } from '../../../src/policy/model.ts';
import { buildFanxRun, FanxRun, sleep } from '../../helpers/policy-harness.ts';

function tableFor(yaml: string, cs: Container[], opts: CompileOptions = {}, namespace?: string): string {
  const r = parsePolicyText(yaml, 'test.yaml');
  assert.deepEqual(r.errors, []);
  return compile(
    r.policies,
    cs.map((c) => ({ ...c.workload(), ...(namespace ? { namespace } : {}) })),
    opts,
  ).fanotify;
}

const sel = (name: string) => `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: p-${name}}
spec:
  selector:
    matchLabels: {vigil.dev/container.name: ${name}}
`;

test('fanotify enforcer with runc containers', { timeout: 180_000 }, async (t) => {
  if (!needKernel(t, ['runc', 'cc'])) return;
  t.after(cleanupContainers);
  const tool = buildFanxRun();
  const files = { '/etc/secret': 's3cret\n', '/data/x': 'data\n' };
  const a = await runContainer({ name: 'a', files });
  const b = await runContainer({ name: 'b', files });
  const running: FanxRun[] = [];
  // each subtest's enforcer is stopped even when the subtest fails, so one failure cannot leave
  // a stale fanotify mark that makes the next subtests fail too
  const stopAll = async () => {
    for (const f of running.splice(0)) await f.stop().catch(() => undefined);
  };
  t.afterEach(stopAll);
  t.after(stopAll);
  const start = async (table: string, failClosed = false) => {
    const f = await FanxRun.start(tool, table, failClosed);
    running.push(f);
    return f;
  };

  await t.test('file Block on A: EPERM in A, allowed in B and on the host, decision for A only', async () => {
    const f = await start(
      tableFor(`${sel('a')}  file:\n    matchPaths: [{path: /etc/secret}]\n  action: Block\n  severity: 7\n  message: no secrets\n`, [a, b]),
    );
    const ra = await a.exec(['cat', '/etc/secret']);
    assert.notEqual(ra.code, 0);
    assert.match(ra.stderr, /Operation not permitted/);
    const rb = await b.exec(['cat', '/etc/secret']);
    assert.equal(rb.code, 0);
    assert.equal(rb.stdout, 's3cret\n');
    assert.equal(readFileSync(path.join(a.rootfs, 'etc/secret'), 'utf8'), 's3cret\n'); // the host, same file
    const ok = await a.exec(['cat', '/data/x']);
    assert.equal(ok.code, 0);
    await sleep(200);
    const ds = f.decisions();
    assert.equal(ds.length, 1, JSON.stringify(ds));
    const d = ds[0]!;
    assert.equal(d.policy.name, 'p-a');
    assert.equal(d.policy.action, 'Block');
    assert.equal(d.policy.rule, 'file.matchPaths[0]');
    assert.equal(d.policy.severity, 7);
    assert.equal(d.policy.message, 'no secrets');
    assert.deepEqual(d.evt, { type: 'openat', res: -1 });
    assert.equal(d.fd.name, '/etc/secret');
    assert.equal(d.proc.exe, '/bin/cat');
    assert.equal(d.container.name, 'a');
    assert.equal(d.container.scope, `mntns:${a.mntns}`);
    const s = await f.stats();
    assert.equal(s.denied, 1);
    t.diagnostic(`decision latency p50=${s.p50}ns p99=${s.p99}ns over ${s.latCount} events`);
    await f.stop();
  });

  const allowList = `${sel('a')}  process:\n    matchPaths: [{path: /bin/sh}, {path: /bin/cat}, {path: /bin/sleep}]\n  action: Allow\n`;

  await t.test('process allow-list, posture block: listed binary runs, unlisted fails with EPERM', async () => {
    const f = await start(tableFor(allowList, [a, b], { defaultPosture: 'block' }));
    const ok = await a.exec(['cat', '/etc/secret']);
    assert.equal(ok.code, 0, ok.stderr);
    const no = await a.exec(['/bin/ls', '/']);
    assert.notEqual(no.code, 0);
    assert.match(no.stderr, /operation not permitted/i);
    const other = await b.exec(['/bin/ls', '/']); // B is not selected
    assert.equal(other.code, 0, other.stderr);
    await sleep(200);
    const ds = f.decisions();
    assert.equal(ds.length, 1, JSON.stringify(ds));
    assert.equal(ds[0]!.policy.name, 'DefaultPosture');
    assert.equal(ds[0]!.policy.action, 'Block');
    assert.deepEqual(ds[0]!.policy.allowList, ['p-a']);
    assert.deepEqual(ds[0]!.evt, { type: 'execve', res: -1 });
    assert.equal(ds[0]!.fd.name, '/bin/ls');
    await f.stop();
  });

  await t.test('process allow-list, per-namespace posture audit: unlisted runs and is reported', async () => {
    const f = await start(tableFor(allowList, [a, b], { defaultPosture: 'block', namespacePosture: { default: 'audit' } }, 'default'));
    const r = await a.exec(['/bin/ls', '/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /etc/);
    await sleep(200);
    const ds = f.decisions().filter((d) => d.fd.name === '/bin/ls');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.policy.name, 'DefaultPosture');
    assert.equal(ds[0]!.policy.action, 'Audit');
    assert.equal(ds[0]!.evt.res, 0);
    await f.stop();
  });

  await t.test('Audit never blocks', async () => {
    const f = await start(
      tableFor(`${sel('a')}  file:\n    matchPaths: [{path: /etc/secret}]\n  process:\n    matchPaths: [{path: /bin/ls}]\n  action: Audit\n`, [a, b], {
        defaultPosture: 'block',
      }),
    );
    const r1 = await a.exec(['cat', '/etc/secret']);
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await a.exec(['/bin/ls', '/']);
    assert.equal(r2.code, 0, r2.stderr);
    await sleep(200);
    const ds = f.decisions();
    assert.deepEqual(ds.map((d) => [d.policy.action, d.evt.type, d.evt.res, d.fd.name]).sort(), [
      ['Audit', 'execve', 0, '/bin/ls'],
      ['Audit', 'openat', 0, '/etc/secret'],
    ]);
    await f.stop();
  });

  await t.test('readOnly directory and fromSource', async () => {
    const f = await start(
      tableFor(
        `${sel('a')}  file:\n    matchDirectories: [{dir: /data/, recursive: true, readOnly: true}]\n    matchPaths: [{path: /etc/secret, fromSource: [{path: /bin/head}]}]\n  action: Block\n`,
        [a],
      ),
    );
    const read = await a.exec(['cat', '/data/x']);
    assert.equal(read.code, 0, read.stderr);
    const write = await a.exec(['sh', '-c', 'echo more >> /data/x']);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /Operation not permitted|Permission denied/);
    const viaHead = await a.exec(['head', '/etc/secret']);
    assert.notEqual(viaHead.code, 0);
    const viaCat = await a.exec(['cat', '/etc/secret']);
    assert.equal(viaCat.code, 0, viaCat.stderr);
    await f.stop();
  });

  await t.test('matchPatterns: * stays within a path segment, ** crosses segments, ? is one character', async () => {
    const prep = await a.exec(['sh', '-c', 'mkdir -p /data/sub && echo k > /data/a.key && echo k > /data/sub/b.key && echo k > /data/ab.pem']);
    assert.equal(prep.code, 0, prep.stderr);
    const f = await start(
      tableFor(
        `${sel('a')}  file:\n    matchPatterns: [{pattern: /data/*.key}, {pattern: "/data/**/b.k?y"}]\n  process:\n    matchPatterns: [{pattern: /bin/l?}]\n  action: Block\n`,
        [a, b],
      ),
    );
    const denied = async (cmd: string[]) => {
      const r = await a.exec(cmd);
      return r.code !== 0 && /operation not permitted|permission denied/i.test(r.stderr);
    };
    assert.equal(await denied(['cat', '/data/a.key']), true, '/data/*.key');
    assert.equal(await denied(['cat', '/data/sub/b.key']), true, '/data/**/b.k?y');
    assert.equal(await denied(['cat', '/data/ab.pem']), false);
    assert.equal(await denied(['cat', '/data/x']), false);
    assert.equal(await denied(['/bin/ls', '/']), true, '/bin/l?');
    assert.equal((await b.exec(['cat', '/data/x'])).code, 0, 'B is not selected');
    await sleep(200);
    const ds = f.decisions();
    // which entry matched each: '*' did not cross into /data/sub, and '**' did not match /data/a.key
    assert.deepEqual(ds.map((d) => [d.fd.name, d.policy.rule, d.evt.type, d.evt.res]).sort(), [
      ['/bin/ls', 'process.matchPatterns[0]', 'execve', -1],
      ['/data/a.key', 'file.matchPatterns[0]', 'openat', -1],
      ['/data/sub/b.key', 'file.matchPatterns[1]', 'openat', -1],
    ]);
    await f.stop();
  });

  await t.test('a rejected table keeps the old one in force', async () => {
    const f = await start(tableFor(`${sel('a')}  file:\n    matchPaths: [{path: /etc/secret}]\n  action: Block\n`, [a]));
    const bad = await f.reload('fanx 1\nscope 0 /proc/1/root mntns:1 none none x\nrule 0 open path block rw 9 l /etc/secret -\nend\n');
    assert.match(bad, /^ERROR .*unknown policy 9/);
    const missingEnd = await f.reload('fanx 1\n');
    assert.match(missingEnd, /missing 'end'/);
    const r = await a.exec(['cat', '/etc/secret']);
    assert.notEqual(r.code, 0);
    // a good reload swaps atomically: an empty policy set enforces nothing
    assert.equal(await f.reload('fanx 1\nend\n'), 'LOADED');
    const r2 = await a.exec(['cat', '/etc/secret']);
    assert.equal(r2.code, 0, r2.stderr);
    await f.stop();
  });

  await t.test('fanx-run killed with SIGKILL: the next open and exec complete (fail open, no hang)', async () => {
    const f = await start(
      tableFor(
        `${sel('a')}  file:\n    matchPaths: [{path: /etc/secret}]\n  action: Block\n---\n${sel('a').replace('p-a', 'p-a2')}  process:\n    matchPaths: [{path: /bin/cat}]\n  action: Allow\n`,
        [a],
        {
          defaultPosture: 'block',
        },
      ),
      true,
    );
    assert.notEqual((await a.exec(['cat', '/etc/secret'])).code, 0);
    assert.notEqual((await a.exec(['/bin/ls', '/'])).code, 0);
    f.child.kill('SIGKILL');
    await f.exited;
    const t0 = Date.now();
    const r1 = await a.exec(['cat', '/etc/secret'], { timeoutMs: 5000 });
    const r2 = await a.exec(['/bin/ls', '/'], { timeoutMs: 5000 });
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, 's3cret\n');
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok(Date.now() - t0 < 5000);
  });
});
