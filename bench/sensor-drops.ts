// Benchmark: drops of `vigil run` in its default mode (exec,file,net,priv,caps; JSON lines on stdout
// through a pipe into `wc -l`, as bench/sensor-overhead.ts runs it) under an open loop held at a
// fixed rate (bench/workloads/open_rate.c, one open event per open/read/close), for the current
// build (dist/) and a baseline build given with --base (a dist/ of older code, e.g. one compiled
// from `git archive d23a1e5`; without --base, one is built from --base-rev, default d23a1e5, the
// code before issue 10's fast pipeline), interleaved over --reps repetitions. Prints, per build and rate:
// the open rate reached, the events decoded per second of the run, and the kernel and user-space
// drops counted by the sensor over the run (its control socket's status before and after, the
// after once the decode rate is back near the background rate measured before the run).
//
//   sudo node --import tsx bench/sensor-drops.ts [--base DIR | --base-rev REV] [--rates 50000,100000] [--secs 10] [--reps 3]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { controlRequest } from '../src/common/control-client.ts';
import type { SensorStatus } from '../src/sensor/sensor.ts';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    'base-rev': { type: 'string', default: 'd23a1e5' },
    rates: { type: 'string', default: '100000' },
    secs: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    /** F_SETPIPE_SZ on the stdout pipe (bytes), e.g. 1048576; default: the kernel's 64 KiB */
    'pipe-size': { type: 'string' },
  },
});
const repo = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-drops-'));
const openRate = path.join(tmp, 'open_rate');
execFileSync('cc', ['-O2', '-o', openRate, path.join(repo, 'bench', 'workloads', 'open_rate.c')]);
const small = path.join(tmp, 'small');
writeFileSync(small, 'x\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Counters {
  decoded: number;
  kernelDrops: number;
  userDrops: number;
}
async function counters(sock: string): Promise<Counters> {
  const r = await controlRequest(sock, { op: 'status' }, 15000);
  if (!r.ok) throw new Error(r.error ?? 'status failed');
  const s = r.result as SensorStatus;
  return { decoded: s.userspace.decoded, kernelDrops: s.kernel.ringbufDrops, userDrops: s.userspace.dropped };
}

let seq = 0;
async function once(root: string, rate: number, secs: number) {
  const sock = path.join(tmp, `s${++seq}.sock`);
  const main = path.join(root, 'dist', 'cli', 'main.js');
  // JSON lines through a pipe into `wc -l`, as bench/sensor-overhead.ts runs it (a pipe made by
  // sh: Node's own child stdio would be a socketpair); with --pipe-size, the reader grows the pipe
  // (F_SETPIPE_SZ) before counting
  const grow = opts['pipe-size'] ? `python3 -c 'import fcntl; fcntl.fcntl(0, 1031, ${Number(opts['pipe-size'])})' && ` : '';
  const child: ChildProcess = spawn('sh', ['-c', `"$@" | { ${grow}wc -l; }`, 'sh', 'node', main, 'run', '--output', 'json', '--socket', sock], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lines = '';
  child.stdout!.on('data', (d: Buffer) => (lines += d));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vigil run exited: ${stderr}`);
    if (Date.now() - t0 > 90_000) throw new Error(`not ready: ${stderr}`);
    await sleep(300);
    if (await counters(sock).catch(() => undefined)) break;
  }
  await sleep(1500);
  // the machine's own event rate (other processes), measured just before
  const bg0 = await counters(sock);
  const bgT0 = Date.now();
  await sleep(2000);
  const before = await counters(sock);
  const bgRate = ((before.decoded - bg0.decoded) * 1000) / (Date.now() - bgT0);
  const out = execFileSync(openRate, [String(rate), String(secs), small], { encoding: 'utf8' });
  const w = JSON.parse(out) as { ops: number; seconds: number; ops_per_sec: number };
  // let user space catch up (the loader reports kernel counters every second): until the decode
  // rate is back near the background rate, at most 20 s
  const drainT0 = Date.now();
  let prev = await counters(sock);
  let prevAt = Date.now();
  for (;;) {
    await sleep(1000);
    const c = await counters(sock);
    const rate = ((c.decoded - prev.decoded) * 1000) / (Date.now() - prevAt);
    prev = c;
    prevAt = Date.now();
    if (rate <= bgRate * 1.5 + 1000 || Date.now() - drainT0 > 20_000) break;
  }
  const after = prev;
  const exited = new Promise((r) => child.once('close', r));
  // SIGINT to the sensor's node process (the loader's parent): it stops, the pipe closes, wc prints
  const status = (await controlRequest(sock, { op: 'status' }, 15000)).result as SensorStatus;
  const nodePid = Number(
    readFileSync(`/proc/${status.loaderPid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ')[1],
  );
  process.kill(nodePid, 'SIGINT');
  await exited;
  return {
    opsPerSec: w.ops_per_sec,
    bgRate,
    eventsPerSec: (after.decoded - before.decoded) / w.seconds,
    kernelDrops: after.kernelDrops - before.kernelDrops,
    userDrops: after.userDrops - before.userDrops,
    lines: Number(lines.trim()),
  };
}

/** A dist/ of the code at `rev`, compiled in a temporary directory (node_modules and the built
 * loader and BPF objects of this checkout: the kernel side is not what is compared). */
function baselineBuild(rev: string): string {
  const dir = path.join(os.tmpdir(), `vigil-base-${rev}`);
  if (existsSync(path.join(dir, 'dist', 'cli', 'main.js'))) return dir;
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', repo, rev, dir]);
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  symlinkSync(path.join(repo, 'build'), path.join(dir, 'build'));
  execFileSync(path.join(repo, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  writeFileSync(path.join(dir, 'dist', '.stamp'), '');
  return dir;
}
// the current build must be compiled too (bin/vigil would do it; this runs dist/ directly)
execFileSync('bash', [path.join(repo, 'scripts', 'build-ts.sh')], { stdio: 'inherit' });
const builds: [string, string][] = [
  ['baseline', opts.base ? path.resolve(opts.base) : baselineBuild(opts['base-rev']!)],
  ['current', repo],
];
const rates = opts.rates!.split(',').map(Number);
const reps = Number(opts.reps);
const secs = Number(opts.secs);
console.log(
  `load average before: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `| build | target ops/s | rep | ops/s reached | background events/s | events decoded / workload second | kernel drops | user-space drops | JSON lines (whole run) |`,
);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (let rep = 0; rep < reps; rep++) {
  for (const rate of rates) {
    const order = rep % 2 === 0 ? builds : [...builds].reverse();
    for (const [name, root] of order) {
      const r = await once(root, rate, secs);
      console.log(
        `| ${name} | ${rate} | ${rep + 1} | ${Math.round(r.opsPerSec)} | ${Math.round(r.bgRate)} | ${Math.round(r.eventsPerSec)} | ${r.kernelDrops} | ${r.userDrops} | ${r.lines} |`,
      );
    }
  }
}
