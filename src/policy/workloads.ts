// Workload discovery for the policy run hook: the containers running on this node, as policy
// Workloads (labels, annotations, Kubernetes namespace, cgroup v2 path/id/directory, mount
// namespace, init pid), plus the host pseudo-workload. Two sources:
//   * OCI runtime state dirs (runc's <root>/<id>/state.json: init_process_pid, config.labels
//     ["key=value", ..., "bundle=<dir>"], cgroup_paths[""] = the unified directory), with the
//     bundle's config.json annotations;
//   * containers the sensor saw in events but no state dir lists (other runtimes): resolved with
//     the sensor's ContainerResolver and the pids of their unified cgroup (cgroup.procs).
// Pure reads of /run and /proc and /sys/fs/cgroup; never throws.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContainerInfo } from '../sensor/container.ts';
import type { Workload } from './model.ts';

export const UNIFIED_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

/** A discovered workload plus the facts the enforcers need that are not part of Workload. */
export interface Discovered extends Workload {
  /** absolute cgroup v2 directory (attach point of the network programs) */
  cgroupDir?: string;
}

function readJson(p: string): any {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return undefined;
  }
}

function inode(p: string): number | undefined {
  try {
    return statSync(p).ino;
  } catch {
    return undefined;
  }
}

function kv(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(list)) return out;
  for (const l of list) {
    if (typeof l !== 'string') continue;
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** Name as the sensor's ContainerResolver reports container.name (same precedence). */
export function workloadName(id: string, a: Record<string, string>): string {
  return a['io.kubernetes.container.name'] ?? a['io.kubernetes.cri.container-name'] ?? a['vigil.dev/container.name'] ?? id;
}

export function hostWorkload(): Discovered {
  const w: Discovered = { id: 'host', name: 'host', host: true };
  // init's mount namespace, or ours when init's is not readable (as the loader does)
  const m = inode('/proc/1/ns/mnt') ?? inode('/proc/self/ns/mnt');
  if (m) w.mntns = m;
  return w;
}

/** One runc-style state dir entry -> workload; undefined when the container is not running. */
export function fromRuncState(stateFile: string, unifiedRoot = UNIFIED_ROOT): Discovered | undefined {
  const st = readJson(stateFile);
  if (!st || typeof st.id !== 'string') return undefined;
  const pid = Number(st.init_process_pid);
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return undefined;
  // the pid may have been reused: its start time must be the container's
  if (st.init_process_start !== undefined) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[19] !== String(st.init_process_start)) return undefined;
    } catch {
      return undefined;
    }
  }
  const labelsAll = kv(st.config?.labels);
  const bundle = labelsAll.bundle;
  delete labelsAll.bundle;
  const cfg = bundle ? readJson(path.join(bundle, 'config.json')) : undefined;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries((cfg?.annotations ?? {}) as Record<string, unknown>)) if (typeof v === 'string') annotations[k] = v;
  // runc copies the annotations into config.labels: keep only what is not an annotation as a label
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsAll)) if (annotations[k] !== v) labels[k] = v;
  const bag = { ...labelsAll, ...annotations };
  const cgroupPath: string | undefined = st.config?.cgroups?.path ?? undefined;
  let cgroupDir: string | undefined = typeof st.cgroup_paths?.[''] === 'string' ? st.cgroup_paths[''] : undefined;
  if ((!cgroupDir || !existsSync(cgroupDir)) && cgroupPath) cgroupDir = path.join(unifiedRoot, cgroupPath);
  const w: Discovered = { id: st.id, name: workloadName(st.id, bag), labels, annotations: bag, rootPid: pid };
  const ns = bag['io.kubernetes.pod.namespace'];
  if (ns) w.namespace = ns;
  if (cgroupPath) w.cgroupPath = cgroupPath;
  const cgi = cgroupDir ? inode(cgroupDir) : undefined;
  if (cgroupDir && cgi) {
    w.cgroupDir = cgroupDir;
    w.cgroupId = String(cgi);
  }
  const mnt = inode(`/proc/${pid}/ns/mnt`);
  if (mnt) w.mntns = mnt;
  return w;
}

/** Every running container of the OCI runtime roots (e.g. /run/runc). */
export function scanRuntimeRoots(roots: string[], unifiedRoot = UNIFIED_ROOT): Discovered[] {
  const out: Discovered[] = [];
  for (const root of roots) {
    let ents: string[];
    try {
      ents = readdirSync(root);
    } catch {
      continue;
    }
    for (const id of ents) {
      const w = fromRuncState(path.join(root, id, 'state.json'), unifiedRoot);
      if (w) out.push(w);
    }
  }
  return out;
}

/** A container the sensor resolved from events (no runtime state dir): its lowest live pid is the root pid. */
export function fromContainerInfo(c: ContainerInfo, unifiedRoot = UNIFIED_ROOT): Discovered | undefined {
  if (c.id === 'host' || !c.fullId || !c.cgroupPath) return undefined;
  const dir = path.join(unifiedRoot, c.cgroupPath);
  let pids: number[] = [];
  try {
    pids = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((n) => n > 0)
      .sort((a, b) => a - b);
  } catch {
    return undefined;
  }
  const pid = pids[0];
  if (!pid) return undefined;
  const w: Discovered = { id: c.fullId, name: c.name ?? c.fullId.slice(0, 12), labels: { ...c.labels }, annotations: { ...c.labels }, cgroupPath: c.cgroupPath, rootPid: pid, cgroupDir: dir };
  if (c.podNamespace) w.namespace = c.podNamespace;
  const cgi = inode(dir);
  if (cgi) w.cgroupId = String(cgi);
  const mnt = inode(`/proc/${pid}/ns/mnt`);
  if (mnt) w.mntns = mnt;
  return w;
}

/** Stable identity of what the compiler uses from a workload: recompile only when it changes. */
export function workloadKey(w: Discovered): string {
  return JSON.stringify([w.id, w.name, w.namespace, w.labels, w.annotations, w.cgroupPath, w.cgroupId, w.mntns, w.rootPid, w.host, w.cgroupDir]);
}
