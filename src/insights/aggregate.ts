// Insight aggregation: maps one event (a VigilEvent, or the same document as the server parsed it)
// to its (workload, operation, resource) keys with exactly the semantics the stored columns of
// src/store/extract.ts give the insight queries (workload identity of ./workload.ts, the network
// direction and peer, the file operation and path, execs, capabilities, policy decisions, "denied"
// and the policy that decided), and keeps per key: count, denied count, two sums (a capability's
// granted/denied), first and last seen (ns as canonical decimal strings: exact 64-bit, no BigInt per
// event). Used by the sensor (src/uplink: events not shipped raw are aggregated and flushed as wire
// items of kind 'g') and by the server (raw events it stores feed the same aggregate table through
// the same function), so both paths fill the table identically. Bounded: at most `maxKeys` keys;
// `add` reports when the table is full so the owner flushes early (nothing is dropped here).
// Imports only ./workload.ts.
import { workloadOf, type Workload } from './workload.ts';

/** Operations (the `op` column of the aggregate table) and what their resource fields hold:
 * evt: a=workload kind, b=workload name, c=k8s namespace, d=hostname, e=container id (every event)
 * net: a=direction (ingress|egress), b=peer address, port=peer port, c=L4 protocol
 * file: a=path, b=operation (read, write, delete, rename, mkdir, chmod, chown, link, memfd)
 * exec: a=exe path, b=parent exe path
 * cap: a=capability name; s1/s2 = sums of granted/denied
 * policy: a=policy name, b=action, c=rule
 * `pol` (net, file, exec): the policy that decided (denied, or a policy action), else null. */
export type AggOp = 'evt' | 'net' | 'file' | 'exec' | 'cap' | 'policy';
/** The ops, and the length of a row: the wire's validator (src/wire/protocol.ts, which cannot import
 * this layer) keeps its own copy; tests/unit/backend/aggregate.test.ts checks they agree. */
export const AGG_OPS: readonly AggOp[] = ['evt', 'net', 'file', 'exec', 'cap', 'policy'];

/** Time bucket width: keys are kept per bucket of 10^12 ns (1000 s), so retention can drop old
 * aggregates by time; a bucket is the event time's decimal digits without the last 12. */
export const AGG_BUCKET_NS = 1_000_000_000_000n;

/**
 * One aggregate row, the wire form of an aggregate item's `rows` entry and the unit the store merges:
 * [workload_id, bucket, op, a, b, c, d, e, port, pol, n, denied, s1, s2, first_ns, last_ns]
 * (first/last: decimal strings of ns since the epoch).
 */
export type AggRow = [
  string,
  number,
  AggOp,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  number | null,
  string | null,
  number,
  number,
  number,
  number,
  string,
  string,
];
export const AGG_ROW_LEN = 16;

type Obj = Record<string, unknown>;

/** An event document's member as an object (undefined otherwise). Also used by the store's column extraction. */
export function o(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}
/** A scalar member as text (null otherwise). */
export function s(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : null;
}
/** A member as an integer (null otherwise); a bigint beyond 2^53 is rounded (columns that are counts or pids; the document keeps it exact). */
export function n(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

/** ns since the epoch as a canonical decimal string (no leading zeros); null when not an integer. */
export function nsText(v: unknown): string | null {
  if (typeof v === 'string') {
    if (!/^\d{1,19}$/.test(v)) return null;
    if (v.length > 1 && v.charCodeAt(0) === 0x30) {
      const t = v.replace(/^0+/, '');
      return t === '' ? '0' : t;
    }
    return v;
  }
  if (typeof v === 'bigint') return v >= 0n ? v.toString() : null;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.trunc(v)).toString();
  return null;
}

/** a < b for canonical decimal strings. */
export function nsLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

function bucketOf(t: string): number {
  return t.length > 12 ? Number(t.slice(0, t.length - 12)) : 0;
}

const ERR_DENIED = new Set([-1, -13]); // EPERM, EACCES
const WRITE_FLAGS = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/;
const DENY_ACTION = /^block|deny/i;

function fileOp(type: string, arg: Obj | undefined): string | null {
  if (type.startsWith('open')) return WRITE_FLAGS.test(s(arg?.flags) ?? '') ? 'write' : 'read';
  if (type.startsWith('unlink')) return 'delete';
  if (type.startsWith('rename')) return 'rename';
  if (type.startsWith('mkdir')) return 'mkdir';
  if (type.includes('chmod')) return 'chmod';
  if (type.includes('chown')) return 'chown';
  if (type.startsWith('link') || type.startsWith('symlink')) return 'link';
  if (type === 'memfd_create') return 'memfd';
  return null;
}

