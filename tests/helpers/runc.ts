// Test helper: real containers with runc, for kernel tests (policy enforcement, sensor). Builds a
// busybox rootfs from the static busybox (applets as hard links, so each applet has its own path
// as fanotify and /proc/<pid>/exe see it), writes an OCI config.json, runs the container detached
// with a unique id, and cleans up containers and the cgroups runc created even when a test fails.
//
//   const c = await runContainer({ name: 'a', annotations: podAnnotations({...}).annotations });
//   const r = await c.exec(['cat', '/etc/hostname']);   // { code, stdout, stderr }
//   c.workload()                                        // -> src/policy Workload
//   await c.remove();  or  t.after(cleanupContainers)   // idempotent
//
// Layout facts this relies on (checked on the reference host, runc 1.1.5, hybrid cgroups):
// runc's cgroupfs driver puts the container into every v1 hierarchy AND into the v2 unified
// hierarchy at /sys/fs/cgroup/unified/<cgroupsPath>; that directory's inode is the cgroup id
// bpf_get_current_cgroup_id() returns, so cgroup BPF programs can be attached there directly.
// runc removes the leaf cgroup on delete but leaves the parents it created (e.g.
// /kubepods/besteffort/pod<uid>); remove() deletes those that did not exist before.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Workload } from '../../src/policy/model.ts';

