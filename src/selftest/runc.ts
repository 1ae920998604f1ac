// Real runc containers, the one harness for `vigil selftest` (src/selftest/container.ts), the
// kernel and e2e tests (tests/helpers/runc.ts) and the benches. A busybox rootfs (the static
// busybox, applets as hard links, so each applet has its own path as fanotify and /proc/<pid>/exe
// see it), optionally as an overlayfs (lower = the image, upper = what the container writes, so
// "binary not in the base image" is real), /dev/pts mounted so `runc exec -t` can give a process a
// terminal, an OCI config.json, `runc run -d` with a log file as stdio. Every container is removed
// by its remove(), by cleanupContainers() or at process exit, with the cgroup directories runc
// created for it (parents shared with other containers of this process go with the last of them),
// its mounts and its bundle directory.
//
// Layout facts this relies on (checked on the reference host, runc 1.1.5, hybrid cgroups): runc's
// cgroupfs driver puts the container into every v1 hierarchy AND into the v2 unified hierarchy at
// UNIFIED_ROOT/<cgroupsPath>; that directory's inode is the cgroup id bpf_get_current_cgroup_id()
// returns, so cgroup BPF programs can be attached there directly. runc removes the leaf cgroup on
// delete but leaves the parents it created (e.g. /kubepods/besteffort/pod<uid>).
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Stream } from 'node:stream';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { UNIFIED_ROOT } from '../common/runtime-state.ts';

export { UNIFIED_ROOT };
export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';
export const CGROUP_ROOT = '/sys/fs/cgroup';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Give the process a pseudo-terminal (runc exec -t, under script(1)). */
  tty?: boolean;
  /** Extra open file descriptors passed to the process as fds 3, 4, ... (runc exec --preserve-fds). */
  fds?: (number | Stream)[];
}

export interface RuncOptions {
  /** runc container id (default: 64 random hex characters, as a CRI container id). */
  id?: string;
  /** Hostname, and part of the bundle directory's name. */
  name: string;
  /** Init command (default: sleep forever). */
  args?: string[];
  /** OCI annotations of the spec (the sensor reads container and pod identity from them). */
  annotations?: Record<string, string>;
  /** linux.cgroupsPath (default /vigil-test/<id>). */
  cgroupsPath?: string;
  /** busybox applets linked into /bin (sh and sleep are always there). */
  applets?: string[];
  /** Extra files: absolute path in the container -> content (written last: may replace /etc/passwd). */
  files?: Record<string, string>;
  /** Root filesystem as overlayfs (image in the lower layer, writes in the upper layer). */
  overlay?: boolean;
  /** Host binaries copied into the rootfs at the same path, with the shared libraries ldd lists. */
  hostBinaries?: string[];
  /** Capabilities of the container processes: bounding, effective and permitted (default DEFAULT_CAPS). */
  caps?: string[];
  /** Also give `caps` as the ambient set. */
  ambientCaps?: boolean;
  /** Extra environment (NAME=value) for the init process and every exec. */
  env?: string[];
  /** Share the host network namespace (default: own netns with loopback only). */
  hostNetwork?: boolean;
  /** Prefix of the bundle directory under the temporary directory (default vigil-runc). */
  bundlePrefix?: string;
}

