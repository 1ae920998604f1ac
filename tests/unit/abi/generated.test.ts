// The files generated from the event-kind table (bpf/vigil_kinds.h, src/abi/kinds.gen.ts) are
// committed: this fails when they are stale against the generator (run `make gen`), and checks
// that the generator refuses a malformed table with a message naming the row. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generate, validateTable, KindTableError } from '../../../src/abi/generate.ts';
import { KIND_TABLE, type KindRow } from '../../../src/abi/kinds-table.ts';
import { EVENT_TYPES, K, A, STR } from '../../../src/abi/kinds.gen.ts';
import { KINDS, KIND_BY_NAME } from '../../../src/sensor/kinds.ts';
import { VIGIL_EVENT_TYPES } from '../../../src/rules/engine.ts';
import { repoRoot } from '../../helpers/kernel.ts';

test('the committed generated files equal what the generator makes from the table (else: make gen)', () => {
  const files = generate();
  assert.deepEqual(Object.keys(files).sort(), ['bpf/vigil_kinds.h', 'src/abi/kinds.gen.ts']);
  for (const [rel, text] of Object.entries(files)) {
    const onDisk = readFileSync(path.join(repoRoot, rel), 'utf8');
    assert.ok(onDisk === text, `${rel} is stale against src/abi/kinds-table.ts: run make gen`);
  }
});

