// Workload discovery for the policy run hook: the containers running on this node, as policy
// Workloads (labels, annotations, Kubernetes namespace, cgroup v2 path/id/directory, mount
// namespace, init pid), plus the host pseudo-workload. Two sources:
//   * OCI runtime state dirs (runc's <root>/<id>/state.json: init_process_pid, config.labels
//     ["key=value", ..., "bundle=<dir>"], cgroup_paths[""] = the unified directory), with the
//     bundle's config.json annotations;
//   * containers the sensor saw in events but no state dir lists (other runtimes): their
//     ContainerInfo as the sensor's handle reports it (SensorHandle.containerOfCgroup) and the
//     pids of their unified cgroup (cgroup.procs).
// Pure reads of /run and /proc and /sys/fs/cgroup; never throws. The runtime state is parsed by
// src/common/runtime-state.ts (shared with the sensor's container resolver).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isInitProcess, listRuncStates, readBundleConfig, readRuncState, specAnnotations, UNIFIED_ROOT, type RuncState } from '../common/runtime-state.ts';
import type { ContainerInfo } from '../sensor/handle.ts';
import type { Workload } from './model.ts';

export { UNIFIED_ROOT };

/** A discovered workload plus the facts the enforcers need that are not part of Workload. */
export interface Discovered extends Workload {
  /** absolute cgroup v2 directory (attach point of the network programs) */
  cgroupDir?: string;
}

function inode(p: string): number | undefined {
  try {
    return statSync(p).ino;
  } catch {
    return undefined;
  }
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
  const st = readRuncState(stateFile);
  return st ? fromState(st, unifiedRoot) : undefined;
}

function fromState(st: RuncState, unifiedRoot: string): Discovered | undefined {
  // the pid may have been reused: its start time must be the container's
  if (!isInitProcess(st)) return undefined;
  const pid = st.initPid!;
  const labelsAll = { ...st.labels };
  delete labelsAll.bundle;
  const annotations = st.bundle ? specAnnotations(readBundleConfig(st.bundle)) : {};
  // runc copies the annotations into config.labels: keep only what is not an annotation as a label
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsAll)) if (annotations[k] !== v) labels[k] = v;
  const bag = { ...labelsAll, ...annotations };
  const cgroupPath = st.cgroupsPath;
  let cgroupDir = st.unifiedCgroupDir;
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
  for (const st of listRuncStates(roots)) {
    const w = fromState(st, unifiedRoot);
    if (w) out.push(w);
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
  const w: Discovered = {
    id: c.fullId,
    name: c.name ?? c.fullId.slice(0, 12),
    labels: { ...c.labels },
    annotations: { ...c.labels },
    cgroupPath: c.cgroupPath,
    rootPid: pid,
    cgroupDir: dir,
  };
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
