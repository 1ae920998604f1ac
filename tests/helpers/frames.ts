// Test helper for the kernel-free tests of the sensor core (tests/unit/sensor): the recorded frames
// of tests/fixtures/frames (see record.ts there), frames built byte-exactly with the ABI mirror
// (src/abi/layout.ts) for the cases a recording cannot make on demand, and a sensor core (decoder,
// process table, enricher) that reads nothing from the host: no /proc, no /etc/passwd, no cgroup
// hierarchy, no container runtime state.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EV, FRAME, K, NARGS, STR_HDR } from '../../src/abi/layout.ts';
import { FrameDecoder, emptyRawEvent, type CapRecord, type LoaderStats } from '../../src/sensor/decoder.ts';
import { Enricher } from '../../src/sensor/enrich.ts';
import { ProcTable } from '../../src/sensor/proctable.ts';
import { CgroupIndex, ContainerResolver, type ContainerInfo } from '../../src/sensor/container.ts';
import { UserDb } from '../../src/sensor/users.ts';
import type { RawEvent } from '../../src/sensor/kinds.ts';
import type { VigilEvent } from '../../src/abi/event.ts';

export const FIXTURE_DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'frames');

export interface FixtureMeta {
  dir: string;
  shPid: number;
  pids: number[];
  frames: number;
  bytes: number;
  framesByKind: Record<string, number>;
  hooks: string[];
}

/** The recorded workload: raw frame bytes and what the recorder noted about them. */
export function recorded(): { bytes: Buffer; meta: FixtureMeta } {
  return {
    bytes: readFileSync(path.join(FIXTURE_DIR, 'workload.bin')),
    meta: JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'workload.json'), 'utf8')) as FixtureMeta,
  };
}

/** Everything a FrameDecoder hands to its sink, in order. */
export type Rec =
  | { t: 'event'; e: RawEvent }
  | { t: 'hello'; text: string }
  | { t: 'stats'; s: LoaderStats }
  | { t: 'caps'; recs: CapRecord[] }
  | { t: 'decision'; json: string }
  | { t: 'reply'; text: string }
  | { t: 'log'; text: string };

export function collectingDecoder(): { decoder: FrameDecoder; recs: Rec[] } {
  const recs: Rec[] = [];
  const decoder = new FrameDecoder({
    event: (e) => recs.push({ t: 'event', e }),
    hello: (text) => recs.push({ t: 'hello', text }),
    stats: (s) => recs.push({ t: 'stats', s }),
    caps: (r) => recs.push({ t: 'caps', recs: r }),
    decision: (json) => recs.push({ t: 'decision', json }),
    reply: (text) => recs.push({ t: 'reply', text }),
    log: (text) => recs.push({ t: 'log', text }),
  });
  return { decoder, recs };
}

export function decodeAll(bytes: Buffer): RawEvent[] {
  const { decoder, recs } = collectingDecoder();
  decoder.push(bytes);
  return recs.flatMap((r) => (r.t === 'event' ? [r.e] : []));
}

/** One event record as the kernel writes it (struct vgl_event, then its strings). */
export interface EventSpec {
  kind: number;
  flags?: number;
  ts?: bigint;
  cgroupId?: bigint;
  res?: number;
  pid: number;
  tid?: number;
  ppid?: number;
  uid?: number;
  gid?: number;
  euid?: number;
  loginuid?: number;
  cpu?: number;
  pidns?: number;
  mntns?: number;
  netns?: number;
  vpid?: number;
  comm?: string;
  syscall?: number;
  /** up to NARGS signed 64-bit values (bigint for the full unsigned range) */
  args?: (number | bigint)[];
  /** strings as bytes or text, each with its flags (S_TRUNCATED, S_FAULT) */
  strs?: (string | Buffer | { s: string | Buffer; flags: number })[];
}

