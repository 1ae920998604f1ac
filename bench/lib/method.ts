// Helper (not a benchmark): the measurement method the overhead benchmarks share on this noisy,
// 2-core, shared machine. CPU pinning (the sensor and the workload on different CPUs), the
// workload's CPU time per operation (getrusage of its children, through bench/workloads/rusage_run),
// per-program BPF cost from the kernel's run-time statistics (held on with BPF_ENABLE_STATS by
// bench/floor/bpf_stats_hold, read from /proc/<pid>/fdinfo of the process that owns the programs),
// and order statistics (median with min–max and IQR, paired per-repetition differences).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// order statistics

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** Quantile by linear interpolation between order statistics (type 7, as R and numpy default). */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (h - lo);
}

export function summarize(xs: number[]): Summary {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

export function median(xs: number[]): number {
  return summarize(xs).median;
}

/** "12.3 (IQR 11.9–13.0, 10.2–15.1)": median, interquartile range, min–max. */
export function fmtSummary(s: Summary, digits = 1): string {
  if (!s.n) return '–';
  const f = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${f(s.median)} (IQR ${f(s.q1)}–${f(s.q3)}; ${f(s.min)}–${f(s.max)})`;
}

// ---------------------------------------------------------------------------------------------
// CPU pinning

export interface CpuPlan {
  /** the sensor (node + loader), the floor's loader, auditd and this benchmark process */
  sensor: number[];
  /** the measured workload and its children (and redis-server) */
  workload: number[];
}

/** Parses "S:W" (e.g. "0:1" or "0:1-3"), or picks: the sensor on the first allowed CPU, the
 * workload on the others; undefined when fewer than 2 CPUs are allowed or spec is "none". */
export function cpuPlan(spec: string | undefined): CpuPlan | undefined {
  if (spec === 'none') return undefined;
  const list = (s: string): number[] =>
    s.split(',').flatMap((p) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(p.trim());
      if (!m) throw new Error(`--cpus: bad CPU list "${s}" (expected e.g. 0:1 or 0:1-3)`);
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  if (spec) {
    const [s, w] = spec.split(':');
    if (!s || !w) throw new Error(`--cpus: expected SENSOR:WORKLOAD CPU lists, got "${spec}"`);
    return { sensor: list(s), workload: list(w) };
  }
  const n = os.availableParallelism();
  if (n < 2) return undefined;
  return { sensor: [0], workload: Array.from({ length: n - 1 }, (_, i) => i + 1) };
}

/** `taskset -c LIST cmd args` (or the command itself without a plan). */
export function pinned(cpus: number[] | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpus?.length ? ['taskset', ['-c', cpus.join(','), cmd, ...args]] : [cmd, args];
}

/** Pins every thread of a running process. */
export function pinPid(pid: number, cpus: number[]): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -p ${pid}: ${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// workload CPU time

export interface Rusage {
  userSec: number;
  sysSec: number;
}

/** The `{"rusage_user_s":…,"rusage_sys_s":…}` line bench/workloads/rusage_run prints last. */
export function parseRusage(out: string): Rusage {
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"rusage_user_s"'));
  if (!line) throw new Error(`no rusage line in the workload's output: ${out.slice(-300)}`);
  const j = JSON.parse(line) as { rusage_user_s: number; rusage_sys_s: number };
  return { userSec: j.rusage_user_s, sysSec: j.rusage_sys_s };
}

// ---------------------------------------------------------------------------------------------
// per-program BPF run-time statistics

export interface ProgCounter {
  name: string;
  runCnt: number;
  runTimeNs: number;
}

/** The BPF programs a process holds (prog and link fds), by program id: run_cnt and run_time_ns
 * from fdinfo, so programs of other sensors on the machine are never counted. */
export function progCountersOf(pid: number, names: Map<number, string>): Map<number, ProgCounter> {
  const out = new Map<number, ProgCounter>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:bpf-prog') continue;
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const v = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    const id = v('prog_id');
    if (!Number.isFinite(id) || out.has(id)) continue;
    out.set(id, { name: names.get(id) ?? `prog${id}`, runCnt: v('run_cnt') || 0, runTimeNs: v('run_time_ns') || 0 });
  }
  return out;
}

/** Program names by id (bpftool, once per segment: fdinfo has no name). */
export function progNames(): Map<number, string> {
  const r = spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return new Map();
  const list = JSON.parse(r.stdout) as { id: number; name?: string }[];
  return new Map(list.map((p) => [p.id, p.name ?? `prog${p.id}`]));
}

export interface ProgDelta {
  runs: number;
  ns: number;
}

/** Per program name: runs and ns between two snapshots (programs of the same name summed). */
export function progDelta(before: Map<number, ProgCounter>, after: Map<number, ProgCounter>): Record<string, ProgDelta> {
  const out: Record<string, ProgDelta> = {};
  for (const [id, a] of after) {
    const b = before.get(id);
    const runs = a.runCnt - (b?.runCnt ?? 0);
    const ns = a.runTimeNs - (b?.runTimeNs ?? 0);
    if (runs <= 0) continue;
    const d = (out[a.name] ??= { runs: 0, ns: 0 });
    d.runs += runs;
    d.ns += ns;
  }
  return out;
}

/**
 * Keeps the kernel's BPF run-time statistics on while it lives, through BPF_ENABLE_STATS (a
 * reference the kernel counts, so another benchmark switching `kernel.bpf_stats_enabled` off does
 * not switch ours off; stats cost every program two clock reads, in every configuration alike).
 */
export class BpfStatsHold {
  private child: ChildProcess | undefined;
  async start(buildDir: string): Promise<void> {
    const c = spawn(path.join(buildDir, 'bpf_stats_hold'), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = c;
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('held')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`bpf_stats_hold exited ${code}: ${err}`)));
    });
  }
  stop(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }
}
