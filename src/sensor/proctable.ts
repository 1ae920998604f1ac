// Process table: every live process (thread group) on the node, seeded from /proc at start and
// kept by exec/clone/procexit events. Gives each event its process fields, a node-unique exec id
// and its ancestry; threads resolve to their process (events carry the tgid). Each process also
// owns its fd table. Exited processes stay for a grace period so late events and their children
// still resolve; the table is bounded and counts evictions.
// Retention (docs/architecture.md, "Process state retention"): at most `maxSize` processes (oldest
// exited first, else the oldest entry, evicted at the limit); an exited process stays `graceMs`
// after its exit event; a process whose exit was never seen (a dropped record) is found dead by
// the liveness audit and then leaves like an exited one; each fd table keeps at most `maxFds`
// descriptors. An ancestor is only ever a process that started before its child: a pid that now
// names a younger process (recycled) ends the ancestry there, counted, instead of a wrong parent.
import { existsSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { redactString } from '../common/redact.ts';
import type { FdInfo } from './kinds.ts';
import type { ContainerInfo } from './container.ts';

export interface Proc {
  pid: number;
  ppid: number;
  name: string; // comm
  exepath: string;
  exe: string; // argv[0]
  args: string[]; // argv[1..]
  argsTruncated: boolean;
  cwd: string;
  tty: number;
  sid: number;
  pgid: number;
  vpid: number;
  uid: number;
  gid: number;
  euid: number;
  loginuid: number;
  capEff: number;
  capPrm: number;
  capInh: number;
  startNs: bigint; // ns since boot
  execNs: bigint; // ns since boot of the last exec (start for never-exec'd forks)
  execId: string;
  exeIno?: number | string; // a string beyond 2^53 (exact digits)
  exeCtime?: bigint; // ns epoch
  exeMtime?: bigint;
  exeFromMemfd?: boolean;
  exeUpperLayer?: boolean;
  exeWritable?: boolean;
  /** environment (NAME=value, credentials redacted), when captured (proc.env) */
  env?: string[];
  envTruncated?: boolean;
  mntns: number;
  container?: ContainerInfo;
  fds: Map<number, FdInfo>;
  exitedAt?: number; // Date.now() when it exited
  /** built from an event alone (its process record was missing): startNs is that event's time */
  partial?: boolean;
  seeded?: boolean; // came from /proc, not from an exec event
  /** bumped when the process's own identity changes (set*id, capset); invalidates `view` */
  gen?: number;
  /** enrichment cache: the shared field objects of this process (see Enricher.view) */
  view?: unknown;
}

/**
 * The captured environment block (NAME=value, NUL separated) as a list, credentials redacted at
 * capture: values of secret-looking variables never reach rules, outputs, the spool or the wire.
 */
export function splitEnv(raw: string): string[] {
  const out = nulList(raw);
  for (let i = 0; i < out.length; i++) out[i] = redactString(out[i]!);
  return out;
}

/** A NUL-separated block (/proc/PID/cmdline, environ) as a list, without the final empty item. */
function nulList(raw: string): string[] {
  const out = raw.split('\0');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

const CLK_TCK = 100n;
const HZ_NS = 1_000_000_000n / CLK_TCK;

export function makeExecId(pid: number, execNs: bigint): string {
  return `${pid.toString(16)}-${execNs.toString(16)}`;
}

function parseStat(s: string): { comm: string; ppid: number; pgid: number; sid: number; tty: number; start: bigint } | undefined {
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const comm = s.slice(open + 1, close);
  const f = s.slice(close + 2).split(' ');
  // f[0] = state (field 3); ppid is field 4 → f[1]; pgrp 5 → f[2]; session 6 → f[3]; tty_nr 7 → f[4]; starttime 22 → f[19]
  return { comm, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), tty: Number(f[4]), start: BigInt(f[19] ?? '0') * HZ_NS };
}

function capHex(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s*([0-9a-f]+)`, 'm').exec(status);
  return m ? parseInt(m[1]!, 16) : 0;
}

function idField(status: string, key: string, idx: number): number {
  const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status);
  if (!m) return 0;
  return Number(m[1]!.trim().split(/\s+/)[idx] ?? 0);
}

export interface ProcTableStats {
  size: number;
  seeded: number;
  fromProc: number; // processes read lazily from /proc
  evicted: number; // dropped at the size limit
  missing: number; // processes whose record was nowhere (evicted, never seen): built from their event alone
}

/** The retention counters of the table (vigil status .retention.procTable, /metrics). */
export interface ProcRetentionStats {
  maxSize: number;
  graceMs: number;
  maxFds: number;
  /** exited processes dropped after the grace period */
  expired: number;
  /** live-looking processes found gone by the liveness audit (their exit record was lost) */
  vanished: number;
  /** ancestors refused: the parent pid named a process younger than the child (a recycled pid) */
  pidReused: number;
  /** fd table entries dropped because a process's table was full (oldest first) */
  fdsDropped: number;
}

/** Slack when comparing start times: /proc gives them in clock ticks, events in nanoseconds. */
const START_SLACK_NS = 1_000_000_000n / 100n;

/**
 * A process's fd table: a Map that keeps at most `max` descriptors; adding one more drops the
 * oldest entry and counts it.
 */
export class FdTable extends Map<number, FdInfo> {
  constructor(
    private readonly max: number,
    private readonly stats: ProcRetentionStats,
    from?: Map<number, FdInfo>,
  ) {
    super();
    if (from) for (const [k, v] of from) this.set(k, v);
  }

  override set(fd: number, info: FdInfo): this {
    if (this.size >= this.max && !this.has(fd)) {
      const first = this.keys().next();
      if (!first.done) {
        this.delete(first.value);
        this.stats.fdsDropped++;
      }
    }
    return super.set(fd, info);
  }
}

/** Processes kept at most (live and exited): see the retention section of docs/architecture.md. */
export const DEFAULT_MAX_PROCS = 65536;
/** How long an exited process stays for late events and its children's ancestry. */
export const DEFAULT_GRACE_MS = 5000;
/** Descriptors kept per process. */
export const DEFAULT_MAX_FDS = 1024;

export class ProcTable {
  readonly procs = new Map<number, Proc>();
  readonly maxSize: number;
  stats: ProcTableStats = { size: 0, seeded: 0, fromProc: 0, evicted: 0, missing: 0 };
  readonly retention: ProcRetentionStats;
  private readonly graceMs: number;
  private readonly maxFds: number;

  /** environment bytes read for processes first seen through /proc (0: none; the exec hook's env_max) */
  private envMax = 0;

  /**
   * Sets how much environment to capture (the exec hook's env_max); when it goes from none to
   * some, the processes already read from /proc get theirs.
   */
  setEnvMax(n: number): void {
    const was = this.envMax;
    this.envMax = n;
    if (n > 0 && was === 0) for (const p of this.procs.values()) if (p.seeded && !p.env) this.readEnv(p);
  }

  /** Reads /proc/PID/environ into a process first seen through /proc (up to envMax bytes). */
  private readEnv(p: Proc): void {
    if (this.envMax <= 0) return;
    try {
      const raw = readFileSync(`${this.procRoot}/${p.pid}/environ`, 'latin1');
      const env = splitEnv(Buffer.from(raw.slice(0, this.envMax), 'latin1').toString('utf8'));
      if (raw.length > this.envMax) p.envTruncated = true; // the last variable is cut, as from the kernel
      p.env = env;
    } catch {}
  }

  /** where processes are read from: /proc, or another directory (tests independent of the host) */
  private readonly procRoot: string;

  constructor(opts: { maxSize?: number; graceMs?: number; maxFds?: number; procRoot?: string } = {}) {
    this.maxSize = opts.maxSize ?? DEFAULT_MAX_PROCS;
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.maxFds = opts.maxFds ?? DEFAULT_MAX_FDS;
    this.procRoot = opts.procRoot ?? '/proc';
    this.retention = { maxSize: this.maxSize, graceMs: this.graceMs, maxFds: this.maxFds, expired: 0, vanished: 0, pidReused: 0, fdsDropped: 0 };
  }

  /** Reads one process from /proc; undefined when it is gone. */
  readProc(pid: number): Proc | undefined {
    try {
      const st = parseStat(readFileSync(`${this.procRoot}/${pid}/stat`, 'utf8'));
      if (!st) return undefined;
      const status = readFileSync(`${this.procRoot}/${pid}/status`, 'utf8');
      let argv: string[] = [];
      try {
        argv = nulList(readFileSync(`${this.procRoot}/${pid}/cmdline`, 'utf8'));
      } catch {}
      let exepath = '';
      let cwd = '';
      try {
        exepath = readlinkSync(`${this.procRoot}/${pid}/exe`);
      } catch {}
      try {
        cwd = readlinkSync(`${this.procRoot}/${pid}/cwd`);
      } catch {}
      let loginuid = 0xffffffff;
      try {
        loginuid = Number(readFileSync(`${this.procRoot}/${pid}/loginuid`, 'utf8'));
      } catch {}
      let mntns = 0;
      try {
        const l = readlinkSync(`${this.procRoot}/${pid}/ns/mnt`);
        mntns = Number(/\[(\d+)\]/.exec(l)?.[1] ?? 0);
      } catch {}
      const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      const p: Proc = {
        pid,
        ppid: st.ppid,
        name: st.comm,
        exepath,
        exe: argv[0] ?? st.comm,
        args: argv.slice(1),
        argsTruncated: false,
        cwd,
        tty: st.tty,
        sid: st.sid,
        pgid: st.pgid,
        vpid: Number(nspid?.[nspid.length - 1] ?? pid),
        uid: idField(status, 'Uid', 0),
        euid: idField(status, 'Uid', 1),
        gid: idField(status, 'Gid', 0),
        loginuid,
        capEff: capHex(status, 'CapEff'),
        capPrm: capHex(status, 'CapPrm'),
        capInh: capHex(status, 'CapInh'),
        startNs: st.start,
        execNs: st.start,
        execId: makeExecId(pid, st.start),
        mntns,
        fds: new Map(),
        seeded: true,
      };
      this.readEnv(p);
      return p;
    } catch {
      return undefined;
    }
  }

  /** Seeds the table from every process in /proc. */
  seed(): number {
    let n = 0;
    for (const ent of readdirSync(this.procRoot)) {
      const pid = Number(ent);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const p = this.readProc(pid);
      if (p) {
        this.set(p);
        n++;
      }
    }
    this.stats.seeded = n;
    return n;
  }

  set(p: Proc): void {
    if (!(p.fds instanceof FdTable)) p.fds = new FdTable(this.maxFds, this.retention, p.fds);
    if (!this.procs.has(p.pid) && this.procs.size >= this.maxSize) this.evict();
    this.procs.set(p.pid, p);
    this.stats.size = this.procs.size;
  }

  get(pid: number): Proc | undefined {
    return this.procs.get(pid);
  }

  /** The process, from the table or lazily from /proc. */
  lookup(pid: number): Proc | undefined {
    let p = this.procs.get(pid);
    if (p) return p;
    p = this.readProc(pid);
    if (p) {
      this.stats.fromProc++;
      this.set(p);
    }
    return p;
  }

  /**
   * Counts a process record that was nowhere (evicted, or its fork never seen) and marks the
   * stand-in built from its event alone.
   */
  noteMissing(p: Proc): Proc {
    this.stats.missing++;
    p.partial = true;
    return p;
  }

  /**
   * Whether `older` can be a process that existed when `p` did (its parent, its session or group
   * leader): it started before `p` (within the tick of /proc's start times). For a stand-in built
   * from an event alone, its start is that event's time, so the test still holds.
   */
  private predates(older: Proc, p: Proc): boolean {
    return older.startNs <= p.startNs + START_SLACK_NS;
  }

  /**
   * The process `pid` as the leader of `p`'s session or process group: undefined when the pid is
   * unknown or now names a process younger than `p` (a recycled pid).
   */
  leaderOf(pid: number, p: Proc): Proc | undefined {
    const l = this.procs.get(pid);
    return l && this.predates(l, p) ? l : undefined;
  }

  /**
   * Ancestors nearest first, starting at the parent (at most `depth`). The chain ends at a parent
   * that is nowhere, and at a pid that now names a process younger than its child (the parent
   * exited and its pid was recycled: counted in retention.pidReused, never shown as the parent).
   */
  ancestors(p: Proc, depth = 16): Proc[] {
    const out: Proc[] = [];
    let cur = p;
    const seen = new Set<number>([p.pid]);
    while (out.length < depth && cur.ppid > 0) {
      if (seen.has(cur.ppid)) break;
      const parent = this.lookup(cur.ppid);
      if (!parent) break;
      if (!this.predates(parent, cur)) {
        this.retention.pidReused++;
        break;
      }
      out.push(parent);
      seen.add(parent.pid);
      cur = parent;
    }
    return out;
  }

  markExited(pid: number): void {
    const p = this.procs.get(pid);
    if (p) p.exitedAt = Date.now();
  }

  /**
   * Drops processes that exited more than the grace period ago; those still in their grace period
   * release their cached field objects (a late event builds them again).
   */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const [pid, p] of this.procs) {
      if (p.exitedAt === undefined) continue;
      if (now - p.exitedAt > this.graceMs) {
        this.procs.delete(pid);
        n++;
      } else if (p.view !== undefined) p.view = undefined;
    }
    this.retention.expired += n;
    this.stats.size = this.procs.size;
    return n;
  }

  /** where the liveness audit goes on (the table's live iterator; restarted when done) */
  private auditAt: MapIterator<[number, Proc]> | undefined;

  /**
   * Liveness audit: checks up to `max` processes not marked exited (continuing where the last call
   * stopped) and marks exited those whose /proc entry is gone: their exit record was lost (a full
   * ring buffer drops it like any other), so without this they would stay until evicted at the
   * size limit. Returns how many it found gone.
   */
  audit(max = 2000, now = Date.now()): number {
    let found = 0;
    for (let i = 0; i < max; i++) {
      let it = this.auditAt?.next();
      if (!it || it.done) {
        if (i > 0 || this.procs.size === 0) break; // one full pass per call at most
        this.auditAt = this.procs.entries();
        it = this.auditAt.next();
        if (it.done) break;
      }
      const [pid, p] = it.value;
      if (p.exitedAt !== undefined) continue;
      if (!existsSync(`${this.procRoot}/${pid}`)) {
        p.exitedAt = now;
        this.retention.vanished++;
        found++;
      }
    }
    return found;
  }

  private evict(): void {
    // oldest exited first, else the oldest entry
    for (const [pid, p] of this.procs) {
      if (p.exitedAt !== undefined) {
        this.procs.delete(pid);
        this.stats.evicted++;
        return;
      }
    }
    const first = this.procs.keys().next();
    if (!first.done) {
      this.procs.delete(first.value);
      this.stats.evicted++;
    }
  }
}
