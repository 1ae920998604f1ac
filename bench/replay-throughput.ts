// Benchmark of `vigil replay` end to end from an NDJSON recording (`vigil run --output json`), stable +
// incubating Falco rules: this tree's replay (blocks of lines, cached parse of the repeated process
// members, blocks shared between the main thread and worker threads) against the previous one
// (readline + JSON.parse on the main thread; lines dispatched to workers by pid), taken from git
// (`--baseline REV`, default d23a1e5) into a temporary directory, with 1 and 2 workers. Every
// measurement is a fresh process calling replay(file, sources, {workers}) (rules loading and
// worker start included, as the command does), the configurations interleaved, `--reps` rounds
// (default 7); prints medians with min–max, the ratios, the CPU time per event, and checks that
// both give the same alert lines (uuid aside). Each configuration is also run on an empty recording
// in the same round: its time (rules loading, worker start) is subtracted for the rate of the event
// path alone (this tree does not wait for its worker before it starts, so its 2-worker empty run
// ends before the worker has loaded the rules: that configuration's event-path figure still
// carries the worker's start). The machine's CPU pressure (PSI) is printed beside the load average.
//
//   node --import tsx bench/replay-throughput.ts [--events FILE] [--reps 7] [--baseline REV] [--record-events 100000]
//
// Without --events (or $VIGIL_BENCH_EVENTS) a recording of this host is made first with
// `bin/vigil run --output json` (root, `make build`) while a small workload reads /etc/shadow, lists
// and finds files.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.resolve(import.meta.dirname, '..');
const RULES = [path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml'), path.resolve(repo, '..', 'shared', 'falco', 'falco-incubating_rules.yaml')];

const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: process.env.VIGIL_BENCH_EVENTS },
    reps: { type: 'string', default: '7' },
    baseline: { type: 'string', default: 'd23a1e5' },
    'record-events': { type: 'string', default: '100000' },
    child: { type: 'boolean', default: false },
    impl: { type: 'string' },
    workers: { type: 'string' },
  },
  allowPositionals: true,
});

interface Result {
  seconds: number;
  cpu: number;
  events: number;
  alerts: number;
  bad: number;
  digest: string;
}

