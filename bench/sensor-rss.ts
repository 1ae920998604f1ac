// Benchmark: the sensor's memory under process churn. Starts the real sensor (`vigil run` with the
// stable Falco rules, alerts only, kernel filtering as by default), churns PROCS short-lived
// processes (bench/workloads/proc_churn.c: fork+exec of /bin/true, every 10th with a long argv and
// environment, every 10th holding 32 open files across its exec, forks without exec, two-level
// ancestries) while a few runc containers run their own short-lived processes, and samples the
// sensor's resident memory (the node process + its vigil-loader, VmRSS from /proc) every 250 ms,
// then keeps sampling for SETTLE seconds after the churn ends (exited processes leave the table
// after their grace period). Prints idle, peak and steady-state RSS, the process table and cache
// counters from `vigil status`, events and drops; writes bench/results/sensor-rss.{md,json}.
//
// Usage (root): node --import tsx bench/sensor-rss.ts [--procs N] [--containers K] [--settle S]
//               [--quick] [--out DIR] [--vigil BIN] [--heap-snapshot [--snapshot-at S]]
//               (--vigil: another checkout's bin/vigil, for a before/after run; --heap-snapshot writes a
//               .heapsnapshot of the sensor S seconds into the churn (default 30) into the output
//               directory, for a heap profile)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlRequest } from '../src/sensor/control.ts';
import type { SensorStatus } from '../src/sensor/sensor.ts';
import { cleanupContainers, containerSupport, runContainer } from '../src/selftest/container.ts';

const repo = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');
const PROCS = Number(opt('--procs') ?? (quick ? 3000 : 100_000));
const CONTAINERS = Number(opt('--containers') ?? (quick ? 1 : 6));
const SETTLE_S = Number(opt('--settle') ?? (quick ? 4 : 15));
const outDir = path.resolve(opt('--out') ?? path.join(repo, 'bench', 'results'));
const outBase = quick ? 'sensor-rss-quick' : 'sensor-rss';
const heapSnapshot = flag('--heap-snapshot');
const buildDir = path.join(repo, 'build', 'bench');
// another checkout's bin/vigil (e.g. a baseline commit, for a before/after run)
const vigilBin = path.resolve(opt('--vigil') ?? path.join(repo, 'bin', 'vigil'));
const STABLE_RULES = path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml');
const SAMPLE_MS = 250;
const SNAPSHOT_AT_MS = Number(opt('--snapshot-at') ?? 30) * 1000;