export function eventFrame(o: EventSpec): Buffer {
  const strs = (o.strs ?? []).map((x) => (typeof x === 'string' || Buffer.isBuffer(x) ? { s: x, flags: 0 } : x));
  const bodies = strs.map((x) => (Buffer.isBuffer(x.s) ? x.s : Buffer.from(x.s)));
  const len = EV.size + bodies.reduce((n, b) => n + STR_HDR + b.length, 0);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, FRAME.len);
  b.writeUInt16LE(o.kind, FRAME.kind);
  b.writeUInt16LE(o.flags ?? 0, FRAME.flags);
  b.writeBigUInt64LE(o.ts ?? 1_000_000_000n, EV.ts);
  b.writeBigUInt64LE(o.cgroupId ?? 0n, EV.cgroup_id);
  b.writeBigInt64LE(BigInt(o.res ?? 0), EV.res);
  b.writeUInt32LE(o.pid, EV.pid);
  b.writeUInt32LE(o.tid ?? o.pid, EV.tid);
  b.writeUInt32LE(o.ppid ?? 1, EV.ppid);
  b.writeUInt32LE(o.uid ?? 0, EV.uid);
  b.writeUInt32LE(o.gid ?? 0, EV.gid);
  b.writeUInt32LE(o.euid ?? o.uid ?? 0, EV.euid);
  b.writeUInt32LE(o.loginuid ?? 0xffffffff, EV.loginuid);
  b.writeUInt32LE(o.cpu ?? 0, EV.cpu);
  b.writeUInt32LE(o.pidns ?? 0, EV.pidns);
  b.writeUInt32LE(o.mntns ?? 0, EV.mntns);
  b.writeUInt32LE(o.netns ?? 0, EV.netns);
  b.writeUInt32LE(o.vpid ?? o.pid, EV.vpid);
  Buffer.from(o.comm ?? '').copy(b, EV.comm, 0, 15);
  b.writeUInt16LE(strs.length, EV.nstr);
  b.writeUInt16LE(o.syscall ?? 0, EV.syscall);
  const args = o.args ?? [];
  if (args.length > NARGS) throw new Error(`${args.length} args (max ${NARGS})`);
  args.forEach((v, i) => {
    b.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)), EV.args + 8 * i);
  });
  let p = EV.size;
  bodies.forEach((body, i) => {
    b.writeUInt16LE(body.length, p);
    b.writeUInt16LE(strs[i]!.flags, p + 2);
    body.copy(b, p + STR_HDR);
    p += STR_HDR + body.length;
  });
  return b;
}

/** A loader record (kind >= K.LOADER_BASE): the frame header and the payload. */
export function loaderFrame(kind: number, payload: Buffer | string): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const b = Buffer.alloc(FRAME.size + body.length);
  b.writeUInt32LE(b.length, FRAME.len);
  b.writeUInt16LE(kind, FRAME.kind);
  body.copy(b, FRAME.size);
  return b;
}

/** User and group names from fixed tables instead of /etc/passwd and /etc/group. */
export class FixedUsers extends UserDb {
  constructor(
    private readonly users: Record<number, [name: string, home: string, shell: string]> = {
      0: ['root', '/root', '/bin/bash'],
      1000: ['dev', '/home/dev', '/bin/sh'],
    },
    private readonly groups: Record<number, string> = { 0: 'root', 1000: 'dev' },
  ) {
    super();
  }
  override userName(uid: number): string | undefined {
    return this.users[uid]?.[0];
  }
  override userHome(uid: number): string | undefined {
    return this.users[uid]?.[1];
  }
  override userShell(uid: number): string | undefined {
    return this.users[uid]?.[2];
  }
  override groupName(gid: number): string | undefined {
    return this.groups[gid];
  }
}

/** No container runtime on this "host": a process's container comes from its parent, else host. */
export class NoProcContainers extends ContainerResolver {
  override forPid(): ContainerInfo | undefined {
    return undefined;
  }
}

/** An empty directory: a /proc, cgroup root or runtime root with nothing in it. */
let empty: string | undefined;
export function emptyDir(): string {
  return (empty ??= mkdtempSync(path.join(os.tmpdir(), 'vigil-empty-')));
}

/** Decoder -> enricher with a process table and container/user lookups that never read the host. */
export function hostFreeCore(opts: { procRoot?: string } = {}): {
  procs: ProcTable;
  enricher: Enricher;
  decoder: FrameDecoder;
  events: VigilEvent[];
  raws: RawEvent[];
} {
  const empty = emptyDir();
  const procs = new ProcTable({ procRoot: opts.procRoot ?? empty });
  const runtime = { runc: [empty], docker: empty, containerdTasks: [empty], crio: empty };
  const enricher = new Enricher(procs, new NoProcContainers(runtime), new FixedUsers(), new CgroupIndex(empty));
  const events: VigilEvent[] = [];
  const raws: RawEvent[] = [];
  const decoder = new FrameDecoder({
    event: (r) => {
      raws.push(r);
      const ev = enricher.build(r);
      if (ev) events.push(ev);
    },
  });
  return { procs, enricher, decoder, events, raws };
}

/** Splits a stream of whole frames into frames (throws on a length that does not fit). */
export function splitFrames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    const len = buf.readUInt32LE(off + FRAME.len);
    if (len < FRAME.size || off + len > buf.length) throw new Error(`bad frame at offset ${off}: length ${len}`);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** A decoded network-decision record (kind 90) with these slots, as the decoder hands it to the kind's decoder. */
export function netDecisionRecord(args: number[], bigArgs: bigint[], cgroupId: bigint, res = -1): RawEvent {
  return { ...emptyRawEvent(), kind: K.NET_DECISION, flags: 4, ts: 1n, cgroupId, res, pid: 1, tid: 1, vpid: 1, comm: 'x', args, bigArgs };
}
