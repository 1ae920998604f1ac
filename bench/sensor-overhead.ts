// Benchmark: what the sensor costs the workloads it watches. In ONE run it measures every workload
// (open/read/close loop, fork+exec loop, TCP connect/accept loop, redis-benchmark SET and GET)
// under every configuration: no sensor (baseline); the FLOOR (counting-only eBPF programs on exactly
// the hooks the sensor's default mode attaches, bench/floor/); `vigil run` in its default mode;
// `vigil run --events all`; with the stable Falco rules, without and with the kernel filter and with
// a file Block policy on another container; auditd with equivalent syscall rules (and, on request,
// `sensor-rules-kf-wake0`: a ring-buffer wakeup per event). Repetitions are interleaved
// (configurations in forward then reverse order, so drift cancels) and medians are reported, with
// the sensor's CPU use (node + vigil-loader, from /proc/<pid>/stat) and its events/s and drops.
// The method (bench/lib/method.ts) is made for a noisy shared 2-core machine: the sensor (and the
// floor's loader, auditd, this process) run pinned to one CPU and the workload to the other(s);
// beside its throughput, the workload's CPU time per operation (getrusage of its process tree) is
// measured; every configuration is repeated (default 7) and reported as median with IQR and
// min–max, and "− floor" is also computed per repetition (paired); with BPF run-time statistics
// held on, each configuration's own programs report ns per run and runs per operation.
// Prints tables and writes bench/results/sensor-overhead.{md,json} (quick runs: *-quick.*).
//
// Usage (root): node --import tsx bench/sensor-overhead.ts [--quick] [--reps N] [--out DIR] [--out-name NAME]
//               [--configs baseline,floor,sensor,sensor-all,sensor-rules,sensor-rules-kf,sensor-rules-kf-block,
//                          sensor-rules-kf-wake0,sensor-rules-kf-alt,auditd] [--workloads open,fork_exec,tcp,redis]
//               [--iter-fork-exec N] [--cpus SENSOR:WORKLOAD | none] [--no-bpf-stats]
//               [--alt-loader PATH --alt-label TEXT]   (sensor-rules-kf-alt: the same with another
//                                                       build of the loader, for a before/after A/B)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PlanBuilder, DEFAULT_FAMILIES } from '../src/sensor/hooks.ts';
import { controlRequest } from '../src/sensor/control.ts';
import type { SensorStatus } from '../src/sensor/sensor.ts';
import { cleanupContainers, containerSupport, runContainer } from '../src/selftest/container.ts';
import { buildBenchTools } from './floor/build.ts';
import {
  BpfStatsHold,
  cpuPlan,
  fmtSummary,
  parseRusage,
  pinned,
  pinPid,
  type ProgDelta,
  progCountersOf,
  progDelta,
  progNames,
  type Summary,
  summarize,
} from './lib/method.ts';

// ---------------------------------------------------------------------------------------------
// options

