// The hook plan uses the syscall numbers of the architecture the sensor runs on (from the kind
// table), and never plans a syscall the architecture lacks. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlanBuilder, available } from '../../../src/sensor/hooks.ts';
import { KIND_BY_NAME, KINDS, SYSCALL_ARCH, type KindInfo } from '../../../src/sensor/kinds.ts';
import { NR } from '../../../src/abi/kinds.gen.ts';

test("syscall kinds carry the running architecture's numbers", () => {
  assert.equal(SYSCALL_ARCH, process.arch === 'arm64' ? 'arm64' : process.arch === 'x64' ? 'x86_64' : undefined);
  const here = NR[SYSCALL_ARCH!] as Record<string, number>;
  assert.equal(KIND_BY_NAME.get('openat')!.nr, here.OPENAT);
  assert.equal(KIND_BY_NAME.get('prctl')!.nr, here.PRCTL);
  for (const k of KINDS) if (k.tp !== undefined && k.nr !== undefined) assert.ok(Object.values(here).includes(k.nr), `${k.name}: ${k.nr}`);
});

test('a syscall kind without a number here is not planned: families skip it, needKind refuses it', () => {
  const open = KIND_BY_NAME.get('open')!;
  const noOpen: KindInfo = { ...open, nr: undefined } as KindInfo;
  delete noOpen.nr;
  assert.equal(available(open), SYSCALL_ARCH === 'x86_64');
  assert.equal(available(noOpen), false);
  assert.equal(available(KIND_BY_NAME.get('execve')!), true, 'sched kinds need no syscall number');
  assert.throws(() => new PlanBuilder().needKind(noOpen, 'test'), /event kind open has no syscall on this architecture/);
  const plan = new PlanBuilder().needFamilies(['file', 'priv']).build();
  for (const h of plan.hooks.values()) assert.ok(h.info === undefined || available(h.info), h.id);
  assert.ok(plan.hooks.has('syscall:prctl'), '--events priv includes prctl');
});