/** What one event contributes: the fields of its keys (the classification of the insight queries). */
export interface EventFacts {
  time: string;
  workload: { id: string; kind: string; name: string };
  ns: string | null;
  hostname: string | null;
  containerId: string | null;
  denied: boolean;
  /** the policy that decided (denied or a policy action), else null */
  pol: string | null;
  net: { dir: string; peer: string | null; port: number | null; l4: string | null } | null;
  file: { path: string; op: string } | null;
  exec: { exe: string | null; parent: string | null } | null;
  cap: { name: string; granted: number; denied: number } | null;
  policy: { name: string; action: string | null; rule: string | null } | null;
}

/** Workloads already derived, by what workloadOf reads (namespace, pod, container id and name, the
 * pod label podOwner looks at): the pod-name rules are a few regular expressions per event
 * otherwise. Bounded (cleared when full); one cache per hostname. */
export class WorkloadCache {
  private readonly m = new Map<string, Workload>();
  constructor(private readonly max = 4096) {}
  get(ns: string | null, pod: string | null, cid: string | null, cname: string | null, hostname: string | null, labels: Obj | undefined): Workload {
    const inst = labels?.['app.kubernetes.io/instance'];
    const k = `${ks(ns)}\u0000${ks(pod)}\u0000${ks(cid)}\u0000${ks(cname)}\u0000${typeof inst === 'string' ? ks(inst) : ''}`;
    let w = this.m.get(k);
    if (w === undefined) {
      if (this.m.size >= this.max) this.m.clear();
      w = workloadOf(ns ?? undefined, pod ?? undefined, cid ?? undefined, cname ?? undefined, hostname ?? undefined, labels);
      this.m.set(k, w);
    }
    return w;
  }
}

/** Classifies an event (the Vigil event document) seen by the sensor named `hostname` (a cache, when
 * given, must be used with that one hostname only). */
export function eventFacts(ev: Obj, hostname: string | null, cache?: WorkloadCache): EventFacts {
  const evt = o(ev.evt) ?? {};
  const proc = o(ev.proc) ?? {};
  const container = o(ev.container) ?? {};
  const k8s = o(ev.k8s);
  const fd = o(ev.fd);
  const policy = o(ev.policy);
  const arg = o(evt.arg);
  const type = s(evt.type) ?? '';
  const category = s(evt.category);
  const res = n(evt.res);
  const ns = s(o(k8s?.ns)?.name) ?? null;
  const podObj = o(k8s?.pod);
  const pod = s(podObj?.name) ?? null;
  const cid = s(container.id);
  const cname = s(container.name);
  const labels = o(podObj?.labels);
  const w = cache
    ? cache.get(ns, pod, cid, cname, hostname, labels)
    : workloadOf(ns ?? undefined, pod ?? undefined, cid ?? undefined, cname ?? undefined, hostname ?? undefined, labels);
  const policyAction = s(policy?.action);
  const policyName = s(policy?.name);
  const denied = policyAction !== null ? DENY_ACTION.test(policyAction) : res !== null && ERR_DENIED.has(res) && category !== 'process';

  let net: EventFacts['net'] = null;
  if (fd && (type === 'connect' || type === 'sendto' || type === 'sendmsg' || type.startsWith('accept') || type === 'listen' || type === 'bind')) {
    const ingress = type.startsWith('accept') || type === 'listen' || type === 'bind';
    let peer: string | null;
    let port: number | null;
    if (ingress) {
      peer = type.startsWith('accept') ? s(fd.cip) : (s(fd.sip) ?? s(fd.lip));
      port = n(fd.sport) ?? n(fd.lport);
    } else {
      peer = s(fd.sip) ?? s(fd.rip);
      port = n(fd.sport) ?? n(fd.rport);
    }
    if (peer === null && port === null) {
      const name = s(fd.name);
      if (name?.includes('->')) {
        const [c, sv] = name.split('->');
        const pick = ingress && type.startsWith('accept') ? c! : sv!;
        const i = pick.lastIndexOf(':');
        peer = i > 0 ? pick.slice(0, i) : pick;
        port = i > 0 ? n(pick.slice(i + 1)) : null;
      } else {
        peer = name;
      }
    }
    net = { dir: ingress ? 'ingress' : 'egress', peer, port, l4: s(fd.l4proto) };
  }

  let file: EventFacts['file'] = null;
  if (category === 'file' || (fd && (s(fd.type) === 'file' || s(fd.type) === 'directory'))) {
    const op = fileOp(type, arg);
    if (op !== null) {
      const p = s(fd?.name) ?? s(arg?.name) ?? s(arg?.path) ?? s(arg?.filename) ?? s(arg?.oldpath) ?? s(arg?.linkpath);
      if (p !== null) file = { path: p, op };
    }
  }

  let cap: EventFacts['cap'] = null;
  if (type === 'capability') {
    const name = s(arg?.cap);
    if (name !== null) cap = { name, granted: n(arg?.granted) ?? 0, denied: n(arg?.denied) ?? 0 };
  }

  const isExec = type === 'execve' || type === 'execveat';
  return {
    time: nsText(evt.time) ?? (BigInt(Date.now()) * 1_000_000n).toString(),
    workload: w,
    ns,
    hostname,
    containerId: cid,
    denied,
    pol: denied || policyAction !== null ? policyName : null,
    net,
    file,
    exec: isExec ? { exe: s(proc.exepath) ?? s(proc.exe), parent: s(proc.pexepath) ?? s(proc.pname) } : null,
    cap,
    policy: policyName !== null ? { name: policyName, action: policyAction, rule: s(policy?.rule) } : null,
  };
}

