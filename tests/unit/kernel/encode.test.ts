// Unit tests (no root) of the kernel layer's map encoders (src/kernel/encode.ts), byte for byte,
// and of the command lines the typed functions send (src/kernel/commands.ts) to a recording port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindCfgValue, netScopeValue, netScopeWithGeneration, pfCfgValue, pfxKey, portKey, sfxKey, u32le, u64le } from '../../../src/kernel/encode.ts';
import * as kernel from '../../../src/kernel/commands.ts';
import { KC } from '../../../src/abi/layout.ts';

const hex = (b: Buffer) => b.toString('hex');
const zeros = (n: number) => '00'.repeat(n);

test('integers and the kind_cfg value', () => {
  assert.equal(hex(u32le(0x01020304)), '04030201');
  assert.equal(hex(u64le('18446744073709551615')), 'ffffffffffffffff');
  assert.equal(hex(u64le(4026531841n)), '010000f000000000');
  assert.equal(hex(kindCfgValue({ enabled: true, flags: KC.ONLY_SUCCESS | KC.PORT_FILTER, argvMax: 4096 })), '01000000' + '24000000' + '00100000' + '00000000');
  assert.equal(hex(kindCfgValue({ enabled: false, flags: 0, argvMax: 0, envMax: 512 })), zeros(12) + '00020000');
});

test('path filter keys, pf_cfg and port keys', () => {
  // prefixlen 16 + 8*4 bits, kind 11 big-endian, "/etc", zero padded to 72 bytes
  assert.equal(hex(pfxKey(11, '/etc')), '30000000' + '000b' + '2f657463' + zeros(72 - 10));
  // kind 11, length 4, ".pem", zero padded to 36 bytes
  assert.equal(hex(sfxKey(11, '.pem')), '0b00' + '0400' + '2e70656d' + zeros(28));
  // a suffix longer than 32 bytes keeps its last 32
  const long = `/${'a'.repeat(40)}.b`;
  assert.equal(hex(sfxKey(11, long)), '0b00' + '2000' + hex(Buffer.from(long).subarray(-32)));
  const cfg = pfCfgValue(['/etc/', '/root/'], ['.pem', '.key']);
  const want =
    '01' +
    '0400000000000000' +
    '03' +
    '02' +
    '02' +
    '05' +
    '04' +
    '0000' + // nlens, lens, flags, nheads, ntails, headlen, taillen, pad
    '2f6574632f000000' +
    '2f726f6f74000000' +
    zeros(14 * 8) + // heads: "/etc/", "/root"
    '2e70656d00000000' +
    '2e6b657900000000' +
    zeros(14 * 8); // tails: ".pem", ".key"
  assert.equal(hex(cfg), want);
  // (kind 41 << 16) | 443
  assert.equal(hex(portKey(41, 443)), 'bb012900');
});

test('vnet_scope value: header, protocol classes, rules, generation', () => {
  const v = netScopeValue({
    postureEgress: 3,
    postureBind: 0,
    postureProto: 2,
    scopeIdx: 5,
    gen: 7,
    protocols: [
      { cls: 1, action: 2, policy: 1, entry: 0 },
      { cls: 4, action: 3, policy: 3, entry: 1 },
    ],
    rules: [
      { cidr: { family: 4, bytes: [10, 0, 0, 0], prefix: 8 }, proto: 6, action: 3, dir: 1, portLo: 443, portHi: 443, policy: 2, entry: 0 },
      { proto: 17, action: 2, dir: 2, portLo: 53, portHi: 54, policy: 1, entry: 3 },
    ],
  });
  assert.equal(v.length, 48 + 32 * 48);
  const header =
    '02000000' +
    '03' +
    '00' +
    '02' +
    '00' +
    '05000000' + // n, postures, flags, scope_idx
    '0002000003000000' + // proto_action[8]: tcp Audit, raw Block
    '0000' +
    '0100' +
    '0000' +
    '0000' +
    '0300' +
    '0000' +
    '0000' +
    '0000' + // proto_policy[8]
    '07000000' + // gen
    '0000000001000000'; // proto_entry[8]
  const rule0 = '0a000000' + zeros(12) + 'ff000000' + zeros(12) + '02' + '06' + '03' + '01' + 'bb01' + 'bb01' + '0200' + '0000' + zeros(4);
  const rule1 = zeros(32) + '00' + '11' + '02' + '02' + '3500' + '3600' + '0100' + '0300' + zeros(4);
  assert.equal(hex(v), header + rule0 + rule1 + zeros(30 * 48));
  const v9 = netScopeWithGeneration(v, 9);
  assert.equal(hex(v9), hex(v).slice(0, 72) + '09000000' + hex(v).slice(80));
  assert.equal(hex(v).slice(72, 80), '07000000', 'the original is not modified');
  // an IPv6 /12 mask
  const v6 = netScopeValue({
    postureEgress: 0,
    postureBind: 0,
    postureProto: 0,
    scopeIdx: 0,
    protocols: [],
    rules: [
      {
        cidr: { family: 6, bytes: Buffer.from('fd000000000000000000000000000000', 'hex'), prefix: 12 },
        proto: 0,
        action: 1,
        dir: 1,
        portLo: 0,
        portHi: 65535,
        policy: 0,
        entry: 0,
      },
    ],
  });
  assert.equal(hex(v6.subarray(48, 96)), 'fd00' + zeros(14) + 'fff0' + zeros(14) + '0a' + '00' + '01' + '01' + '0000' + 'ffff' + '0000' + '0000' + zeros(4));
  assert.throws(
    () =>
      netScopeValue({
        postureEgress: 0,
        postureBind: 0,
        postureProto: 0,
        scopeIdx: 0,
        protocols: [],
        rules: Array.from({ length: 33 }, () => ({ proto: 0, action: 1, dir: 1, portLo: 0, portHi: 0, policy: 0, entry: 0 })),
      }),
    /33 network rules in one scope \(max 32\)/,
  );
});

