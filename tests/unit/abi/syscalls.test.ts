// The syscall numbers of the kind table, per architecture, against the kernel's own tables as
// installed: arm64 uses the generic table (/usr/include/asm-generic/unistd.h), x86_64 its own
// (/usr/include/x86_64-linux-gnu/asm/unistd_64.h). A kind without an arm64 number must be a
// syscall the generic table lacks. Also Falco's prctl option names against linux/prctl.h.
// No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { KIND_TABLE, ENUMS } from '../../../src/abi/kinds-table.ts';
import { NR } from '../../../src/abi/kinds.gen.ts';

const GENERIC = '/usr/include/asm-generic/unistd.h';
const X86_64 = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const PRCTL_H = '/usr/include/linux/prctl.h';

/** `#define __NR_<name> <number>` lines of a header (the generic table also has __NR3264_ names,
 * which are not the syscalls' own names). */
function parseUnistd(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of readFileSync(file, 'utf8').matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\b/gm)) m.set(x[1]!, Number(x[2]));
  return m;
}

const syscallRows = KIND_TABLE.filter((r) => r.nr);

test('x86_64 syscall numbers of the kind table match unistd_64.h', () => {
  assert.ok(existsSync(X86_64), `${X86_64} is missing (Debian: linux-libc-dev)`);
  const tbl = parseUnistd(X86_64);
  assert.ok(tbl.size > 300, `parsed ${tbl.size} syscalls`);
  assert.ok(syscallRows.length >= 50);
  for (const r of syscallRows) assert.equal(r.nr!.x86_64, tbl.get(r.name), `${r.sym}: x86_64 __NR_${r.name}`);
});

test('arm64 syscall numbers of the kind table match the generic table; absent ones are absent there', () => {
  assert.ok(existsSync(GENERIC), `${GENERIC} is missing (Debian: linux-libc-dev)`);
  const tbl = parseUnistd(GENERIC);
  assert.ok(tbl.size > 250, `parsed ${tbl.size} syscalls`);
  let absent = 0;
  for (const r of syscallRows) {
    if (r.nr!.arm64 === null) {
      absent++;
      assert.equal(tbl.get(r.name), undefined, `${r.sym}: the table says arm64 has no ${r.name}, but ${GENERIC} defines __NR_${r.name}`);
    } else assert.equal(r.nr!.arm64, tbl.get(r.name), `${r.sym}: arm64 __NR_${r.name}`);
  }
  assert.ok(absent >= 9, 'open, unlink, rename, link, symlink, mkdir, chmod, chown, lchown, dup2 have no generic number');
});

test('the generated mirror carries both architectures (the sensor picks the one it runs on)', () => {
  assert.equal(NR.x86_64.PRCTL, 157);
  assert.equal(NR.arm64.PRCTL, 167);
  assert.equal(NR.x86_64.OPEN, 2);
  assert.equal((NR.arm64 as Record<string, number>).OPEN, undefined);
});

test("Falco's prctl option names are Linux's PR_* values", () => {
  assert.ok(existsSync(PRCTL_H), `${PRCTL_H} is missing (Debian: linux-libc-dev)`);
  const defs = new Map<string, number>();
  for (const x of readFileSync(PRCTL_H, 'utf8').matchAll(/^#define\s+(PR_\w+)\s+(\d+)\b/gm)) defs.set(x[1]!, Number(x[2]));
  const opts = Object.entries(ENUMS.prctl_option!);
  assert.equal(opts.length, 22);
  for (const [v, name] of opts) assert.equal(defs.get(name), Number(v), name);
});
