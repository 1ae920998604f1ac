// The network enforcement structs and decision arg slots of bpf/vigil_abi.h (vnet_rule,
// vnet_scope, VNET_*, VGL_ND_*) against their TypeScript mirror (VNET, VNET_RULE, VNET_SCOPE, ND in
// src/sensor/abi.ts): a probe compiled with the system C compiler prints every offset, size and
// constant (no root, no kernel). The layout-registry test will cover these with the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ND, VNET, VNET_RULE, VNET_SCOPE } from '../../../src/sensor/abi.ts';
import { repoRoot } from '../../helpers/kernel.ts';

test('vnet structs, VNET_* and VGL_ND_* match the TypeScript mirror', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-abi-net-'));
  const off = (struct: string, name: string, layout: Record<string, number>) =>
    Object.keys(layout).map((k) => (k === 'size' ? `  P("${name}.size", sizeof(struct ${struct}));` : `  P("${name}.${k}", offsetof(struct ${struct}, ${k}));`));
  const src = `#include <stdio.h>
#include <stddef.h>
#include "vigil_abi.h"
#define P(name, v) printf("%s %lld\\n", name, (long long)(v))
int main(void) {
${[...off('vnet_rule', 'VNET_RULE', VNET_RULE), ...off('vnet_scope', 'VNET_SCOPE', VNET_SCOPE)].join('\n')}
${Object.keys(VNET).map((k) => `  P("VNET.${k}", VNET_${k});`).join('\n')}
${Object.keys(ND).map((k) => `  P("ND.${k}", VGL_ND_${k});`).join('\n')}
  return 0;
}
`;
  writeFileSync(path.join(dir, 'probe.c'), src);
  execFileSync('cc', ['-o', path.join(dir, 'probe'), '-I', path.join(repoRoot, 'bpf'), path.join(dir, 'probe.c')]);
  const got: Record<string, number> = {};
  for (const line of execFileSync(path.join(dir, 'probe'), { encoding: 'utf8' }).trim().split('\n')) {
    const [k, v] = line.split(' ');
    got[k!] = Number(v);
  }
  const want: Record<string, number> = {};
  for (const [name, o] of Object.entries({ VNET_RULE, VNET_SCOPE, VNET, ND })) for (const [k, v] of Object.entries(o)) want[`${name}.${k}`] = v;
  assert.deepEqual(got, want);
});

test('every VNET_* and VGL_ND_* constant of the header has a mirror', () => {
  const h = readFileSync(path.join(repoRoot, 'bpf', 'vigil_abi.h'), 'utf8');
  const consts = [...h.matchAll(/^#define (VNET_|VGL_ND_)(\w+)\s/gm)].map((m) => `${m[1]}${m[2]}`);
  const mirrored = [...Object.keys(VNET).map((k) => `VNET_${k}`), ...Object.keys(ND).map((k) => `VGL_ND_${k}`)];
  assert.deepEqual(consts.filter((c) => !mirrored.includes(c)), []);
});
