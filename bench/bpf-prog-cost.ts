// Benchmark: what one filtered syscall costs in BPF, per call, against the floor's counting probe
// on the same tracepoints, in the same run. With `kernel.bpf_stats_enabled` the kernel times every
// program run; an open/read/close loop (bench/workloads/open_loop.c) runs under
//  - the floor (bench/floor/: a per-CPU counter increment on sys_exit_open/openat/openat2), and
//  - `vigil run --rules <stable Falco rules> --alerts-only` (kernel filtering on, the default),
// interleaved over REPS repetitions, for three paths the stable rules' path filter rejects:
//  - a file under /tmp and /etc/hostname: neither their first 8 nor their last 5 bytes are those
//    of a prefix or suffix, so the head/tail pre-checks reject them without a map lookup;
//  - /etc/security/limits.conf: its head is a prefix's ("/etc/sec", of
//    /etc/security/pwquality.conf), so it also costs the trie lookup (skipped when absent).
// Prints ns per run (medians with min–max) and the sensor's cost as a multiple of the floor's; writes
// bench/results/bpf-prog-cost.{md,json}. Method (bench/lib/method.ts): statistics held on with
// BPF_ENABLE_STATS and read per program id from the fdinfo of the process that loaded it (other
// sensors running on the machine, with programs of the same names, are not counted); the loop on
// one CPU, the sensor or floor on another.
//
// Usage (root): node --import tsx bench/bpf-prog-cost.ts [--reps N (7)] [--iter N] [--cpus SENSOR:WORKLOAD | none]
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBenchTools } from './floor/build.ts';
import { BpfStatsHold, cpuPlan, pinned, pinPid, progCountersOf, progDelta, progNames, summarize } from './lib/method.ts';

const repo = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const REPS = Number(opt('--reps') ?? 7);
const ITER = Number(opt('--iter') ?? 1_000_000);
const buildDir = path.join(repo, 'build', 'bench');
const outDir = path.join(repo, 'bench', 'results');
const STABLE_RULES = path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml');
const CPUS = cpuPlan(opt('--cpus'));

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function build(): void {
  sh('make', ['-s', 'build']);
  buildBenchTools(repo, buildDir);
}

/** ns per run of the program named `prog`, loaded by process `owner`, while the open loop runs on `file` */
function measure(owner: number, prog: string, file: string): { nsPerRun: number; runs: number; opsPerSec: number } {
  const names = progNames();
  const before = progCountersOf(owner, names);
  const [cmd, args] = pinned(CPUS?.workload, path.join(buildDir, 'open_loop'), [String(ITER), file]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`open_loop: ${r.stderr}`);
  const d = progDelta(before, progCountersOf(owner, names))[prog] ?? { runs: 0, ns: 0 };
  if (d.runs < ITER) throw new Error(`${prog} ran ${d.runs} times for ${ITER} opens: not attached?`);
  return { nsPerRun: d.ns / d.runs, runs: d.runs, opsPerSec: (JSON.parse(r.stdout) as { ops_per_sec: number }).ops_per_sec };
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGINT');
  await gone;
}

async function withFloor<T>(fn: (owner: number) => T): Promise<T> {
  const hooks = ['open', 'openat', 'openat2'].map((s) => `syscalls:sys_exit_${s}`);
  const [cmd, args] = pinned(CPUS?.sensor, path.join(buildDir, 'floor'), hooks);
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await waitFor(() => out.includes('ready'), 'the floor');
  try {
    return fn(c.pid!);
  } finally {
    c.stdin!.end(); // the floor exits when its stdin closes
    await new Promise((r) => c.once('exit', r));
  }
}

/** the vigil-loader child of process `pid` */
function loaderOf(pid: number): number | undefined {
  const out = spawnSync('pgrep', ['-P', String(pid), '-x', 'vigil-loader'], { encoding: 'utf8' }).stdout.trim();
  return out ? Number(out.split('\n')[0]) : undefined;
}

