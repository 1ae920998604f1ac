// Compact events (src/wire/compact.ts): an event written with its process objects replaced by record
// ids expands back to exactly the JSON text it had, for every recorded event of the sensor fixture
// and for generated events with odd values; a record the reader does not have is left out and named,
// never replaced by another; member scanning accepts PostgreSQL's jsonb spacing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHARED_KEYS,
  capsRecordJson,
  compactEventJson,
  deriveRecordObject,
  deriveRecordText,
  procRecordJson,
  expandEventJson,
  expandEventObject,
  recordRefs,
  topLevelMembers,
} from '../../../src/wire/compact.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';
import { CloseCode, ProtocolError, parseClientFrame } from '../../../src/wire/protocol.ts';

/** A writer's record table: object identity -> id, id -> JSON text. */
function table() {
  const ids = new Map<object, number>();
  const texts = new Map<number, string>();
  let next = 100;
  const caps = new Map<string, number>();
  return {
    ids,
    texts,
    caps: (e: string, p: string, i: string) => {
      const text = capsRecordJson(e, p, i, JSON.stringify);
      let id = caps.get(text);
      if (id === undefined) {
        id = next++;
        caps.set(text, id);
        texts.set(id, text);
      }
      return id;
    },
    ref: (_k: string, o: object) => {
      let id = ids.get(o);
      if (id === undefined) {
        id = next++;
        ids.set(o, id);
        texts.set(id, JSON.stringify(o));
      }
      return id;
    },
  };
}

test('every recorded event expands to exactly its JSON text; process objects travel once', () => {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  const evs = core.events;
  assert.ok(evs.length >= 40, `recorded events: ${evs.length}`);
  const t = table();
  let full = 0;
  let compact = 0;
  for (const ev of evs) {
    const want = JSON.stringify(ev);
    const c = compactEventJson(ev, t.ref, JSON.stringify, t.caps);
    const back = expandEventJson(c, (id) => t.texts.get(id));
    assert.equal(back.missing, 0);
    assert.equal(back.json, want);
    assert.equal(JSON.stringify(expandEventObject(JSON.parse(c), (id) => JSON.parse(t.texts.get(id)!))), want);
    // the references are exactly the shared keys the event has, and its thread's capabilities
    assert.deepEqual(
      recordRefs(c).map((r) => r.key),
      Object.keys(ev)
        .filter((k) => SHARED_KEYS.includes(k) || k === 'thread')
        .map((k) => (k === 'thread' ? 'thread.caps' : k)),
    );
    full += want.length;
    compact += c.length;
  }
  const recBytes = [...t.texts.values()].reduce((a, s) => a + s.length, 0);
  // fewer records than events (the fixture is a burst of short processes), and far fewer bytes
  console.log(`${evs.length} events, ${t.texts.size} records; compact ${compact} + records ${recBytes} bytes vs full ${full}`);
  assert.ok(t.texts.size < evs.length, `${t.texts.size} records for ${evs.length} events`);
  assert.ok((compact + recBytes) * 3 < full, `compact ${compact} + records ${recBytes} vs full ${full}`);
});

