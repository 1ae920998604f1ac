// Unit tests (no root) of the network decision decoder's naming: the rule comes from the entry
// and generation the record carries (VGL_ND_POLICY / VGL_ND_SCOPE), looked up in a bounded
// history of compiled tables; the compiler numbers rules per direction in the kernel value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ND, VNET_RULE, VNET_SCOPE } from '../../../src/abi/layout.ts';
import type { RawEvent } from '../../../src/sensor/kinds.ts';
import { netDecisionRecord } from '../../helpers/frames.ts';
import { parsePolicyText } from '../../../src/policy/validate.ts';
import { compile, type CompiledTables } from '../../../src/policy/compile.ts';
import { decodeNetDecision, netDecisionSlots, NetTableHistory, netTables } from '../../../src/policy/net-decision.ts';

const yaml = `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: p}
spec:
  selector:
    matchLabels: {vigil.dev/container.name: w}
  network:
    matchEgress: [{cidr: 10.0.0.0/8, ports: [80]}, {cidr: 10.1.0.0/16, ports: [443]}]
    matchBind: [{ports: [22]}]
    matchProtocols: [{protocol: icmp}, {protocol: raw}]
  action: Block
`;

function tables(): CompiledTables {
  const r = parsePolicyText(yaml, 't.yaml');
  assert.deepEqual(r.errors, []);
  return compile(r.policies, [{ id: 'w1', name: 'w', cgroupId: '99' }]);
}

/** A decision record: policy 0, `entry`, `hook`, scope 0 of generation `gen`. */
function rec(hook: number, entry: number, gen: number): RawEvent {
  const args = [3, 0, 2, 6, 443, 0x0000010a, hook, 0, 0, 0, 1, 0];
  const bigArgs = args.map((v) => BigInt(v));
  bigArgs[ND.POLICY] = BigInt(entry) << 16n;
  bigArgs[ND.SCOPE] = BigInt(gen) << 32n;
  return netDecisionRecord(args, bigArgs, 99n);
}

test("the compiler writes each rule's entry (position within its direction) and each protocol entry", () => {
  const v = Buffer.from(tables().net.scopes[0]!.valueHex, 'hex');
  const entry = (i: number) => v.readUInt16LE(VNET_SCOPE.rules + i * VNET_RULE.size + VNET_RULE.entry);
  const dir = (i: number) => v[VNET_SCOPE.rules + i * VNET_RULE.size + VNET_RULE.dir];
  assert.deepEqual(
    [0, 1, 2].map((i) => [dir(i), entry(i)]),
    [
      [1, 0],
      [1, 1],
      [2, 0],
    ],
  );
  // icmp (class 3) is protocol entry 0, raw (class 4) entry 1
  assert.deepEqual([...v.subarray(VNET_SCOPE.proto_entry, VNET_SCOPE.proto_entry + 8)], [0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(v.readUInt32LE(VNET_SCOPE.gen), 0, 'the compiler leaves the generation to the push');
});

test('the decoder names the entry the record carries, from the tables of its generation', () => {
  const t = tables();
  const gen = netTables.add(t);
  assert.equal(decodeNetDecision(rec(1, 1, gen)).policy!.rule, 'network.matchEgress[1]');
  assert.equal(decodeNetDecision(rec(1, 0, gen)).policy!.rule, 'network.matchEgress[0]');
  assert.equal(decodeNetDecision(rec(3, 0, gen)).policy!.rule, 'network.matchBind[0]');
  assert.equal(decodeNetDecision(rec(4, 1, gen)).policy!.rule, 'network.matchProtocols[1]');
  assert.deepEqual(netDecisionSlots(rec(1, 1, gen)), {
    action: 3,
    policy: 0,
    entry: 1,
    family: 2,
    proto: 6,
    port: 443,
    hook: 1,
    scope: 0,
    gen,
    socktype: 1,
    posture: false,
  });
  // an entry that does not exist in that table names no rule (never a guess)
  assert.equal(decodeNetDecision(rec(1, 7, gen)).policy!.rule, undefined);
  // an unknown generation: no names, counted
  const before = netTables.unknown;
  const d = decodeNetDecision(rec(1, 1, 0xfffffff0));
  assert.equal(d.policy!.name, 'policy#0');
  assert.equal(d.policy!.rule, undefined);
  assert.equal(netTables.unknown, before + 1);
});

test('the table history is bounded and keeps the newest generations', () => {
  const h = new NetTableHistory(3);
  const t = tables();
  const gens = [h.add(t), h.add(t), h.add(t), h.add(t)];
  assert.deepEqual(gens, [1, 2, 3, 4]);
  assert.equal(h.size, 3);
  assert.equal(h.get(1), undefined);
  assert.equal(h.get(4), t);
});