/** A nullable field in the Aggregator's map key. */
const ks = (v: string | null): string => (v === null ? '' : `\u0002${v}`);

function enc(v: string | number | null): string {
  if (v === null) return '~';
  const t = typeof v === 'number' ? String(v) : v;
  return t.includes('\\') || t.includes('|') ? `=${t.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')}` : `=${t}`;
}

/**
 * The canonical key text of a row within its (workload, bucket): the op and every resource field,
 * null and '' kept apart. The store's primary key is (workload_id, bucket, k); its SQL backfill from
 * stored events builds the same text (src/store/aggregates.ts: `aggKeySql`).
 */
export function aggKey(r: Readonly<AggRow>): string {
  return `${r[2]}|${enc(r[3])}|${enc(r[4])}|${enc(r[5])}|${enc(r[6])}|${enc(r[7])}|${enc(r[8])}|${enc(r[9])}`;
}

/** Adds row `b` into row `a` (same key): counts and sums added, first = min, last = max. */
export function mergeRow(a: AggRow, b: Readonly<AggRow>): void {
  a[10] += b[10];
  a[11] += b[11];
  a[12] += b[12];
  a[13] += b[13];
  if (nsLess(b[14], a[14])) a[14] = b[14];
  if (nsLess(a[15], b[15])) a[15] = b[15];
}

export interface AggregatorStats {
  /** events added since creation */
  events: number;
  /** keys currently held */
  keys: number;
  /** times the table was full and the owner had to flush early */
  fullFlushes: number;
}

/**
 * Per-key counters of a stream of events. `add` returns false when the event's keys did not all fit
 * (the table holds `maxKeys`): the event is then NOT counted; the owner flushes (`take`) and adds it
 * again, so nothing is lost. `take` returns the rows and empties the table.
 */
export class Aggregator {
  private readonly rows = new Map<string, AggRow>();
  private readonly st: AggregatorStats = { events: 0, keys: 0, fullFlushes: 0 };
  private readonly workloads = new WorkloadCache();

