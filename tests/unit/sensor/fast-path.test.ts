// The sensor's fast user-space path (issue 10) against the plain implementations it replaces:
// eventToJson (src/sensor/output.ts) gives exactly JSON.stringify's text for every event of the
// recorded frames and for generated odd values (unicode, control characters, quotes, lone
// surrogates, -0, non-finite and large numbers, dotted and numeric keys, long strings seen twice);
// isNormalAbsolute (the check that lets resolvePath skip path.posix.normalize) agrees with
// normalize on every path of a small alphabet; and a process view that is rebuilt (any exec bumps
// the generation) keeps its old sub-objects when their content is unchanged, and only then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { EXEC_A, FDT, FD_A, K, NARGS } from '../../../src/abi/layout.ts';
import { A } from '../../../src/abi/kinds.gen.ts';
import { isNormalAbsolute, sameTree } from '../../../src/sensor/enrich.ts';
import { eventToJson, jsonValue } from '../../../src/sensor/output.ts';
import type { FieldTree, VigilEvent } from '../../../src/abi/event.ts';
import { eventFrame, hostFreeCore, recorded, type EventSpec } from '../../helpers/frames.ts';

test('eventToJson is JSON.stringify, byte for byte, on every event of the recorded frames (twice: cold and cached)', () => {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  assert.equal(core.events.length, 48);
  for (let pass = 0; pass < 2; pass++) {
    for (const ev of core.events) assert.equal(eventToJson(ev), JSON.stringify(ev), `event ${ev.evt.num} (${ev.evt.type}), pass ${pass}`);
  }
});

// ---- generated values ----
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}
const PIECES = [
  'a',
  'path/x',
  '"',
  '\\',
  '\n',
  '\t',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0080',
  'é',
  'ключ',
  '😀',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u2028',
  '\u2029',
  '\ufffd',
  '/',
  '</script>',
  ' ',
];
const NUMBERS = [0, -0, 1, -1, 1.5, 0.1, 1e21, -1e21, 1e-7, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 4294967295];
const KEYS = ['a', 'a.b', 'image.repository', '1', '01', '10', '', '"q"', 'k\n', 'ключ', '😀', 'dir', 'x y'];
const LONG = [
  'CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID',
  '/usr/lib/x86_64-linux-gnu/"quoted"/\u0001/lib.so.6.0.0.0',
  '\ud83d'.repeat(50),
];

function genString(r: () => number): string {
  if (r() < 0.15) return LONG[Math.floor(r() * LONG.length)]!;
  let s = '';
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}
function genValue(r: () => number, depth: number): unknown {
  const x = r();
  if (x < 0.3) return genString(r);
  if (x < 0.5) return NUMBERS[Math.floor(r() * NUMBERS.length)];
  if (x < 0.58) return r() < 0.5;
  if (x < 0.62) return undefined;
  if (x < 0.65) return null;
  if (depth <= 0) return genString(r);
  if (x < 0.8) {
    const n = Math.floor(r() * 4);
    return Array.from({ length: n }, () => genValue(r, depth - 1));
  }
  return genObject(r, depth - 1);
}
function genObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) o[r() < 0.7 ? KEYS[Math.floor(r() * KEYS.length)]! : genString(r)] = genValue(r, depth);
  return o;
}

test('eventToJson and jsonValue are JSON.stringify on 3,000 generated events of odd values', () => {
  const r = rng(20261204);
  for (let i = 0; i < 3000; i++) {
    const ev = genObject(r, 3);
    // the event's own parts and the shared (cached) ones, each possibly reused by the next events
    for (const k of ['evt', 'proc', 'thread', 'user', 'container', 'fd']) if (r() < 0.7) ev[k] = genObject(r, 3);
    const text = JSON.stringify(ev);
    assert.equal(eventToJson(ev as VigilEvent), text, `case ${i}: ${text}`);
    assert.equal(eventToJson(ev as VigilEvent), text, `case ${i} again (memoised strings, cached shared parts)`);
    assert.equal(jsonValue(ev), text);
  }
});

test('jsonValue: the edges of JSON.stringify, value by value', () => {
  const cases: unknown[] = [
    -0,
    [-0],
    NaN,
    -Infinity,
    1e21,
    123456789012345680000,
    2 ** 64,
    5e-324,
    '\ud800',
    'a\udbffb',
    '\ud83d\ude00',
    '\u0000\u001f\u007f',
    '"\\/',
    '',
    [],
    {},
    [undefined, () => 1, Symbol('s'), null],
    { a: undefined, b: () => 1, c: Symbol('s'), d: null },
    { 2: 'two', 1: 'one', b: 'b', a: 'a', '-1': 'neg', 1.5: 'frac' },
    JSON.parse('{"__proto__": {"x": 1}, "y": 2}'),
    Object.assign(Object.create(null), { z: 1, 'a.b': [1, 'x'] }),
    new Date(0),
    { when: new Date(0), nested: { toJSON: () => 'custom' } },
    new (class P {
      q = 1;
    })(),
    Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
    'x'.repeat(39),
    'x'.repeat(40),
    '"'.repeat(41),
  ];
  for (const v of cases) assert.equal(jsonValue(v), JSON.stringify(v), String(JSON.stringify(v)));
  assert.equal(jsonValue(undefined), undefined);
  assert.throws(() => jsonValue({ big: 1n }), TypeError);
  assert.throws(() => JSON.stringify({ big: 1n }), TypeError);
});

