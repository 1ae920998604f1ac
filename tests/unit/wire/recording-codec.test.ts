// Tests of the binary recording codec (src/wire/recording/codec.ts): encode -> decode gives the
// same JSON byte for byte, over generated FieldTree events (fast-check) and over real events (the
// recorded loader frames of tests/fixtures/frames through the decoder and enricher); the records a
// process shares stay shared; a cut or damaged file gives the events of the blocks before the
// damage, then a RecordingError naming the byte offset; crafted payloads (deep nesting, huge
// counts, undefined references) give located errors, never a hang or a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import type { FieldTree, VigilEvent } from '../../../src/abi/event.ts';
import { eventToJson } from '../../../src/sensor/output.ts';
import {
  BLOCK_HEADER_SIZE,
  BlockEncoder,
  decodeRecording,
  encodeRecording,
  endMarker,
  fileHeader,
  HEADER_SIZE,
  RecordingDecoder,
  RecordingError,
} from '../../../src/wire/recording/codec.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';

const json = (evs: readonly unknown[]) => evs.map((e) => JSON.stringify(e));

function realEvents(): VigilEvent[] {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  return core.events;
}

/** Block boundaries of a recording: [offset of the block header, events in it]. */
function blocks(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let p = HEADER_SIZE; p < buf.length; ) {
    const len = buf.readUInt32LE(p);
    if (len === 0) break;
    out.push([p, buf.readUInt32LE(p + 4)]);
    p += BLOCK_HEADER_SIZE + len;
  }
  return out;
}

/** A file of one block holding `payload` (a correct CRC) and `count` events. */
function craft(payload: number[], count = 1): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(BLOCK_HEADER_SIZE);
  h.writeUInt32LE(p.length, 0);
  h.writeUInt32LE(count, 4);
  h.writeUInt32LE(crc32(p), 8);
  return Buffer.concat([fileHeader(), h, p, endMarker()]);
}

function recordingError(fn: () => unknown): RecordingError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecordingError, `expected a RecordingError, got ${String(e)}`);
    assert.equal(e.code, 'VIGIL_E_RECORDING');
    return e;
  }
  assert.fail('no error');
}

// ---- generated events ----

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 6 }), // lone surrogates too
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.bigInt({ min: 0n, max: 10n ** 26n }).map(String), // decimal strings, past the 24 digits the packing takes
  fc.constantFrom('0', '00', '007', '1796352333264153154', '-1', '1e3', ''),
  fc.integer(),
  fc.integer({ min: 0, max: 200 }),
  fc.maxSafeInteger(),
  fc.constantFrom(2 ** 52, -(2 ** 52), 2 ** 53, -0, 0.5, 1e300, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
);
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('name', 'image.repository', '0', '12', '__proto__', 'time', 'pid', 'toString'));
const { tree: anyTree } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(scalar, { maxLength: 5 }), tie('tree')),
  tree: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
}));
const tree = anyTree as fc.Arbitrary<FieldTree>;
const timeStr = fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }).map(String);
const evtArb = fc.record({ num: fc.nat(), time: timeStr, type: fc.constantFrom('openat', 'execve', 'connect'), arg: tree });

/** Events that share process objects (by identity and, in copies, by content), as the enricher does. */
const streamArb = fc
  .record({
    procs: fc.array(fc.record({ proc: tree, user: tree, container: tree }), { minLength: 1, maxLength: 4 }),
    events: fc.array(fc.record({ p: fc.nat(), copy: fc.boolean(), evt: evtArb, thread: tree, fd: fc.option(tree, { nil: undefined }) }), { maxLength: 30 }),
    blockBytes: fc.constantFrom(1, 100, 1000, 1 << 20),
  })
  .map(({ procs, events, blockBytes }) => ({
    blockBytes,
    events: events.map((e) => {
      const p = procs[e.p % procs.length]!;
      const own = e.copy ? (JSON.parse(JSON.stringify(p)) as typeof p) : p;
      const ev: FieldTree = { evt: e.evt, proc: own.proc, thread: e.thread, user: own.user, container: own.container };
      if (e.fd) ev.fd = e.fd;
      return ev;
    }),
  }));

test('property: encode -> decode gives the same JSON, byte for byte (generated events, any block size)', () => {
  fc.assert(
    fc.property(streamArb, ({ events, blockBytes }) => {
      const back = decodeRecording(encodeRecording(events, blockBytes));
      assert.deepEqual(json(back), json(events));
    }),
    { numRuns: 400 },
  );
});

test('property: any FieldTree (nested, dotted and integer-like keys, __proto__) survives as the whole event', () => {
  fc.assert(
    fc.property(fc.array(tree, { maxLength: 8 }), (evs) => {
      assert.deepEqual(json(decodeRecording(encodeRecording(evs))), json(evs));
    }),
    { numRuns: 300 },
  );
});

