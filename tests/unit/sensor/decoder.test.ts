// FrameDecoder (src/sensor/decoder.ts) without a kernel: the recorded loader stream of
// tests/fixtures/frames (hello, reply, 48 events, stats) decoded whole, byte by byte and split at
// many offsets, with the same result; every record type built byte-exactly with the ABI mirror;
// malformed frames counted, never thrown, and the stream resynchronised on the next chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPREC, EV, FRAME, K, NARGS, STATS, S_FAULT, S_TRUNCATED, F_TRUNCATED } from '../../../src/abi/layout.ts';
import { collectingDecoder, eventFrame, loaderFrame, recorded, splitFrames, type Rec } from '../../helpers/frames.ts';

const { bytes, meta } = recorded();

function decode(chunks: Buffer[]): { recs: Rec[]; malformed: number; events: number } {
  const { decoder, recs } = collectingDecoder();
  for (const c of chunks) decoder.push(c);
  return { recs, malformed: decoder.malformed, events: decoder.events };
}

test('recorded stream: hello, reply, every event and the stats record, nothing malformed', () => {
  const { recs, malformed, events } = decode([bytes]);
  assert.equal(malformed, 0);
  assert.equal(recs.length, meta.frames);
  assert.equal(events, meta.frames - 3);
  assert.equal(bytes.length, meta.bytes);
  const hello = recs[0]!;
  assert.equal(hello.t, 'hello');
  assert.match(hello.t === 'hello' ? hello.text : '', /^abi=2 ncpu=\d+ lsm=\d fanotify=\d pid=\d+ boot_offset_ns=\d+ host_mntns=\d+ /);
  assert.deepEqual(recs[1], { t: 'reply', text: '1 ok ' });
  const stats = recs.at(-1)!;
  assert.equal(stats.t, 'stats');
  if (stats.t === 'stats') {
    for (const a of [stats.s.seen, stats.s.filtered, stats.s.emitted, stats.s.dropped]) assert.equal(a.length, K.MAX);
    assert.ok(stats.s.ncpu >= 1);
    assert.ok(stats.s.seen[K.EXECVE]! >= 3 && stats.s.emitted[K.EXECVE]! >= 3, 'the three execs of the workload were counted');
  }
  // the kinds, in the proportions the recorder counted
  const byKind: Record<string, number> = {};
  for (const r of recs) {
    const kind = r.t === 'event' ? r.e.kind : { hello: K.HELLO, reply: K.REPLY, stats: K.STATS }[r.t as 'hello'];
    byKind[kind!] = (byKind[kind!] ?? 0) + 1;
  }
  assert.deepEqual(byKind, meta.framesByKind);
});

test('recorded stream: exact fields of the exec of the workload and of a relative openat', () => {
  const evs = decode([bytes]).recs.flatMap((r) => (r.t === 'event' ? [r.e] : []));
  const [sh, wl, child] = meta.pids;
  const exec = evs.find((e) => e.kind === K.EXECVE && e.pid === wl)!;
  assert.equal(exec.tid, wl);
  assert.equal(exec.ppid, sh);
  assert.equal(exec.comm, 'workload');
  assert.equal(exec.res, 0);
  assert.equal(exec.flags, 0);
  assert.equal(exec.vpid, wl);
  assert.equal(exec.args.length, NARGS);
  assert.equal(exec.bigArgs.length, NARGS);
  assert.deepEqual(exec.strs, [`${meta.dir}/workload`, './workload\0', meta.dir, './workload']);
  assert.deepEqual(exec.strFlags, [0, 0, 0, 0]);
  assert.deepEqual(
    exec.strBytes.map((b) => b.toString()),
    exec.strs,
  );
  const open = evs.find((e) => e.kind === K.OPENAT && e.strs[0] === 'sub/a.txt')!;
  assert.equal(open.pid, wl);
  assert.equal(open.res, 3);
  assert.equal(open.args[0], 3);
  assert.equal(open.args[1], 0xffffff9c, 'AT_FDCWD (-100) as the kernel stores it in a u64 slot');
  assert.equal(open.args[2], 0, 'O_RDONLY');
  assert.deepEqual(open.strs, ['sub/a.txt', meta.dir]);
  const failed = evs.find((e) => e.kind === K.EXECVE_FAILED)!;
  assert.equal(failed.pid, child);
  assert.equal(failed.res, -2);
  assert.equal(failed.args[0], -100);
  assert.deepEqual(failed.strs, ['/nonexistent/nope', '']);
  const badClose = evs.find((e) => e.kind === K.CLOSE && e.res < 0)!;
  assert.equal(badClose.res, -9, 'EBADF');
  assert.equal(badClose.args[0], 4);
});

