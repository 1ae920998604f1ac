// Smoke test of the sensor overhead benchmark (bench/sensor-overhead.ts --quick): builds the
// workloads and the floor, runs every workload under every configuration with tiny iteration
// counts, and checks that the table has every row and every figure is a finite number. Needs the
// real kernel (root, BTF, the built loader) and redis; under VIGIL_REQUIRE_BPF=1 a missing
// prerequisite fails instead of skipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { needKernel, repoRoot } from '../helpers/kernel.ts';

const WORKLOADS = ['open', 'fork_exec', 'tcp', 'redis_set', 'redis_get'];
const CONFIGS = ['baseline', 'floor', 'sensor', 'sensor-all', 'auditd'];

interface Row {
  workload: string;
  workloadLabel: string;
  config: string;
  configLabel: string;
  skipped?: string;
  opsPerSec?: number;
  slowdownPct?: number;
  minusFloorPp?: number;
  cpuPct?: number;
  eventsPerSec?: number;
  kernelDrops?: number;
  userDrops?: number;
  cpuPerOp?: { median: number; n: number };
  bpfNsPerOp?: { median: number };
  bpfMinusFloorPp?: { median: number };
  bpf?: { prog: string; nsPerRun: { median: number }; runsPerOp: { median: number } }[];
}

test('bench/sensor-overhead.ts --quick produces a complete table', { timeout: 120_000 }, (t) => {
  if (!needKernel(t, ['redis-server', 'redis-benchmark', 'clang', 'bpftool', 'cc'])) return;
  const out = mkdtempSync(path.join(tmpdir(), 'vigil-bench-smoke-'));
  try {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/sensor-overhead.ts', '--quick', '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 110_000,
    });
    assert.equal(r.status, 0, `benchmark failed:\n${r.stderr}\n${r.stdout}`);
    t.diagnostic(`quick run took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const { rows } = JSON.parse(readFileSync(path.join(out, 'sensor-overhead-quick.json'), 'utf8')) as { rows: Row[] };
    const md = readFileSync(path.join(out, 'sensor-overhead-quick.md'), 'utf8');
    assert.match(r.stdout, /\| workload \| configuration \| ops\/s/);
    for (const w of WORKLOADS) {
      for (const c of CONFIGS) {
        const row = rows.find((x) => x.workload === w && x.config === c);
        assert.ok(row, `row ${w} × ${c} missing`);
        assert.ok(md.includes(`| ${row.workloadLabel} | ${row.configLabel} |`), `markdown row ${w} × ${c} missing`);
        if (row.skipped) {
          // only auditd may be unavailable (no kernel audit, or someone else's audit daemon)
          assert.equal(c, 'auditd', `${w} × ${c} skipped: ${row.skipped}`);
          t.diagnostic(`auditd skipped: ${row.skipped}`);
          continue;
        }
        const finite = (v: number | undefined, name: string) => assert.ok(typeof v === 'number' && Number.isFinite(v), `${w} × ${c}: ${name} = ${v}`);
        finite(row.opsPerSec, 'ops/s');
        assert.ok(row.opsPerSec! > 0, `${w} × ${c}: ops/s is 0`);
        if (c !== 'baseline') finite(row.slowdownPct, 'slowdown');
        if (c.startsWith('sensor')) finite(row.minusFloorPp, 'minus floor');
        // the method's figures: the workload's CPU per op everywhere, BPF statistics for the hooked configurations
        finite(row.cpuPerOp?.median, 'CPU µs/op');
        assert.ok(row.cpuPerOp!.median > 0, `${w} × ${c}: CPU per op is 0`);
        if (c === 'floor' || c.startsWith('sensor')) {
          finite(row.bpfNsPerOp?.median, 'BPF ns/op');
          assert.ok(
            row.bpf?.some((b) => b.runsPerOp.median > 0 && b.nsPerRun.median > 0),
            `${w} × ${c}: no BPF program ran`,
          );
        }
        if (c.startsWith('sensor')) finite(row.bpfMinusFloorPp?.median, 'BPF minus floor');
        if (c !== 'baseline') {
          finite(row.cpuPct, 'CPU %');
          finite(row.eventsPerSec, 'events/s');
          finite(row.kernelDrops, 'kernel drops');
          finite(row.userDrops, 'user drops');
        }
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
