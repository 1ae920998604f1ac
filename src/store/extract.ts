// Column extraction: turns an event (Falco-field-shaped JSON) or an alert (Falco json_output) into
// the flat columns the store indexes and filters on. The full object is always kept as JSON next
// to these columns; the columns are only for filtering, ordering and runtime insights.
import { workloadOf } from '../insights/workload.ts';
import { WorkloadCache, eventFacts, n, o, s } from '../insights/aggregate.ts';
import { priorityNum } from '../common/priorities.ts';

type Obj = Record<string, unknown>;

/** ns-since-epoch decimal string -> bigint; null when not a valid integer. */
export function nsOf(v: unknown): bigint | null {
  if (typeof v === 'string' && /^\d{1,19}$/.test(v)) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v; // an integer beyond 2^53 from the exact parser (src/wire/exact-json.ts)
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.trunc(v));
  return null;
}

/** RFC 3339 time with up to 9 fractional digits -> ns since epoch. */
export function rfc3339ToNs(t: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

export interface EventRow {
  sensor_id: string;
  seq: number;
  time_ns: bigint;
  hostname: string | null;
  evt_type: string | null;
  evt_category: string | null;
  evt_res: number | null;
  proc_name: string | null;
  proc_exepath: string | null;
  proc_pexepath: string | null;
  proc_pid: number | null;
  user_name: string | null;
  container_id: string | null;
  container_name: string | null;
  container_image: string | null;
  k8s_ns: string | null;
  k8s_pod: string | null;
  workload_id: string;
  workload_kind: string;
  workload_name: string;
  fd_name: string | null;
  net_dir: string | null;
  peer_addr: string | null;
  peer_port: number | null;
  l4proto: string | null;
  file_path: string | null;
  file_op: string | null;
  cap_name: string | null;
  cap_granted: number | null;
  cap_denied: number | null;
  policy_name: string | null;
  policy_action: string | null;
  policy_rule: string | null;
  denied: boolean;
  data: string;
}

/** Column order of the events table (the DuckDB appender relies on it). */
export const EVENT_COLUMNS: (keyof EventRow)[] = [
  'sensor_id',
  'seq',
  'time_ns',
  'hostname',
  'evt_type',
  'evt_category',
  'evt_res',
  'proc_name',
  'proc_exepath',
  'proc_pexepath',
  'proc_pid',
  'user_name',
  'container_id',
  'container_name',
  'container_image',
  'k8s_ns',
  'k8s_pod',
  'workload_id',
  'workload_kind',
  'workload_name',
  'fd_name',
  'net_dir',
  'peer_addr',
  'peer_port',
  'l4proto',
  'file_path',
  'file_op',
  'cap_name',
  'cap_granted',
  'cap_denied',
  'policy_name',
  'policy_action',
  'policy_rule',
  'denied',
  'data',
];

/** Workload caches per sensor hostname (eventFacts wants one cache per hostname); bounded. */
const workloadCaches = new Map<string | null, WorkloadCache>();
function workloadCache(hostname: string | null): WorkloadCache {
  let c = workloadCaches.get(hostname);
  if (c === undefined) {
    if (workloadCaches.size >= 1024) workloadCaches.clear();
    workloadCaches.set(hostname, (c = new WorkloadCache()));
  }
  return c;
}

/** The columns of a stored event: the insight classification is eventFacts' (src/insights/aggregate.ts),
 * the one the insight aggregates use, so stored rows and aggregates cannot disagree. */
export function eventRow(sensorId: string, hostname: string | null, seq: number, ev: Obj, json: string): EventRow {
  const f = eventFacts(ev, hostname, workloadCache(hostname));
  const evt = o(ev.evt) ?? {};
  const proc = o(ev.proc) ?? {};
  const container = o(ev.container) ?? {};
  const fd = o(ev.fd);
  const policy = o(ev.policy);
  const arg = o(evt.arg);
  const type = s(evt.type) ?? '';
  const isExec = type === 'execve' || type === 'execveat';
  // a capability event without a name still has its counts
  const capless = type === 'capability' && f.cap === null;
  return {
    sensor_id: sensorId,
    seq,
    time_ns: nsOf(evt.time) ?? BigInt(Date.now()) * 1_000_000n,
    hostname,
    evt_type: type || null,
    evt_category: s(evt.category),
    evt_res: n(evt.res),
    proc_name: s(proc.name),
    proc_exepath: s(proc.exepath) ?? s(proc.exe),
    proc_pexepath: isExec ? (s(proc.pexepath) ?? s(proc.pname)) : s(proc.pexepath),
    proc_pid: n(proc.pid),
    user_name: s(o(ev.user)?.name),
    container_id: f.containerId,
    container_name: s(container.name),
    container_image: s(container.image),
    k8s_ns: f.ns,
    k8s_pod: s(o(o(ev.k8s)?.pod)?.name) ?? null,
    workload_id: f.workload.id,
    workload_kind: f.workload.kind,
    workload_name: f.workload.name,
    fd_name: s(fd?.name),
    net_dir: f.net?.dir ?? null,
    peer_addr: f.net?.peer ?? null,
    peer_port: f.net?.port ?? null,
    l4proto: f.net?.l4 ?? null,
    file_path: f.file?.path ?? null,
    file_op: f.file?.op ?? null,
    cap_name: f.cap?.name ?? null,
    cap_granted: f.cap?.granted ?? (capless ? (n(arg?.granted) ?? 0) : null),
    cap_denied: f.cap?.denied ?? (capless ? (n(arg?.denied) ?? 0) : null),
    policy_name: s(policy?.name),
    policy_action: s(policy?.action),
    policy_rule: s(policy?.rule),
    denied: f.denied,
    data: json,
  };
}

// priority_num (ascending rank) comes from the one list of priorities: src/common/priorities.ts
export { priorityNum };

export interface AlertRow {
  uuid: string;
  sensor_id: string;
  seq: number;
  time_ns: bigint;
  hostname: string | null;
  rule: string | null;
  priority: string | null;
  priority_num: number;
  source: string | null;
  container_id: string | null;
  k8s_ns: string | null;
  k8s_pod: string | null;
  workload_id: string;
  data: string;
}

export const ALERT_COLUMNS: (keyof AlertRow)[] = [
  'uuid',
  'sensor_id',
  'seq',
  'time_ns',
  'hostname',
  'rule',
  'priority',
  'priority_num',
  'source',
  'container_id',
  'k8s_ns',
  'k8s_pod',
  'workload_id',
  'data',
];

export function alertRow(sensorId: string, hostname: string | null, seq: number, a: Obj, json: string): AlertRow {
  const of = o(a.output_fields) ?? {};
  const t = s(a.time);
  const time = (t ? rfc3339ToNs(t) : null) ?? nsOf(of['evt.time']) ?? BigInt(Date.now()) * 1_000_000n;
  const cid = s(of['container.id']);
  const ns = s(of['k8s.ns.name']);
  const pod = s(of['k8s.pod.name']);
  const host = s(a.hostname) ?? hostname;
  const w = workloadOf(ns ?? undefined, pod ?? undefined, cid ?? undefined, s(of['container.name']) ?? undefined, host ?? undefined);
  const prio = s(a.priority);
  return {
    uuid: s(a.uuid) ?? `${sensorId}-${seq}`,
    sensor_id: sensorId,
    seq,
    time_ns: time,
    hostname: host,
    rule: s(a.rule),
    priority: prio,
    priority_num: priorityNum(prio),
    source: s(a.source),
    container_id: cid,
    k8s_ns: ns,
    k8s_pod: pod,
    workload_id: w.id,
    data: json,
  };
}
