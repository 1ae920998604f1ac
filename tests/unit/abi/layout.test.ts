// The layout registry: every struct and constant shared between C (bpf/vigil_abi.h, the generated
// bpf/vigil_kinds.h, the network enforcement structs) and TypeScript, checked by
// compiling a probe against the C with the system compiler and comparing what it prints with the
// TypeScript mirrors. Also fails when a C constant of the shared headers has no TypeScript mirror.
// No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as abi from '../../../src/abi/layout.ts';
import { A, NR } from '../../../src/abi/kinds.gen.ts';
import { GEN_NARGS, GEN_FD_DESC_SLOTS } from '../../../src/abi/generate.ts';
import { NET_LAYOUT, NET_ACTION, NET_DIR, NET_PROTO_CLASS, NET_POLICY_POSTURE } from '../../../src/policy/compile.ts';
import { NET_HOOK } from '../../../src/policy/net-decision.ts';
import { repoRoot } from '../../helpers/kernel.ts';

/** One registry entry: a C expression and the TypeScript value it must equal. */
interface Entry {
  label: string;
  c: string;
  ts: number;
}

const entries: Entry[] = [];
const covered = new Set<string>(); // C constant names the registry mirrors

function constant(cName: string, ts: number, label = cName): void {
  entries.push({ label, c: cName, ts });
  covered.add(cName);
}

/** A struct: every key of the TS layout is a field offset, except `size` (sizeof). `fields`
 * maps TS keys to C member designators where they differ. */
function struct(label: string, cStruct: string, layout: Record<string, number>, fields: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(layout)) {
    const c = k === 'size' ? `sizeof(struct ${cStruct})` : `offsetof(struct ${cStruct}, ${fields[k] ?? k})`;
    entries.push({ label: `${label}.${k}`, c, ts: v });
  }
}

/** A group of constants: VGL_<prefix><KEY> for every key of the TS object. */
function group(prefix: string, obj: Record<string, number>): void {
  for (const [k, v] of Object.entries(obj)) constant(`VGL_${prefix}${k}`, v);
}