// cgroup roots, busybox location and cgroup clean-up are shared with the selftest's containers
import { CGROUP_ROOT, UNIFIED_ROOT, BUSYBOX, missingCgroupDirs, removeCgroupDirs } from '../../src/selftest/container.ts';
export { CGROUP_ROOT, UNIFIED_ROOT, BUSYBOX };
export const DEFAULT_APPLETS = ['sh', 'cat', 'ls', 'sleep', 'echo', 'id', 'nc', 'wget', 'true', 'false', 'touch', 'head', 'env', 'stat', 'grep', 'seq', 'dd'];

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ContainerOptions {
  /** Container name (reported as vigil.dev/container.name); default: the id. */
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

const live = new Map<string, () => void>();
/** cgroup dirs (relative to the hierarchy roots) created for our containers, shared parents included. */
const createdCgroupDirs = new Set<string>();

/** Kubernetes-style annotations and cgroupsPath for a container of a pod. */
export function podAnnotations(o: { pod: string; namespace: string; container?: string; uid?: string; qos?: 'besteffort' | 'burstable' }): {
  annotations: Record<string, string>;
  cgroupsPath: string;
  id: string;
} {
  const uid = o.uid ?? `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(6).toString('hex')}`;
  const id = randomBytes(32).toString('hex');
  return {
    id,
    annotations: {
      'io.kubernetes.pod.name': o.pod,
      'io.kubernetes.pod.namespace': o.namespace,
      'io.kubernetes.pod.uid': uid,
      'io.kubernetes.container.name': o.container ?? o.pod,
    },
    cgroupsPath: `/kubepods/${o.qos ?? 'besteffort'}/pod${uid}/${id}`,
  };
}

/** Builds a busybox rootfs in `dir` (created). */
export function buildRootfs(dir: string, applets = DEFAULT_APPLETS, files: Record<string, string> = {}): void {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', 'root', 'data']) mkdirSync(path.join(dir, d), { recursive: true });
  const bb = path.join(dir, 'bin', 'busybox');
  copyFileSync(BUSYBOX, bb);
  chmodSync(bb, 0o755);
  for (const a of applets) {
    const p = path.join(dir, 'bin', a);
    if (!existsSync(p)) linkSync(bb, p);
  }
  writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\n');
  for (const [p, content] of Object.entries(files)) {
    const full = path.join(dir, p);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

function ociConfig(o: { args: string[]; annotations: Record<string, string>; cgroupsPath: string; hostNetwork: boolean; hostname: string }): object {
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(o.hostNetwork ? [] : [{ type: 'network' }])];
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE'];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ['PATH=/bin', 'HOME=/root'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: o.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    annotations: o.annotations,
    linux: {
      cgroupsPath: o.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : err.killed ? 124 : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Starts a detached container; always registered for cleanupContainers(). */
export async function runContainer(o: ContainerOptions = {}): Promise<Container> {
  const name = o.name ?? 'c';
  const id = o.id ?? `vigil-${name}-${randomBytes(4).toString('hex')}`;
  const cgroupsPath = o.cgroupsPath ?? `/vigil-test/${id}`;
  const bundle = mkdtempSync(path.join(os.tmpdir(), `vigil-runc-${name}-`));
  const rootfs = path.join(bundle, 'rootfs');
  buildRootfs(rootfs, o.applets, o.files);
  const annotations = o.annotations ?? {};
  writeFileSync(
    path.join(bundle, 'config.json'),
    JSON.stringify(ociConfig({ args: o.args ?? ['sleep', '1000000'], annotations, cgroupsPath, hostNetwork: o.hostNetwork ?? false, hostname: name }), null, 1),
  );
  for (const d of missingCgroupDirs(cgroupsPath)) createdCgroupDirs.add(d);
  let removed = false;
  const removeSync = () => {
    if (removed) return;
    removed = true;
    live.delete(id);
    try {
      execFileSync('runc', ['delete', '-f', id], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* never started or already gone */
    }
    // parents shared with our other containers go when the last of them does (rmdir fails while not empty)
    removeCgroupDirs([...createdCgroupDirs].filter((d) => cgroupsPath === d || cgroupsPath.startsWith(`${d}/`)));
    rmSync(bundle, { recursive: true, force: true });
  };
  live.set(id, removeSync);
  // With -d the container's init inherits runc's stdio: give it a log file, never a pipe (a pipe
  // would stay open for the container's lifetime).
  const logFile = path.join(bundle, 'runc.log');
  const logFd = openSync(logFile, 'w');
  const started = await new Promise<ExecResult>((resolve) => {
    const child = spawn('runc', ['run', '-d', '--bundle', bundle, id], { stdio: ['ignore', logFd, logFd] });
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout: '', stderr: '' }));
    child.on('error', (e) => resolve({ code: 1, stdout: '', stderr: e.message }));
  });
  closeSync(logFd);
  if (started.code !== 0) started.stderr = readFileSync(logFile, 'utf8');
  if (started.code !== 0) {
    removeSync();
    throw new Error(`runc run ${id} failed: ${started.stderr.trim()}`);
  }
  const st = await run('runc', ['state', id]);
  const pid = (JSON.parse(st.stdout) as { pid: number }).pid;
  const cgroupDir = path.join(UNIFIED_ROOT, cgroupsPath);
  const c: Container = {
    id,
    name,
    bundle,
    rootfs,
    pid,
    cgroupsPath,
    cgroupDir,
    cgroupId: String(statSync(cgroupDir).ino),
    mntns: statSync(`/proc/${pid}/ns/mnt`).ino,
    annotations,
    labels: o.labels ?? {},
    namespace: o.namespace ?? annotations['io.kubernetes.pod.namespace'],
    exec: (args, eo = {}) => run('runc', ['exec', id, ...args], eo.timeoutMs ?? 20_000),
    workload: () => ({
      id,
      name,
      labels: o.labels ?? {},
      annotations,
      namespace: o.namespace ?? annotations['io.kubernetes.pod.namespace'],
      cgroupPath: cgroupsPath,
      cgroupId: String(statSync(cgroupDir).ino),
      mntns: statSync(`/proc/${pid}/ns/mnt`).ino,
      rootPid: pid,
    }),
    remove: async () => removeSync(),
  };
  return c;
}

/** Removes every container this process started (use in t.after / after hooks). */
export async function cleanupContainers(): Promise<void> {
  for (const rm of [...live.values()]) rm();
}

process.on('exit', () => {
  for (const rm of [...live.values()]) rm();
});

/** The host pseudo-workload for policies with selector.host. */
export function hostWorkload(): Workload {
  return { id: 'host', name: 'host', host: true, mntns: statSync('/proc/1/ns/mnt').ino };
}
