// Kernel test (root + BPF): a network decision names the exact rule that matched, from what the
// kernel reports (VGL_ND_POLICY entry, VGL_ND_SCOPE generation) and not from evaluating the rules
// again. A real loader enforces two policies on a cgroup of our own: policy A has two Audit egress
// rules that a connect to 127.0.0.1 could match by address (127.0.0.1/32 port 7101, 127.0.0.0/8
// port 7102) and an Audit bind rule, policy B one Block rule. Each connect must name its rule; after the tables are
// replaced (A's rules in the other order, B gone) the earlier decisions still report what they
// reported, and a new decision names the rule of the new table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { needKernel, loaderPath } from '../helpers/kernel.ts';
import { LoaderClient } from '../../src/kernel/loader.ts';
import { FrameDecoder } from '../../src/sensor/decoder.ts';
import { K } from '../../src/abi/layout.ts';
import type { RawEvent } from '../../src/sensor/kinds.ts';
import { parsePolicyText } from '../../src/policy/validate.ts';
import { compile } from '../../src/policy/compile.ts';
import { NetEnforcer } from '../../src/policy/net-enforcer.ts';
import { decodeNetDecision, netDecisionSlots, netTables } from '../../src/policy/net-decision.ts';
import { UNIFIED_ROOT } from '../../src/policy/workloads.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const policy = (name: string, action: string, egress: string, bind?: string) => `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: ${name}}
spec:
  selector:
    matchLabels: {vigil.dev/container.name: kt}
  network:
    matchEgress: ${egress}
${bind ? `    matchBind: ${bind}\n` : ''}  action: ${action}
`;

/**
 * Runs node in cgroup `dir`, connecting to each target in turn (or, for a port in `listen`,
 * binding a TCP listener to it); resolves with "host port result" lines.
 */
function connectFrom(dir: string, targets: Array<[string, number]>, listen: number[] = []): Promise<string[]> {
  const js = `const net=require('net');(async()=>{for(const [h,p] of ${JSON.stringify(targets)}){await new Promise((r)=>{if(${JSON.stringify(listen)}.includes(p)){const srv=net.createServer();srv.on('error',(e)=>{console.log(h,p,e.code);r()});srv.listen(p,h,()=>{console.log(h,p,'listening');srv.close(r)});return}const s=net.connect(p,h);s.on('error',(e)=>{console.log(h,p,e.code);r()});s.on('connect',()=>{console.log(h,p,'ok');s.destroy();r()})})}})()`;
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, js], { timeout: 15_000 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout.trim().split('\n')),
    ),
  );
}

test('a network decision names the rule the kernel matched, from the table that was in force', { timeout: 120_000 }, async (t) => {
  if (!needKernel(t)) return;
  const raws: RawEvent[] = [];
  const loader = new LoaderClient((ctl) => new FrameDecoder({ ...ctl, event: (r) => void (r.kind === K.NET_DECISION && raws.push(r)) }), { loaderPath });
  const hello = await loader.start();
  t.after(() => loader.stop());
  if (!hello.enforce) {
    if (process.env.VIGIL_REQUIRE_BPF === '1') throw new Error(`VIGIL_REQUIRE_BPF=1 but the network enforcer did not load: ${hello.enforceError}`);
    t.skip(`network enforcer not loaded: ${hello.enforceError}`);
    return;
  }
  const dir = path.join(UNIFIED_ROOT, `vigil-kt-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir);
  t.after(async () => {
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        return;
      } catch {
        await sleep(100);
      }
    }
  });
  const workload = { id: 'kt1', name: 'kt', cgroupId: String(statSync(dir).ino) };
  const enforcer = new NetEnforcer(loader, () => dir, UNIFIED_ROOT);
  const push = async (yaml: string) => {
    const r = parsePolicyText(yaml, 'kt.yaml');
    assert.deepEqual(r.errors, []);
    const tables = compile(r.policies, [workload]);
    const gen = netTables.add(tables);
    await enforcer.push(tables.net, gen);
    return gen;
  };
  const waitFor = async (n: number) => {
    for (let i = 0; i < 100 && raws.length < n; i++) await sleep(50);
    assert.equal(raws.length, n, `${n} decisions`);
  };
  const named = (r: RawEvent) => {
    const p = decodeNetDecision(r).policy!;
    const s = netDecisionSlots(r);
    return { name: p.name, action: p.action, rule: p.rule, port: s.port, entry: s.entry, gen: s.gen };
  };

  // kernel rules[]: a egress 0, a egress 1, b egress 0, a bind 0 (entries 0, 1, 2 egress; 0 bind)
  const gen1 = await push(
    `${policy('a', 'Audit', '[{cidr: 127.0.0.1/32, ports: [7101]}, {cidr: 127.0.0.0/8, ports: [7102]}]', '[{ports: [7104]}]')}---\n${policy('b', 'Block', '[{cidr: 127.0.0.3/32, ports: [7103]}]')}`,
  );
  const out1 = await connectFrom(
    dir,
    [
      ['127.0.0.1', 7102],
      ['127.0.0.1', 7101],
      ['127.0.0.2', 7101],
      ['127.0.0.3', 7103],
      ['127.0.0.1', 7104],
    ],
    [7104],
  );
  assert.deepEqual(out1, [
    '127.0.0.1 7102 ECONNREFUSED',
    '127.0.0.1 7101 ECONNREFUSED',
    '127.0.0.2 7101 ECONNREFUSED',
    '127.0.0.3 7103 EPERM',
    '127.0.0.1 7104 listening',
  ]);
  await waitFor(4); // 127.0.0.2:7101 matches no rule: no decision
  const first = raws.slice(0, 4);
  const expected = [
    { name: 'a', action: 'Audit', rule: 'network.matchEgress[1]', port: 7102, entry: 1, gen: gen1 },
    { name: 'a', action: 'Audit', rule: 'network.matchEgress[0]', port: 7101, entry: 0, gen: gen1 },
    { name: 'b', action: 'Block', rule: 'network.matchEgress[0]', port: 7103, entry: 2, gen: gen1 },
    { name: 'a', action: 'Audit', rule: 'network.matchBind[0]', port: 7104, entry: 0, gen: gen1 },
  ];
  assert.deepEqual(first.map(named), expected);

  // replace the tables: A's rules in the other order, B gone
  const gen2 = await push(policy('a', 'Audit', '[{cidr: 127.0.0.0/8, ports: [7102]}, {cidr: 127.0.0.1/32, ports: [7101]}]'));
  assert.notEqual(gen2, gen1);
  assert.deepEqual(first.map(named), expected, 'the earlier decisions report what they reported');
  const out2 = await connectFrom(dir, [
    ['127.0.0.1', 7102],
    ['127.0.0.3', 7103],
  ]);
  assert.deepEqual(out2, ['127.0.0.1 7102 ECONNREFUSED', '127.0.0.3 7103 ECONNREFUSED']);
  await waitFor(5);
  assert.deepEqual(named(raws[4]!), { name: 'a', action: 'Audit', rule: 'network.matchEgress[0]', port: 7102, entry: 0, gen: gen2 });
});