// ---- bpf/vigil_abi.h: records on the wire ----
struct('FRAME', 'vgl_frame', abi.FRAME);
struct('EV', 'vgl_event', abi.EV);
struct('STR_LAYOUT', 'vgl_str', abi.STR_LAYOUT);
constant('sizeof(struct vgl_str)', abi.STR_HDR, 'STR_HDR');
struct('STATS', 'vgl_stats', abi.STATS);
struct('CAPREC', 'vgl_cap_rec', abi.CAPREC, {
  pid: 'k.pid',
  cap: 'k.cap',
  granted: 'v.granted',
  denied: 'v.denied',
  last_ts: 'v.last_ts',
  cgroup_id: 'v.cgroup_id',
  mntns: 'v.mntns',
});
// ---- maps written by the loader from what the sensor asks ----
struct('CAP_KEY', 'vgl_cap_key', abi.CAP_KEY);
struct('CAP_VAL', 'vgl_cap_val', abi.CAP_VAL);
struct('KIND_COUNTERS', 'vgl_kind_counters', abi.KIND_COUNTERS);
struct('GLOBAL_CFG', 'vgl_global_cfg', abi.GLOBAL_CFG);
struct('KIND_CFG', 'vgl_kind_cfg', abi.KIND_CFG);
struct('PF_CFG', 'vgl_pf_cfg', abi.PF_CFG);
struct('PFX_KEY', 'vgl_pfx_key', abi.PFX_KEY);
struct('SFX_KEY', 'vgl_sfx_key', abi.SFX_KEY);
for (const [kind, port] of [
  [abi.K.CONNECT, 443],
  [abi.K.SENDTO, 53],
  [abi.K.MAX - 1, 65535],
] as const) {
  entries.push({ label: `portKey(${kind}, ${port})`, c: `VGL_PORT_KEY(${kind}, ${port})`, ts: abi.portKey(kind, port) });
}
covered.add('VGL_PORT_KEY');
// ---- constants ----
constant('VGL_ABI_VERSION', abi.ABI_VERSION);
constant('VGL_COMM_LEN', abi.COMM_LEN);
constant('VGL_NARGS', abi.NARGS);
constant('VGL_NARGS', GEN_NARGS, 'GEN_NARGS (the kind-table generator)');
constant('VGL_MAX_STRS', abi.MAX_STRS);
constant('VGL_STR_MAX', abi.STR_MAX);
constant('VGL_ARGV_MAX', abi.ARGV_MAX);
constant('VGL_ENV_MAX', abi.ENV_MAX);
constant('VGL_SCRATCH_SIZE', abi.SCRATCH_SIZE);
constant('VGL_ANCESTRY', abi.ANCESTRY);
group('F_', { TRUNCATED: abi.F_TRUNCATED, THREAD: abi.F_THREAD, POLICY: abi.F_POLICY });
group('S_', { TRUNCATED: abi.S_TRUNCATED, FAULT: abi.S_FAULT });
group('EXE_', { MEMFD: abi.EXE_MEMFD, UPPER: abi.EXE_UPPER, WRITABLE: abi.EXE_WRITABLE, FROM_EXECVEAT: abi.EXE_FROM_EXECVEAT, LOWER: abi.EXE_LOWER });
group('EXEC_A_', abi.EXEC_A);
group('FD_A_', abi.FD_A);
GEN_FD_DESC_SLOTS.forEach((s, i) => {
  entries.push({ label: `GEN_FD_DESC_SLOTS[${i}]`, c: `VGL_FD_A_${Object.keys(abi.FD_A)[i]}`, ts: s });
});
group('FDT_', abi.FDT);
group('KC_', abi.KC);
group('PF_', abi.PF);
// ---- bpf/vigil_kinds.h (generated): kinds, arg slots of every kind (the network decision's included) ----
group('K_', abi.K);
for (const [kind, slots] of Object.entries(A)) for (const [slot, at] of Object.entries(slots)) constant(`VGL_A_${kind}_${slot.toUpperCase()}`, at);
for (const [kind, nr] of Object.entries(NR.x86_64)) constant(`VGL_NR_${kind}`, nr, `NR.x86_64.${kind}`);

// ---- network enforcement (vigil_abi.h): vnet_rule, vnet_scope, VNET_*, a decision's packed slots ----
struct('VNET_RULE', 'vnet_rule', abi.VNET_RULE);
struct('VNET_SCOPE', 'vnet_scope', abi.VNET_SCOPE);
for (const [k, v] of Object.entries(abi.VNET)) constant(`VNET_${k}`, v);
for (const k of ['ENTRY_SHIFT', 'NO_ENTRY', 'GEN_SHIFT'] as const) constant(`VGL_ND_${k}`, abi.ND[k]);
for (const [k, v] of Object.entries(abi.ND))
  if (!k.endsWith('SHIFT') && k !== 'NO_ENTRY') entries.push({ label: `ND.${k}`, c: `VGL_A_NET_DECISION_${k}`, ts: v });
// the policy compiler's own view of the same layout (derived from the mirror, checked anyway)
const L = NET_LAYOUT;
struct('NET_LAYOUT.rule', 'vnet_rule', {
  net: L.rule.net,
  mask: L.rule.mask,
  family: L.rule.family,
  proto: L.rule.proto,
  action: L.rule.action,
  dir: L.rule.dir,
  port_lo: L.rule.portLo,
  port_hi: L.rule.portHi,
  policy: L.rule.policy,
  size: L.ruleSize,
});
struct('NET_LAYOUT.scope', 'vnet_scope', {
  n: L.scope.n,
  posture_egress: L.scope.postureEgress,
  posture_bind: L.scope.postureBind,
  posture_proto: L.scope.postureProto,
  flags: L.scope.flags,
  scope_idx: L.scope.scopeIdx,
  proto_action: L.scope.protoAction,
  proto_policy: L.scope.protoPolicy,
  rules: L.scope.rules,
  size: L.scopeSize,
});
entries.push({ label: 'NET_LAYOUT.maxRules', c: 'VNET_MAX_RULES', ts: L.maxRules });
for (const [k, v] of Object.entries(NET_ACTION)) entries.push({ label: `NET_ACTION.${k}`, c: `VNET_A_${k.toUpperCase()}`, ts: v });
for (const [k, v] of Object.entries(NET_DIR)) entries.push({ label: `NET_DIR.${k}`, c: `VNET_DIR_${k.toUpperCase()}`, ts: v });
for (const [k, v] of Object.entries(NET_PROTO_CLASS)) entries.push({ label: `NET_PROTO_CLASS.${k}`, c: `VNET_C_${k.toUpperCase()}`, ts: v });
entries.push({ label: 'NET_POLICY_POSTURE', c: 'VNET_POLICY_POSTURE', ts: NET_POLICY_POSTURE });
for (const [k, c] of [
  ['connect', 'CONNECT'],
  ['sendmsg', 'SENDMSG'],
  ['bind', 'BIND'],
  ['sockCreate', 'SOCK_CREATE'],
] as const) {
  entries.push({ label: `NET_HOOK.${k}`, c: `VNET_HOOK_${c}`, ts: NET_HOOK[k] });
}