const T0 = Date.now();
function log(msg: string): void {
  process.stderr.write(`[sensor-rss +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repo });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout ?? '';
}

/** VmRSS of a process in bytes (0 when it is gone). */
function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process in seconds (0 when it is gone). */
function cpuSec(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function ppidOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
}

const MB = (b: number) => (b / 1048576).toFixed(1);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Sample {
  t: number; // seconds since the churn started (negative: idle before it)
  node: number;
  loader: number;
  phase: 'idle' | 'churn' | 'settle';
}

const children = new Set<ChildProcess>();
function track<T extends ChildProcess>(c: T): T {
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('sensor-rss needs root (the sensor loads eBPF programs)');
  if (!existsSync(path.join(path.dirname(vigilBin), '..', 'build', 'vigil-loader'))) throw new Error(`vigil-loader missing beside ${vigilBin}: run make build`);
  if (!existsSync(STABLE_RULES)) throw new Error(`${STABLE_RULES} missing (the shared Falco rules)`);
  mkdirSync(buildDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const churnBin = path.join(buildDir, 'proc_churn');
  sh('cc', ['-O2', '-Wall', '-o', churnBin, path.join(repo, 'bench', 'workloads', 'proc_churn.c')]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-rss-'));
  const sock = path.join(tmp, 'sensor.sock');
  log(`procs=${PROCS} containers=${CONTAINERS} settle=${SETTLE_S}s load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);

  // the sensor: alerts only, stable rules, kernel filtering (the default)
  const env = { ...process.env };
  if (heapSnapshot) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${outDir}`.trim();
  const sensor = track(
    spawn(vigilBin, ['run', '--rules', STABLE_RULES, '--alerts-only', '--socket', sock], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let alertLines = 0;
  let stderr = '';
  sensor.stdout!.on('data', (d: Buffer) => {
    for (const b of d) if (b === 10) alertLines++;
  });
  sensor.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-4000)));
  const status = async (): Promise<SensorStatus> => {
    const r = await controlRequest(sock, { op: 'status' }, 15000);
    if (!r.ok) throw new Error(r.error ?? 'status failed');
    return r.result as SensorStatus;
  };
  let st: SensorStatus | undefined;
  const tStart = Date.now();
  while (!st) {
    if (sensor.exitCode !== null) throw new Error(`vigil run exited (${sensor.exitCode}): ${stderr}`);
    if (Date.now() - tStart > 120_000) throw new Error(`vigil run not ready after 120 s: ${stderr}`);
    await sleep(300);
    st = await status().catch(() => undefined);
  }
  const loaderPid = st.loaderPid!;
  const nodePid = ppidOf(loaderPid);
  const argvNode = readFileSync(`/proc/${nodePid}/cmdline`, 'utf8').split('\0');
  const nodeFlags =
    argvNode
      .slice(
        1,
        argvNode.findIndex((a) => a.endsWith('main.js')),
      )
      .join(' ') || 'none';
  log(`sensor ready: node ${nodePid} (flags: ${nodeFlags}), loader ${loaderPid}, ${st.procTable.size} processes seeded`);

  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'idle';
  let churnAt = 0;
  const sampler = setInterval(() => {
    samples.push({ t: churnAt ? (Date.now() - churnAt) / 1000 : 0, node: rssOf(nodePid), loader: rssOf(loaderPid), phase });
  }, SAMPLE_MS);
  await sleep(3000); // idle baseline
  const before = await status();

  // the containers: each runs 250 short-lived processes (busybox sleep 0) while the host churns
  const containerNotes: string[] = [];
  const containerRun = (async () => {
    if (CONTAINERS <= 0) return;
    const why = containerSupport();
    if (why) {
      containerNotes.push(`containers skipped: ${why}`);
      return;
    }
    for (let i = 0; i < CONTAINERS; i++) {
      try {
        const c = await runContainer({ name: `rss-${i}`, pod: `rss-pod-${i}`, namespace: 'bench', applets: ['sleep'] });
        const r = await c.exec(['sh', '-c', 'i=0; while [ $i -lt 250 ]; do sleep 0; i=$((i+1)); done']);
        if (r.code !== 0) containerNotes.push(`container ${i}: exit ${r.code} ${r.stderr.trim()}`);
        c.remove();
      } catch (e) {
        containerNotes.push(`container ${i}: ${(e as Error).message}`);
      }
    }
  })();

  // the churn: proc_churn counts 1.02 processes per iteration (every 50th makes a grandchild)
  const iterations = Math.ceil(PROCS / 1.02);
  log(`churn: ${iterations} iterations of ${churnBin}`);
  phase = 'churn';
  const cpu0 = cpuSec(nodePid) + cpuSec(loaderPid);
  churnAt = Date.now();
  const churn = track(spawn(churnBin, [String(iterations), '/bin/true', '32'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let churnOut = '';
  let churnErr = '';
  churn.stdout!.on('data', (d: Buffer) => (churnOut += d));
  churn.stderr!.on('data', (d: Buffer) => (churnErr += d));
  const tableDuring: number[] = [];
  const heapDuring: { heapUsed: number; heapTotal: number; rss: number }[] = [];
  let snapshotTaken = false;
  while (churn.exitCode === null) {
    await sleep(2000);
    const s = await status().catch(() => undefined);
    if (s) {
      tableDuring.push(s.procTable.size);
      if (s.memory) heapDuring.push(s.memory);
    }
    if (heapSnapshot && !snapshotTaken && Date.now() - churnAt > SNAPSHOT_AT_MS) {
      process.kill(nodePid, 'SIGUSR2');
      snapshotTaken = true;
      log('heap snapshot requested');
    }
  }
  await containerRun;
  const churnSec = (Date.now() - churnAt) / 1000;
  const sensorCpuSec = cpuSec(nodePid) + cpuSec(loaderPid) - cpu0;
  if (churn.exitCode !== 0) throw new Error(`proc_churn failed (${churn.exitCode}): ${churnErr}`);
  const churnRes = JSON.parse(churnOut.trim()) as { processes: number; seconds: number; per_sec: number };
  log(`churn done: ${churnRes.processes} processes in ${churnRes.seconds.toFixed(1)} s; settling ${SETTLE_S} s`);
  phase = 'settle';
  const settleAt = Date.now();
  await sleep(SETTLE_S * 1000);
  clearInterval(sampler);
  const after = await status();

  // stop the sensor
  process.kill(nodePid, 'SIGTERM');
  const killer = setTimeout(() => sensor.exitCode === null && process.kill(nodePid, 'SIGKILL'), 20_000);
  await new Promise<void>((r) => (sensor.exitCode !== null ? r() : sensor.on('exit', () => r())));
  clearTimeout(killer);
  cleanupContainers();
  rmSync(tmp, { recursive: true, force: true });

  const total = (s: Sample) => s.node + s.loader;
  const idle = samples.filter((s) => s.phase === 'idle');
  const busy = samples.filter((s) => s.phase !== 'idle');
  const peak = busy.reduce((m, s) => (total(s) > total(m) ? s : m), busy[0]!);
  const lastWindow = samples.filter((s) => s.phase === 'settle' && Date.now() - settleAt >= 0).slice(-Math.round(5000 / SAMPLE_MS));
  const churnSamples = busy.filter((s) => s.phase === 'churn');
  const secondHalf = churnSamples.slice(churnSamples.length >> 1);
  const res = {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpus: os.cpus().length,
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    processes: churnRes.processes,
    churnSeconds: churnSec,
    processesPerSec: churnRes.per_sec,
    nodeFlags,
    sensorCpuSec,
    sensorCpuPct: (sensorCpuSec / churnSec) * 100,
    containers: CONTAINERS,
    containerNotes,
    rss: {
      idleMB: Number(MB(median(idle.map(total)))),
      peakMB: Number(MB(total(peak))),
      peakNodeMB: Number(MB(peak.node)),
      peakLoaderMB: Number(MB(peak.loader)),
      peakAtSec: Number(peak.t.toFixed(1)),
      churnSecondHalfMedianMB: Number(MB(median(secondHalf.map(total)))),
      steadyAfterMB: Number(MB(median(lastWindow.map(total)))),
    },
    procTable: { before: before.procTable, after: after.procTable, maxSizeDuringChurn: Math.max(0, ...tableDuring) },
    heap: {
      idleUsedMB: Number(MB(before.memory?.heapUsed ?? NaN)),
      maxUsedDuringChurnMB: Number(MB(Math.max(0, ...heapDuring.map((m) => m.heapUsed)))),
      maxTotalDuringChurnMB: Number(MB(Math.max(0, ...heapDuring.map((m) => m.heapTotal)))),
      endUsedMB: Number(MB(after.memory?.heapUsed ?? NaN)),
    },
    retention: after.retention ?? null,
    memory: after.memory ?? null,
    events: after.userspace.decoded - before.userspace.decoded,
    kernelDrops: after.kernel.ringbufDrops - before.kernel.ringbufDrops,
    userDrops: after.userspace.dropped - before.userspace.dropped,
    alertLines,
    samples: samples.map((s) => ({ t: Number(s.t.toFixed(2)), phase: s.phase, nodeMB: Number(MB(s.node)), loaderMB: Number(MB(s.loader)) })),
  };
  const r = res.rss;
  const lines = [
    `# sensor RSS under process churn (${res.date})`,
    '',
    `${vigilBin} (node flags: ${nodeFlags}); kernel ${res.kernel}, ${res.cpus} CPUs, load ${res.load}; \`vigil run --rules falco_rules.yaml --alerts-only\` (kernel filtering); ` +
      `${res.processes} host processes churned in ${res.churnSeconds.toFixed(1)} s (${res.processesPerSec.toFixed(0)}/s) by bench/workloads/proc_churn.c, ` +
      `plus ${CONTAINERS} runc containers × 250 processes; RSS = node + vigil-loader VmRSS sampled every ${SAMPLE_MS} ms`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| RSS idle (before the churn, median) | ${r.idleMB} MB |`,
    `| RSS peak during the churn (node + loader) | ${r.peakMB} MB (node ${r.peakNodeMB}, loader ${r.peakLoaderMB}, at +${r.peakAtSec} s) |`,
    `| RSS second half of the churn (median) | ${r.churnSecondHalfMedianMB} MB |`,
    `| RSS steady after the churn (median of the last 5 s of ${SETTLE_S} s) | ${r.steadyAfterMB} MB |`,
    `| node JS heap used: idle / max during the churn (every 2 s) / end | ${res.heap.idleUsedMB} / ${res.heap.maxUsedDuringChurnMB} / ${res.heap.endUsedMB} MB (heap reserved max ${res.heap.maxTotalDuringChurnMB} MB) |`,
    `| process table: max size during the churn / after | ${res.procTable.maxSizeDuringChurn} / ${after.procTable.size} |`,
    `| process table: evicted / missing (counted unknowns) | ${after.procTable.evicted} / ${after.procTable.missing} |`,
    `| events decoded | ${res.events} |`,
    `| sensor CPU during the churn (node + loader) | ${res.sensorCpuSec.toFixed(1)} s, ${res.sensorCpuPct.toFixed(1)}% of a core |`,
    `| kernel drops / user-space drops | ${res.kernelDrops} / ${res.userDrops} |`,
    `| alert lines printed | ${res.alertLines} |`,
  ];
  if (res.retention) lines.push('', 'retention counters at the end (`vigil status` .retention):', '', '```', JSON.stringify(res.retention, null, 1), '```');
  if (res.memory) lines.push('', `node memory at the end: ${JSON.stringify(res.memory)}`);
  if (containerNotes.length) lines.push('', ...containerNotes.map((n) => `- ${n}`));
  const md = lines.join('\n') + '\n';
  process.stdout.write(md);
  writeFileSync(path.join(outDir, `${outBase}.md`), md);
  writeFileSync(path.join(outDir, `${outBase}.json`), JSON.stringify(res, null, 1) + '\n');
  if (heapSnapshot)
    log(
      `heap snapshots: ${
        readdirSync(outDir)
          .filter((f) => f.endsWith('.heapsnapshot'))
          .join(', ') || 'none written'
      }`,
    );
}

main().catch((e) => {
  process.stderr.write(`sensor-rss: ${(e as Error).stack ?? e}\n`);
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  cleanupContainers();
  process.exit(1);
});