test('property: a recording decodes the same pushed in chunks of any size, read in batches of any size', () => {
  fc.assert(
    fc.property(streamArb, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 5 }), ({ events, blockBytes }, chunk, batch) => {
      const buf = encodeRecording(events, blockBytes);
      const d = new RecordingDecoder('chunks');
      const out: FieldTree[] = [];
      for (let i = 0; i < buf.length; i += chunk) {
        if (i % 2) d.push(buf.subarray(i, i + chunk), out);
        else {
          d.append(buf.subarray(i, i + chunk));
          while (d.read(out, batch) > 0);
        }
      }
      d.end();
      assert.deepEqual(json(out), json(events));
    }),
    { numRuns: 100 },
  );
});

test('exact values: 64-bit decimal strings, -0, floats, unsafe integers, bigints, null and undefined in arrays', () => {
  const ev = {
    evt: { time: '1796352333264153154', num: 2 ** 53 + 2, neg: -0, f: 0.1, big: 1e21, max: '999999999999999999999999', over: '1000000000000000000000000' },
    a: [1, null, undefined, 'x', true, -5, 2 ** 52],
    b: 12345678901234567890n,
    s: '\ud800 lone \udfff',
  } as unknown as FieldTree;
  const [back] = decodeRecording(encodeRecording([ev, ev]));
  assert.equal(
    JSON.stringify(back, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    JSON.stringify(ev, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
  );
  const e = (back as { evt: FieldTree }).evt;
  assert.ok(Object.is(e.neg, -0));
  assert.equal(e.time, '1796352333264153154');
  assert.equal((back as unknown as { b: bigint }).b, 12345678901234567890n);
});

test('decimal deltas: times that step back, cross a billion and jump far decode exactly', () => {
  const times = [
    '1796352333264153154',
    '1796352333264153153',
    '1796352333999999999',
    '1796352334000000000',
    '5',
    '1796352334000000001',
    '999999999',
    '1000000000',
  ];
  const evs = times.map((t) => ({ evt: { time: t } }));
  assert.deepEqual(json(decodeRecording(encodeRecording(evs))), json(evs));
});

// ---- real events ----

test('recorded workload: every enriched event decodes to exactly its JSON (eventToJson) and shared records stay shared', () => {
  const evs = realEvents();
  assert.ok(evs.length >= 40, `${evs.length} events`);
  const buf = encodeRecording(evs);
  const back = decodeRecording(buf, 'workload') as VigilEvent[];
  assert.equal(back.length, evs.length);
  for (let i = 0; i < evs.length; i++) assert.equal(eventToJson(back[i]!), eventToJson(evs[i]!), `event ${i} (${evs[i]!.evt.type})`);
  // the events of one process view share its objects, in the decoded stream too
  for (let i = 1; i < evs.length; i++) {
    for (const k of ['proc', 'user', 'group', 'container'] as const) {
      if (evs[i]![k] === evs[i - 1]![k]) assert.equal(back[i]![k], back[i - 1]![k], `event ${i}: ${k} shared`);
    }
  }
  const ndjson = evs.reduce((n, e) => n + Buffer.byteLength(eventToJson(e)) + 1, 0);
  assert.ok(buf.length * 8 < ndjson, `binary ${buf.length} bytes vs ndjson ${ndjson}`);
});

test('recorded workload through small blocks: same JSON, each block decodes on its own', () => {
  const evs = realEvents();
  const buf = encodeRecording(evs, 2000);
  const bl = blocks(buf);
  assert.ok(bl.length >= 3, `${bl.length} blocks`);
  assert.deepEqual(json(decodeRecording(buf)), json(evs));
  // a reader may start at any block: header + that block alone
  let before = 0;
  for (const [off, n] of bl) {
    const len = buf.readUInt32LE(off);
    const alone = Buffer.concat([fileHeader(), buf.subarray(off, off + BLOCK_HEADER_SIZE + len), endMarker()]);
    assert.deepEqual(json(decodeRecording(alone)), json(evs.slice(before, before + n)));
    before += n;
  }
});

// ---- damage ----

test('a file cut anywhere: the events of the complete blocks before the cut, then an error at the offset of the cut block', () => {
  const evs = realEvents();
  const buf = encodeRecording(evs, 1500);
  const bl = blocks(buf);
  for (let cut = 0; cut < buf.length; cut += cut < 40 ? 1 : 37) {
    const d = new RecordingDecoder('cut.vgl');
    let out: FieldTree[] = [];
    let err: unknown;
    try {
      out = d.push(buf.subarray(0, cut));
      d.end();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RecordingError, `cut at ${cut}: ${String(err)}`);
    // complete blocks before the cut
    let n = 0;
    let lastEnd = HEADER_SIZE;
    for (const [off, cnt] of bl) {
      const end = off + BLOCK_HEADER_SIZE + buf.readUInt32LE(off);
      if (end <= cut) {
        n += cnt;
        lastEnd = end;
      }
    }
    assert.deepEqual(json(out), json(evs.slice(0, n)), `cut at ${cut}`);
    if (cut >= HEADER_SIZE) assert.equal(err.offset, lastEnd, `cut at ${cut}: ${err.message}`);
    assert.match(err.format(), /^cut\.vgl: byte offset \d+: expected /);
  }
});

test('a damaged byte in a block: CRC error at that block, the blocks before it decoded', () => {
  const evs = realEvents();
  const buf = encodeRecording(evs, 1500);
  const bl = blocks(buf);
  let before = 0;
  for (const [off, n] of bl) {
    const bad = Buffer.from(buf);
    bad[off + BLOCK_HEADER_SIZE + 5]! ^= 0x40;
    const d = new RecordingDecoder('bad.vgl');
    const out: FieldTree[] = [];
    const e = recordingError(() => d.push(bad, out));
    assert.equal(e.offset, off + 8);
    assert.match(e.message, /CRC-32/);
    assert.deepEqual(json(out), json(evs.slice(0, before)));
    before += n;
  }
});

test('header: wrong magic, text, wrong version, empty file, trailing bytes after the end marker', () => {
  const good = encodeRecording([{ a: 1 }]);
  const e1 = recordingError(() => decodeRecording(Buffer.from('{"evt":{}}\n'), 'x.ndjson'));
  assert.equal(e1.offset, 0);
  assert.equal(e1.format(), 'x.ndjson: byte offset 0: expected the recording magic \\x89VGLREC\\n, got byte 0x7b');
  const v2 = Buffer.from(good);
  v2.writeUInt32LE(2, 8);
  const e2 = recordingError(() => decodeRecording(v2));
  assert.equal(e2.offset, 8);
  assert.match(e2.message, /expected format version 1, got version 2/);
  assert.equal(recordingError(() => decodeRecording(Buffer.alloc(0))).offset, 0);
  const e3 = recordingError(() => decodeRecording(Buffer.concat([good, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])])));
  assert.equal(e3.offset, good.length);
  const noEnd = good.subarray(0, good.length - BLOCK_HEADER_SIZE);
  const e4 = recordingError(() => decodeRecording(noEnd));
  assert.equal(e4.offset, noEnd.length);
  assert.match(e4.message, /end marker/);
});

