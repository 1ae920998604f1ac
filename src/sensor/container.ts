// Container identity: maps a process to its container from the cgroup path (docker, containerd /
// CRI, CRI-O, podman, runc with cgroupsPath, kubepods slices) and reads name, image, labels and
// Kubernetes pod identity from the runtime's on-disk state (OCI state.json, the bundle's
// config.json annotations, docker's config.v2.json). Host processes get id `host`, as in Falco.
// Results are cached per full container id (at most `maxEntries`, the oldest dropped first and
// counted: a dropped container is read again on its next event); lookups never throw. The runtimes' on-disk state is
// parsed by src/common/runtime-state.ts (shared with the policy layer's workload discovery).
import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_ROOTS,
  findRuncState,
  readBundleConfig,
  readJsonFile as readJson,
  runcStateExists,
  specAnnotations,
  type OciSpec,
  type RuntimeRoots,
} from '../common/runtime-state.ts';

export { DEFAULT_ROOTS, type RuntimeRoots };

export interface ContainerInfo {
  id: string; // 'host' or 12 hex chars
  fullId?: string;
  name?: string;
  image?: string;
  imageRepository?: string;
  imageTag?: string;
  type?: string; // docker, containerd, cri-o, podman, runc
  privileged?: boolean;
  startTs?: string; // ns since epoch, decimal
  labels: Record<string, string>;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  cgroupPath?: string;
  bundle?: string;
  rootfs?: string;
  /** KUBERNETES_SERVICE_HOST of the container's environment, and its cluster DNS domain */
  k8sApiHost?: string;
  clusterDomain?: string;
  /** the runtime's state was found (otherwise name/labels are provisional) */
  stateFound?: boolean;
  checkedAt?: number;
}

export const HOST: ContainerInfo = Object.freeze({ id: 'host', name: 'host', labels: {} }) as ContainerInfo;

const ID_RE = /(?:^|[/:-])([0-9a-f]{64})(?:\.scope)?$/;
const POD_RE = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

export interface CgroupMatch {
  fullId: string;
  type: string;
  podUid?: string;
  cgroupPath: string;
}

/** Finds a container id in a cgroup path such as /kubepods/besteffort/pod<uid>/<id>. */
export function matchCgroupPath(cgPath: string): CgroupMatch | undefined {
  const parts = cgPath.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const comp = parts[i]!;
    const m = ID_RE.exec(comp);
    if (!m) continue;
    const fullId = m[1]!;
    let type = 'runc';
    if (comp.startsWith('docker')) type = 'docker';
    else if (comp.startsWith('cri-containerd')) type = 'containerd';
    else if (comp.startsWith('crio')) type = 'cri-o';
    else if (comp.startsWith('libpod')) type = 'podman';
    const pm = POD_RE.exec(cgPath);
    const out: CgroupMatch = { fullId, type, cgroupPath: parts.slice(0, i + 1).join('/') };
    if (pm) out.podUid = pm[1]!.replace(/_/g, '-');
    return out;
  }
  return undefined;
}

/** Parses /proc/<pid>/cgroup content and returns the first container match over all hierarchies. */
export function matchProcCgroup(content: string): CgroupMatch | undefined {
  for (const line of content.split('\n')) {
    const idx = line.indexOf(':', line.indexOf(':') + 1);
    if (idx < 0) continue;
    const m = matchCgroupPath(line.slice(idx + 1));
    if (m) return m;
  }
  return undefined;
}

function splitImage(image: string): { repo: string; tag?: string } {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  if (colon > slash) return { repo: base.slice(0, colon), tag: base.slice(colon + 1) };
  return { repo: base };
}

const ALL_CAPS_MIN = 38;

/** What the resolver reads of a Docker container's config.v2.json; any field may be absent. */
interface DockerConfig {
  Name?: string;
  Config?: { Image?: string; Labels?: Record<string, string> };
}

/** containers whose identity is cached at most */
export const DEFAULT_MAX_CONTAINERS = 4096;

export class ContainerResolver {
  private cache = new Map<string, ContainerInfo>();
  lookups = 0;
  /** containers dropped from the cache at the limit (oldest first) */
  evicted = 0;
  maxEntries = DEFAULT_MAX_CONTAINERS;