const repo = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');
const reps = Number(opt('--reps') ?? (quick ? 1 : 7));
const outDir = path.resolve(opt('--out') ?? path.join(repo, 'bench', 'results'));
const outBase = opt('--out-name') ?? (quick ? 'sensor-overhead-quick' : 'sensor-overhead');
const ITER = quick ? { open: 3000, fork_exec: 30, tcp: 300, redis: 3000 } : { open: 300_000, fork_exec: 2000, tcp: 40_000, redis: 100_000 };
if (opt('--iter-fork-exec')) ITER.fork_exec = Number(opt('--iter-fork-exec'));
const CPUS = cpuPlan(opt('--cpus'));
const BPF_STATS = !flag('--no-bpf-stats');
const ALT_LOADER = opt('--alt-loader');
const ALT_LABEL = opt('--alt-label') ?? ALT_LOADER ?? '';
const DRAIN_MAX_MS = quick ? 2000 : 30_000;
const DRAIN_MIN_MS = quick ? 300 : 1100; // the loader sends kernel counters every second
const BG_SAMPLE_MS = quick ? 100 : 1000;
const buildDir = path.join(repo, 'build', 'bench');
const vigilBin = path.join(repo, 'bin', 'vigil');
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const T0 = Date.now();
function log(msg: string): void {
  process.stderr.write(`[sensor-overhead +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// small utilities

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[], opts: { allowFail?: boolean; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd ?? repo });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return (r.stdout ?? '') + (opts.allowFail && r.status !== 0 ? (r.stderr ?? '') : '');
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** utime + stime of a process (all its threads), in clock ticks; 0 if it is gone. */
function cpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function ppidOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
}

function pidByComm(comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** eBPF sensors (vigil-loader, floor) and audit daemons on the machine that this run did not start:
 * their hooks tax every configuration, including the baseline, so their presence marks a run as disturbed. */
function foreignHookers(): string[] {
  const mine = new Set([...children].map((c) => c.pid));
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (!['vigil-loader', 'floor', 'auditd', 'falco', 'tetragon'].includes(comm)) continue;
      const pid = Number(d);
      const pp = ppidOf(pid);
      if (mine.has(pid) || mine.has(pp) || (pp > 1 && mine.has(ppidOf(pp)))) continue;
      out.push(`${comm}[${pid}]`);
    } catch {
      /* gone */
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function waitExit(c: ChildProcess): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((r) => c.once('exit', (code) => r(code)));
}

/** Children started by this benchmark, killed (by pid) on exit or interrupt. */
const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
function cleanupAll(): void {
  for (const c of children)
    if (c.pid)
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
  for (const f of cleanups.splice(0).reverse())
    try {
      f();
    } catch (e) {
      log(`cleanup: ${(e as Error).message}`);
    }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanupAll();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// build: workloads and the floor loader, into build/bench/

function build(): void {
  buildBenchTools(repo, buildDir);
}

// ---------------------------------------------------------------------------------------------
// the hooks of the sensor's default mode, as the floor and auditd need them

const TRACEFS = '/sys/kernel/tracing';
function ensureTracefs(): void {
  if (!existsSync(`${TRACEFS}/events`)) sh('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { allowFail: true });
}

interface DefaultHooks {
  floorArgs: string[]; // syscalls:sys_exit_X, btf:NAME
  syscalls: string[]; // syscall names for auditctl -S (the syscall's name, e.g. umount2, not its tracepoint's)
  missing: string[]; // syscall tracepoints this kernel does not have
}

function defaultHooks(): DefaultHooks {
  const plan = new PlanBuilder().needFamilies(DEFAULT_FAMILIES).build();
  const out: DefaultHooks = { floorArgs: [], syscalls: [], missing: [] };
  for (const h of plan.hooks.values()) {
    if (h.tier === 'syscall') {
      const tp = h.info!.tp ?? h.info!.name;
      if (!existsSync(`${TRACEFS}/events/syscalls/sys_exit_${tp}`)) {
        out.missing.push(tp);
        continue;
      }
      out.syscalls.push(h.info!.name);
      // the sensor attaches only sys_exit_X (arguments come from the saved registers)
      out.floorArgs.push(`syscalls:sys_exit_${tp}`);
    } else {
      out.floorArgs.push(`btf:${h.id.replace(/^tp_btf:/, '')}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// configurations. A running configuration ("segment") exposes the processes whose CPU it costs,
// an event counter, and how to wait until it has caught up with a finished workload.

interface Counters {
  events: number;
  kernelDrops: number;
  userDrops: number;
}

interface Segment {
  pids(): number[];
  /** the processes that hold this configuration's BPF programs (for their run-time statistics) */
  progPids(): number[];
  counters(): Promise<Counters | undefined>;
  /** waits until the configuration has caught up: its event rate is back to the background rate */
  drain(bgPerSec: number): Promise<void>;
  stop(): Promise<string[]>; // notes
}

interface ConfigSpec {
  id: string;
  label: string;
  /** why it cannot run here (checked once), or undefined */
  unavailable?: () => Promise<string | undefined>;
  start(): Promise<Segment>;
}

const noneSegment: Segment = {
  pids: () => [],
  progPids: () => [],
  counters: async () => undefined,
  drain: async () => {},
  stop: async () => [],
};

let tmp = '';
let sockSeq = 0;
const STABLE_RULES = path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml');

/** `vigil run --output json` piped into `wc -l` (so the printer really writes), with a control socket. */
/**
 * The stable rules with kernel filtering, plus an active file Block policy on another workload: a
 * runc container (started once for the whole run) whose /etc/shadow is blocked. The measured
 * workloads run on the host, so this shows what enforcement elsewhere on the node costs them.
 */
function blockConfig(): ConfigSpec {
  let policyFile: string | undefined;
  let victim: Awaited<ReturnType<typeof runContainer>> | undefined;
  const base = (): ConfigSpec =>
    sensorConfig('sensor-rules-kf-block', 'vigil run + stable rules, kernel filtering, file Block policy on another container', [
      '--rules',
      STABLE_RULES,
      '--alerts-only',
      '--policy',
      policyFile!,
    ]);
  return {
    id: 'sensor-rules-kf-block',
    label: 'vigil run + stable rules, kernel filtering, file Block policy on another container',
    async unavailable() {
      const why = containerSupport();
      if (why) return why;
      const c = (victim = await runContainer({
        name: 'bench-victim',
        pod: 'victim-0',
        namespace: 'bench',
        applets: ['cat'],
        files: { '/etc/shadow': 'root:*:1::::::\n' },
      }));
      cleanups.push(() => cleanupContainers());
      policyFile = path.join(tmp, 'block-policy.yaml');
      writeFileSync(
        policyFile,
        [
          'apiVersion: vigil.dev/v1alpha1',
          'kind: VigilPolicy',
          'metadata: {name: bench-block-shadow}',
          'spec:',
          `  selector: {matchLabels: {vigil.dev/container.name: ${c.name}}}`,
          '  file:',
          '    matchPaths: [{path: /etc/shadow}]',
          '  action: Block',
          '',
        ].join('\n'),
      );
      return undefined;
    },
    async start() {
      const seg = await base().start();
      // the policy must really be in force, or this row would measure nothing
      for (let i = 0; ; i++) {
        const r = await victim!.exec(['cat', '/etc/shadow']);
        if (r.code !== 0 && /not permitted/i.test(r.stderr)) break;
        if (i >= 20) {
          await seg.stop();
          throw new Error(`the Block policy is not enforced in bench-victim: cat exited ${r.code} ${r.stderr.trim()}`);
        }
        await sleep(250);
      }
      return seg;
    },
  };
}

function sensorConfig(id: string, label: string, extra: string[], loader?: string): ConfigSpec {
  return {
    id,
    label,
    async start() {
      const sock = path.join(tmp, `sensor-${++sockSeq}.sock`);
      const args = [vigilBin, 'run', '--output', 'json', '--socket', sock, ...extra];
      // the loader: the alternative build for -alt, else VIGIL_LOADER if set, else build/vigil-loader
      const env = { ...process.env };
      if (loader) env.VIGIL_LOADER = loader;
      const [cmd, cargs] = pinned(CPUS?.sensor, 'sh', ['-c', '"$@" | wc -l', 'sh', ...args]);
      const child = track(spawn(cmd, cargs, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }));
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const status = async (): Promise<SensorStatus> => {
        const r = await controlRequest(sock, { op: 'status' }, 15000);
        if (!r.ok) throw new Error(r.error ?? 'status failed');
        return r.result as SensorStatus;
      };
      const t0 = Date.now();
      let st: SensorStatus | undefined;
      while (!st) {
        if (child.exitCode !== null) throw new Error(`vigil run exited (${child.exitCode}): ${stderr}`);
        if (Date.now() - t0 > 90_000) throw new Error(`vigil run not ready after 90 s: ${stderr}`);
        await sleep(300);
        st = await status().catch(() => undefined);
      }
      const loaderPid = st.loaderPid!;
      const nodePid = ppidOf(loaderPid);
      const counters = async (): Promise<Counters> => {
        const s = await status();
        return { events: s.userspace.decoded, kernelDrops: s.kernel.ringbufDrops, userDrops: s.userspace.dropped };
      };
      return {
        pids: () => [nodePid, loaderPid],
        progPids: () => [loaderPid],
        counters,
        async drain(bg) {
          // the loader sends kernel counters every second: wait at least that, then until the decode
          // rate is back to the background rate (other processes on the machine make events too)
          const start = Date.now();
          let last = (await counters()).events;
          let lastAt = Date.now();
          await sleep(DRAIN_MIN_MS);
          for (;;) {
            const c = await counters();
            const rate = ((c.events - last) * 1000) / Math.max(1, Date.now() - lastAt);
            if (rate <= bg * 1.5 + 1000 || Date.now() - start > DRAIN_MAX_MS) return;
            last = c.events;
            lastAt = Date.now();
            await sleep(300);
          }
        },
        async stop() {
          const notes: string[] = [];
          // the drops as `vigil status` reports them, for the record
          const cli = spawnSync(vigilBin, ['status', '--json', '--socket', sock], { encoding: 'utf8', cwd: repo });
          let emitted = NaN;
          if (cli.status === 0) {
            const s = JSON.parse(cli.stdout) as SensorStatus;
            emitted = s.userspace.emitted;
            notes.push(
              `${id}: vigil status at end: kernel.ringbufDrops=${s.kernel.ringbufDrops} userspace.dropped=${s.userspace.dropped} decoded=${s.userspace.decoded} emitted=${s.userspace.emitted}`,
            );
          } else notes.push(`${id}: vigil status failed: ${cli.stderr.trim()}`);
          try {
            process.kill(nodePid, 'SIGTERM');
          } catch {
            /* gone */
          }
          const killer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 20_000);
          await waitExit(child);
          clearTimeout(killer);
          const lines = Number(stdout.trim());
          notes.push(`${id}: lines printed (wc -l) ${lines} of ${emitted} emitted`);
          for (const l of stderr.split('\n')) if (l.trim()) notes.push(`${id}: stderr: ${l.trim()}`);
          return notes;
        },
      };
    },
  };
}

