// Container-runtime state reader: the on-disk state OCI runtimes keep for each running container
// (runc and crun: <root>/<id>/state.json; containerd's v2 task dirs and CRI-O's userdata dirs:
// the bundle's config.json). Parsed once here for every reader: the sensor's container resolver
// (container.* and k8s.* fields) and the policy layer's workload discovery (which containers run
// on this node, their cgroup and init pid). Pure reads; never throws (missing or malformed state
// is `undefined`).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Where the runtimes keep their state. */
export interface RuntimeRoots {
  /** runc-style roots: <root>/<id>/state.json */
  runc: string[];
  docker: string;
  containerdTasks: string[];
  crio: string;
}

export const DEFAULT_ROOTS: RuntimeRoots = {
  runc: ['/run/runc', '/run/containerd/runc/k8s.io', '/run/containerd/runc/moby', '/run/docker/runtime-runc/moby', '/run/crun'],
  docker: '/var/lib/docker/containers',
  containerdTasks: ['/run/containerd/io.containerd.runtime.v2.task/k8s.io', '/run/containerd/io.containerd.runtime.v2.task/moby'],
  crio: '/run/containers/storage/overlay-containers',
};

/** The cgroup v2 hierarchy: its own mount on hybrid hosts, /sys/fs/cgroup on unified ones. */
export const UNIFIED_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

/**
 * A parsed JSON file, or undefined when it is missing or not JSON. `T` is the shape the caller
 * expects; it is not checked, so its fields should be optional (or unknown and checked on use).
 */
export function readJsonFile<T = unknown>(p: string): T | undefined {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** What a runc-style state.json says about a container. */
export interface RuncState {
  id: string;
  /** the state file this was read from */
  file: string;
  /** pid of the container's init process, and its start time (field 22 of /proc/<pid>/stat) as runc recorded it */
  initPid?: number;
  initStart?: string;
  /** creation time as written (RFC 3339 with ns), and as ns since the epoch (decimal) */
  created?: string;
  createdNs?: string;
  /** config.labels as key=value, the bundle= label included (runc copies the annotations there too) */
  labels: Record<string, string>;
  /** bundle directory (from the bundle= label): its config.json is the OCI spec */
  bundle?: string;
  rootfs?: string;
  /** bounding capability set of the init process */
  boundingCaps?: string[];
  /** cgroupsPath of the spec (config.cgroups.path) */
  cgroupsPath?: string;
  /** the container's directory in the cgroup v2 hierarchy (cgroup_paths[""]) */
  unifiedCgroupDir?: string;
}

/** "key=value" list -> record (entries without "=" are skipped). */
export function labelList(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(list)) return out;
  for (const l of list) {
    if (typeof l !== 'string') continue;
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** RFC 3339 time with up to ns precision -> ns since the epoch (decimal); undefined when it does not parse. */
export function rfc3339Ns(s: string): string | undefined {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return undefined;
  const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
  const ns = (frac + '000000000').slice(0, 9);
  return (BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(ns)).toString();
}

/** A runc state.json as read from disk: nothing checked yet (readRuncState checks each field it uses). */
interface RawRuncState {
  id?: unknown;
  init_process_pid?: unknown;
  init_process_start?: unknown;
  created?: unknown;
  config?: { labels?: unknown; rootfs?: unknown; capabilities?: { bounding?: unknown }; cgroups?: { path?: unknown } };
  cgroup_paths?: Record<string, unknown>;
}

/** Parses one runc-style state.json; undefined when missing or malformed. */
export function readRuncState(file: string): RuncState | undefined {
  const st = readJsonFile<RawRuncState>(file);
  if (!st || typeof st !== 'object' || typeof st.id !== 'string') return undefined;
  const labels = labelList(st.config?.labels);
  const out: RuncState = { id: st.id, file, labels };
  const pid = Number(st.init_process_pid);
  if (Number.isInteger(pid) && pid > 0) out.initPid = pid;
  if (st.init_process_start !== undefined) out.initStart = String(st.init_process_start);
  if (typeof st.created === 'string') {
    out.created = st.created;
    const ns = rfc3339Ns(st.created);
    if (ns !== undefined) out.createdNs = ns;
  }
  if (labels.bundle) out.bundle = labels.bundle;
  if (typeof st.config?.rootfs === 'string') out.rootfs = st.config.rootfs;
  if (Array.isArray(st.config?.capabilities?.bounding)) out.boundingCaps = st.config.capabilities.bounding;
  if (typeof st.config?.cgroups?.path === 'string') out.cgroupsPath = st.config.cgroups.path;
  if (typeof st.cgroup_paths?.[''] === 'string') out.unifiedCgroupDir = st.cgroup_paths[''];
  return out;
}

/** The state of container `id` under the first runc-style root that has it. */
export function findRuncState(id: string, roots: readonly string[] = DEFAULT_ROOTS.runc): RuncState | undefined {
  for (const root of roots) {
    const st = readRuncState(path.join(root, id, 'state.json'));
    if (st) return st;
  }
  return undefined;
}

/** Whether a runc-style root has a state file for `id` (cheap: no parse). */
export function runcStateExists(id: string, roots: readonly string[] = DEFAULT_ROOTS.runc): boolean {
  return roots.some((r) => existsSync(path.join(r, id, 'state.json')));
}

/** Every container of the runc-style roots (in directory order, unreadable roots skipped). */
export function listRuncStates(roots: readonly string[] = DEFAULT_ROOTS.runc): RuncState[] {
  const out: RuncState[] = [];
  for (const root of roots) {
    let ents: string[];
    try {
      ents = readdirSync(root);
    } catch {
      continue;
    }
    for (const id of ents) {
      const st = readRuncState(path.join(root, id, 'state.json'));
      if (st) out.push(st);
    }
  }
  return out;
}

/** What Vigil reads of an OCI runtime spec (config.json); any field may be absent. */
export interface OciSpec {
  ociVersion?: string;
  annotations?: Record<string, unknown>; // strings by the spec; specAnnotations keeps only those
  root?: { path?: string };
  process?: { env?: string[]; capabilities?: { bounding?: string[] } };
}

/** The OCI spec (config.json) of a bundle directory, or undefined. */
export function readBundleConfig(bundle: string): OciSpec | undefined {
  return readJsonFile<OciSpec>(path.join(bundle, 'config.json'));
}

/** The string annotations of an OCI spec. */
export function specAnnotations(config: OciSpec | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config?.annotations ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Whether `pid` is still the process runc started (same start time), so the pid was not reused. */
export function isInitProcess(st: RuncState): boolean {
  if (st.initPid === undefined || !existsSync(`/proc/${st.initPid}`)) return false;
  if (st.initStart === undefined) return true;
  try {
    const stat = readFileSync(`/proc/${st.initPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === st.initStart;
  } catch {
    return false;
  }
}