  constructor(private readonly roots: RuntimeRoots = DEFAULT_ROOTS) {}

  get size(): number {
    return this.cache.size;
  }

  /** Container of a process from its /proc cgroup file; HOST when none. */
  forPid(pid: number): ContainerInfo | undefined {
    let content: string;
    try {
      content = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined; // process gone: caller inherits from the parent
    }
    const m = matchProcCgroup(content);
    if (!m) return HOST;
    return this.forMatch(m);
  }

  forMatch(m: CgroupMatch): ContainerInfo {
    const cached = this.cache.get(m.fullId);
    // The first events of a container (runc init) come before the runtime writes its state:
    // until the state is found, re-read it at most every 200 ms.
    if (cached && (cached.stateFound || (Date.now() - (cached.checkedAt ?? 0) < 1000 && !runtimeStateExists(m.fullId, this.roots)))) return cached;
    this.lookups++;
    const info = this.readRuntimeState(m);
    info.checkedAt = Date.now();
    if (cached && !info.stateFound) {
      cached.checkedAt = info.checkedAt;
      return cached; // keep the object identity stable while provisional
    }
    if (cached) Object.assign(cached, info);
    else {
      if (this.cache.size >= this.maxEntries) {
        const first = this.cache.keys().next();
        if (!first.done) {
          this.cache.delete(first.value);
          this.evicted++;
        }
      }
      this.cache.set(m.fullId, info);
    }
    return cached ?? info;
  }

  /** Forget a container (runtime state may appear after the first event; retried on next lookup). */
  invalidate(fullId: string): void {
    this.cache.delete(fullId);
  }