/** Records the command lines and answers like the loader ("ok <link id>" for attach commands). */
function recorder(): kernel.LoaderPort & { lines: string[] } {
  const lines: string[] = [];
  let link = 10;
  return {
    lines,
    command(line: string, body?: Buffer | string) {
      lines.push(body === undefined ? line : `${line} +${String(body).length}`);
      return Promise.resolve(line.startsWith('attach') ? String(link++) : '');
    },
  };
}

test('typed commands: exact lines, write order of the path filter and ports, link ids', async () => {
  const p = recorder();
  const keys = await kernel.setPathFilter(p, 11, ['/etc'], ['.pem']);
  const pfx = hex(pfxKey(11, '/etc'));
  const sfx = hex(sfxKey(11, '.pem'));
  const cfg1 = hex(pfCfgValue(['/etc'], ['.pem']));
  assert.deepEqual(p.lines, [`map-update path_pfx ${pfx} 01`, `map-update path_sfx ${sfx} 01`, `map-update pf_cfg 0b000000 ${cfg1}`]);
  p.lines.length = 0;
  // replacing the prefix: the new entry, then the configuration, then the old entry's removal
  await kernel.setPathFilter(p, 11, ['/root'], ['.pem'], keys);
  assert.deepEqual(p.lines, [
    `map-update path_pfx ${hex(pfxKey(11, '/root'))} 01`,
    `map-update pf_cfg 0b000000 ${hex(pfCfgValue(['/root'], ['.pem']))}`,
    `map-delete path_pfx ${pfx}`,
  ]);
  p.lines.length = 0;
  const ports = await kernel.setPorts(p, 41, [443, 80]);
  await kernel.setPorts(p, 41, [80], ports);
  assert.deepEqual(p.lines, ['map-update net_ports bb012900 01', 'map-update net_ports 50002900 01', 'map-delete net_ports bb012900']);
  p.lines.length = 0;
  await kernel.setKindConfig(p, 11, { enabled: true, flags: KC.PREFIX_FILTER, argvMax: 0 });
  await kernel.setSyscallKind(p, 257, 11);
  assert.equal(await kernel.attachTracepoint(p, 'vgl_file_exit', 'syscalls', 'sys_exit_openat'), 10);
  assert.equal(await kernel.attachBtf(p, 'vgl_sched_exec'), 11);
  assert.equal(await kernel.attachCgroup(p, 'vnet_connect4', '/sys/fs/cgroup/x'), 12);
  await kernel.detach(p, 12);
  await kernel.putNetScope(p, '42', netScopeValue({ postureEgress: 0, postureBind: 0, postureProto: 0, scopeIdx: 0, protocols: [], rules: [] }), 3);
  await kernel.deleteNetScope(p, 42n);
  await kernel.loadFanotifyTable(p, 'fanx 1\nend\n');
  await kernel.requestStats(p);
  await kernel.requestCaps(p);
  assert.deepEqual(p.lines, [
    `map-update kind_cfg 0b000000 ${'01000000' + '10000000' + zeros(8)}`,
    'map-update sys_kind 01010000 0b000000',
    'attach-tp vgl_file_exit syscalls sys_exit_openat',
    'attach-btf vgl_sched_exec',
    'attach-cgroup vnet_connect4 /sys/fs/cgroup/x',
    'detach 12',
    `map-update vnet_scopes 2a00000000000000 ${zeros(36)}03000000${zeros(1584 - 40)}`,
    'map-delete vnet_scopes 2a00000000000000',
    'fanx-table 11 +11',
    'stats',
    'caps',
  ]);
  await assert.rejects(kernel.attachCgroup(p, 'vnet_bind4', '/sys/fs/cgroup/a b'), /contains white space/);
  const bad: kernel.LoaderPort = { command: () => Promise.resolve('oops') };
  await assert.rejects(kernel.attachBtf(bad, 'x'), /loader reply to attach-btf x: expected a link id, got "oops"/);
});
