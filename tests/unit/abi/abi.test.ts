// The C header (bpf/vigil_abi.h) and the TypeScript mirror (src/sensor/abi.ts) must agree on
// every offset, size and constant: this compiles a probe against the header with the system C
// compiler and compares what it prints with the TypeScript values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EV, FRAME, STR_HDR, STATS, CAPREC, KIND_CFG, K, EXEC_A, FD_A, FDT, NARGS, ABI_VERSION, KC, F_TRUNCATED, F_THREAD, S_TRUNCATED, S_FAULT, EXE_MEMFD, EXE_UPPER, EXE_WRITABLE, EXE_LOWER, ARGV_MAX, ENV_MAX, PF, PF_CFG, PFX_KEY, SFX_KEY } from '../../../src/sensor/abi.ts';
import { repoRoot } from '../../helpers/kernel.ts';

function probe(): Record<string, number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-abi-'));
  const fields = Object.keys(EV).filter((k) => k !== 'size');
  const kinds = Object.keys(K);
  const src = `#include <stdio.h>
#include <stddef.h>
#include "vigil_abi.h"
#define P(name, v) printf("%s %lld\\n", name, (long long)(v))
int main(void) {
${fields.map((f) => `  P("EV.${f}", offsetof(struct vgl_event, ${f === 'args' ? 'args' : f}));`).join('\n')}
  P("EV.size", sizeof(struct vgl_event));
  P("FRAME.len", offsetof(struct vgl_frame, len)); P("FRAME.kind", offsetof(struct vgl_frame, kind));
  P("FRAME.flags", offsetof(struct vgl_frame, flags)); P("FRAME.size", sizeof(struct vgl_frame));
  P("STR_HDR", sizeof(struct vgl_str));
  P("STATS.ringbuf_drops", offsetof(struct vgl_stats, ringbuf_drops)); P("STATS.events_read", offsetof(struct vgl_stats, events_read));
  P("STATS.bytes_read", offsetof(struct vgl_stats, bytes_read)); P("STATS.ncpu", offsetof(struct vgl_stats, ncpu));
  P("STATS.seen", offsetof(struct vgl_stats, seen)); P("STATS.filtered", offsetof(struct vgl_stats, filtered));
  P("STATS.emitted", offsetof(struct vgl_stats, emitted)); P("STATS.dropped", offsetof(struct vgl_stats, dropped));
  P("STATS.size", sizeof(struct vgl_stats));
  P("CAPREC.pid", offsetof(struct vgl_cap_rec, k.pid)); P("CAPREC.cap", offsetof(struct vgl_cap_rec, k.cap));
  P("CAPREC.granted", offsetof(struct vgl_cap_rec, v.granted)); P("CAPREC.denied", offsetof(struct vgl_cap_rec, v.denied));
  P("CAPREC.last_ts", offsetof(struct vgl_cap_rec, v.last_ts)); P("CAPREC.cgroup_id", offsetof(struct vgl_cap_rec, v.cgroup_id));
  P("CAPREC.mntns", offsetof(struct vgl_cap_rec, v.mntns)); P("CAPREC.size", sizeof(struct vgl_cap_rec));
  P("KIND_CFG.enabled", offsetof(struct vgl_kind_cfg, enabled)); P("KIND_CFG.flags", offsetof(struct vgl_kind_cfg, flags));
  P("KIND_CFG.argv_max", offsetof(struct vgl_kind_cfg, argv_max)); P("KIND_CFG.env_max", offsetof(struct vgl_kind_cfg, env_max)); P("KIND_CFG.size", sizeof(struct vgl_kind_cfg));
${kinds.map((k) => `  P("K.${k}", VGL_K_${k});`).join('\n')}
${Object.keys(EXEC_A).map((k) => `  P("EXEC_A.${k}", VGL_EXEC_A_${k});`).join('\n')}
${Object.keys(FD_A).map((k) => `  P("FD_A.${k}", VGL_FD_A_${k});`).join('\n')}
${Object.keys(FDT).map((k) => `  P("FDT.${k}", VGL_FDT_${k});`).join('\n')}
${Object.keys(KC).map((k) => `  P("KC.${k}", VGL_KC_${k});`).join('\n')}
  P("NARGS", VGL_NARGS); P("ABI_VERSION", VGL_ABI_VERSION);
  P("F_TRUNCATED", VGL_F_TRUNCATED); P("F_THREAD", VGL_F_THREAD); P("S_TRUNCATED", VGL_S_TRUNCATED); P("S_FAULT", VGL_S_FAULT);
  P("EXE_MEMFD", VGL_EXE_MEMFD); P("EXE_UPPER", VGL_EXE_UPPER); P("EXE_WRITABLE", VGL_EXE_WRITABLE); P("EXE_LOWER", VGL_EXE_LOWER);
  P("ARGV_MAX", VGL_ARGV_MAX); P("ENV_MAX", VGL_ENV_MAX);
${Object.keys(PF).map((k) => `  P("PF.${k}", VGL_PF_${k});`).join('\n')}
${Object.keys(PF_CFG).map((k) => (k === 'size' ? '  P("PF_CFG.size", sizeof(struct vgl_pf_cfg));' : `  P("PF_CFG.${k}", offsetof(struct vgl_pf_cfg, ${k}));`)).join('\n')}
${Object.keys(PFX_KEY).map((k) => (k === 'size' ? '  P("PFX_KEY.size", sizeof(struct vgl_pfx_key));' : `  P("PFX_KEY.${k}", offsetof(struct vgl_pfx_key, ${k}));`)).join('\n')}
${Object.keys(SFX_KEY).map((k) => (k === 'size' ? '  P("SFX_KEY.size", sizeof(struct vgl_sfx_key));' : `  P("SFX_KEY.${k}", offsetof(struct vgl_sfx_key, ${k}));`)).join('\n')}
  return 0;
}
`;
  writeFileSync(path.join(dir, 'probe.c'), src);
  execFileSync('cc', ['-o', path.join(dir, 'probe'), '-I', path.join(repoRoot, 'bpf'), path.join(dir, 'probe.c')]);
  const out = execFileSync(path.join(dir, 'probe'), { encoding: 'utf8' });
  const m: Record<string, number> = {};
  for (const line of out.trim().split('\n')) {
    const [k, v] = line.split(' ');
    m[k!] = Number(v);
  }
  return m;
}

test('C and TypeScript agree on the event ABI', () => {
  const c = probe();
  const ts: Record<string, number> = { STR_HDR, NARGS, ABI_VERSION, F_TRUNCATED, F_THREAD, S_TRUNCATED, S_FAULT, EXE_MEMFD, EXE_UPPER, EXE_WRITABLE, EXE_LOWER, ARGV_MAX, ENV_MAX };
  for (const [group, obj] of Object.entries({ EV, FRAME, STATS, CAPREC, KIND_CFG, K, EXEC_A, FD_A, FDT, KC, PF, PF_CFG, PFX_KEY, SFX_KEY })) {
    for (const [k, v] of Object.entries(obj)) ts[`${group}.${k}`] = v as number;
  }
  assert.ok(Object.keys(c).length >= 150, `probe printed ${Object.keys(c).length} values`);
  for (const [k, v] of Object.entries(c)) assert.equal(ts[k], v, `${k}: C says ${v}, TypeScript says ${ts[k]}`);
  assert.deepEqual(Object.keys(ts).sort(), Object.keys(c).sort());
});