  private readRuntimeState(m: CgroupMatch): ContainerInfo {
    const id = m.fullId;
    const info: ContainerInfo = { id: id.slice(0, 12), fullId: id, type: m.type, labels: {}, cgroupPath: m.cgroupPath };
    if (m.podUid) info.podUid = m.podUid;
    let annotations: Record<string, string> = {};
    let config: OciSpec | undefined;
    // OCI runtimes: state.json gives the bundle; its config.json has the annotations
    const st = findRuncState(id, this.roots.runc);
    if (st) {
      if (st.bundle) {
        info.bundle = st.bundle;
        config = readBundleConfig(st.bundle);
      }
      if (st.createdNs) info.startTs = st.createdNs;
      if (st.rootfs) info.rootfs = st.rootfs;
      if (st.boundingCaps) info.privileged = st.boundingCaps.length >= ALL_CAPS_MIN;
    }
    if (!config) {
      for (const root of this.roots.containerdTasks) {
        config = readJson<OciSpec>(path.join(root, id, 'config.json'));
        if (config) {
          info.bundle = path.join(root, id);
          break;
        }
      }
    }
    if (!config) config = readJson<OciSpec>(path.join(this.roots.crio, id, 'userdata', 'config.json'));
    if (config) {
      info.stateFound = true;
      annotations = specAnnotations(config);
      const bounding: string[] | undefined = config.process?.capabilities?.bounding;
      if (bounding && info.privileged === undefined) info.privileged = bounding.length >= ALL_CAPS_MIN;
      if (!info.rootfs && config.root?.path) info.rootfs = path.resolve(info.bundle ?? '/', config.root.path);
      const env: string[] = config.process?.env ?? [];
      const host = env.find((e) => e.startsWith('KUBERNETES_SERVICE_HOST='))?.slice('KUBERNETES_SERVICE_HOST='.length);
      if (host) {
        info.k8sApiHost = host;
        try {
          const rc = readFileSync(path.join(info.rootfs ?? '/nonexistent', 'etc', 'resolv.conf'), 'utf8');
          const m = /^search\s.*?\bsvc\.(\S+)/m.exec(rc);
          if (m) info.clusterDomain = m[1]!;
        } catch {}
      }
    }
    const docker = readJson<DockerConfig>(path.join(this.roots.docker, id, 'config.v2.json'));
    if (docker) {
      info.stateFound = true;
      info.type = 'docker';
      if (docker.Name) info.name = String(docker.Name).replace(/^\//, '');
      if (docker.Config?.Image) info.image = docker.Config.Image;
      if (docker.Config?.Labels) Object.assign(info.labels, docker.Config.Labels);
      const hc = readJson<{ Privileged?: unknown }>(path.join(this.roots.docker, id, 'hostconfig.json'));
      if (hc && typeof hc.Privileged === 'boolean') info.privileged = hc.Privileged;
    }
    // Kubernetes identity from CRI annotations
    const a = annotations;
    const podName = a['io.kubernetes.pod.name'] ?? a['io.kubernetes.cri.sandbox-name'];
    const podNs = a['io.kubernetes.pod.namespace'] ?? a['io.kubernetes.cri.sandbox-namespace'];
    const podUid = a['io.kubernetes.pod.uid'] ?? a['io.kubernetes.cri.sandbox-uid'];
    if (podName) info.podName = podName;
    if (podNs) info.podNamespace = podNs;
    if (podUid) info.podUid = podUid;
    const cname = a['io.kubernetes.container.name'] ?? a['io.kubernetes.cri.container-name'] ?? a['vigil.dev/container.name'];
    if (cname && !info.name) info.name = cname;
    const image = a['io.kubernetes.cri.image-name'] ?? a['io.kubernetes.cri-o.ImageName'] ?? a['org.opencontainers.image.ref.name'];
    if (image && !info.image) info.image = image;
    for (const [k, v] of Object.entries(a)) if (typeof v === 'string') info.labels[k] = v;
    if (!info.name) info.name = id.slice(0, 12);
    if (info.image) {
      const { repo, tag } = splitImage(info.image);
      info.imageRepository = repo;
      if (tag) info.imageTag = tag;
    }
    return info;
  }
}

export function runtimeStateExists(id: string, roots: RuntimeRoots = DEFAULT_ROOTS): boolean {
  return runcStateExists(id, roots.runc);
}

/**
 * cgroup v2 id → path index. Every event carries the cgroup v2 id of its task, taken in the
 * kernel at the moment of the syscall, so container identity does not depend on reading
 * /proc/<pid>/cgroup before a short-lived process exits. The id of a cgroup is the inode number of
 * its directory in the cgroup2 mount; misses trigger a (throttled) rescan of the tree.
 */
export class CgroupIndex {
  private byId = new Map<string, string>();
  private lastScan = 0;
  readonly root: string | undefined;
  rescans = 0;

  /** cgroups known now (each rescan keeps only the cgroups that still exist) */
  get size(): number {
    return this.byId.size;
  }

  constructor(root?: string) {
    this.root = root ?? findCgroup2Mount();
  }

  path(id: bigint | string): string | undefined {
    const key = String(id);
    const hit = this.byId.get(key);
    if (hit !== undefined) return hit;
    if (!this.root) return undefined;
    const now = Date.now();
    if (now - this.lastScan < 100) return undefined;
    this.lastScan = now;
    this.scan();
    return this.byId.get(key);
  }

  private scan(): void {
    this.rescans++;
    const root = this.root!;
    // a fresh index: cgroups removed since the last scan leave it (the enricher keeps the
    // container it matched for an id, so late events of a removed cgroup still resolve)
    this.byId = new Map();
    const walk = (dir: string, rel: string, depth: number) => {
      let ents: Dirent[];
      try {
        ents = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const ent of ents) {
        if (!ent.isDirectory()) continue;
        const full = path.join(dir, ent.name);
        const r = `${rel}/${ent.name}`;
        try {
          this.byId.set(String(statSync(full, { bigint: true }).ino), r); // 64-bit cgroup id, exact
        } catch {
          continue;
        }
        if (depth < 12) walk(full, r, depth + 1);
      }
    };
    try {
      this.byId.set(String(statSync(root, { bigint: true }).ino), '/');
    } catch {}
    walk(root, '', 0);
  }
}

export function findCgroup2Mount(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0) continue;
      const fstype = line.slice(sep + 3).split(' ')[0];
      if (fstype === 'cgroup2') return line.split(' ')[4];
    }
  } catch {}
  return undefined;
}