function floorConfig(hooks: DefaultHooks): ConfigSpec {
  return {
    id: 'floor',
    label: 'floor: counting probes on the default hooks',
    async start() {
      const [cmd, cargs] = pinned(CPUS?.sensor, path.join(buildDir, 'floor'), hooks.floorArgs);
      const child = track(spawn(cmd, cargs, { stdio: ['pipe', 'pipe', 'pipe'] }));
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const lines: string[] = [];
      let waiter: (() => void) | undefined;
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          waiter?.();
        }
      });
      const nextLine = async (timeoutMs: number): Promise<string> => {
        const t0 = Date.now();
        while (!lines.length) {
          if (child.exitCode !== null) throw new Error(`floor exited (${child.exitCode}): ${stderr}`);
          if (Date.now() - t0 > timeoutMs) throw new Error(`floor: no reply within ${timeoutMs} ms: ${stderr}`);
          await new Promise<void>((r) => {
            waiter = r;
            setTimeout(r, 100);
          });
        }
        return lines.shift()!;
      };
      const ready = await nextLine(30_000);
      const attached = Number(/^ready (\d+)/.exec(ready)?.[1]);
      const counters = async (): Promise<Counters> => {
        process.kill(child.pid!, 'SIGUSR1');
        const l = await nextLine(5000);
        return { events: Number(/^hits (\d+)/.exec(l)?.[1]), kernelDrops: 0, userDrops: 0 };
      };
      return {
        pids: () => [child.pid!],
        progPids: () => [child.pid!],
        counters,
        drain: async () => {},
        async stop() {
          child.stdin!.end();
          await waitExit(child);
          return [`floor: ${attached} of ${hooks.floorArgs.length} probes attached`];
        },
      };
    },
  };
}

// auditd ------------------------------------------------------------------------------------------
// Once the kernel's audit has ever been enabled, every task forked afterwards carries the syscall
// audit work flag unless a `never,task` rule says otherwise. So, for the whole run, the other
// configurations keep `-a never,task` loaded (audit disabled), and the auditd segment replaces it
// with the syscall rules. The audit state found at start is restored at the end.

interface AuditState {
  enabled: number;
  pid: number;
  backlogLimit: number;
  lost: number;
  backlog: number;
}
function auditStatus(): AuditState {
  const out = sh('auditctl', ['-s']);
  const v = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(out)?.[1] ?? NaN);
  return { enabled: v('enabled'), pid: v('pid'), backlogLimit: v('backlog_limit'), lost: v('lost'), backlog: v('backlog') };
}