export interface RuncContainer {
  /** runc id */
  id: string;
  bundle: string;
  rootfs: string;
  /** pid of the init process (host pid namespace) */
  pid: number;
  cgroupsPath: string;
  /** Absolute v2 cgroup directory (attach point for cgroup BPF). */
  cgroupDir: string;
  annotations: Record<string, string>;
  /** Runs a command in the container (runc exec); never throws on a non-zero exit. */
  exec(args: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Removes the container, its cgroups, mounts and bundle (idempotent). */
  remove(): void;
}

/** The capabilities of a default (non-privileged) Docker / containerd container. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

const live = new Map<string, () => void>();
/** cgroup dirs (relative to the hierarchy roots) created for our containers, shared parents included. */
const createdCgroupDirs = new Set<string>();

function uuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Kubernetes-style id, annotations and cgroupsPath for a container of a pod (as a CRI runtime would give them). */
export function podAnnotations(o: { pod: string; namespace: string; container?: string; uid?: string; qos?: 'besteffort' | 'burstable' }): {
  annotations: Record<string, string>;
  cgroupsPath: string;
  id: string;
} {
  const uid = o.uid ?? uuid();
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

/** Runs a command, collecting its output; never rejects (127 when it cannot start, 128 when killed). */
export function runCommand(cmd: string, args: string[], timeoutMs = 20_000, stdio?: StdioOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: stdio ?? ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      resolve({ code: 127, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}

/** Copies host binaries and their shared libraries (from ldd) into a rootfs, at the same paths. */
function copyHostBinaries(rootfs: string, bins: string[]): void {
  const files = new Set<string>();
  for (const b of bins) {
    files.add(b);
    const out = execFileSync('ldd', [b], { encoding: 'utf8' });
    for (const m of out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) files.add(m[1]!);
  }
  for (const f of files) {
    const dst = path.join(rootfs, f);
    mkdirSync(path.dirname(dst), { recursive: true });
    copyFileSync(f, dst);
    chmodSync(dst, 0o755);
  }
}

/** Builds a busybox rootfs in `dir` (created): sh, sleep and `applets`, passwd/group, then `files`. */
export function buildRootfs(dir: string, applets: readonly string[] = [], files: Record<string, string> = {}): void {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', 'root', 'data', 'var/log', 'mnt']) mkdirSync(path.join(dir, d), { recursive: true });
  const bb = path.join(dir, 'bin', 'busybox');
  copyFileSync(BUSYBOX, bb);
  chmodSync(bb, 0o755);
  for (const a of new Set(['sh', 'sleep', ...applets])) {
    const p = path.join(dir, 'bin', a);
    if (!existsSync(p)) linkSync(bb, p);
  }
  writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const [p, content] of Object.entries(files)) {
    const full = path.join(dir, p);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

function ociConfig(o: {
  hostname: string;
  args: string[];
  annotations: Record<string, string>;
  cgroupsPath: string;
  caps: string[];
  ambient: boolean;
  env: string[];
  hostNetwork: boolean;
}): object {
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(o.hostNetwork ? [] : [{ type: 'network' }])];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: ['PATH=/bin', 'HOME=/root', ...o.env],
      cwd: '/',
      capabilities: { bounding: o.caps, effective: o.caps, permitted: o.caps, ...(o.ambient ? { ambient: o.caps } : {}) },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: o.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
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

/** cgroup directories of a cgroupsPath that do not exist yet (to remove with the container). */
export function missingCgroupDirs(cgroupsPath: string): string[] {
  const parts = cgroupsPath.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const rel = `/${parts.slice(0, i).join('/')}`;
    if (!existsSync(path.join(UNIFIED_ROOT, rel))) out.push(rel);
  }
  return out;
}

/** Removes cgroup directories (deepest first) from every hierarchy; absent or busy ones stay. */
export function removeCgroupDirs(rels: string[]): void {
  const hier = existsSync(path.join(CGROUP_ROOT, 'unified')) ? readdirSync(CGROUP_ROOT).map((h) => path.join(CGROUP_ROOT, h)) : [CGROUP_ROOT];
  for (const rel of [...rels].sort((a, b) => b.length - a.length)) {
    for (const h of hier) {
      try {
        rmdirSync(path.join(h, rel));
      } catch {
        /* absent or not empty */
      }
    }
  }
}

/** Starts a detached container (registered for cleanupContainers()); VIGIL_E_CONTAINER when runc refuses. */
export async function startContainer(o: RuncOptions): Promise<RuncContainer> {
  const id = o.id ?? randomBytes(32).toString('hex');
  const cgroupsPath = o.cgroupsPath ?? `/vigil-test/${id}`;
  const bundle = mkdtempSync(path.join(os.tmpdir(), `${o.bundlePrefix ?? 'vigil-runc'}-${o.name}-`));
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(rootfs);
  let mounted = false;
  let removed = false;
  const remove = () => {
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
    if (mounted) {
      try {
        execFileSync('umount', ['-l', rootfs], { stdio: 'ignore' });
      } catch {
        /* already unmounted */
      }
    }
    rmSync(bundle, { recursive: true, force: true });
  };
  live.set(id, remove);
  const annotations = o.annotations ?? {};
  try {
    if (o.overlay) {
      const lower = path.join(bundle, 'lower');
      for (const d of ['lower', 'upper', 'work']) mkdirSync(path.join(bundle, d));
      buildRootfs(lower, o.applets, o.files);
      if (o.hostBinaries) copyHostBinaries(lower, o.hostBinaries);
      execFileSync(
        'mount',
        ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${path.join(bundle, 'upper')},workdir=${path.join(bundle, 'work')}`, rootfs],
        { stdio: 'ignore' },
      );
      mounted = true;
    } else {
      buildRootfs(rootfs, o.applets, o.files);
      if (o.hostBinaries) copyHostBinaries(rootfs, o.hostBinaries);
    }
    const config = ociConfig({
      hostname: o.name,
      args: o.args ?? ['sleep', '1000000'],
      annotations,
      cgroupsPath,
      caps: o.caps ?? DEFAULT_CAPS,
      ambient: o.ambientCaps ?? false,
      env: o.env ?? [],
      hostNetwork: o.hostNetwork ?? false,
    });
    writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config, null, 1));
  } catch (e) {
    remove();
    throw new VigilError('VIGIL_E_CONTAINER', `cannot prepare the bundle of ${id}: ${(e as Error).message}`, { cause: e });
  }
  for (const d of missingCgroupDirs(cgroupsPath)) createdCgroupDirs.add(d);
  // With -d the container's init inherits runc's stdio: give it a log file, never a pipe (a pipe
  // would stay open for the container's lifetime).
  const logFile = path.join(bundle, 'runc.log');
  const logFd = openSync(logFile, 'w');
  const started = await runCommand('runc', ['run', '-d', '--bundle', bundle, id], 20_000, ['ignore', logFd, logFd]);
  closeSync(logFd);
  if (started.code !== 0) {
    const log = readFileSync(logFile, 'utf8').trim();
    remove();
    throw new VigilError('VIGIL_E_CONTAINER', `runc run ${id} failed: ${log || started.stderr.trim()}`);
  }
  const st = await runCommand('runc', ['state', id]);
  let pid: number;
  try {
    pid = (JSON.parse(st.stdout) as { pid: number }).pid;
  } catch {
    remove();
    throw new VigilError('VIGIL_E_CONTAINER', `runc state ${id}: ${st.stderr.trim() || st.stdout.trim()}`);
  }
  return {
    id,
    bundle,
    rootfs,
    pid,
    cgroupsPath,
    cgroupDir: path.join(UNIFIED_ROOT, cgroupsPath),
    annotations,
    exec: (args, eo = {}) => {
      const timeout = eo.timeoutMs ?? 20_000;
      if (eo.tty) {
        const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        return runCommand('script', ['-qec', `runc exec -t ${id} ${quoted}`, '/dev/null'], timeout);
      }
      const fds = eo.fds ?? [];
      const pre = fds.length ? ['--preserve-fds', String(fds.length)] : [];
      return runCommand('runc', ['exec', ...pre, id, ...args], timeout, ['ignore', 'pipe', 'pipe', ...fds]);
    },
    remove,
  };
}

/** Removes every container this process started. */
export function cleanupContainers(): void {
  for (const rm of [...live.values()]) rm();
}

process.on('exit', cleanupContainers);

/** Whether runc can be used here (root and the binary present); the reason when not. */
export function containerSupport(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'runc not installed';
  }
  if (!existsSync(BUSYBOX)) return `no static busybox at ${BUSYBOX}`;
  return undefined;
}
