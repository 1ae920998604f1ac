// Decoder: turns the loader's byte stream (framed records, bpf/vigil_abi.h) into RawEvent objects
// and loader records. Pure and synchronous, so tests feed it bytes directly and the sensor feeds
// it pipe chunks. A malformed frame never throws: it is counted and the stream resynchronises on
// the next chunk boundary (the loader writes whole frames, so this only happens on corruption).
import { EV, FRAME, K, NARGS, STR_HDR, STATS, CAPREC } from '../abi/layout.ts';
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

// Offsets copied into module constants once: the hot path reads them per event, and a property
// read through an imported object (a getter under some loaders) costs more than the field read.
const EV_SIZE = EV.size;
const FRAME_SIZE = FRAME.size;
const O_KIND = FRAME.kind;
const O_FLAGS = FRAME.flags;
const O_TS = EV.ts;
const O_CGROUP = EV.cgroup_id;
const O_RES = EV.res;
const O_PID = EV.pid;
const O_TID = EV.tid;
const O_PPID = EV.ppid;
const O_UID = EV.uid;
const O_GID = EV.gid;
const O_EUID = EV.euid;
const O_LOGINUID = EV.loginuid;
const O_CPU = EV.cpu;
const O_PIDNS = EV.pidns;
const O_MNTNS = EV.mntns;
const O_NETNS = EV.netns;
const O_VPID = EV.vpid;
const O_COMM = EV.comm;
const O_NSTR = EV.nstr;
const O_SYSCALL = EV.syscall;
const O_ARGS = EV.args;
const N_ARGS = NARGS;
const HDR = STR_HDR;
const LOADER_BASE = K.LOADER_BASE;
const ZERO = 0n;
const TWO32 = 0x100000000;

function u16(b: Buffer, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Buffer, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}
function i32(b: Buffer, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}
/** the bigints of 0..SMALL-1, shared: most slots hold small values (fds, flags, types, zero) */
const SMALL = 4096;
const SMALL_BIG: bigint[] = Array.from({ length: SMALL }, (_, i) => BigInt(i));
/** unsigned 64-bit little-endian as a bigint, shared for small values */
function u64big(b: Buffer, o: number): bigint {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi === 0) return lo < SMALL ? SMALL_BIG[lo]! : BigInt(lo);
  return b.readBigUInt64LE(o);
}
/** the last cgroup id read and its bigint (consecutive events mostly come from one cgroup) */
let lastCgLo = -1;
let lastCgHi = -1;
let lastCg = ZERO;
function cgroupBig(b: Buffer, o: number): bigint {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (lo !== lastCgLo || hi !== lastCgHi) {
    lastCg = hi === 0 ? BigInt(lo) : b.readBigUInt64LE(o);
    lastCgLo = lo;
    lastCgHi = hi;
  }
  return lastCg;
}

/** Buffer.prototype.latin1Slice (Node's own, what toString('latin1', s, e) ends in, without its argument checks) */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** A string's bytes as a JS string: latin1 when all ASCII (fast), else UTF-8 with U+FFFD for invalid bytes (never throws). */
function decodeString(b: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return b.toString('utf8', start, end);
  return (b as unknown as Latin1Slicer).latin1Slice(start, end);
}

/** A RawEvent to decode into (every field present, in decodeEventInto's order: one object shape). */
export function emptyRawEvent(): RawEvent {
  return {
    kind: 0,
    flags: 0,
    ts: ZERO,
    cgroupId: ZERO,
    res: 0,
    pid: 0,
    tid: 0,
    ppid: 0,
    uid: 0,
    gid: 0,
    euid: 0,
    loginuid: 0,
    cpu: 0,
    pidns: 0,
    mntns: 0,
    netns: 0,
    vpid: 0,
    comm: '',
    syscall: 0,
    args: new Array<number>(N_ARGS).fill(0),
    bigArgs: new Array<bigint>(N_ARGS).fill(ZERO),
    strs: [],
    strFlags: [],
    strBytes: [],
  };
}