async function withSensor<T>(dir: string, fn: (owner: number) => T): Promise<T> {
  const sock = path.join(dir, 'vigil.sock');
  const [cmd, args] = pinned(CPUS?.sensor, path.join(repo, 'bin', 'vigil'), ['run', '--rules', STABLE_RULES, '--alerts-only', '--socket', sock]);
  const c = spawn(cmd, args, {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(() => existsSync(sock) || c.exitCode !== null, 'the sensor');
    if (c.exitCode !== null) throw new Error(`vigil run exited ${c.exitCode}`);
    await new Promise((r) => setTimeout(r, 1000));
    const owner = loaderOf(c.pid!);
    if (!owner) throw new Error('no vigil-loader child of the sensor');
    return fn(owner);
  } finally {
    await stop(c);
    rmSync(sock, { force: true });
  }
}

const median = (xs: number[]) => summarize(xs).median;
const range = (xs: number[]) => `${summarize(xs).min.toFixed(0)}–${summarize(xs).max.toFixed(0)}`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  if (!existsSync(STABLE_RULES)) throw new Error(`missing ${STABLE_RULES}`);
  build();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bpfcost-'));
  const tmpFile = path.join(dir, 'small.txt');
  writeFileSync(tmpFile, 'x'.repeat(64));
  const files: Record<string, string> = { tmp: tmpFile, etc: '/etc/hostname' };
  if (existsSync('/etc/security/limits.conf')) files.trie = '/etc/security/limits.conf';
  if (CPUS) pinPid(process.pid, CPUS.sensor);
  const hold = new BpfStatsHold();
  await hold.start(buildDir);
  const res: Record<string, { floor: number[]; sensor: number[] }> = Object.fromEntries(Object.keys(files).map((k) => [k, { floor: [], sensor: [] }]));
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? (['floor', 'sensor'] as const) : (['sensor', 'floor'] as const);
      for (const who of order) {
        const run = (owner: number) => {
          for (const [k, f] of Object.entries(files)) {
            const m = measure(owner, who === 'floor' ? 'floor_tp' : 'vgl_sys_exit_file', f);
            res[k]![who].push(m.nsPerRun);
            console.error(`rep ${rep + 1} ${who} ${k}: ${m.nsPerRun.toFixed(1)} ns/run over ${m.runs} runs, ${m.opsPerSec.toFixed(0)} opens/s`);
          }
        };
        if (who === 'floor') await withFloor(run);
        else await withSensor(dir, run);
      }
    }
  } finally {
    hold.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = Object.entries(res).map(([k, v]) => ({
    path: {
      tmp: `${path.dirname(tmpFile).replace(/vigil-bpfcost-.*/, 'vigil-bpfcost-*')}/small.txt (head and tail miss)`,
      etc: '/etc/hostname (head and tail miss)',
      trie: '/etc/security/limits.conf (head hit: trie lookup)',
    }[k],
    floorNs: median(v.floor),
    floorRange: range(v.floor),
    sensorNs: median(v.sensor),
    sensorRange: range(v.sensor),
    ratio: median(v.sensor) / median(v.floor),
  }));
  const md = [
    `# BPF cost of a filtered open: ${new Date().toISOString()}`,
    '',
    `kernel ${os.release()}, ${os.cpus().length} CPUs; ${ITER.toLocaleString('en-US')} opens per measurement, medians (min–max) of ${REPS} interleaved repetitions; BPF run-time statistics (BPF_ENABLE_STATS) of this run's programs only${CPUS ? `; loop on CPU ${CPUS.workload.join(',')}, sensor/floor on CPU ${CPUS.sensor.join(',')}` : ''}`,
    '',
    '| path opened | floor (counting probe) ns/call | sensor, stable rules, kernel filter ns/call | ratio |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.path} | ${r.floorNs.toFixed(0)} (${r.floorRange}) | ${r.sensorNs.toFixed(0)} (${r.sensorRange}) | ${r.ratio.toFixed(2)}× |`),
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'bpf-prog-cost.md'), md);
  writeFileSync(path.join(outDir, 'bpf-prog-cost.json'), JSON.stringify({ iter: ITER, reps: REPS, results: res, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