function auditConfig(hooks: DefaultHooks): ConfigSpec {
  // the sensor's default syscalls, plus the process-creation syscalls standing in for its sched hooks
  const syscalls = [...new Set([...hooks.syscalls, 'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork'])];
  let original: AuditState | undefined;
  const spec: ConfigSpec = {
    id: 'auditd',
    label: 'auditd, equivalent syscall rules',
    async unavailable() {
      if (spawnSync('sh', ['-c', 'command -v auditd >/dev/null && command -v auditctl >/dev/null']).status !== 0)
        return 'auditd not installed (apt-get install -y auditd)';
      let st: AuditState;
      try {
        st = auditStatus();
      } catch (e) {
        return `kernel audit unavailable: ${(e as Error).message.trim()}`;
      }
      if (!Number.isFinite(st.enabled)) return 'kernel audit unavailable (auditctl -s gave no status)';
      if (st.pid) return `an audit daemon (pid ${st.pid}) is already running: not touching it`;
      if (st.enabled === 2) return 'audit configuration is locked (enabled 2)';
      const rules = sh('auditctl', ['-l']).trim();
      if (rules && rules !== 'No rules') return `audit rules are already loaded by someone else: not touching them (${rules.split('\n')[0]})`;
      original = st;
      sh('auditctl', ['-a', 'never,task']);
      cleanups.push(() => {
        spawnSync('auditctl', ['-D']);
        spawnSync('auditctl', ['-e', String(original!.enabled)]);
        spawnSync('auditctl', ['-b', String(original!.backlogLimit)]);
      });
      return undefined;
    },
    async start() {
      const dir = path.join(tmp, `auditd-${++sockSeq}`);
      mkdirSync(dir);
      const logFile = path.join(dir, 'audit.log');
      // the distribution's auditd.conf, logging into our directory and never rotating
      const conf = readFileSync('/etc/audit/auditd.conf', 'utf8')
        .replace(/^log_file\s*=.*$/m, `log_file = ${logFile}`)
        .replace(/^max_log_file_action\s*=.*$/m, 'max_log_file_action = IGNORE')
        .replace(/^(space_left_action|admin_space_left_action|disk_full_action)\s*=.*$/gm, '$1 = IGNORE');
      writeFileSync(path.join(dir, 'auditd.conf'), conf);
      const [acmd, aargs] = pinned(CPUS?.sensor, 'auditd', ['-n', '-s', 'nochange', '-c', dir]);
      const child = track(spawn(acmd, aargs, { stdio: ['ignore', 'ignore', 'pipe'] }));
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const t0 = Date.now();
      while (auditStatus().pid !== child.pid) {
        if (child.exitCode !== null || Date.now() - t0 > 15_000) throw new Error(`auditd did not start: ${stderr}`);
        await sleep(100);
      }
      sh('auditctl', ['-b', '8192']); // the backlog Debian's default audit.rules sets
      sh('auditctl', ['-D']);
      sh('auditctl', ['-a', 'always,exit', '-F', 'arch=b64', '-S', syscalls.join(','), '-k', 'vigil-bench']);
      sh('auditctl', ['-e', '1']);
      const kauditd = pidByComm('kauditd');
      // SYSCALL records in the log (one per audited syscall), except those of our own auditctl
      // calls, counted incrementally from where the last count stopped
      let counted = 0;
      let offset = 0;
      let carry = '';
      const count = (): number => {
        if (!existsSync(logFile)) return counted;
        const fd = openSync(logFile, 'r');
        const b = Buffer.alloc(1 << 22);
        for (;;) {
          const got = readSync(fd, b, 0, b.length, offset);
          if (got <= 0) break;
          offset += got;
          const lines = (carry + b.toString('latin1', 0, got)).split('\n');
          carry = lines.pop()!;
          for (const l of lines) if (l.startsWith('type=SYSCALL') && !l.includes('comm="auditctl"')) counted++;
        }
        closeSync(fd);
        return counted;
      };
      return {
        pids: () => [child.pid!, ...(kauditd ? [kauditd] : [])],
        progPids: () => [],
        async counters() {
          return { events: count(), kernelDrops: auditStatus().lost, userDrops: 0 };
        },
        async drain(bg) {
          // until the record rate is back to the background rate (other processes are audited too;
          // no auditctl call in this loop: it would be audited as well)
          const t0 = Date.now();
          let last = count();
          let lastAt = Date.now();
          for (;;) {
            await sleep(300);
            const n = count();
            const rate = ((n - last) * 1000) / Math.max(1, Date.now() - lastAt);
            if (rate <= bg * 1.5 + 200 || Date.now() - t0 > DRAIN_MAX_MS) return;
            last = n;
            lastAt = Date.now();
          }
        },
        async stop() {
          sh('auditctl', ['-e', '0']);
          sh('auditctl', ['-D']);
          sh('auditctl', ['-a', 'never,task']);
          process.kill(child.pid!, 'SIGTERM');
          await waitExit(child);
          const size = existsSync(logFile) ? statSync(logFile).size : 0;
          rmSync(dir, { recursive: true, force: true });
          return [`auditd: ${syscalls.length} syscalls in one exit rule; log ${(size / 1e6).toFixed(0)} MB (ENRICHED format, deleted)`];
        },
      };
    },
  };
  return spec;
}

// ---------------------------------------------------------------------------------------------
// workloads

interface WorkloadSpec {
  id: string;
  label: string;
}
const WORKLOADS: WorkloadSpec[] = [
  { id: 'open', label: `open/read/close ×${ITER.open}` },
  { id: 'fork_exec', label: `fork+exec /bin/true ×${ITER.fork_exec}` },
  { id: 'tcp', label: `TCP connect/accept ×${ITER.tcp}` },
  { id: 'redis_set', label: `redis SET (-n ${ITER.redis} -c 50 -P 1)` },
  { id: 'redis_get', label: `redis GET (-n ${ITER.redis} -c 50 -P 1)` },
];

