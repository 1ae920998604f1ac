// FROZEN BASELINE for bench/decode-throughput.ts: src/sensor/decoder.ts as of d23a1e5 (before issue 10's fast
// pipeline), imports rewritten to point into src/. Not used by the product; kept so the bench can measure old
// against new in the same run.
// Decoder: turns the loader's byte stream (framed records, bpf/vigil_abi.h) into RawEvent objects
// and loader records. Pure and synchronous, so tests feed it bytes directly and the sensor feeds
// it pipe chunks. A malformed frame never throws: it is counted and the stream resynchronises on
// the next chunk boundary (the loader writes whole frames, so this only happens on corruption).
import { EV, FRAME, K, NARGS, STR_HDR, STATS, CAPREC } from '../../src/abi/layout.ts';
import type { RawEvent } from './kinds.ts';

export interface LoaderStats {
  ringbufDrops: number;
  eventsRead: number;
  bytesRead: number;
  ncpu: number;
  seen: number[];
  filtered: number[];
  emitted: number[];
  dropped: number[];
}

export interface CapRecord {
  pid: number;
  cap: number;
  granted: number;
  denied: number;
  lastTs: bigint;
  cgroupId: bigint;
  mntns: number;
}

export interface DecoderSink {
  event(e: RawEvent): void;
  hello?(text: string): void;
  stats?(s: LoaderStats): void;
  caps?(recs: CapRecord[]): void;
  decision?(json: string): void;
  reply?(text: string): void;
  log?(text: string): void;
}

const MAX_FRAME = 1 << 20;

function decodeString(b: Buffer): string {
  // fast path for ASCII; otherwise UTF-8 with U+FFFD for invalid bytes (never throws)
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return b.toString('utf8');
  return b.toString('latin1');
}

export function decodeEvent(buf: Buffer, off: number, len: number): RawEvent | undefined {
  if (len < EV.size) return undefined;
  const args: number[] = new Array(NARGS);
  const bigArgs: bigint[] = new Array(NARGS);
  for (let i = 0; i < NARGS; i++) {
    const o = off + EV.args + 8 * i;
    const lo = buf.readUInt32LE(o);
    const hi = buf.readInt32LE(o + 4);
    args[i] = hi * 0x100000000 + lo;
    bigArgs[i] = buf.readBigUInt64LE(o);
  }
  let commEnd = off + EV.comm;
  const commMax = off + EV.comm + 16;
  while (commEnd < commMax && buf[commEnd] !== 0) commEnd++;
  const nstr = buf.readUInt16LE(off + EV.nstr);
  const strs: string[] = [];
  const strFlags: number[] = [];
  const strBytes: Buffer[] = [];
  let p = off + EV.size;
  const end = off + len;
  for (let i = 0; i < nstr; i++) {
    if (p + STR_HDR > end) break;
    const slen = buf.readUInt16LE(p);
    const sflags = buf.readUInt16LE(p + 2);
    p += STR_HDR;
    const s = buf.subarray(p, Math.min(p + slen, end));
    strBytes.push(s);
    strs.push(decodeString(s));
    strFlags.push(sflags);
    p += slen;
  }
  return {
    kind: buf.readUInt16LE(off + FRAME.kind),
    flags: buf.readUInt16LE(off + FRAME.flags),
    ts: buf.readBigUInt64LE(off + EV.ts),
    cgroupId: buf.readBigUInt64LE(off + EV.cgroup_id),
    res: Number(buf.readBigInt64LE(off + EV.res)),
    pid: buf.readUInt32LE(off + EV.pid),
    tid: buf.readUInt32LE(off + EV.tid),
    ppid: buf.readUInt32LE(off + EV.ppid),
    uid: buf.readUInt32LE(off + EV.uid),
    gid: buf.readUInt32LE(off + EV.gid),
    euid: buf.readUInt32LE(off + EV.euid),
    loginuid: buf.readUInt32LE(off + EV.loginuid),
    cpu: buf.readUInt32LE(off + EV.cpu),
    pidns: buf.readUInt32LE(off + EV.pidns),
    mntns: buf.readUInt32LE(off + EV.mntns),
    netns: buf.readUInt32LE(off + EV.netns),
    vpid: buf.readUInt32LE(off + EV.vpid),
    comm: buf.toString('utf8', off + EV.comm, commEnd),
    syscall: buf.readUInt16LE(off + EV.syscall),
    args,
    bigArgs,
    strs,
    strFlags,
    strBytes,
  };
}

function decodeStats(b: Buffer): LoaderStats {
  const arr = (base: number) => {
    const out: number[] = new Array(K.MAX);
    for (let i = 0; i < K.MAX; i++) out[i] = Number(b.readBigUInt64LE(base + 8 * i));
    return out;
  };
  return {
    ringbufDrops: Number(b.readBigUInt64LE(STATS.ringbuf_drops)),
    eventsRead: Number(b.readBigUInt64LE(STATS.events_read)),
    bytesRead: Number(b.readBigUInt64LE(STATS.bytes_read)),
    ncpu: Number(b.readBigUInt64LE(STATS.ncpu)),
    seen: arr(STATS.seen),
    filtered: arr(STATS.filtered),
    emitted: arr(STATS.emitted),
    dropped: arr(STATS.dropped),
  };
}

function decodeCaps(b: Buffer): CapRecord[] {
  const out: CapRecord[] = [];
  for (let o = 0; o + CAPREC.size <= b.length; o += CAPREC.size) {
    out.push({
      pid: b.readUInt32LE(o + CAPREC.pid),
      cap: b.readUInt32LE(o + CAPREC.cap),
      granted: Number(b.readBigUInt64LE(o + CAPREC.granted)),
      denied: Number(b.readBigUInt64LE(o + CAPREC.denied)),
      lastTs: b.readBigUInt64LE(o + CAPREC.last_ts),
      cgroupId: b.readBigUInt64LE(o + CAPREC.cgroup_id),
      mntns: b.readUInt32LE(o + CAPREC.mntns),
    });
  }
  return out;
}

/** Incremental frame splitter over pipe chunks. */
export class FrameDecoder {
  private pending: Buffer | undefined;
  malformed = 0;
  events = 0;

  constructor(private readonly sink: DecoderSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let off = 0;
    while (off + FRAME.size <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < FRAME.size || len > MAX_FRAME) {
        // corrupt stream: drop what we have; the next frame boundary is unknown
        this.malformed++;
        return;
      }
      if (off + len > buf.length) break;
      this.dispatch(buf, off, len);
      off += len;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  private dispatch(buf: Buffer, off: number, len: number): void {
    const kind = buf.readUInt16LE(off + FRAME.kind);
    if (kind < K.LOADER_BASE) {
      const e = decodeEvent(buf, off, len);
      if (!e) {
        this.malformed++;
        return;
      }
      this.events++;
      this.sink.event(e);
      return;
    }
    const payload = buf.subarray(off + FRAME.size, off + len);
    switch (kind) {
      case K.HELLO:
        this.sink.hello?.(payload.toString());
        break;
      case K.STATS:
        if (payload.length >= STATS.size) this.sink.stats?.(decodeStats(payload));
        else this.malformed++;
        break;
      case K.CAPS:
        this.sink.caps?.(decodeCaps(payload));
        break;
      case K.DECISION:
        this.sink.decision?.(payload.toString());
        break;
      case K.REPLY:
        this.sink.reply?.(payload.toString());
        break;
      case K.LOG:
        this.sink.log?.(payload.toString());
        break;
      default:
        this.malformed++;
    }
  }
}