test('recorded stream: the same records whatever the chunking (byte by byte, at every frame edge, at seeded offsets)', () => {
  const whole = decode([bytes]);
  assert.deepEqual(decode([...bytes].map((b) => Buffer.from([b]))), whole);
  // around every frame boundary, and inside every frame header
  const cuts = new Set<number>();
  let off = 0;
  for (const f of splitFrames(bytes)) {
    for (let d = -3; d <= FRAME.size + 3; d++) if (off + d > 0 && off + d < bytes.length) cuts.add(off + d);
    off += f.length;
  }
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
  for (let i = 0; i < 200; i++) cuts.add(1 + Math.floor(rnd() * (bytes.length - 1)));
  for (const cut of cuts) assert.deepEqual(decode([bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `cut at ${cut}`);
  // three pieces, the middle one empty
  assert.deepEqual(decode([bytes.subarray(0, 1000), Buffer.alloc(0), bytes.subarray(1000)]), whole);
});

test('every record type, built with the ABI mirror', () => {
  // an event with every header field, 64-bit args at the edges, and strings with their flags
  const ev = eventFrame({
    kind: K.OPENAT,
    flags: F_TRUNCATED,
    ts: 0xfedcba9876543210n,
    cgroupId: 0x1122334455667788n,
    res: -13,
    pid: 4001,
    tid: 4002,
    ppid: 4000,
    uid: 1000,
    gid: 1001,
    euid: 0,
    loginuid: 0xffffffff,
    cpu: 1,
    pidns: 4026531836,
    mntns: 4026531841,
    netns: 4026531840,
    vpid: 7,
    comm: 'fifteen-chars-x', // TASK_COMM_LEN - 1: no terminating NUL inside the field
    syscall: 257,
    args: [-1, 2n ** 53n + 1n, 0xffffffffffffffffn, 0x7fffffffffffffffn, 4096],
    strs: ['/etc/shadow', { s: 'päth', flags: S_TRUNCATED }, { s: Buffer.from([0x66, 0xff, 0x6f]), flags: S_FAULT }, ''],
  });
  const hello = loaderFrame(K.HELLO, 'abi=2 ncpu=2 lsm=0 fanotify=1 pid=1 boot_offset_ns=5 host_mntns=4026531841 enforce=0');
  const st = Buffer.alloc(STATS.size);
  st.writeBigUInt64LE(7n, STATS.ringbuf_drops);
  st.writeBigUInt64LE(100n, STATS.events_read);
  st.writeBigUInt64LE(20000n, STATS.bytes_read);
  st.writeBigUInt64LE(2n, STATS.ncpu);
  st.writeBigUInt64LE(11n, STATS.seen + 8 * K.OPENAT);
  st.writeBigUInt64LE(5n, STATS.filtered + 8 * K.OPENAT);
  st.writeBigUInt64LE(6n, STATS.emitted + 8 * K.OPENAT);
  st.writeBigUInt64LE(1n, STATS.dropped + 8 * (K.MAX - 1));
  const caps = Buffer.alloc(CAPREC.size * 2 + 5); // a partial trailing record is ignored
  for (const [i, pid] of [4001, 4002].entries()) {
    const o = i * CAPREC.size;
    caps.writeUInt32LE(pid, o + CAPREC.pid);
    caps.writeUInt32LE(21 + i, o + CAPREC.cap);
    caps.writeBigUInt64LE(BigInt(3 + i), o + CAPREC.granted);
    caps.writeBigUInt64LE(BigInt(i), o + CAPREC.denied);
    caps.writeBigUInt64LE(123456789n, o + CAPREC.last_ts);
    caps.writeBigUInt64LE(99n, o + CAPREC.cgroup_id);
    caps.writeUInt32LE(4026531841, o + CAPREC.mntns);
  }
  const stream = Buffer.concat([
    hello,
    ev,
    loaderFrame(K.STATS, st),
    loaderFrame(K.CAPS, caps),
    loaderFrame(K.DECISION, '{"policy":"p","action":"Block"}'),
    loaderFrame(K.REPLY, '7 ok attached 3'),
    loaderFrame(K.LOG, 'warn: ring buffer 90% full'),
  ]);
  const { recs, malformed, events } = decode([stream]);
  assert.equal(malformed, 0);
  assert.equal(events, 1);
  const zeros = new Array(K.MAX).fill(0);
  assert.deepEqual(recs, [
    { t: 'hello', text: 'abi=2 ncpu=2 lsm=0 fanotify=1 pid=1 boot_offset_ns=5 host_mntns=4026531841 enforce=0' },
    {
      t: 'event',
      e: {
        kind: K.OPENAT,
        flags: F_TRUNCATED,
        ts: 0xfedcba9876543210n,
        cgroupId: 0x1122334455667788n,
        res: -13,
        pid: 4001,
        tid: 4002,
        ppid: 4000,
        uid: 1000,
        gid: 1001,
        euid: 0,
        loginuid: 0xffffffff,
        cpu: 1,
        pidns: 4026531836,
        mntns: 4026531841,
        netns: 4026531840,
        vpid: 7,
        comm: 'fifteen-chars-x',
        syscall: 257,
        // signed numbers (exact below 2^53), and the unsigned bigints
        args: [-1, 2 ** 53, -1, 2 ** 63, 4096, 0, 0, 0, 0, 0, 0, 0],
        bigArgs: [2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 63n - 1n, 4096n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
        strs: ['/etc/shadow', 'päth', 'f\ufffdo', ''],
        strFlags: [0, S_TRUNCATED, S_FAULT, 0],
        strBytes: [Buffer.from('/etc/shadow'), Buffer.from('päth'), Buffer.from([0x66, 0xff, 0x6f]), Buffer.alloc(0)],
      },
    },
    {
      t: 'stats',
      s: {
        ringbufDrops: 7,
        eventsRead: 100,
        bytesRead: 20000,
        ncpu: 2,
        seen: zeros.map((z, i) => (i === K.OPENAT ? 11 : z)),
        filtered: zeros.map((z, i) => (i === K.OPENAT ? 5 : z)),
        emitted: zeros.map((z, i) => (i === K.OPENAT ? 6 : z)),
        dropped: zeros.map((z, i) => (i === K.MAX - 1 ? 1 : z)),
      },
    },
    {
      t: 'caps',
      recs: [
        { pid: 4001, cap: 21, granted: 3, denied: 0, lastTs: 123456789n, cgroupId: 99n, mntns: 4026531841 },
        { pid: 4002, cap: 22, granted: 4, denied: 1, lastTs: 123456789n, cgroupId: 99n, mntns: 4026531841 },
      ],
    },
    { t: 'decision', json: '{"policy":"p","action":"Block"}' },
    { t: 'reply', text: '7 ok attached 3' },
    { t: 'log', text: 'warn: ring buffer 90% full' },
  ]);
});

test('strings: a count larger than what the frame holds stops at the frame end; a string cut by the end keeps what is there', () => {
  const f = eventFrame({ kind: K.UNLINKAT, pid: 9, strs: ['/tmp/abcdef'] });
  f.writeUInt16LE(3, EV.nstr); // claims 3 strings, holds 1
  const cut = Buffer.from(f);
  cut.writeUInt16LE(EV.size + 4 + 20, EV.size); // the one string claims 20 bytes, 11 are there
  const { recs, malformed } = decode([f, cut]);
  assert.equal(malformed, 0);
  const [a, b] = recs.map((r) => (r.t === 'event' ? r.e : undefined));
  assert.deepEqual(a!.strs, ['/tmp/abcdef']);
  assert.deepEqual(b!.strs, ['/tmp/abcdef']);
  assert.deepEqual(b!.strFlags, [0]);
});

test('malformed frames are counted, never thrown, and the stream resynchronises', () => {
  const good = eventFrame({ kind: K.CLOSE, pid: 5, res: 0, args: [3] });
  const short = eventFrame({ kind: K.CLOSE, pid: 5 }).subarray(0, EV.size - 8);
  short.writeUInt32LE(short.length, FRAME.len); // a whole frame, too short for an event
  const unknownLoader = loaderFrame(0x80ff, 'x');
  const shortStats = loaderFrame(K.STATS, Buffer.alloc(STATS.size - 8));
  // frame-level problems that leave the boundaries intact: counted, the next frames decode
  const a = collectingDecoder();
  assert.doesNotThrow(() => a.decoder.push(Buffer.concat([short, good, unknownLoader, shortStats, good])));
  assert.equal(a.decoder.malformed, 3);
  assert.equal(a.decoder.events, 2);
  assert.deepEqual(
    a.recs.map((r) => r.t),
    ['event', 'event'],
  );

  // a length below the header size or above 1 MiB: the boundary is lost, the rest of the chunk is
  // dropped; the next chunk (the loader writes whole frames) decodes again
  for (const len of [0, FRAME.size - 1, (1 << 20) + 1]) {
    const bad = Buffer.from(good);
    bad.writeUInt32LE(len, FRAME.len);
    const d = collectingDecoder();
    assert.doesNotThrow(() => d.decoder.push(Buffer.concat([good, bad, good])));
    assert.equal(d.decoder.malformed, 1, `length ${len}`);
    assert.equal(d.decoder.events, 1, `length ${len}: the frame before it decoded, the one after it dropped`);
    d.decoder.push(good);
    assert.equal(d.decoder.events, 2, `length ${len}: resynchronised on the next chunk`);
    assert.equal(d.decoder.malformed, 1);
  }

  // a partial frame at the end of a chunk is not malformed: it waits for the rest
  const p = collectingDecoder();
  p.decoder.push(good.subarray(0, 3));
  p.decoder.push(good.subarray(3, FRAME.size + 1));
  assert.equal(p.decoder.events, 0);
  p.decoder.push(good.subarray(FRAME.size + 1));
  assert.equal(p.decoder.events, 1);
  assert.equal(p.decoder.malformed, 0);
});
