// Sensor spool: a bounded, append-only, segmented on-disk queue of records (events and alerts)
// waiting to be acknowledged by the server. `append` is synchronous and only touches memory (it
// never waits for disk or network); a flush timer writes pending bytes to the segment files.
//
// Layout (SENSOR_DIR/spool/):
//   seg-<first seq, 16 digits>.log   records, each: u32 len | u32 crc32(rest) | f64 seq | u8 kind (e a c r) | payload
//   state.json                       {"acked": N, "dropped": N, "next": N, "live": N} (tmp + rename)
// Records of one segment have contiguous seqs; only the newest segment may be torn by a crash
// (it is truncated to its last valid record on open). When the spool is over `maxBytes`, whole
// oldest segments are dropped; unacknowledged records dropped that way are counted exactly.
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Kind } from '../wire/protocol.ts';

export const RECORD_HEADER = 17;

interface Segment {
  first: number;
  last: number; // first - 1 when empty
  bytes: number; // including pending bytes
  file: string;
  fd: number | null;
  flushed: number; // bytes on disk
}

export interface SpoolRecord {
  seq: number;
  kind: Kind;
  payload: string; // JSON text
}

export interface SpoolOptions {
  maxBytes: number;
  segmentBytes?: number;
}

interface State {
  acked: number;
  dropped: number;
  next: number;
  live: number; // lowest seq still kept; segments below it are leftovers of a drop
}