export function decodeEvent(buf: Buffer, off: number, len: number): RawEvent | undefined {
  const e = emptyRawEvent();
  return decodeEventInto(buf, off, len, e) ? e : undefined;
}

/**
 * Decodes one event frame into `e`, reusing its arrays (the sensor's decoder hands the same object
 * to its sink for every event: valid during the call only). False when the frame is too short.
 */
export function decodeEventInto(buf: Buffer, off: number, len: number, e: RawEvent): boolean {
  if (len < EV_SIZE) return false;
  const args = e.args;
  const bigArgs = e.bigArgs;
  for (let i = 0, o = off + O_ARGS; i < N_ARGS; i++, o += 8) {
    const lo = u32(buf, o);
    const hi = i32(buf, o + 4);
    args[i] = hi * TWO32 + lo;
    bigArgs[i] = hi === 0 ? (lo < SMALL ? SMALL_BIG[lo]! : BigInt(lo)) : buf.readBigUInt64LE(o);
  }
  let commEnd = off + O_COMM;
  const commMax = commEnd + 16;
  while (commEnd < commMax && buf[commEnd] !== 0) commEnd++;
  const nstr = u16(buf, off + O_NSTR);
  const strs = e.strs;
  const strFlags = e.strFlags;
  const strBytes = e.strBytes;
  strs.length = 0;
  strFlags.length = 0;
  strBytes.length = 0;
  let p = off + EV_SIZE;
  const end = off + len;
  for (let i = 0; i < nstr; i++) {
    if (p + HDR > end) break;
    const slen = u16(buf, p);
    const sflags = u16(buf, p + 2);
    p += HDR;
    const se = Math.min(p + slen, end);
    strBytes.push(buf.subarray(p, se));
    strs.push(decodeString(buf, p, se));
    strFlags.push(sflags);
    p += slen;
  }
  e.kind = u16(buf, off + O_KIND);
  e.flags = u16(buf, off + O_FLAGS);
  e.ts = u64big(buf, off + O_TS);
  e.cgroupId = cgroupBig(buf, off + O_CGROUP);
  e.res = i32(buf, off + O_RES + 4) * TWO32 + u32(buf, off + O_RES);
  e.pid = u32(buf, off + O_PID);
  e.tid = u32(buf, off + O_TID);
  e.ppid = u32(buf, off + O_PPID);
  e.uid = u32(buf, off + O_UID);
  e.gid = u32(buf, off + O_GID);
  e.euid = u32(buf, off + O_EUID);
  e.loginuid = u32(buf, off + O_LOGINUID);
  e.cpu = u32(buf, off + O_CPU);
  e.pidns = u32(buf, off + O_PIDNS);
  e.mntns = u32(buf, off + O_MNTNS);
  e.netns = u32(buf, off + O_NETNS);
  e.vpid = u32(buf, off + O_VPID);
  e.comm = commEnd === off + O_COMM ? '' : decodeString(buf, off + O_COMM, commEnd);
  e.syscall = u16(buf, off + O_SYSCALL);
  return true;
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

  /** With `reuse`, every event is decoded into one RawEvent handed to the sink each time (no
   * allocation per event for the record and its arrays): the sink must not keep it after the call
   * (the sensor's enricher does not; tests that collect events use the default). */
  private readonly reused: RawEvent | undefined;

  constructor(
    private readonly sink: DecoderSink,
    opts: { reuse?: boolean } = {},
  ) {
    this.reused = opts.reuse ? emptyRawEvent() : undefined;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let off = 0;
    const blen = buf.length;
    while (off + FRAME_SIZE <= blen) {
      const len = u32(buf, off);
      if (len < FRAME_SIZE || len > MAX_FRAME) {
        // corrupt stream: drop what we have; the next frame boundary is unknown
        this.malformed++;
        return;
      }
      if (off + len > blen) break;
      this.dispatch(buf, off, len);
      off += len;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  private dispatch(buf: Buffer, off: number, len: number): void {
    const kind = u16(buf, off + O_KIND);
    if (kind < LOADER_BASE) {
      const e = this.reused ?? emptyRawEvent();
      if (!decodeEventInto(buf, off, len, e)) {
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