test('isNormalAbsolute agrees with path.posix.normalize on every absolute path of a small alphabet', () => {
  const parts = ['', '/', '.', '..', 'a', '.a', '..a', 'a.', '...', '//'];
  let n = 0;
  const walk = (pre: string, depth: number): void => {
    if (depth === 0) return;
    for (const q of parts) {
      const p = pre + q;
      if (p.startsWith('/')) {
        n++;
        assert.equal(isNormalAbsolute(p), path.posix.normalize(p) === p, JSON.stringify(p));
      }
      walk(p, depth - 1);
    }
  };
  walk('', 5);
  assert.ok(n > 10000, `${n} paths`);
});

test('sameTree: content and key order, arrays element by element', () => {
  assert.equal(sameTree({ a: 1, b: [1, 'x'], c: { d: true } }, { a: 1, b: [1, 'x'], c: { d: true } }), true);
  assert.equal(sameTree({ a: 1, b: 2 }, { b: 2, a: 1 }), false, 'key order is part of the JSON text');
  assert.equal(sameTree({ a: [1, 2] }, { a: [1, 2, 3] }), false);
  assert.equal(sameTree({ a: [1] }, { a: { 0: 1 } }), false);
  assert.equal(sameTree({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(sameTree({ a: '1' }, { a: 1 }), false);
  assert.equal(sameTree(undefined, undefined), true);
  assert.equal(sameTree(undefined, {}), false);
});

// ---- process views ----
function execFrame(pid: number, ppid: number, argv: string[], o: Partial<EventSpec> = {}): Buffer {
  const args = new Array<number | bigint>(NARGS).fill(0);
  args[EXEC_A.START] = 5_000_000_000n;
  args[EXEC_A.SID_PGID] = (BigInt(ppid) << 32n) | BigInt(pid);
  return eventFrame({
    kind: K.EXECVE,
    pid,
    ppid,
    comm: argv[0]!.slice(0, 15),
    syscall: 59,
    ts: 6_000_000_000n,
    args,
    strs: [`/usr/bin/${argv[0]}`, argv.join('\0') + '\0', '/srv', argv[0]!],
    ...o,
  });
}
function openFrame(pid: number, ppid: number, fd: number, o: Partial<EventSpec> = {}): Buffer {
  const args = new Array<number>(NARGS).fill(0);
  args[0] = fd;
  args[1] = -100;
  args[FD_A.TYPE] = FDT.FILE;
  return eventFrame({ kind: K.OPENAT, pid, ppid, res: fd, syscall: 257, args, strs: ['data.db', '/srv'], ...o });
}
const SHARED = ['proc', 'user', 'group', 'container', 'ns', 'cgroup'] as const;

test('a rebuilt process view keeps each sub-object whose content did not change, and replaces the ones that did', () => {
  const core = hostFreeCore();
  const at = (f: Buffer): VigilEvent => {
    const n = core.events.length;
    core.decoder.push(f);
    assert.equal(core.events.length, n + 1);
    return core.events[n]!;
  };
  const ids = { netns: 4026531840, mntns: 4026531841, pidns: 4026531836, cgroupId: 77n };
  at(execFrame(700, 1, ['server', '--port', '80'], ids));
  const child = at(execFrame(900, 700, ['worker'], ids));
  const o1 = at(openFrame(700, 1, 3, ids));
  const c1 = at(openFrame(900, 700, 3, ids));
  const o2 = at(openFrame(700, 1, 4, ids));
  for (const k of SHARED) assert.equal(o2[k], o1[k], `${k}: same view, no rebuild`);

  // an exec of an unrelated process invalidates every view (ancestry may change): rebuilt, same content, same objects
  at(execFrame(800, 1, ['other'], ids));
  const o3 = at(openFrame(700, 1, 5, ids));
  for (const k of SHARED) assert.equal(o3[k], o1[k], `${k}: rebuilt with the same content keeps the object`);
  const c2 = at(openFrame(900, 700, 4, ids));
  for (const k of SHARED) assert.equal(c2[k], c1[k], `child ${k}`);

  // a setuid changes the user part only
  const setuidArgs = new Array<number>(NARGS).fill(0);
  setuidArgs[A.SETUID.uid] = 1000;
  at(eventFrame({ kind: K.SETUID, pid: 700, ppid: 1, res: 0, args: setuidArgs, uid: 1000, ...ids }));
  const o4 = at(openFrame(700, 1, 6, { uid: 1000, ...ids }));
  assert.notEqual(o4.user, o1.user);
  assert.deepEqual([o4.user.uid, o4.user.name], [1000, 'dev']);
  for (const k of ['proc', 'group', 'container', 'ns', 'cgroup'] as const) assert.equal(o4[k], o1[k], `${k} unchanged by setuid`);

  // the parent execs something else: the child's ancestry fields change, so does its proc object
  at(execFrame(700, 1, ['replaced'], ids));
  const c3 = at(openFrame(900, 700, 5, ids));
  assert.notEqual(c3.proc, c1.proc);
  assert.equal(c3.proc.pname, 'replaced');
  assert.equal(c1.proc.pname, 'server', 'an earlier event is never changed');
  for (const k of ['user', 'group', 'container', 'ns', 'cgroup'] as const) assert.equal(c3[k], c1[k], `child ${k} unchanged`);

  // a move to another cgroup: the cgroup part only
  const c4 = at(openFrame(900, 700, 6, { ...ids, cgroupId: 78n }));
  assert.notEqual(c4.cgroup, c1.cgroup);
  assert.deepEqual(c4.cgroup, { id: '78' });
  assert.equal(c4.proc, c3.proc);
  assert.equal(child.proc.pid, 900);
  // and every event still serialises as JSON.stringify does
  for (const ev of core.events) assert.equal(eventToJson(ev), JSON.stringify(ev as FieldTree));
});