test('a changed table row changes the generated files (the staleness check can fail)', () => {
  const rows: KindRow[] = KIND_TABLE.map((r) => (r.sym === 'PRCTL' ? { ...r, slots: { ...r.slots, arg2_int: { at: 2, type: 's64' } } } : r));
  const files = generate(rows);
  assert.match(files['bpf/vigil_kinds.h']!, /#define VGL_A_PRCTL_ARG2_INT 2 /);
  assert.notEqual(files['bpf/vigil_kinds.h'], readFileSync(path.join(repoRoot, 'bpf/vigil_kinds.h'), 'utf8'));
});

test('the rules engine, the sensor and the generated mirror know the same kinds', () => {
  assert.equal(VIGIL_EVENT_TYPES, EVENT_TYPES);
  assert.ok(EVENT_TYPES.includes('prctl'));
  assert.ok(!EVENT_TYPES.includes('net_decision'), 'decision records are not a rule event type');
  for (const k of KINDS) assert.ok(EVENT_TYPES.includes(k.name), `${k.name} is an event type`);
  for (const t of EVENT_TYPES) if (t !== 'capability') assert.ok(KIND_BY_NAME.has(t), `the sensor can hook ${t}`);
  assert.equal(K.PRCTL, 75);
  assert.deepEqual(A.PRCTL, { option: 0, arg2_int: 1 });
  assert.deepEqual(STR.PRCTL, { arg2_str: 0 });
});

function bad(patch: (r: KindRow) => KindRow, sym = 'PRCTL'): string {
  const rows = KIND_TABLE.map((r) => (r.sym === sym ? patch(r) : r));
  try {
    validateTable(rows);
  } catch (e) {
    assert.ok(e instanceof KindTableError);
    return e.message;
  }
  assert.fail('validateTable accepted a bad table');
}

test('a malformed table is refused with the row and what was expected', () => {
  assert.equal(
    bad((r) => ({ ...r, id: 74 })),
    'src/abi/kinds-table.ts: kind 74 (PRCTL): id 74 already used by KILL',
  );
  assert.equal(
    bad((r) => ({ ...r, slots: { ...r.slots, arg2_int: { at: 0, type: 's64' } } })),
    'src/abi/kinds-table.ts: kind 75 (PRCTL): slots option and arg2_int both at index 0 (declare one as a union)',
  );
  assert.equal(
    bad((r) => ({ ...r, slots: { x: { at: 12, type: 'u32' } } })),
    'src/abi/kinds-table.ts: kind 75 (PRCTL): slot x: at must be in 0..11, got 12',
  );
  assert.equal(
    bad((r) => ({ ...r, fdDesc: true, slots: { fd: { at: 6, type: 's32' } } })),
    "src/abi/kinds-table.ts: kind 75 (PRCTL): slot fd: index 6 is the fd description's (fdDesc)",
  );
  assert.equal(
    bad((r) => ({ ...r, nr: undefined })),
    'src/abi/kinds-table.ts: kind 75 (PRCTL): a syscall kind needs nr: { x86_64, arm64 }',
  );
  assert.equal(
    bad((r) => ({ ...r, params: ['res', 'arg3'] })),
    'src/abi/kinds-table.ts: kind 75 (PRCTL): param "arg3" is neither res, a slot nor a string',
  );
  assert.equal(
    bad((r) => ({ ...r, slots: { option: { at: 0, type: 's32', enum: 'nope' } } })),
    'src/abi/kinds-table.ts: kind 75 (PRCTL): slot option: unknown enum "nope"',
  );
  assert.equal(
    bad((r) => ({ ...r, sym: 'KILL' })),
    'src/abi/kinds-table.ts: kind 75 (KILL): sym KILL used twice',
  );
});

test("the enricher's columns (fd effect, tuple side, fs paths) are refused where what they read is missing", () => {
  const pre = 'src/abi/kinds-table.ts: kind 75 (PRCTL): ';
  assert.equal(
    bad((r) => ({ ...r, fd: 'open' })),
    `${pre}fd "open" needs a path and its base directory as strs[0] and strs[1] (name, name_base)`,
  );
  assert.equal(
    bad((r) => ({ ...r, strs: ['name', 'name_base'], params: undefined, fd: 'open' })),
    `${pre}fd "open" needs the in-kernel fd description (fdDesc: true)`,
  );
  assert.equal(
    bad((r) => ({ ...r, fdOnFailure: true })),
    `${pre}fdOnFailure applies to fd "socket" kinds only`,
  );
  assert.equal(
    bad((r) => ({ ...r, tuple: 'client' })),
    `${pre}tuple applies to fd "socket" kinds only`,
  );
  assert.equal(
    bad((r) => ({ ...r, fsPath: 'one' })),
    `${pre}fsPath "one" needs a path and its base directory as strs[0] and strs[1]`,
  );
  assert.equal(
    bad((r) => ({ ...r, strs: ['path', 'path_base'], params: undefined, fsPath: 'two' })),
    `${pre}fsPath "two" needs two paths with their base directories as strs[0..3]`,
  );
  assert.equal(
    bad((r) => ({ ...r, fd: 'close' }), 'UNLINK'),
    'src/abi/kinds-table.ts: kind 13 (UNLINK): a kind has either an fd effect or fs paths, not both',
  );
  // the table's own rows: the kinds the enricher treats as opens, dups, closes and sockets
  const by = (f: (r: KindRow) => unknown) => KIND_TABLE.filter(f).map((r) => r.sym);
  assert.deepEqual(
    by((r) => r.fd === 'open'),
    ['OPEN', 'OPENAT', 'OPENAT2'],
  );
  assert.deepEqual(
    by((r) => r.fd === 'dup'),
    ['DUP', 'DUP2', 'DUP3'],
  );
  assert.deepEqual(
    by((r) => r.fd === 'close'),
    ['CLOSE'],
  );
  assert.deepEqual(
    by((r) => r.fd === 'socket'),
    ['SOCKET', 'CONNECT', 'ACCEPT', 'ACCEPT4', 'BIND', 'LISTEN', 'SENDTO', 'SENDMSG'],
  );
  assert.deepEqual(
    by((r) => r.tuple === 'client'),
    ['CONNECT', 'SENDTO', 'SENDMSG'],
  );
  assert.deepEqual(
    by((r) => r.fdOnFailure),
    ['CONNECT'],
  );
  assert.deepEqual(
    by((r) => r.fsPath === 'two' || r.fsPath === 'symlink'),
    ['RENAME', 'RENAMEAT', 'RENAMEAT2', 'LINK', 'LINKAT', 'SYMLINK', 'SYMLINKAT'],
  );
  assert.deepEqual(
    by((r) => r.fsPath === 'symlink'),
    ['SYMLINK', 'SYMLINKAT'],
  );
  assert.deepEqual(
    by((r) => r.fsPath === 'one'),
    ['EXECVE_FAILED', 'EXECVEAT_FAILED', 'UNLINK', 'UNLINKAT', 'MKDIR', 'MKDIRAT', 'CHMOD', 'FCHMODAT', 'CHOWN', 'LCHOWN', 'FCHOWNAT'],
  );
});