test('crafted payloads: located errors for deep nesting, huge counts, unknown records, shapes and strings, bad tags', () => {
  const P = HEADER_SIZE + BLOCK_HEADER_SIZE; // offset of the first payload byte
  // an object {a: [[[[...]]]]} nested 100 deep
  const deep = [
    11,
    1,
    5,
    1,
    0x61,
    ...Array<number>(100)
      .fill(10)
      .flatMap((t) => [t, 1]),
    0x80,
  ];
  assert.match(recordingError(() => decodeRecording(craft(deep))).message, /nesting of at most 64 levels/);
  // an array claiming 2^40 elements
  const huge = recordingError(() => decodeRecording(craft([11, 1, 5, 1, 0x61, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20])));
  assert.equal(huge.offset, P + 6);
  assert.match(huge.message, /an array length within the block/);
  // a record reference to a record never defined in the block
  const rec = recordingError(() => decodeRecording(craft([11, 1, 5, 4, 0x70, 0x72, 0x6f, 0x63, 14, 3])));
  assert.equal(rec.offset, P + 8);
  assert.match(rec.message, /expected a record defined earlier in the block \(index below 0\), got record 3/);
  // a shape index and a string index never defined
  assert.equal(recordingError(() => decodeRecording(craft([12, 7]))).offset, P + 1);
  assert.match(recordingError(() => decodeRecording(craft([11, 1, 6, 9, 0x80]))).message, /string index below 0, got 9/);
  // an unknown tag, an event that is not an object, bytes left over after the events
  assert.match(recordingError(() => decodeRecording(craft([11, 1, 5, 1, 0x61, 0x7f]))).message, /expected a value tag, got tag 127/);
  assert.match(recordingError(() => decodeRecording(craft([0x81]))).message, /event 1 of 1 of the block \(an object\), got tag 129/);
  assert.match(recordingError(() => decodeRecording(craft([11, 0, 0x80]))).message, /the end of the block after 1 events, got 1 more bytes/);
  // a block header with an impossible count or length
  const f = craft([11, 0], 1);
  f.writeUInt32LE(99, HEADER_SIZE + 4);
  assert.match(recordingError(() => decodeRecording(f)).message, /an event count between 1 and the block length 2, got 99/);
  f.writeUInt32LE(0xffffffff, HEADER_SIZE);
  assert.match(recordingError(() => decodeRecording(f)).message, /a block length of at most/);
});

test('BlockEncoder: an event it cannot encode (a cycle) leaves the block as it was', () => {
  const enc = new BlockEncoder();
  enc.add({ a: 1 });
  const size = enc.size;
  const cyc: FieldTree = { x: {} };
  (cyc.x as FieldTree).self = cyc;
  assert.throws(() => enc.add(cyc), /deeper than 64 levels/);
  assert.equal(enc.size, size);
  assert.equal(enc.events, 1);
  enc.add({ b: 2 });
  const file = Buffer.concat([fileHeader(), enc.takeBlock()!, endMarker()]);
  assert.deepEqual(json(decodeRecording(file)), ['{"a":1}', '{"b":2}']);
});
