// Selftest: real runc containers for the live scenarios (vigil selftest and tests/e2e/scenarios).
// A busybox rootfs (static busybox, applets as hard links), optionally as an overlayfs (lower =
// the image, upper = what the container writes, so "binary not in the base image" is real), with
// /dev/pts mounted so `runc exec -t` can give a process a terminal. The container id is 64 hex
// characters and the cgroupsPath is Kubernetes-shaped (/kubepods/besteffort/pod<uid>/<id>), so
// the sensor resolves container.id, container.name and the k8s.* fields from the bundle's
// annotations exactly as for a CRI container. Every container is removed by cleanupContainers()
// (and at process exit), including its cgroups, mounts and bundle directory.
import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Stream } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';
export const CGROUP_ROOT = '/sys/fs/cgroup';
export const UNIFIED_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

/** The capabilities of a default (non-privileged) Docker / containerd container. */
export const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'];

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

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

export interface ExecOptions {
  timeoutMs?: number;
  /** Give the process a pseudo-terminal (runc exec -t, under script(1)). */
  tty?: boolean;
  /** Extra open file descriptors passed to the process as fds 3, 4, ... (runc exec --preserve-fds). */
  fds?: (number | Stream)[];
}

const live = new Map<string, () => void>();

function run(cmd: string, args: string[], timeoutMs = 20_000, stdio?: StdioOptions): Promise<ExecResult> {
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

function execFileP(cmd: string, args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

function buildRootfs(dir: string, applets: string[], files: Record<string, string>): void {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', 'root', 'var/log', 'mnt']) mkdirSync(path.join(dir, d), { recursive: true });
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

function ociConfig(o: { name: string; annotations: Record<string, string>; cgroupsPath: string; caps: string[]; env: string[] }): object {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sleep', '1000000'],
      env: ['PATH=/bin', 'HOME=/root', ...o.env],
      cwd: '/',
      capabilities: { bounding: o.caps, effective: o.caps, permitted: o.caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: o.name,
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
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
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

function uuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Starts a detached container (registered for cleanupContainers()). */
export async function runContainer(spec: ContainerSpec): Promise<Container> {
  const fullId = randomBytes(32).toString('hex');
  const podUid = uuid();
  const cgroupsPath = `/kubepods/besteffort/pod${podUid}/${fullId}`;
  const bundle = mkdtempSync(path.join(os.tmpdir(), `vigil-selftest-${spec.name}-`));
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(rootfs);
  let mounted = false;
  if (spec.overlay) {
    const lower = path.join(bundle, 'lower');
    for (const d of ['lower', 'upper', 'work']) mkdirSync(path.join(bundle, d));
    buildRootfs(lower, spec.applets ?? [], spec.files ?? {});
    if (spec.hostBinaries) copyHostBinaries(lower, spec.hostBinaries);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${path.join(bundle, 'upper')},workdir=${path.join(bundle, 'work')}`, rootfs], { stdio: 'ignore' });
    mounted = true;
  } else {
    buildRootfs(rootfs, spec.applets ?? [], spec.files ?? {});
    if (spec.hostBinaries) copyHostBinaries(rootfs, spec.hostBinaries);
  }
  const annotations: Record<string, string> = {
    'io.kubernetes.pod.name': spec.pod,
    'io.kubernetes.pod.namespace': spec.namespace,
    'io.kubernetes.pod.uid': podUid,
    'io.kubernetes.container.name': spec.name,
  };
  if (spec.image) annotations['io.kubernetes.cri.image-name'] = spec.image;
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(ociConfig({ name: spec.name, annotations, cgroupsPath, caps: spec.caps ?? DEFAULT_CAPS, env: spec.env ?? [] }), null, 1));
  const createdCgroups = missingCgroupDirs(cgroupsPath);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    live.delete(fullId);
    try {
      execFileSync('runc', ['delete', '-f', fullId], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* never started or already gone */
    }
    removeCgroupDirs(createdCgroups);
    if (mounted) {
      try {
        execFileSync('umount', ['-l', rootfs], { stdio: 'ignore' });
      } catch {
        /* already unmounted */
      }
    }
    rmSync(bundle, { recursive: true, force: true });
  };
  live.set(fullId, remove);
  // with -d the init inherits runc's stdio: a log file, never a pipe (it would stay open)
  const logFile = path.join(bundle, 'runc.log');
  const logFd = openSync(logFile, 'w');
  const started = await run('runc', ['run', '-d', '--bundle', bundle, fullId], 20_000, ['ignore', logFd, logFd]);
  closeSync(logFd);
  if (started.code !== 0) {
    const log = readFileSync(logFile, 'utf8').trim();
    remove();
    throw new VigilError('VIGIL_E_CONTAINER', `runc run failed: ${log}`);
  }
  const st = await execFileP('runc', ['state', fullId]);
  const pid = (JSON.parse(st.stdout) as { pid: number }).pid;
  return {
    fullId,
    id: fullId.slice(0, 12),
    name: spec.name,
    pod: spec.pod,
    namespace: spec.namespace,
    rootfs,
    pid,
    exec: (args, eo = {}) => {
      const timeout = eo.timeoutMs ?? 20_000;
      if (eo.tty) {
        const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        return run('script', ['-qec', `runc exec -t ${fullId} ${quoted}`, '/dev/null'], timeout);
      }
      const fds = eo.fds ?? [];
      const pre = fds.length ? ['--preserve-fds', String(fds.length)] : [];
      return run('runc', ['exec', ...pre, fullId, ...args], timeout, ['ignore', 'pipe', 'pipe', ...fds]);
    },
    remove,
  };
}

/** Removes every container this process started. */
export function cleanupContainers(): void {
  for (const rm of [...live.values()]) rm();
}

process.on('exit', cleanupContainers);

/** Whether runc can be used here (root and the binary present). */
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
