// Benchmark of the fanotify enforcer (run as root: node --import tsx bench/fanotify-latency.ts [N]).
// Two runc containers A and B; a Block policy on /etc/secret selects A only. Measures:
//  - decision latency p50/p99 (enforcer stats: event read -> response written) over N opens in A
//    of an allowed file (each open is a permission event answered "allow");
//  - per-open cost in B (not selected: its mount carries no mark) with no enforcer vs with the
//    enforcer running for A: the "other workloads pay nothing" claim;
//  - per-open cost in A with and without the enforcer (the price of a watched mount);
//  - the same in A under a policy of two globs (matchPatterns), and its decision latency.
// The open loop is a shell builtin redirect (`: < file`), so it opens without fork/exec; the
// per-open time is (T(N) - T(0)) / N to cancel the `runc exec` overhead.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { cleanupContainers, runContainer, type Container } from '../tests/helpers/runc.ts';
import { buildFanxRun, FanxRun } from '../tests/helpers/policy-harness.ts';
import { parsePolicyText } from '../src/policy/validate.ts';
import { compile } from '../src/policy/compile.ts';
import { repoRoot } from '../tests/helpers/kernel.ts';

const N = Number(process.argv[2] ?? 20000);
const REPS = 3;

async function loopMs(c: Container, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await c.exec(['sh', '-c', `i=0; while [ $i -lt ${n} ]; do : < /data/x; i=$((i+1)); done`], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Median per-open cost in ns. */
async function perOpenNs(c: Container): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const base = await loopMs(c, 0);
    const full = await loopMs(c, N);
    xs.push(((full - base) * 1e6) / N);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const tool = buildFanxRun();
  const files = { '/etc/secret': 's\n', '/data/x': 'x\n' };
  const a = await runContainer({ name: 'bench-a', files });
  const b = await runContainer({ name: 'bench-b', files });
  try {
    const noEnfA = await perOpenNs(a);
    const noEnfB = await perOpenNs(b);
    const yaml = `apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: bench}\nspec:\n  selector: {matchLabels: {vigil.dev/container.name: bench-a}}\n  file:\n    matchPaths: [{path: /etc/secret}]\n  action: Block\n`;
    const table = compile(parsePolicyText(yaml, 'bench.yaml').policies, [a.workload(), b.workload()]).fanotify;
    const f = await FanxRun.start(tool, table);
    const enfB = await perOpenNs(b);
    const enfA = await perOpenNs(a);
    const s = await f.stats();
    await f.stop();
    // the same container under a policy of globs only (matchPatterns): every open is matched
    // against both patterns, so this is the decision cost with glob rules
    const globYaml = yaml.replace('matchPaths: [{path: /etc/secret}]', 'matchPatterns: [{pattern: /etc/*secret*}, {pattern: "/**/*.key"}]');
    const fg = await FanxRun.start(tool, compile(parsePolicyText(globYaml, 'bench-glob.yaml').policies, [a.workload(), b.workload()]).fanotify);
    const enfAGlob = await perOpenNs(a);
    const sg = await fg.stats();
    await fg.stop();
    // baseline again after the enforcer stopped: the spread between the two baselines is the noise
    const noEnfB2 = await perOpenNs(b);
    const result = {
      n: N,
      reps: REPS,
      decisionLatencyNs: { p50: s.p50, p99: s.p99, max: s.max, count: s.latCount },
      decisionLatencyGlobNs: { p50: sg.p50, p99: sg.p99, max: sg.max, count: sg.latCount },
      perOpenNs: {
        otherContainerNoEnforcer: Math.round(noEnfB),
        otherContainerNoEnforcerAfter: Math.round(noEnfB2),
        otherContainerWithEnforcer: Math.round(enfB),
        selectedContainerNoEnforcer: Math.round(noEnfA),
        selectedContainerWithEnforcer: Math.round(enfA),
        selectedContainerWithGlobPolicy: Math.round(enfAGlob),
      },
      slowdown: { otherContainer: +(enfB / Math.min(noEnfB, noEnfB2)).toFixed(3), selectedContainer: +(enfA / noEnfA).toFixed(3) },
      goalP99Under50us: s.p99 < 50_000 && sg.p99 < 50_000,
    };
    const out = path.join(repoRoot, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'fanotify-latency.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await cleanupContainers();
  }
}

await main();
