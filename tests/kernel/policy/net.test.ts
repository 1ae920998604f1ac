// Kernel tests of the cgroup BPF network enforcer (bpf/enforce_net.bpf.c) with real runc
// containers: an egress Block on a port denies connect() with EPERM in the selected container only,
// an egress allow-list with posture block, and the net_raw capability (raw sockets) Block. Also
// checks that the TypeScript encoder (NET_LAYOUT) matches the BPF structs (from BTF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { needKernel } from '../../helpers/kernel.ts';
import { cleanupContainers, DEFAULT_APPLETS, runContainer, type Container } from '../../helpers/runc.ts';
import { parsePolicyText } from '../../../src/policy/validate.ts';
import { compile, NET_LAYOUT } from '../../../src/policy/compile.ts';
import type { CompileOptions } from '../../../src/policy/model.ts';
import { buildNetxRun, NetxRun, sleep } from '../../helpers/policy-harness.ts';

function netFor(yaml: string, cs: Container[], opts: CompileOptions = {}) {
  const r = parsePolicyText(yaml, 'test.yaml');
  assert.deepEqual(r.errors, []);
  return compile(
    r.policies,
    cs.map((c) => c.workload()),
    opts,
  ).net;
}

const sel = (name: string) => `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: n-${name}}
spec:
  selector:
    matchLabels: {vigil.dev/container.name: ${name}}
`;

/** Starts a listener on `port` in the container and connects to it; code 0 when the connection worked. */
const connectTo = (c: Container, port: number) =>
  c.exec(['sh', '-c', `nc -l -p ${port} >/dev/null 2>&1 & sleep 0.3; echo hi | nc 127.0.0.1 ${port}; rc=$?; kill %1 2>/dev/null; exit $rc`]);

test('BPF struct layout matches the TypeScript encoder', (t) => {
  try {
    execFileSync('sh', ['-c', 'command -v clang && command -v bpftool'], { stdio: 'ignore' });
  } catch {
    if (process.env.VIGIL_REQUIRE_BPF === '1') throw new Error('clang/bpftool missing');
    t.skip('clang or bpftool missing');
    return;
  }
  const { object } = buildNetxRun();
  const raw = execFileSync('bpftool', ['btf', 'dump', 'file', object, 'format', 'raw'], { encoding: 'utf8' });
  const struct = (name: string) => {
    const m = new RegExp(`STRUCT '${name}' size=(\\d+) vlen=\\d+\\n((?:\\t.*\\n)+)`).exec(raw);
    assert.ok(m, `struct ${name} in BTF`);
    const fields = Object.fromEntries([...m[2]!.matchAll(/\t'(\w+)' type_id=\d+ bits_offset=(\d+)/g)].map((f) => [f[1]!, Number(f[2]) / 8]));
    return { size: Number(m[1]), fields };
  };
  const s = struct('vnet_scope');
  const r = struct('vnet_rule');
  assert.equal(s.size, NET_LAYOUT.scopeSize);
  assert.equal(r.size, NET_LAYOUT.ruleSize);
  const L = NET_LAYOUT;
  assert.deepEqual(
    [
      s.fields.n,
      s.fields.posture_egress,
      s.fields.posture_bind,
      s.fields.posture_proto,
      s.fields.scope_idx,
      s.fields.proto_action,
      s.fields.proto_policy,
      s.fields.rules,
    ],
    [L.scope.n, L.scope.postureEgress, L.scope.postureBind, L.scope.postureProto, L.scope.scopeIdx, L.scope.protoAction, L.scope.protoPolicy, L.scope.rules],
  );
  assert.deepEqual(
    [r.fields.net, r.fields.mask, r.fields.family, r.fields.proto, r.fields.action, r.fields.dir, r.fields.port_lo, r.fields.port_hi, r.fields.policy],
    [L.rule.net, L.rule.mask, L.rule.family, L.rule.proto, L.rule.action, L.rule.dir, L.rule.portLo, L.rule.portHi, L.rule.policy],
  );
});

test('cgroup BPF network enforcement with runc containers', { timeout: 180_000 }, async (t) => {
  if (!needKernel(t, ['runc', 'cc', 'clang', 'bpftool'])) return;
  t.after(cleanupContainers);
  const { tool, object } = buildNetxRun();
  const applets = [...DEFAULT_APPLETS, 'ping'];
  const a = await runContainer({ name: 'a', applets });
  const b = await runContainer({ name: 'b', applets });
  const nx = await NetxRun.start(tool, object);
  t.after(() => nx.stop());
  // the programs go on each container's own cgroup v2 directory (runc put them under /sys/fs/cgroup/unified)
  await nx.cmd(`attach ${a.cgroupDir}`);
  await nx.cmd(`attach ${b.cgroupDir}`);

  await t.test('egress Block for a port: connect from A fails with EPERM, from B succeeds', async () => {
    await nx.load(netFor(`${sel('a')}  network:\n    matchEgress: [{ports: [8080], protocol: TCP}]\n  action: Block\n`, [a, b]).text);
    const ra = await connectTo(a, 8080);
    assert.notEqual(ra.code, 0);
    assert.match(ra.stderr, /Operation not permitted/);
    const ra2 = await connectTo(a, 8081); // another port is not affected
    assert.equal(ra2.code, 0, ra2.stderr);
    const rb = await connectTo(b, 8080);
    assert.equal(rb.code, 0, rb.stderr);
    await sleep(300);
    const ds = nx.decisions();
    assert.equal(ds.length, 1, JSON.stringify(ds));
    assert.equal(ds[0]!.action, 3);
    assert.equal(ds[0]!.policy, 0);
    assert.equal(ds[0]!.port, 8080);
    assert.equal(ds[0]!.addr, '127.0.0.1');
    assert.equal(ds[0]!.res, -1);
    assert.equal(String(ds[0]!.cgroup), a.cgroupId);
  });

  await t.test('egress allow-list with posture block, then audit', async () => {
    const yaml = `${sel('a')}  network:\n    matchEgress: [{cidr: 127.0.0.0/8, ports: [9001]}]\n  action: Allow\n`;
    await nx.load(netFor(yaml, [a, b], { defaultPosture: 'block' }).text);
    const before = nx.decisions().length;
    assert.equal((await connectTo(a, 9001)).code, 0);
    const denied = await connectTo(a, 9002);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Operation not permitted/);
    await nx.load(netFor(yaml, [a, b], { defaultPosture: 'audit' }).text);
    assert.equal((await connectTo(a, 9002)).code, 0);
    await sleep(300);
    const ds = nx.decisions().slice(before);
    assert.deepEqual(
      ds.map((d) => [d.port, d.posture, d.action, d.res]),
      [
        [9002, 1, 3, -1],
        [9002, 1, 2, 0],
      ],
    );
  });

  await t.test('capability net_raw Block: raw sockets fail in A only', async () => {
    await nx.load(netFor(`${sel('a')}  capabilities:\n    matchCapabilities: [{capability: net_raw}]\n  action: Block\n`, [a, b]).text);
    const ra = await a.exec(['ping', '-c', '1', '-W', '1', '127.0.0.1']);
    assert.notEqual(ra.code, 0);
    const rb = await b.exec(['ping', '-c', '1', '-W', '1', '127.0.0.1']);
    assert.equal(rb.code, 0, rb.stderr);
  });

  await t.test('an empty rule set removes the scopes', async () => {
    await nx.load('netx 1\nend\n');
    assert.equal((await connectTo(a, 8080)).code, 0);
  });
});
