// Normalized policy model: what validate.ts produces from any accepted document kind and what
// compile.ts consumes. A VigilPolicy and its KubeArmorPolicy twin normalize to the same model
// (apart from `kind`/`apiVersion`), which is why they compile to the same tables.

export type Action = 'Allow' | 'Audit' | 'Block';
export type Posture = 'audit' | 'block';
export type PolicyKind = 'VigilPolicy' | 'KubeArmorPolicy' | 'KubeArmorHostPolicy';

export interface SourceRef {
  file: string;
  line: number;
  col: number;
}

interface EntryBase {
  action: Action;
  severity: number;
  message: string;
  /** Rule name for reports, e.g. "file.matchDirectories[1]". */
  label: string;
  fromSource: string[];
}

/** process.* and file.* entries: exact path, directory (trailing '/'), or glob (matchPatterns:
 * '*' within a segment, '**' across segments, '?' one character other than '/'). */
export interface PathEntry extends EntryBase {
  match: 'path' | 'dir' | 'glob';
  target: string;
  recursive: boolean;
  readOnly: boolean;
}

export type L4 = 'tcp' | 'udp';
export type ProtoClass = 'tcp' | 'udp' | 'icmp' | 'raw';

export interface AddrEntry extends EntryBase {
  /** Normalized CIDR ("0.0.0.0/0" style); undefined means any address of both families. */
  cidr?: string;
  /** Inclusive ranges; empty means any port. */
  ports: Array<[number, number]>;
  protocol?: L4;
}

export interface ProtoEntry extends EntryBase {
  protocol: ProtoClass;
  /** Set when the entry came from capabilities.matchCapabilities (net_raw). */
  capability?: string;
}

export interface NormPolicy {
  name: string;
  namespace?: string;
  kind: PolicyKind;
  apiVersion: string;
  severity: number;
  message: string;
  tags: string[];
  action: Action;
  selector: { matchLabels: Record<string, string>; host: boolean };
  process: PathEntry[];
  file: PathEntry[];
  egress: AddrEntry[];
  bind: AddrEntry[];
  protocols: ProtoEntry[];
  source: SourceRef;
}

/** A workload the compiler can target: a container or the host. */
export interface Workload {
  /** Container id (runc id / CRI id); "host" for the host. */
  id: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Kubernetes namespace (io.kubernetes.pod.namespace) when known. */
  namespace?: string;
  /** cgroup v2 path relative to the unified mount, e.g. /kubepods/besteffort/pod<uid>/<id>. */
  cgroupPath?: string;
  /** cgroup v2 id (inode of the cgroup directory), decimal string or number. */
  cgroupId?: string | number | bigint;
  /** Inode of the mount namespace. */
  mntns?: number;
  /** A pid in the container (its init); its /proc/<pid>/root names the root mount to mark. */
  rootPid?: number;
  /** True for the host pseudo-workload. */
  host?: boolean;
}

export interface PostureConfig {
  file: Posture;
  network: Posture;
  capabilities: Posture;
}

export interface CompileOptions {
  /** Global default posture (KubeArmor's default is audit). */
  defaultPosture?: Posture | Partial<PostureConfig>;
  /** Per-namespace overrides (KubeArmor's kubearmor-*-posture namespace annotations). */
  namespacePosture?: Record<string, Posture | Partial<PostureConfig>>;
  /** Labels of this node, for KubeArmorHostPolicy nodeSelector. */
  hostLabels?: Record<string, string>;
}
