// Benchmark: syscall-to-alert latency of live detection. A real sensor (loader + eBPF) with the
// hooks the stable Falco rules need (planForRules, in-kernel filters included), events evaluated
// by LiveDetector (src/detect/live.ts) exactly as `vigil run --rules`, once inline (workers=1) and
// once sharded across worker threads (workers=2). A small C program opens /etc/shadow N times,
// recording CLOCK_REALTIME just before each open(2); each open raises "Read sensitive file
// untrusted". Latency per alert:
//   * alert emission time - evt.time (the kernel's timestamp of the syscall), and
//   * alert emission time - the time recorded in user space just before the syscall,
// emission time being when LiveDetector hands the alert JSON to its output (CLOCK_REALTIME via
// performance.timeOrigin + performance.now()). Prints p50 / p99 / max for each.
// Each run twice: with the default batched ring-buffer reads (--wakeup-ms 5) and with a read on
// every event (--wakeup-ms 0), the latency floor.
// Needs root. Usage: node --import tsx bench/alert-latency.ts [N] [--gap-ms G] [--workers 1,2] [--wakeup-ms 5,0]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LiveDetector, loadRules, planForRules } from '../src/detect/live.ts';
import { PlanBuilder } from '../src/sensor/hooks.ts';
import { Sensor } from '../src/sensor/sensor.ts';
import { DEFAULT_WAKEUP_MS } from '../src/kernel/loader.ts';
import type { VigilEvent } from '../src/abi/event.ts';

const argv = process.argv.slice(2);
const opt = (k: string, d: string): string => {
  const i = argv.indexOf(k);
  return i >= 0 ? (argv[i + 1] as string) : d;
};
const N = Number(argv[0] !== undefined && !argv[0].startsWith('--') ? argv[0] : 500);
const GAP_MS = Number(opt('--gap-ms', '5'));
const WORKERS = opt('--workers', '1,2').split(',').map(Number);
const WAKEUPS = opt('--wakeup-ms', `${DEFAULT_WAKEUP_MS},0`).split(',').map(Number);
const RULE = 'Read sensitive file untrusted';
const stable = path.resolve(import.meta.dirname, '..', '..', 'shared', 'falco', 'falco_rules.yaml');

if (process.getuid?.() !== 0) {
  console.error('alert-latency: needs root (eBPF sensor)');
  process.exit(1);
}

// the trigger: open(/etc/shadow) N times, CLOCK_REALTIME ns recorded just before each open
const dir = mkdtempSync(path.join(tmpdir(), 'vigil-alertlat-'));
const trigger = path.join(dir, 'vigil-alertlat');
writeFileSync(
  `${trigger}.c`,
  `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  long gap_us = atol(argv[2]);
  long long *t = malloc(sizeof(long long) * n);
  for (int i = 0; i < n; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t[i] = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    int fd = open("/etc/shadow", O_RDONLY);
    if (fd >= 0) close(fd);
    usleep(gap_us);
  }
  for (int i = 0; i < n; i++) printf("%lld\\n", t[i]);
  return 0;
}
`,
);
execFileSync('cc', ['-O2', '-o', trigger, `${trigger}.c`]);

function runTrigger(): Promise<{ pid: number; pre: bigint[] }> {
  return new Promise((resolve, reject) => {
    const c = spawn(trigger, [String(N), String(Math.round(GAP_MS * 1000))], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d: string) => (out += d));
    c.on('error', reject);
    c.on('exit', (code) => {
      if (code !== 0) reject(new Error(`trigger exited with ${code}`));
      else
        resolve({
          pid: c.pid as number,
          pre: out
            .trim()
            .split('\n')
            .map((s) => BigInt(s)),
        });
    });
  });
}

const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;

interface Sample {
  evtTime: bigint;
  emitted: bigint;
}

/** RFC 3339 with ns (Falco json "time") -> ns since epoch. */
function rfc3339Ns(s: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt(m[2] as string);
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 0.5).toFixed(3)} ms, p99 ${pct(s, 0.99).toFixed(3)} ms, max ${(s[s.length - 1] as number).toFixed(3)} ms`;
};

async function run(workers: number, wakeupMs: number): Promise<void> {
  const { ruleset, sources } = loadRules([stable]);
  const sensor = new Sensor({ wakeupMs });
  const samples: Sample[] = [];
  let pidOfTrigger = -1;
  const det = new LiveDetector(
    ruleset,
    sources,
    (m) => {
      m.json(); // the alert's one serialisation, as the stdout printer does it
      const emitted = nowNs();
      const a = m.alert;
      if (a.rule === RULE && a.output_fields['proc.name'] === 'vigil-alertlat') samples.push({ evtTime: rfc3339Ns(a.time), emitted });
    },
    workers,
    false,
  );
  await det.start();
  sensor.onEvent((ev: VigilEvent) => det.evaluate(ev));
  await sensor.start();
  const plan = new PlanBuilder();
  plan.needFamilies(['exec']);
  planForRules(ruleset, plan);
  await sensor.applyPlan(plan.build());
  await new Promise((r) => setTimeout(r, 200));
  const { pid, pre } = await runTrigger();
  pidOfTrigger = pid;
  // wait for the last alerts
  const deadline = Date.now() + 3000;
  while (samples.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await sensor.stop();
  await det.stop();
  // each alert belongs to the last open started at or before its kernel timestamp
  const sysLat: number[] = [];
  const userLat: number[] = [];
  let j = 0;
  for (const s of samples.sort((a, b) => (a.evtTime < b.evtTime ? -1 : 1))) {
    while (j + 1 < pre.length && (pre[j + 1] as bigint) <= s.evtTime) j++;
    sysLat.push(Number(s.emitted - s.evtTime) / 1e6);
    userLat.push(Number(s.emitted - (pre[j] as bigint)) / 1e6);
  }
  console.log(
    `workers=${workers}, wakeup-ms=${wakeupMs}: ${samples.length}/${N} alerts (trigger pid ${pidOfTrigger}, ${det.stats.evaluated} events evaluated)`,
  );
  if (samples.length === 0) return;
  console.log(`  alert - evt.time (kernel):       ${fmt(sysLat)}`);
  console.log(`  alert - before open (user space): ${fmt(userLat)}`);
}

console.log(`syscall-to-alert latency, rule "${RULE}" (stable rules), ${N} opens of /etc/shadow ${GAP_MS} ms apart`);
try {
  for (const wk of WAKEUPS) for (const w of WORKERS) await run(w, wk);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