function compileProbe(dir: string, name: string, body: string, defines: string[] = []): Map<string, number> {
  const src = path.join(dir, `${name}.c`);
  writeFileSync(src, body);
  execFileSync('cc', ['-Wall', '-o', path.join(dir, name), ...defines, '-I', path.join(repoRoot, 'bpf'), src]);
  const out = execFileSync(path.join(dir, name), { encoding: 'utf8' });
  const m = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

const PRELUDE = `#include <stdio.h>
#include <stddef.h>
#include "vigil_abi.h"
#define P(label, v) printf("%s %lld\\n", label, (long long)(v))
`;

test('layout registry: every shared struct, slot and constant has the same value in C and TypeScript', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-abi-'));
  try {
    const body = `${PRELUDE}
int main(void) {
${entries.map((e) => `  P(${JSON.stringify(e.label)}, ${e.c});`).join('\n')}
  return 0;
}
`;
    const c = compileProbe(dir, 'probe', body);
    assert.equal(c.size, new Set(entries.map((e) => e.label)).size);
    assert.ok(entries.length >= 400, `registry has ${entries.length} entries`);
    for (const e of entries) assert.equal(e.ts, c.get(e.label), `${e.label}: C (${e.c}) says ${c.get(e.label)}, TypeScript says ${e.ts}`);

    // the generated syscall numbers of the other architecture, as a BPF build for arm64 sees them
    const arm = Object.entries(NR.arm64);
    const armBody = `${PRELUDE}int main(void) {
${arm.map(([k]) => `  P("${k}", VGL_NR_${k});`).join('\n')}
  return 0;
}
`;
    const ca = compileProbe(dir, 'probe-arm64', armBody, ['-D__TARGET_ARCH_arm64']);
    for (const [k, v] of arm) assert.equal(v, ca.get(k), `arm64 VGL_NR_${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every constant the shared headers define: #define names and enum members (VGL_*). */
function cConstants(file: string): string[] {
  const text = readFileSync(path.join(repoRoot, 'bpf', file), 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/^#define\s+((?:VGL|VNET)_\w+)/gm)) names.add(m[1]!);
  for (const m of text.matchAll(/^\s+(VGL_\w+)\s*=/gm)) names.add(m[1]!);
  return [...names];
}

test('every constant of bpf/vigil_abi.h and bpf/vigil_kinds.h has a TypeScript mirror in the registry', () => {
  const all = [...cConstants('vigil_abi.h'), ...cConstants('vigil_kinds.h')];
  assert.ok(all.length > 300, `found ${all.length} constants`);
  const missing = all.filter((n) => !covered.has(n));
  assert.deepEqual(missing, [], `C constants without a TypeScript mirror: ${missing.join(', ')}`);
});

test('the unmirrored-constant check fails on a new C constant', () => {
  const fake = '#define VGL_SOMETHING_NEW 7\n';
  const names = [...fake.matchAll(/^#define\s+(VGL_\w+)/gm)].map((m) => m[1]!);
  assert.deepEqual(
    names.filter((n) => !covered.has(n)),
    ['VGL_SOMETHING_NEW'],
  );
});
