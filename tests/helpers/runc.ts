// Test helper: real containers with runc, for kernel tests (policy enforcement, sensor) and the
// benches. The containers are those of the one runc harness (src/selftest/runc.ts, also used by
// `vigil selftest`); this file adds the tests' defaults (a unique readable id, cgroupsPath
// /vigil-test/<id>, the test applets and capabilities) and what tests want to know about a
// container: its cgroup id and directory, mount namespace, and the policy Workload it is.
//
//   const c = await runContainer({ name: 'a', annotations: podAnnotations({...}).annotations });
//   const r = await c.exec(['cat', '/etc/hostname']);   // { code, stdout, stderr }
//   c.workload()                                        // -> src/policy Workload
//   await c.remove();  or  t.after(cleanupContainers)   // idempotent
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Workload } from '../../src/policy/model.ts';
import { cleanupContainers as cleanupAll, podAnnotations, startContainer, type ExecResult } from '../../src/selftest/runc.ts';

export { CGROUP_ROOT, UNIFIED_ROOT, BUSYBOX } from '../../src/selftest/runc.ts';
export { podAnnotations, type ExecResult };
export const DEFAULT_APPLETS = ['sh', 'cat', 'ls', 'sleep', 'echo', 'id', 'nc', 'wget', 'true', 'false', 'touch', 'head', 'env', 'stat', 'grep', 'seq', 'dd'];
/** Capabilities of the test containers (bounding, effective, permitted and ambient). */
export const TEST_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_KILL',
  'CAP_SETUID',
  'CAP_SETGID',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_AUDIT_WRITE',
];

export interface ContainerOptions {
  /** Container name (the hostname); default 'c'. */
  name?: string;
  /** runc id; default vigil-<name>-<random>. */
  id?: string;
  /** Container init command; default sleep forever. */
  args?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Kubernetes namespace the workload claims (defaults to io.kubernetes.pod.namespace). */
  namespace?: string;
  /** cgroupsPath in config.json; default /vigil-test/<id>. */
  cgroupsPath?: string;
  /** busybox applets linked into /bin (default DEFAULT_APPLETS). */
  applets?: string[];
  /** Extra files: absolute path in the container -> content. */
  files?: Record<string, string>;
  /** Share the host network namespace (default: own netns with loopback only). */
  hostNetwork?: boolean;
}

export interface Container {
  id: string;
  name: string;
  bundle: string;
  rootfs: string;
  pid: number;
  /** cgroupsPath as given to runc. */
  cgroupsPath: string;
  /** Absolute v2 cgroup directory (attach point for cgroup BPF). */
  cgroupDir: string;
  /** cgroup v2 id (inode of cgroupDir), decimal. */
  cgroupId: string;
  mntns: number;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  namespace?: string;
  exec(args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  workload(): Workload;
  remove(): Promise<void>;
}

/** Starts a detached container; always registered for cleanupContainers(). */
export async function runContainer(o: ContainerOptions = {}): Promise<Container> {
  const name = o.name ?? 'c';
  const c = await startContainer({
    id: o.id ?? `vigil-${name}-${randomBytes(4).toString('hex')}`,
    name,
    args: o.args,
    annotations: o.annotations ?? {},
    cgroupsPath: o.cgroupsPath,
    applets: o.applets ?? DEFAULT_APPLETS,
    files: o.files,
    caps: TEST_CAPS,
    ambientCaps: true,
    hostNetwork: o.hostNetwork,
  });
  const labels = o.labels ?? {};
  const namespace = o.namespace ?? c.annotations['io.kubernetes.pod.namespace'];
  return {
    id: c.id,
    name,
    bundle: c.bundle,
    rootfs: c.rootfs,
    pid: c.pid,
    cgroupsPath: c.cgroupsPath,
    cgroupDir: c.cgroupDir,
    cgroupId: String(statSync(c.cgroupDir).ino),
    mntns: statSync(`/proc/${c.pid}/ns/mnt`).ino,
    annotations: c.annotations,
    labels,
    namespace,
    exec: (args, eo = {}) => c.exec(args, { timeoutMs: eo.timeoutMs }),
    workload: () => ({
      id: c.id,
      name,
      labels,
      annotations: c.annotations,
      namespace,
      cgroupPath: c.cgroupsPath,
      cgroupId: String(statSync(c.cgroupDir).ino),
      mntns: statSync(`/proc/${c.pid}/ns/mnt`).ino,
      rootPid: c.pid,
    }),
    remove: async () => c.remove(),
  };
}

/** Removes every container this process started (use in t.after / after hooks). */
export async function cleanupContainers(): Promise<void> {
  cleanupAll();
}

/** The host pseudo-workload for policies with selector.host. */
export function hostWorkload(): Workload {
  return { id: 'host', name: 'host', host: true, mntns: statSync('/proc/1/ns/mnt').ino };
}