  constructor(
    private readonly hostname: string | null,
    readonly maxKeys = 8192,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  stats(): AggregatorStats {
    return { ...this.st, keys: this.rows.size };
  }

  /** Counts one event; false when the table is full (then nothing of it was counted: flush and retry). */
  add(ev: Obj): boolean {
    return this.addFacts(eventFacts(ev, this.hostname, this.workloads));
  }

  addFacts(f: EventFacts): boolean {
    // at most 5 keys per event (evt + net|file + exec + cap + policy): refuse before touching any
    if (this.rows.size + 5 > this.maxKeys) {
      this.st.fullFlushes++;
      return false;
    }
    // The map key joins the fields with NUL (strings from the kernel and the runtime hold none),
    // null as '' and a string behind \u0002; a known key is counted in place, a row is built only
    // for a new one.
    const t = f.time;
    const d = f.denied ? 1 : 0;
    const pre = `${f.workload.id}\u0000${t.length > 12 ? t.slice(0, t.length - 12) : '0'}\u0000`;
    const pol = f.pol === null ? '' : `\u0002${f.pol}`;
    const w = f.workload;
    if (!this.bump(`${pre}evt\u0000${w.kind}\u0000${w.name}\u0000${ks(f.ns)}\u0000${ks(f.hostname)}\u0000${ks(f.containerId)}`, t, d, 0, 0))
      this.put(f, 'evt', w.kind, w.name, f.ns, f.hostname, f.containerId, null, null, 0, 0);
    if (f.net && !this.bump(`${pre}net\u0000${f.net.dir}\u0000${ks(f.net.peer)}\u0000${ks(f.net.l4)}\u0000${f.net.port ?? ''}\u0000${pol}`, t, d, 0, 0))
      this.put(f, 'net', f.net.dir, f.net.peer, f.net.l4, null, null, f.net.port, f.pol, 0, 0);
    if (f.file && !this.bump(`${pre}file\u0000${f.file.path}\u0000${f.file.op}\u0000${pol}`, t, d, 0, 0))
      this.put(f, 'file', f.file.path, f.file.op, null, null, null, null, f.pol, 0, 0);
    if (f.exec && !this.bump(`${pre}exec\u0000${ks(f.exec.exe)}\u0000${ks(f.exec.parent)}\u0000${pol}`, t, d, 0, 0))
      this.put(f, 'exec', f.exec.exe, f.exec.parent, null, null, null, null, f.pol, 0, 0);
    if (f.cap && !this.bump(`${pre}cap\u0000${f.cap.name}`, t, d, f.cap.granted, f.cap.denied))
      this.put(f, 'cap', f.cap.name, null, null, null, null, null, null, f.cap.granted, f.cap.denied);
    if (f.policy && !this.bump(`${pre}policy\u0000${f.policy.name}\u0000${ks(f.policy.action)}\u0000${ks(f.policy.rule)}`, t, d, 0, 0))
      this.put(f, 'policy', f.policy.name, f.policy.action, f.policy.rule, null, null, null, null, 0, 0);
    this.st.events++;
    return true;
  }

  private lastKey = '';

  /** Counts one more event on a known key; false when the key is new (remembered for `put`). */
  private bump(key: string, t: string, d: number, s1: number, s2: number): boolean {
    const r = this.rows.get(key);
    if (r === undefined) {
      this.lastKey = key;
      return false;
    }
    r[10]++;
    r[11] += d;
    r[12] += s1;
    r[13] += s2;
    if (nsLess(t, r[14])) r[14] = t;
    if (nsLess(r[15], t)) r[15] = t;
    return true;
  }

  /** The row of the key `bump` just found new. */
  private put(
    f: EventFacts,
    op: AggOp,
    a: string | null,
    b: string | null,
    c: string | null,
    d: string | null,
    e: string | null,
    port: number | null,
    pol: string | null,
    s1: number,
    s2: number,
  ): void {
    const t = f.time;
    this.rows.set(this.lastKey, [f.workload.id, bucketOf(t), op, a, b, c, d, e, port, pol, 1, f.denied ? 1 : 0, s1, s2, t, t]);
  }

  /** The rows counted so far (in insertion order); empties the table. */
  take(): AggRow[] {
    const out = [...this.rows.values()];
    this.rows.clear();
    return out;
  }
}

/** Aggregates a list of event documents (the server's path for raw events it stores). */
export function aggregateEvents(events: Iterable<Obj>, hostname: string | null): AggRow[] {
  const a = new Aggregator(hostname, Number.MAX_SAFE_INTEGER);
  for (const e of events) a.add(e);
  return a.take();
}

/** Merges rows by (workload, bucket, key), e.g. the rows of all items of one ingest transaction,
 * sorted by that key (concurrent upserts then lock rows in the same order). */
export function mergeRows(rows: Iterable<Readonly<AggRow>>): { key: string; row: AggRow }[] {
  const m = new Map<string, AggRow>();
  for (const r of rows) {
    const k = `${r[0]}\u0000${String(r[1]).padStart(16, '0')}\u0000${aggKey(r)}`;
    const cur = m.get(k);
    if (cur) mergeRow(cur, r);
    else m.set(k, [...r] as AggRow);
  }
  return [...m].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, row]) => ({ key: aggKey(row), row }));
}