if (opt.child) {
  // one measurement: replay with the given implementation (a directory holding src/) and workers
  const impl = opt.impl as string;
  const mod = (await import(pathToFileURL(path.join(impl, 'src', 'rules', 'index.ts')).href)) as typeof import('../src/rules/index.ts');
  const loader = new mod.RuleLoader();
  if (!loader.loadFiles(RULES).ok) throw new Error('rules failed to load');
  const hash = createHash('sha256');
  let alerts = 0;
  const cpu0 = process.cpuUsage();
  const st = await mod.replay(opt.events as string, loader.loadedSources, {
    workers: Number(opt.workers),
    onAlert: (json: string) => {
      alerts++;
      hash.update(json.replace(/"uuid":"[^"]*"/, '') + '\n');
    },
  });
  const c = process.cpuUsage(cpu0);
  const r: Result = {
    seconds: st.seconds,
    cpu: (c.user + c.system) / 1e6,
    events: st.events,
    alerts,
    bad: st.badLines,
    digest: hash.digest('hex').slice(0, 16),
  };
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

/** Records `n` events of this host with `vigil run --output json` while a small workload runs. */
function record(n: number): string {
  const vigil = path.join(repo, 'bin', 'vigil');
  if (process.getuid?.() !== 0 || !existsSync(path.join(repo, 'build', 'vigil-loader')) || !existsSync(path.join(repo, 'dist'))) {
    throw new Error('no recording given (--events FILE) and none can be made here: recording needs root and `make build`');
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vigil-replay-bench-')), 'recording.ndjson');
  const work = spawn(
    'sh',
    [
      '-c',
      'while :; do cat /etc/shadow >/dev/null; ls -la /usr/bin >/dev/null; sh -c "cat /etc/hostname" >/dev/null; find /usr/share/doc -maxdepth 2 -name "*.gz" -newer /etc/hostname >/dev/null 2>&1; sleep 0.05; done',
    ],
    { stdio: 'ignore', detached: true },
  );
  try {
    const out = openSync(file, 'w');
    const r = spawnSync(vigil, ['run', '--output', 'json', '--no-socket', '-n', String(n), '-d', '120'], { stdio: ['ignore', out, 'inherit'] });
    if (r.status !== 0) throw new Error(`vigil run exited with ${r.status ?? r.signal}`);
  } finally {
    if (work.pid !== undefined) process.kill(-work.pid, 'SIGKILL');
  }
  return file;
}

/** This tree and the baseline revision's src/ (git archive) in a temporary directory that resolves the same node_modules. */
function baselineDir(rev: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = path.join(tmpdir(), `vigil-replay-baseline-${sha}`);
  if (!existsSync(path.join(dir, 'src'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} src | tar -x -C ${JSON.stringify(dir)}`], { cwd: repo });
  }
  if (!existsSync(path.join(dir, 'node_modules'))) symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  // the module type and compiler settings the sources are run with (tsx reads them)
  for (const f of ['package.json', 'tsconfig.json']) if (!existsSync(path.join(dir, f))) copyFileSync(path.join(repo, f), path.join(dir, f));
  return dir;
}

function measure(file: string, impl: string, workers: number): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', '--impl', impl, '--workers', String(workers), '--events', file], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`measurement ${impl} workers=${workers} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Result;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const spread = (xs: number[], f: (x: number) => string): string => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

/** CPU pressure of the machine (PSI "some" avg10, % of time some task waited for a CPU). */
function cpuPressure(): string {
  try {
    return `${/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]}%`;
  } catch {
    return 'n/a';
  }
}

const file = opt.events ?? record(Number(opt['record-events']));
// a recording made here is removed at the end
if (opt.events === undefined) process.on('exit', () => rmSync(path.dirname(file), { recursive: true, force: true }));
// the same run on an empty recording: rules loading and worker start alone, subtracted to give
// the rate of the event path itself
const empty = path.join(mkdtempSync(path.join(tmpdir(), 'vigil-replay-bench-')), 'empty.ndjson');
writeFileSync(empty, '');
const reps = Math.max(1, Number(opt.reps));
const base = baselineDir(opt.baseline as string);
const lines = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '').length;
const bytes = statSync(file).size;
console.log(
  `vigil replay end to end: ${file}, ${fmt(lines)} events, ${fmt(bytes / lines)} B per line on average; stable + incubating rules; ` +
    `baseline ${opt.baseline} (${base}) against this tree; ${reps} interleaved rounds, a fresh process per measurement (rules loading and worker start included)`,
);

const configs = [
  { name: 'previous, 1 worker', impl: base, workers: 1 },
  { name: 'this tree, 1 worker', impl: repo, workers: 1 },
  { name: 'previous, 2 workers', impl: base, workers: 2 },
  { name: 'this tree, 2 workers', impl: repo, workers: 2 },
];
const results = configs.map(() => [] as Result[]);
const startups = configs.map(() => [] as Result[]);
const loads: string[] = [];
for (let k = 0; k < reps; k++) {
  configs.forEach((c, i) => {
    const r = measure(file, c.impl, c.workers);
    const z = measure(empty, c.impl, c.workers);
    (results[i] as Result[]).push(r);
    (startups[i] as Result[]).push(z);
    console.log(
      `  round ${k + 1} ${c.name}: ${r.seconds.toFixed(3)} s = ${fmt(r.events / r.seconds)} events/s, CPU ${r.cpu.toFixed(2)} s, ${r.alerts} alerts; ` +
        `empty recording ${z.seconds.toFixed(3)} s, CPU ${z.cpu.toFixed(2)} s [load ${loadavg()[0]?.toFixed(2)}, CPU pressure ${cpuPressure()}]`,
    );
  });
  loads.push(`${loadavg()[0]?.toFixed(2)} (${cpuPressure()})`);
}

const digests = new Set(results.flat().map((r) => `${r.events}/${r.bad}/${r.alerts}/${r.digest}`));
console.log(
  `\nalerts: ${[...digests].join(', ')} (events/bad lines/alerts/digest of the alert lines without uuid) -> ${digests.size === 1 ? 'identical in every run' : 'DIFFERENT'}`,
);
console.log(`load average (CPU pressure) after each round: ${loads.join(', ')}\n`);
console.log(
  "| configuration | seconds, median (min–max) | events/s, median (min–max) | CPU µs per event | empty recording: seconds, CPU s | events/s without the empty run's time | CPU µs per event without the empty run's CPU |",
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
configs.forEach((c, i) => {
  const rs = results[i] as Result[];
  const zs = startups[i] as Result[];
  const net = rs.map((r, k) => r.events / Math.max(1e-3, r.seconds - (zs[k] as Result).seconds));
  const netCpu = rs.map((r, k) => (1e6 * (r.cpu - (zs[k] as Result).cpu)) / r.events);
  console.log(
    `| ${c.name} | ${spread(
      rs.map((r) => r.seconds),
      (x) => x.toFixed(3),
    )} | ${spread(
      rs.map((r) => r.events / r.seconds),
      fmt,
    )} | ${median(rs.map((r) => (1e6 * r.cpu) / r.events)).toFixed(2)} | ${median(zs.map((z) => z.seconds)).toFixed(3)}, ${median(zs.map((z) => z.cpu)).toFixed(2)} | ${spread(net, fmt)} | ${spread(netCpu, (x) => x.toFixed(2))} |`,
  );
});
/** Per-round ratios a/b of the seconds of configurations i and j (b slower => ratio > 1 means a is faster). */
const ratios = (i: number, j: number): number[] => (results[i] as Result[]).map((r, k) => ((results[j] as Result[])[k] as Result).seconds / r.seconds);
const rstr = (xs: number[]): string => spread(xs, (x) => `${x.toFixed(2)}x`);
console.log(`\nthis tree against the previous path, 1 worker: ${rstr(ratios(1, 0))} faster (per-round ratios, median (min–max))`);
console.log(`this tree against the previous path, 2 workers: ${rstr(ratios(3, 2))} faster`);
console.log(`2 workers against 1 worker, this tree: ${rstr(ratios(3, 1))} faster; previous: ${rstr(ratios(2, 0))}`);
const netCpu = (i: number): number => median((results[i] as Result[]).map((r, k) => (1e6 * (r.cpu - ((startups[i] as Result[])[k] as Result).cpu)) / r.events));
console.log(
  `CPU per event of the event path (empty run's CPU subtracted), previous / this tree: 1 worker ${(netCpu(0) / netCpu(1)).toFixed(2)}x, 2 workers ${(netCpu(2) / netCpu(3)).toFixed(2)}x`,
);
if (digests.size !== 1) process.exitCode = 1;