function segName(first: number): string {
  return `seg-${String(first).padStart(16, '0')}.log`;
}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private segs: Segment[] = [];
  private pending: { seg: Segment; buf: Buffer }[] = [];
  private toUnlink: Segment[] = [];
  private totalBytes = 0;
  private pendingSize = 0;
  private st: State = { acked: 0, dropped: 0, next: 1, live: 1 };
  private dirty = false;
  private cursor: { seg: Segment; offset: number; next: number } | null = null;
  /** Records dropped while they were sent but not yet acknowledged: [first, last]. */
  private inflightDropped: [number, number][] = [];
  /** Highest seq handed to the network (set by the uplink). */
  sentSeq = 0;

  constructor(dir: string, opts: SpoolOptions) {
    this.dir = path.join(dir, 'spool');
    this.maxBytes = Math.max(4096, opts.maxBytes);
    this.segmentBytes = Math.max(1024, Math.min(opts.segmentBytes ?? 4 * 1024 * 1024, Math.floor(this.maxBytes / 8)));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.recover();
  }

  get acked(): number {
    return this.st.acked;
  }
  get dropped(): number {
    return this.st.dropped;
  }
  get nextSeq(): number {
    return this.st.next;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get lastSeq(): number {
    return this.st.next - 1;
  }
  /** Records not yet acknowledged (including pending ones). */
  get unacked(): number {
    let n = 0;
    for (const s of this.segs) {
      const lo = Math.max(s.first, this.st.acked + 1);
      if (s.last >= lo) n += s.last - lo + 1;
    }
    return n;
  }

  private recover(): void {
    const stFile = path.join(this.dir, 'state.json');
    if (existsSync(stFile)) {
      try {
        const s = JSON.parse(readFileSync(stFile, 'utf8')) as Partial<State>;
        this.st = { acked: s.acked ?? 0, dropped: s.dropped ?? 0, next: s.next ?? 1, live: s.live ?? 1 };
      } catch {
        /* corrupt state: rebuilt from the segments */
      }
    }
    const files = readdirSync(this.dir)
      .filter((f) => /^seg-\d{16}\.log$/.test(f))
      .sort();
    const segs: Segment[] = files.map((f) => ({
      first: Number(f.slice(4, 20)),
      last: 0,
      bytes: statSync(path.join(this.dir, f)).size,
      file: path.join(this.dir, f),
      fd: null,
      flushed: 0,
    }));
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      s.flushed = s.bytes;
      if (i < segs.length - 1) s.last = segs[i + 1]!.first - 1;
      else this.scanLast(s);
    }
    const keep: Segment[] = [];
    for (const s of segs) {
      // Leftovers of dropped segments and fully acknowledged segments are removed.
      if (s.last < this.st.live || s.last <= this.st.acked) {
        try {
          unlinkSync(s.file);
        } catch {
          /* gone */
        }
      } else keep.push(s);
    }
    this.segs = keep;
    this.totalBytes = keep.reduce((a, s) => a + s.bytes, 0);
    const lastSeg = keep[keep.length - 1];
    this.st.next = Math.max(this.st.next, this.st.acked + 1, lastSeg ? lastSeg.last + 1 : 0);
    this.dirty = true;
    this.flush();
  }

  /** Validates the newest segment record by record and cuts a torn tail. */
  private scanLast(s: Segment): void {
    const fd = openSync(s.file, 'r+');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(size);
      if (size) readSync(fd, buf, 0, size, 0);
      let off = 0;
      let last = s.first - 1;
      while (off + RECORD_HEADER <= size) {
        const len = buf.readUInt32LE(off);
        const end = off + RECORD_HEADER + len;
        if (end > size) break;
        if (crc32(buf.subarray(off + 8, end)) !== buf.readUInt32LE(off + 4)) break;
        const seq = buf.readDoubleLE(off + 8);
        if (seq !== last + 1) break;
        last = seq;
        off = end;
      }
      if (off < size) ftruncateSync(fd, off);
      s.last = last;
      s.bytes = s.flushed = off;
    } finally {
      closeSync(fd);
    }
  }

  /** Appends one record; synchronous, memory only. Returns its seq (0 if dropped as oversized). */
  append(kind: Kind, payload: string): number {
    const body = Buffer.from(payload, 'utf8');
    const size = RECORD_HEADER + body.length;
    if (size > this.maxBytes) {
      this.st.dropped++;
      this.st.next++; // the seq is consumed so the count is visible as a gap too
      this.dirty = true;
      return 0;
    }
    let active = this.segs[this.segs.length - 1];
    if (!active || (active.bytes > 0 && active.bytes + size > this.segmentBytes)) {
      active = { first: this.st.next, last: this.st.next - 1, bytes: 0, file: path.join(this.dir, segName(this.st.next)), fd: null, flushed: 0 };
      this.segs.push(active);
    }
    // Make room: drop whole oldest segments (never the active one).
    while (this.totalBytes + size > this.maxBytes && this.segs.length > 1) this.dropOldest();
    const seq = this.st.next++;
    const rec = Buffer.allocUnsafe(size);
    rec.writeUInt32LE(body.length, 0);
    rec.writeDoubleLE(seq, 8);
    rec.writeUInt8(kind.charCodeAt(0), 16); // 'e', 'a', 'c', 'r' or 'g'
    body.copy(rec, RECORD_HEADER);
    rec.writeUInt32LE(crc32(rec.subarray(8)), 4);
    this.pending.push({ seg: active, buf: rec });
    this.pendingSize += size;
    active.bytes += size;
    active.last = seq;
    this.totalBytes += size;
    this.dirty = true;
    return seq;
  }

  private dropOldest(): void {
    const s = this.segs.shift()!;
    this.totalBytes -= s.bytes;
    const lo = Math.max(s.first, this.st.acked + 1);
    if (s.last >= lo) {
      // Records already handed to the network may still be acknowledged; count them when that fails.
      const sentHi = Math.min(s.last, this.sentSeq);
      if (sentHi >= lo) this.inflightDropped.push([lo, sentHi]);
      const unsentLo = Math.max(lo, this.sentSeq + 1);
      if (s.last >= unsentLo) this.st.dropped += s.last - unsentLo + 1;
    }
    this.st.live = s.last + 1;
    if (this.cursor?.seg === s) this.cursor = null;
    this.toUnlink.push(s);
    this.dirty = true;
  }

  /** The connection carrying in-flight records is gone: in-flight records that were dropped are lost. */
  connectionLost(): void {
    for (const [a, b] of this.inflightDropped) {
      const lo = Math.max(a, this.st.acked + 1);
      if (b >= lo) this.st.dropped += b - lo + 1;
    }
    this.inflightDropped = [];
    this.sentSeq = this.st.acked;
    this.cursor = null;
    this.dirty = true;
  }

  /** Everything up to `seq` is stored by the server. */
  ack(seq: number): number {
    if (seq <= this.st.acked) return 0;
    const before = this.unackedUpTo(seq);
    this.st.acked = seq;
    this.inflightDropped = this.inflightDropped.filter(([, b]) => b > seq).map(([a, b]) => [Math.max(a, seq + 1), b]);
    while (this.segs.length > 0) {
      const s = this.segs[0]!;
      if (s.last > seq) break;
      const active = this.segs.length === 1;
      if (active && s.bytes === 0) break;
      this.segs.shift();
      this.totalBytes -= s.bytes;
      if (this.cursor?.seg === s) this.cursor = null;
      this.toUnlink.push(s);
    }
    this.dirty = true;
    return before;
  }

  private unackedUpTo(seq: number): number {
    let n = 0;
    for (const s of this.segs) {
      const lo = Math.max(s.first, this.st.acked + 1);
      const hi = Math.min(s.last, seq);
      if (hi >= lo) n += hi - lo + 1;
    }
    return n;
  }

  /** Writes pending records, removes dropped/acked segments, persists state. Synchronous. */
  flush(): void {
    if (this.pending.length) {
      let i = 0;
      while (i < this.pending.length) {
        const seg = this.pending[i]!.seg;
        const bufs: Buffer[] = [];
        while (i < this.pending.length && this.pending[i]!.seg === seg) bufs.push(this.pending[i++]!.buf);
        if (this.toUnlink.includes(seg)) continue; // dropped before it reached the disk
        if (seg.fd === null) seg.fd = openSync(seg.file, 'a+', 0o600);
        const b = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
        let off = 0;
        while (off < b.length) off += writeSync(seg.fd, b, off, b.length - off);
        seg.flushed += b.length;
      }
      this.pending = [];
      this.pendingSize = 0;
      // Only the newest segment keeps an open fd.
      for (let k = 0; k < this.segs.length - 1; k++) {
        const s = this.segs[k]!;
        if (s.fd !== null) {
          closeSync(s.fd);
          s.fd = null;
        }
      }
    }
    if (this.toUnlink.length) {
      for (const s of this.toUnlink) {
        if (s.fd !== null) {
          closeSync(s.fd);
          s.fd = null;
        }
        try {
          unlinkSync(s.file);
        } catch {
          /* never written */
        }
      }
      this.toUnlink = [];
    }
    if (this.dirty) {
      const f = path.join(this.dir, 'state.json');
      writeFileSync(`${f}.tmp`, JSON.stringify(this.st));
      renameSync(`${f}.tmp`, f);
      this.dirty = false;
    }
  }

  /**
   * Reads the records after `after` (flushed data only; call flush first), up to the limits.
   * A record larger than maxBytes is still returned alone.
   */
  read(after: number, maxItems: number, maxBytes: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    let bytes = 0;
    let c = this.cursor;
    if (!c || c.next !== after + 1 || !this.segs.includes(c.seg)) {
      const seg = this.segs.find((s) => s.last > after && s.flushed > 0);
      if (!seg) return out;
      c = { seg, offset: 0, next: seg.first };
    }
    while (out.length < maxItems) {
      const seg = c.seg;
      if (c.offset >= seg.flushed) {
        const idx = this.segs.indexOf(seg);
        const nextSeg = this.segs[idx + 1];
        if (!nextSeg || seg.flushed < seg.bytes || nextSeg.flushed === 0) break;
        c = { seg: nextSeg, offset: 0, next: nextSeg.first };
        continue;
      }
      const hdr = Buffer.alloc(RECORD_HEADER);
      const fd = seg.fd ?? openSync(seg.file, 'r');
      try {
        readSync(fd, hdr, 0, RECORD_HEADER, c.offset);
        const len = hdr.readUInt32LE(0);
        const seq = hdr.readDoubleLE(8);
        const kind = String.fromCharCode(hdr.readUInt8(16)) as Kind;
        if (seq <= after) {
          c.offset += RECORD_HEADER + len;
          c.next = seq + 1;
          continue;
        }
        if (out.length > 0 && bytes + len > maxBytes) break;
        const body = Buffer.alloc(len);
        readSync(fd, body, 0, len, c.offset + RECORD_HEADER);
        out.push({ seq, kind, payload: body.toString('utf8') });
        bytes += len;
        c.offset += RECORD_HEADER + len;
        c.next = seq + 1;
      } finally {
        if (seg.fd === null) closeSync(fd);
      }
    }
    this.cursor = c;
    return out;
  }

  /** The server already holds seqs up to `seq` (state lost locally): never reuse them. */
  ensureNextAbove(seq: number): boolean {
    if (seq < this.st.next) return false;
    const hadPending = this.unacked > 0;
    this.st.next = seq + 1;
    this.dirty = true;
    return hadPending;
  }

  /** Bytes appended but not yet written to disk. */
  get pendingBytes(): number {
    return this.pendingSize;
  }

  close(): void {
    this.flush();
    for (const s of this.segs) {
      if (s.fd !== null) {
        closeSync(s.fd);
        s.fd = null;
      }
    }
  }
}
