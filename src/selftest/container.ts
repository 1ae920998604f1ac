// Selftest: the containers of the live scenarios (vigil selftest and tests/e2e/scenarios), shaped
// like CRI containers: the id is 64 hex characters, the cgroupsPath is Kubernetes-shaped
// (/kubepods/besteffort/pod<uid>/<id>) and the bundle carries the pod annotations, so the sensor
// resolves container.id, container.name and the k8s.* fields exactly as for a CRI container. They
// are started by the one runc harness (src/selftest/runc.ts, shared with the tests and benches),
// which removes every container (cgroups, mounts, bundle) in cleanupContainers() and at exit.
import { podAnnotations, startContainer, type ExecOptions, type ExecResult } from './runc.ts';

export {
  BUSYBOX,
  CGROUP_ROOT,
  UNIFIED_ROOT,
  DEFAULT_CAPS,
  cleanupContainers,
  containerSupport,
  missingCgroupDirs,
  removeCgroupDirs,
  type ExecOptions,
  type ExecResult,
} from './runc.ts';

export interface ContainerSpec {
  /** Container name (io.kubernetes.container.name); also the hostname. */
  name: string;
  pod: string;
  namespace: string;
  /** busybox applets linked into /bin (sh and sleep are always there). */
  applets?: string[];
  /** Extra files: absolute path in the container -> content. */
  files?: Record<string, string>;
  /** Root filesystem as overlayfs (image in the lower layer, writes in the upper layer). */
  overlay?: boolean;
  /** Capabilities of the container processes (default DEFAULT_CAPS). */
  caps?: string[];
  /** Extra environment (NAME=value) for the init process and every exec. */
  env?: string[];
  /** Image name reported through the CRI annotation. */
  image?: string;
  /** Host binaries copied into the rootfs at the same path, with the shared libraries ldd lists. */
  hostBinaries?: string[];
}

export interface Container {
  /** Full 64-hex id (runc id and container.full_id). */
  fullId: string;
  /** container.id as the sensor reports it: the first 12 hex characters. */
  id: string;
  name: string;
  pod: string;
  namespace: string;
  rootfs: string;
  pid: number;
  /** Runs a command in the container (runc exec); never throws on a non-zero exit. */
  exec(args: string[], opts?: ExecOptions): Promise<ExecResult>;
  remove(): void;
}

/** Starts a detached container of pod `spec.pod` (registered for cleanupContainers()). */
export async function runContainer(spec: ContainerSpec): Promise<Container> {
  const p = podAnnotations({ pod: spec.pod, namespace: spec.namespace, container: spec.name });
  if (spec.image) p.annotations['io.kubernetes.cri.image-name'] = spec.image;
  const c = await startContainer({
    id: p.id,
    name: spec.name,
    annotations: p.annotations,
    cgroupsPath: p.cgroupsPath,
    applets: spec.applets,
    files: spec.files,
    overlay: spec.overlay,
    caps: spec.caps,
    env: spec.env,
    hostBinaries: spec.hostBinaries,
    bundlePrefix: 'vigil-selftest',
  });
  return {
    fullId: c.id,
    id: c.id.slice(0, 12),
    name: spec.name,
    pod: spec.pod,
    namespace: spec.namespace,
    rootfs: c.rootfs,
    pid: c.pid,
    exec: c.exec,
    remove: c.remove,
  };
}