/** Deterministic PRNG (mulberry32) so a failure names its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ODD = ['', '"', '\\', '\\"', '}', '{"proc":1}', ',"user":2', '\u0000', '\n\t', 'é', '😀', '\ud800', 'a b', '1', '-0', 'true'];

function genValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (k) {
    case 0:
      return ODD[Math.floor(r() * ODD.length)]! + String(Math.floor(r() * 10));
    case 1:
      return Math.floor((r() - 0.5) * 2 ** 40);
    case 2:
      return r() < 0.5;
    case 3:
      return (r() - 0.5) * 1e6;
    case 4:
      return String(1_700_000_000_000_000_000n + BigInt(Math.floor(r() * 1e9)));
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => genValue(r, depth + 1));
    default:
      return genObject(r, depth + 1);
  }
}
function genObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[['a', 'b.c', 'proc', 'user', 'x y', '"q"', 'name'][Math.floor(r() * 7)]! + i] = genValue(r, depth);
  return o;
}

test('generated events with odd values and shared objects expand exactly (500 seeds)', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const r = rng(seed);
    const pool = Array.from({ length: 3 }, () => genObject(r, 1));
    const t = table();
    for (let i = 0; i < 8; i++) {
      const ev: Record<string, unknown> = { evt: genObject(r, 1) };
      if (r() < 0.6) {
        // arg and rawarg with the same keys, differing in some values (or, sometimes, in a key)
        const evt = ev.evt as Record<string, unknown>;
        const arg = genObject(r, 2);
        const raw: Record<string, unknown> = {};
        for (const k of Object.keys(arg)) raw[k] = r() < 0.5 ? arg[k] : genValue(r, 3);
        if (r() < 0.1) raw.extra = 1;
        evt.arg = arg;
        if (r() < 0.3) evt.mid = genValue(r, 3);
        evt.rawarg = raw;
      }
      for (const k of SHARED_KEYS) if (r() < 0.6) ev[k] = r() < 0.5 ? pool[Math.floor(r() * pool.length)] : genObject(r, 1);
      ev.thread = genObject(r, 1);
      if (r() < 0.3) ev.fd = genObject(r, 1);
      if (r() < 0.5) ev.thread = { tid: Math.floor(r() * 1e6), cap_effective: String(genValue(r, 3)), cap_permitted: 'CAP_CHOWN', cap_inheritable: '' };
      const want = JSON.stringify(ev);
      const c = compactEventJson(ev, t.ref, JSON.stringify, t.caps);
      const back = expandEventJson(c, (id) => t.texts.get(id));
      assert.equal(back.json, want, `seed ${seed} event ${i}`);
      assert.equal(JSON.stringify(expandEventObject(JSON.parse(c), (id) => JSON.parse(t.texts.get(id)!))), want, `seed ${seed} object ${i}`);
    }
  }
});

test('a record the reader lacks is left out and named, never guessed', () => {
  const proc = { pid: 7, name: 'sh' };
  const user = { uid: 0, name: 'root' };
  const ev = { evt: { num: 1, type: 'openat' }, proc, thread: { tid: 7 }, user };
  const ids = new Map<object, number>([
    [proc, 11],
    [user, 12],
  ]);
  const c = compactEventJson(ev, (_k, o) => ids.get(o)!, JSON.stringify);
  assert.equal(c, '{"evt":{"num":1,"type":"openat"},"proc":11,"thread":{"tid":7},"user":12}');
  const back = expandEventJson(c, (id) => (id === 12 ? JSON.stringify(user) : undefined));
  assert.equal(back.missing, 1);
  assert.equal(back.json, '{"evt":{"num":1,"type":"openat"},"thread":{"tid":7},"user":{"uid":0,"name":"root"},"unknown_records":{"proc":11}}');
  // a full event (no references) comes back as it is
  assert.deepEqual(
    expandEventJson(JSON.stringify(ev), () => undefined),
    { json: JSON.stringify(ev), missing: 0 },
  );
});

test('top-level members: jsonb spacing, nesting, strings holding braces; malformed text gives null', () => {
  assert.deepEqual(topLevelMembers('{"evt": {"a": [1, {"b": "}"}]}, "proc": 5, "s": "x\\"y", "n": -1.5e3, "t": true}'), [
    ['evt', '{"a": [1, {"b": "}"}]}'],
    ['proc', '5'],
    ['s', '"x\\"y"'],
    ['n', '-1.5e3'],
    ['t', 'true'],
  ]);
  assert.deepEqual(topLevelMembers('{}'), []);
  assert.equal(topLevelMembers('{"a":1'), null);
  assert.equal(topLevelMembers('[1]'), null);
  assert.equal(topLevelMembers('{"a":1} x'), null);
  assert.deepEqual(recordRefs('{"evt": {"proc": 3}, "proc": 812, "user": {"uid": 0}}'), [{ key: 'proc', id: 812 }]);
});

test('a process record writes cmdline as null where name and args give it, and reads it back exactly', () => {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  let derived = 0;
  const seen = new Set<object>();
  for (const ev of core.events) {
    if (seen.has(ev.proc)) continue;
    seen.add(ev.proc);
    const full = JSON.stringify(ev.proc);
    const rec = procRecordJson(full);
    if (rec !== full) {
      derived++;
      assert.equal((JSON.parse(rec) as { cmdline: unknown }).cmdline, null);
      assert.ok(rec.length < full.length);
    }
    assert.equal(deriveRecordText(rec), full);
    assert.equal(JSON.stringify(deriveRecordObject(JSON.parse(rec))), full);
  }
  assert.ok(derived >= 5 && derived === seen.size, `derived ${derived} of ${seen.size}`);
  // not derivable: kept as it is; no args: the name alone; jsonb spacing on read
  const odd = JSON.stringify({ name: 'sh', args: '-c x', cmdline: 'bash -c x' });
  assert.equal(procRecordJson(odd), odd);
  const bare = JSON.stringify({ pid: 1, name: 'init', args: '', cmdline: 'init', cwd: '/' });
  assert.equal(procRecordJson(bare), '{"pid":1,"name":"init","args":"","cmdline":null,"cwd":"/"}');
  assert.equal(deriveRecordText('{"pid": 1, "name": "a\\"b", "args": "x y", "cmdline": null}'), '{"pid":1,"name":"a\\"b","args":"x y","cmdline":"a\\"b x y"}');
});

test('wire: process record and compact event items are checked; a bad one closes with 4400 naming item and field', () => {
  const batch = (items: unknown[]) =>
    JSON.stringify({ type: 'batch', sensor: 's', first: (items[0] as number[])[0], last: (items[items.length - 1] as number[])[0], items });
  const rec = { t: '1700000000000000000', k: 'proc', v: { pid: 1, name: 'init' } };
  const ev = { evt: { num: 1, type: 'openat' }, proc: 5, thread: { tid: 1, caps: 6 } };
  const ok = parseClientFrame(
    batch([
      [5, 'r', rec],
      [6, 'r', { ...rec, k: 'caps', v: { cap_effective: '' } }],
      [7, 'c', ev],
    ]),
    100,
  );
  assert.equal(ok.type, 'batch');
  const bad = (items: unknown[], msg: RegExp) =>
    assert.throws(
      () => parseClientFrame(batch(items), 100),
      (e: unknown) => e instanceof ProtocolError && e.closeCode === CloseCode.MALFORMED && msg.test(e.message),
    );
  bad([[5, 'r', { ...rec, v: [] }]], /^item 0 \(seq 5\): record "v" must be an object/);
  bad([[5, 'r', { ...rec, t: 17 }]], /record "t" must be a decimal string/);
  bad([[5, 'r', { ...rec, k: 'fd' }]], /record "k" must be one of proc, user, group, container, k8s, ns, cgroup, caps/);
  bad([[7, 'c', { ...ev, proc: 7 }]], /^item 0 \(seq 7\): "proc" must name an earlier record \(a seq below 7\), got 7/);
  bad([[7, 'c', { ...ev, thread: { tid: 1, caps: 'x' } }]], /"thread.caps" must name an earlier record/);
  bad([[7, 'c', { proc: 5 }]], /compact event needs an "evt" object/);
});

test('an object whose record could not be queued (reference 0) stays in the event', () => {
  const ev = { evt: { num: 1 }, proc: { pid: 1 }, thread: { tid: 1, cap_effective: 'A', cap_permitted: '', cap_inheritable: '' } };
  const c = compactEventJson(
    ev,
    () => 0,
    JSON.stringify,
    () => 0,
  );
  assert.equal(c, JSON.stringify(ev));
});