/** Runs a workload pinned to the workload CPUs under rusage_run (its CPU time is the last line). */
async function runProgram(cmd: string, args: string[]): Promise<string> {
  const [pcmd, pargs] = pinned(CPUS?.workload, path.join(buildDir, 'rusage_run'), [cmd, ...args]);
  const c = track(spawn(pcmd, pargs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmp }));
  let out = '';
  let err = '';
  c.stdout!.on('data', (d: Buffer) => (out += d));
  c.stderr!.on('data', (d: Buffer) => (err += d));
  const code = await waitExit(c);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}${out}`);
  return out;
}

interface WorkloadResult {
  opsPerSec: number;
  /** CPU seconds (user + system) of the workload's process tree (and redis-server's, for redis) */
  cpuSec: number;
  ops: number;
}

async function runWorkload(id: string, redis: { port: number; pid: number } | undefined, smallFile: string): Promise<WorkloadResult> {
  const parse = (out: string, ops: number): WorkloadResult => {
    const line = out
      .trim()
      .split('\n')
      .find((l) => l.includes('"ops_per_sec"'));
    const opsPerSec = Number((JSON.parse(line ?? '{}') as { ops_per_sec?: number }).ops_per_sec);
    if (!Number.isFinite(opsPerSec)) throw new Error(`no ops/s in ${out}`);
    const ru = parseRusage(out);
    return { opsPerSec, cpuSec: ru.userSec + ru.sysSec, ops };
  };
  switch (id) {
    case 'open':
      return parse(await runProgram(path.join(buildDir, 'open_loop'), [String(ITER.open), smallFile]), ITER.open);
    case 'fork_exec':
      return parse(await runProgram(path.join(buildDir, 'fork_exec'), [String(ITER.fork_exec), '/bin/true']), ITER.fork_exec);
    case 'tcp':
      return parse(await runProgram(path.join(buildDir, 'tcp_loop'), [String(ITER.tcp)]), ITER.tcp);
    case 'redis_set':
    case 'redis_get': {
      const t = id === 'redis_set' ? 'set' : 'get';
      const s0 = cpuTicks(redis!.pid);
      const out = await runProgram('redis-benchmark', ['-q', '-t', t, '-n', String(ITER.redis), '-P', '1', '-c', '50', '-p', String(redis!.port)]);
      const server = (cpuTicks(redis!.pid) - s0) / HZ;
      const m = [...out.matchAll(/(SET|GET): ([\d.]+) requests per second/g)].pop();
      if (!m) throw new Error(`no rate in redis-benchmark output: ${out}`);
      const ru = parseRusage(out);
      return { opsPerSec: Number(m[2]), cpuSec: ru.userSec + ru.sysSec + server, ops: ITER.redis };
    }
  }
  throw new Error(`unknown workload ${id}`);
}

async function startRedis(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const [rcmd, rargs] = pinned(CPUS?.workload, 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    tmp,
  ]);
  const c = track(spawn(rcmd, rargs, { stdio: 'ignore' }));
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
        s.once('data', (d) => {
          s.destroy();
          r(d.toString().startsWith('+PONG'));
        });
      });
      s.once('error', () => r(false));
    });
    if (ok) break;
    if (c.exitCode !== null || Date.now() - t0 > 10_000) throw new Error('redis-server did not start');
    await sleep(50);
  }
  return {
    port,
    pid: c.pid!,
    stop: async () => {
      c.kill('SIGTERM');
      await waitExit(c);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// measurement

interface Sample {
  opsPerSec: number;
  wallSec: number;
  /** the workload's CPU time (user + system) per operation, µs */
  cpuUsPerOp: number;
  /** run-time statistics of the configuration's own BPF programs during the workload, per program name */
  bpf?: Record<string, ProgDelta>;
  ops: number;
  cpuPct?: number;
  eventsPerSec?: number;
  /** events/s of the whole machine measured just before the workload, subtracted from eventsPerSec */
  backgroundPerSec?: number;
  kernelDrops?: number;
  userDrops?: number;
}

async function measure(
  seg: Segment,
  workload: string,
  redis: { port: number; pid: number } | undefined,
  smallFile: string,
  names: Map<number, string>,
): Promise<Sample> {
  // background event rate (other processes on the machine) just before the workload
  const cb = await seg.counters();
  const tb = Date.now();
  if (cb) await sleep(BG_SAMPLE_MS);
  const c0 = await seg.counters();
  const tc0 = Date.now();
  const bg = cb && c0 ? ((c0.events - cb.events) * 1000) / Math.max(1, tc0 - tb) : 0;
  const pids = seg.pids();
  const t0 = pids.map(cpuTicks);
  const snap = () => {
    const m = new Map<number, { name: string; runCnt: number; runTimeNs: number }>();
    for (const p of seg.progPids()) for (const [id, c] of progCountersOf(p, names)) m.set(id, c);
    return m;
  };
  const b0 = BPF_STATS ? snap() : undefined;
  const w0 = process.hrtime.bigint();
  const wr = await runWorkload(workload, redis, smallFile);
  const wallSec = Number(process.hrtime.bigint() - w0) / 1e9;
  const b1 = BPF_STATS ? snap() : undefined;
  const t1 = pids.map(cpuTicks);
  await seg.drain(bg);
  const c1 = await seg.counters();
  const tc1 = Date.now();
  const s: Sample = { opsPerSec: wr.opsPerSec, wallSec, cpuUsPerOp: (wr.cpuSec * 1e6) / wr.ops, ops: wr.ops };
  if (b0 && b1 && seg.progPids().length) s.bpf = progDelta(b0, b1);
  if (pids.length) s.cpuPct = ((t1.reduce((a, b) => a + b, 0) - t0.reduce((a, b) => a + b, 0)) / HZ / wallSec) * 100;
  if (c0 && c1) {
    s.backgroundPerSec = bg;
    s.eventsPerSec = Math.max(0, c1.events - c0.events - (bg * (tc1 - tc0)) / 1000) / wallSec;
    s.kernelDrops = c1.kernelDrops - c0.kernelDrops;
    s.userDrops = c1.userDrops - c0.userDrops;
  }
  return s;
}

interface Row {
  workload: string;
  workloadLabel: string;
  config: string;
  configLabel: string;
  skipped?: string;
  opsPerSec?: number;
  slowdownPct?: number;
  minusFloorPp?: number;
  spreadPct?: number;
  ops?: Summary;
  /** the workload's CPU µs per operation */
  cpuPerOp?: Summary;
  /** CPU per op over the baseline's median, % */
  cpuOverheadPct?: number;
  /** per repetition: (CPU/op − the floor's CPU/op in the same repetition) ÷ baseline median, in pp */
  cpuMinusFloorPp?: Summary;
  /** per repetition: throughput slowdown minus the floor's in the same repetition (both against that repetition's baseline), pp */
  opsMinusFloorPp?: Summary;
  /** all of the configuration's BPF programs, ns per operation */
  bpfNsPerOp?: Summary;
  /** per repetition: (BPF ns/op − the floor's BPF ns/op in the same repetition) ÷ the baseline's median CPU per op, in pp */
  bpfMinusFloorPp?: Summary;
  /** per program: ns per run and runs per operation over the repetitions */
  bpf?: { prog: string; nsPerRun: Summary; runsPerOp: Summary; nsPerOp: Summary }[];
  cpuPct?: number;
  eventsPerSec?: number;
  kernelDrops?: number;
  userDrops?: number;
  samples: Sample[];
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function renderTable(rows: Row[]): string {
  const head = ['workload', 'configuration', 'ops/s (median)', 'slowdown %', '− floor (pp)', 'spread %', 'CPU % (1 core)', 'events/s', 'drops kernel / user'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`| ${r.workloadLabel} | ${r.configLabel} | skipped: ${r.skipped} | | | | | | |`);
      continue;
    }
    const drops = r.kernelDrops === undefined ? '–' : `${fmt(r.kernelDrops)} / ${fmt(r.userDrops)}`;
    lines.push(
      `| ${r.workloadLabel} | ${r.configLabel} | ${fmt(r.opsPerSec)} | ${r.config === 'baseline' ? '–' : fmt(r.slowdownPct, 1)} | ${fmt(r.minusFloorPp, 1)} | ${fmt(r.spreadPct, 1)} | ${fmt(r.cpuPct, 1)} | ${fmt(r.eventsPerSec)} | ${drops} |`,
    );
  }
  return lines.join('\n');
}

function renderCpuTable(rows: Row[]): string {
  const head = [
    'workload',
    'configuration',
    'CPU µs/op',
    'over baseline %',
    '− floor (pp), paired',
    'BPF ns/op',
    'BPF − floor (pp), paired',
    'ops/s',
    'ops/s − floor (pp), paired',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    if (r.skipped || !r.cpuPerOp) continue;
    const ops = r.ops ? `${fmt(r.ops.median)} (${fmt(r.ops.min)}–${fmt(r.ops.max)})` : '–';
    lines.push(
      `| ${r.workloadLabel} | ${r.configLabel} | ${fmtSummary(r.cpuPerOp, 2)} | ${r.config === 'baseline' ? '–' : fmt(r.cpuOverheadPct, 1)} | ${r.cpuMinusFloorPp ? fmtSummary(r.cpuMinusFloorPp, 1) : '–'} | ${r.bpfNsPerOp ? fmtSummary(r.bpfNsPerOp, 0) : '–'} | ${r.bpfMinusFloorPp ? fmtSummary(r.bpfMinusFloorPp, 2) : '–'} | ${ops} | ${r.opsMinusFloorPp ? fmtSummary(r.opsMinusFloorPp, 1) : '–'} |`,
    );
  }
  return lines.join('\n');
}

function renderBpfTable(rows: Row[]): string {
  const head = ['workload', 'configuration', 'program', 'ns/run', 'runs/op', 'ns/op'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 3 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    if (r.skipped || !r.bpf?.length) continue;
    let total = 0;
    for (const b of r.bpf) {
      total += b.nsPerOp.median;
      lines.push(
        `| ${r.workloadLabel} | ${r.configLabel} | ${b.prog} | ${fmtSummary(b.nsPerRun, 0)} | ${fmt(b.runsPerOp.median, 2)} | ${fmt(b.nsPerOp.median, 0)} |`,
      );
    }
    lines.push(`| ${r.workloadLabel} | ${r.configLabel} | **all** | | | **${fmt(total, 0)}** |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (eBPF, auditd)');
  for (const f of [path.join(repo, 'build', 'vigil-loader')]) if (!existsSync(f)) throw new Error(`${f} missing: run make build`);
  const loadBefore = loadavg();
  log(`load average before: ${loadBefore}`);
  build();
  ensureTracefs();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  const smallFile = path.join(tmp, 'small.txt');
  writeFileSync(smallFile, 'vigil sensor overhead benchmark: a small file read in a loop\n');
  const hooks = defaultHooks();

  const wanted = (opt('--configs') ?? 'baseline,floor,sensor,sensor-all,sensor-rules,sensor-rules-kf,sensor-rules-kf-block,auditd').split(',');
  const ALL_CONFIGS: ConfigSpec[] = [
    { id: 'baseline', label: 'no sensor (baseline)', start: async () => noneSegment },
    floorConfig(hooks),
    sensorConfig('sensor', 'vigil run (default: exec,file,net,priv,caps)', []),
    sensorConfig('sensor-all', 'vigil run --events all', ['--events', 'all']),
    // the stable Falco rules decide the hooks; alerts only (the rules are the consumer)
    sensorConfig('sensor-rules', 'vigil run + stable rules, no kernel filtering', ['--rules', STABLE_RULES, '--alerts-only', '--no-kernel-filter']),
    sensorConfig('sensor-rules-kf', 'vigil run + stable rules, kernel filtering', ['--rules', STABLE_RULES, '--alerts-only']),
    // not in the default set: the same with a ring-buffer wakeup per event (the A/B of batching)
    sensorConfig('sensor-rules-kf-wake0', 'vigil run + stable rules, kernel filtering, --wakeup-ms 0', [
      '--rules',
      STABLE_RULES,
      '--alerts-only',
      '--wakeup-ms',
      '0',
    ]),
    // not in the default set: the same with another build of the loader (--alt-loader), for a before/after A/B
    sensorConfig(
      'sensor-rules-kf-alt',
      `vigil run + stable rules, kernel filtering, loader ${ALT_LABEL}`,
      ['--rules', STABLE_RULES, '--alerts-only'],
      ALT_LOADER,
    ),
    blockConfig(),
    auditConfig(hooks),
  ];
  if (wanted.includes('sensor-rules-kf-alt') && !ALT_LOADER) throw new Error('sensor-rules-kf-alt needs --alt-loader PATH');
  if (CPUS) {
    pinPid(process.pid, CPUS.sensor);
    log(`pinned: sensor, floor, auditd and this process on CPU ${CPUS.sensor.join(',')}; workloads on CPU ${CPUS.workload.join(',')}`);
  }
  const statsHold = new BpfStatsHold();
  if (BPF_STATS) {
    await statsHold.start(buildDir);
    cleanups.push(() => statsHold.stop());
  }
  const configs = ALL_CONFIGS.filter((c) => wanted.includes(c.id));
  const skipped = new Map<string, string>();
  for (const c of configs) {
    const why = await c.unavailable?.();
    if (why) {
      skipped.set(c.id, why);
      log(`skipping ${c.id}: ${why}`);
    }
  }
  const runnable = configs.filter((c) => !skipped.has(c.id));
  const wantedW = (opt('--workloads') ?? 'open,fork_exec,tcp,redis').split(',');
  const workloads = WORKLOADS.filter((w) => wantedW.includes(w.id) || (w.id.startsWith('redis') && wantedW.includes('redis')));

  const samples = new Map<string, Sample[]>();
  const notes: string[] = [];
  const segLoads: string[] = [];
  const disturbed: string[] = [];
  const t0 = Date.now();
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? runnable : [...runnable].reverse();
    for (const cfg of order) {
      segLoads.push(`${rep + 1}/${cfg.id}: ${loadavg()}`);
      const foreign = foreignHookers();
      if (foreign.length) {
        disturbed.push(`rep ${rep + 1} ${cfg.id}: ${foreign.join(', ')}`);
        log(`WARNING: hooks of other processes are attached (${foreign.join(', ')}): this run is disturbed`);
      }
      log(`rep ${rep + 1}/${reps} ${cfg.id} (load ${loadavg()})`);
      const ts = Date.now();
      const seg = await cfg.start();
      log(`  started in ${((Date.now() - ts) / 1000).toFixed(1)} s`);
      const names = BPF_STATS && seg.progPids().length ? progNames() : new Map<number, string>();
      let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
      try {
        // redis-server starts inside the segment, so it is a process the configuration sees from its birth
        if (workloads.some((w) => w.id.startsWith('redis'))) redis = await startRedis();
        for (const w of workloads) {
          const s = await measure(seg, w.id, redis, smallFile, names);
          const k = `${w.id}|${cfg.id}`;
          samples.set(k, [...(samples.get(k) ?? []), s]);
          log(
            `  ${w.id.padEnd(10)} ${fmt(s.opsPerSec).padStart(10)} ops/s  ${fmt(s.cpuUsPerOp, 2)} CPU µs/op${s.cpuPct !== undefined ? `  cpu ${fmt(s.cpuPct, 1)}%` : ''}${s.eventsPerSec !== undefined ? `  events/s ${fmt(s.eventsPerSec)}  drops ${s.kernelDrops}/${s.userDrops}` : ''}`,
          );
        }
      } finally {
        await redis?.stop();
        const n = await seg.stop();
        if (rep === 0) notes.push(...n.filter((l) => !/lines printed|vigil status at end/.test(l)));
        notes.push(...n.filter((l) => /lines printed|vigil status at end/.test(l)).map((l) => `rep ${rep + 1}: ${l}`));
      }
    }
  }
  const loadAfter = loadavg();
  log(`load average after: ${loadAfter}`);

  // rows: medians per (workload, configuration)
  const rows: Row[] = [];
  for (const w of workloads) {
    const base = median((samples.get(`${w.id}|baseline`) ?? []).map((s) => s.opsPerSec));
    const floorSlow = (() => {
      const f = samples.get(`${w.id}|floor`);
      return f ? (1 - median(f.map((s) => s.opsPerSec)) / base) * 100 : undefined;
    })();
    for (const c of configs) {
      const r: Row = { workload: w.id, workloadLabel: w.label, config: c.id, configLabel: c.label, samples: samples.get(`${w.id}|${c.id}`) ?? [] };
      if (skipped.has(c.id)) r.skipped = skipped.get(c.id);
      else {
        const ss = r.samples;
        const ops = ss.map((s) => s.opsPerSec);
        r.opsPerSec = median(ops);
        r.spreadPct = ((Math.max(...ops) - Math.min(...ops)) / r.opsPerSec) * 100;
        if (Number.isFinite(base)) r.slowdownPct = (1 - r.opsPerSec / base) * 100;
        if (c.id !== 'baseline' && c.id !== 'floor' && floorSlow !== undefined) r.minusFloorPp = r.slowdownPct! - floorSlow;
        const opt = (f: (s: Sample) => number | undefined) => {
          const xs = ss.map(f).filter((x): x is number => x !== undefined);
          return xs.length ? median(xs) : undefined;
        };
        r.cpuPct = opt((s) => s.cpuPct);
        r.eventsPerSec = opt((s) => s.eventsPerSec);
        if (ss.some((s) => s.kernelDrops !== undefined)) {
          r.kernelDrops = ss.reduce((a, s) => a + (s.kernelDrops ?? 0), 0);
          r.userDrops = ss.reduce((a, s) => a + (s.userDrops ?? 0), 0);
        }
        // the method's figures: spreads, CPU per op, paired differences with the floor, BPF per program
        const bs = samples.get(`${w.id}|baseline`) ?? [];
        const fs = samples.get(`${w.id}|floor`) ?? [];
        r.ops = summarize(ops);
        r.cpuPerOp = summarize(ss.map((s) => s.cpuUsPerOp));
        const baseCpu = summarize(bs.map((s) => s.cpuUsPerOp)).median;
        if (Number.isFinite(baseCpu)) r.cpuOverheadPct = (r.cpuPerOp.median / baseCpu - 1) * 100;
        if (c.id !== 'baseline' && c.id !== 'floor' && fs.length === ss.length && bs.length === ss.length) {
          r.cpuMinusFloorPp = summarize(ss.map((s, i) => ((s.cpuUsPerOp - fs[i]!.cpuUsPerOp) / baseCpu) * 100));
          r.opsMinusFloorPp = summarize(ss.map((s, i) => (fs[i]!.opsPerSec / bs[i]!.opsPerSec - s.opsPerSec / bs[i]!.opsPerSec) * 100));
        }
        const bpfPerOp = (x: Sample) => Object.values(x.bpf ?? {}).reduce((a, d) => a + d.ns, 0) / x.ops;
        if (ss.some((x) => x.bpf)) {
          r.bpfNsPerOp = summarize(ss.map(bpfPerOp));
          if (c.id !== 'floor' && fs.length === ss.length && fs.every((x) => x.bpf))
            r.bpfMinusFloorPp = summarize(ss.map((x, i) => ((bpfPerOp(x) - bpfPerOp(fs[i]!)) / (baseCpu * 1000)) * 100));
        }
        const progs = [...new Set(ss.flatMap((s) => Object.keys(s.bpf ?? {})))].sort();
        r.bpf = progs.map((prog) => {
          const ds = ss.map((s) => s.bpf?.[prog] ?? { runs: 0, ns: 0 });
          return {
            prog,
            nsPerRun: summarize(ds.filter((d) => d.runs > 0).map((d) => d.ns / d.runs)),
            runsPerOp: summarize(ds.map((d, i) => d.runs / ss[i]!.ops)),
            nsPerOp: summarize(ds.map((d, i) => d.ns / ss[i]!.ops)),
          };
        });
      }
      rows.push(r);
    }
  }

  const table = renderTable(rows);
  const cpuTable = renderCpuTable(rows);
  const bpfTable = renderBpfTable(rows);
  const meta = {
    date: new Date().toISOString(),
    quick,
    reps,
    iterations: ITER,
    host: { kernel: os.release(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    loadBefore,
    loadAfter,
    segmentLoads: segLoads,
    durationSec: Math.round((Date.now() - t0) / 1000),
    floorHooks: hooks.floorArgs.length,
    missingTracepoints: hooks.missing,
    skipped: Object.fromEntries(skipped),
    disturbedBy: disturbed,
    cpus: CPUS ?? 'not pinned',
    bpfStats: BPF_STATS,
    altLoader: ALT_LOADER,
  };
  const md = [
    `# Sensor overhead${quick ? ' (quick smoke run: not representative)' : ''}`,
    '',
    `Generated by \`node --import tsx bench/sensor-overhead.ts${quick ? ' --quick' : ''}\` on ${meta.date.slice(0, 10)}: kernel ${meta.host.kernel}, ${meta.host.cpus} CPUs (${meta.host.cpuModel}), ${meta.host.memGiB} GiB.`,
    ...(disturbed.length
      ? [`**DISTURBED RUN**: other processes had hooks attached during the run (${disturbed.join('; ')}): do not publish these figures.`, '']
      : []),
    `${reps} repetitions, configurations interleaved (forward, then reverse order); medians. Load average before ${loadBefore}, after ${loadAfter}; whole run ${meta.durationSec} s. ${CPUS ? `Sensor (node + loader), floor, auditd and the benchmark pinned to CPU ${CPUS.sensor.join(',')}, workloads (and redis-server) to CPU ${CPUS.workload.join(',')}.` : 'Not pinned.'}${BPF_STATS ? ' BPF run-time statistics on (BPF_ENABLE_STATS) in every configuration.' : ''}`,
    '',
    "## The workload's CPU time per operation",
    '',
    cpuTable,
    '',
    "- **CPU µs/op**: user + system CPU time of the workload's process tree (getrusage of its children: the programs run in the traced tasks, so their cost lands here; redis: client + redis-server) per operation; median (IQR; min–max) over the repetitions. **over baseline**: median ÷ baseline median − 1. **− floor (pp)**: per repetition, (CPU/op − the floor's CPU/op in the same repetition) ÷ the baseline's median CPU/op, in percentage points; median (IQR; min–max). **BPF ns/op**: run time of all the configuration's BPF programs per operation (kernel statistics; includes runs caused by other processes meanwhile, so an upper bound). **BPF − floor (pp)**: per repetition, (BPF ns/op − the floor's) ÷ the baseline's median CPU per op: the programs' own share, the part of the overhead least disturbed by other load on the machine. **ops/s − floor (pp)**: per repetition, the floor's throughput minus this configuration's, both as a fraction of that repetition's baseline.",
    '',
    '## BPF cost per program (kernel run-time statistics)',
    '',
    bpfTable,
    '',
    "- The configuration's own programs only (by program id, from /proc/<loader>/fdinfo: other sensors running on the machine are not counted). **ns/run**: run_time_ns ÷ run_cnt; **runs/op** and **ns/op**: per workload operation, including runs caused by other processes on the machine during the workload; median (IQR; min–max).",
    '',
    '## Throughput',
    '',
    table,
    '',
    "- **slowdown %**: 1 − ops/s ÷ baseline ops/s (median). **− floor (pp)**: slowdown minus the floor's slowdown, in percentage points: what the sensor costs beyond the unavoidable price of its hooks. For `--events all` the floor lacks the `close` hooks, so that figure includes them.",
    '- **floor**: `bench/floor/` — one counting-only tracepoint program on `sys_exit_X` of every syscall (the sensor attaches no enter hooks) of the default plan (`PlanBuilder().needFamilies(DEFAULT_FAMILIES)`), and tp_btf `sched_process_exec/fork/exit`, `cap_capable`' +
      (hooks.missing.length ? ` (${hooks.missing.join(', ')}: no tracepoint on this kernel, skipped by the floor and the sensor alike)` : '') +
      '.',
    "- **CPU %**: utime + stime over the workload's wall time, in % of one core — sensor: the node process and its vigil-loader; floor: its loader; auditd: auditd + kauditd (audit's record formatting happens in the audited task itself and shows as slowdown).",
    "- **events/s**: events over the workload's wall time, minus the machine's background rate measured just before it — sensor: decoded by user space (`userspace.decoded`, after it caught up); floor: probe hits; auditd: SYSCALL records written to its log.",
    "- **drops**: summed over all repetitions — sensor: `kernel.ringbufDrops` / `userspace.dropped` (the printer's bounded buffer) from its control socket; auditd: the kernel's `lost` counter. The sensor's JSON goes through a pipe into `wc -l`, so printing really happens.",
    '- **spread %**: (max − min) ÷ median of ops/s over the repetitions.',
    "- auditd runs with Debian's auditd.conf (ENRICHED log format, INCREMENTAL_ASYNC flush), `-b 8192`, one `always,exit` rule with the default plan's syscalls plus execve, execveat, clone, clone3, fork, vfork (there is no audit counterpart of `cap_capable`). While the other configurations run, `-a never,task` keeps tasks free of audit work.",
    '- **file Block policy on another container**: a runc container (`bench-victim`) whose `/etc/shadow` is blocked by a VigilPolicy (fanotify permission events on its mount only); the workloads run on the host. The cost per enforced open inside the container is in bench/fanotify-latency.ts.',
    ...(skipped.size ? ['', ...[...skipped].map(([k, v]) => `- **${k} skipped**: ${v}`)] : []),
    '',
    '<details><summary>notes</summary>',
    '',
    ...notes.map((n) => `- ${n.replace(/\|/g, '\\|')}`),
    '',
    '</details>',
    '',
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${outBase}.md`), md);
  writeFileSync(path.join(outDir, `${outBase}.json`), JSON.stringify({ meta, rows, notes }, null, 2) + '\n');
  process.stdout.write(
    `\n${cpuTable}\n\n${bpfTable}\n\n${table}\n\nload average before ${loadBefore}, after ${loadAfter}${disturbed.length ? `\nDISTURBED: ${disturbed.join('; ')}` : ''}\nwritten: ${path.join(outDir, outBase)}.{md,json}\n`,
  );
}

try {
  await main();
  cleanupAll();
} catch (e) {
  log(`FAILED: ${(e as Error).stack ?? e}`);
  cleanupAll();
  process.exit(1);
}
