// The benchmark method's helpers (bench/lib/method.ts): order statistics (median, quartiles by
// interpolation, min–max), the CPU plan parser, the rusage line of bench/workloads/rusage_run and
// the per-program difference of BPF run-time snapshots. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPlan, fmtSummary, parseRusage, pinned, progDelta, quantile, summarize } from '../../../bench/lib/method.ts';

test('summarize: median, interpolated quartiles, min and max; non-finite values ignored', () => {
  assert.deepEqual(summarize([5, 1, 4, 2, 3]), { n: 5, median: 3, min: 1, max: 5, q1: 2, q3: 4 });
  // even count: the median and the quartiles interpolate between order statistics
  assert.deepEqual(summarize([10, 40, 20, 30]), { n: 4, median: 25, min: 10, max: 40, q1: 17.5, q3: 32.5 });
  assert.deepEqual(summarize([7, Number.NaN, Number.POSITIVE_INFINITY]), { n: 1, median: 7, min: 7, max: 7, q1: 7, q3: 7 });
  const empty = summarize([]);
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.median));
  assert.equal(fmtSummary(empty), '–');
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7], 0.25), 2.5);
  assert.equal(fmtSummary(summarize([1, 2, 3, 4, 5]), 1), '3.0 (IQR 2.0–4.0; 1.0–5.0)');
});

test('cpuPlan: explicit lists and ranges, "none", and refusals with what was expected', () => {
  assert.deepEqual(cpuPlan('0:1'), { sensor: [0], workload: [1] });
  assert.deepEqual(cpuPlan('1:0,2-3'), { sensor: [1], workload: [0, 2, 3] });
  assert.equal(cpuPlan('none'), undefined);
  assert.throws(() => cpuPlan('0'), /expected SENSOR:WORKLOAD CPU lists, got "0"/);
  assert.throws(() => cpuPlan('0:x'), /bad CPU list "x" \(expected e\.g\. 0:1 or 0:1-3\)/);
  assert.deepEqual(pinned([1], 'prog', ['a']), ['taskset', ['-c', '1', 'prog', 'a']]);
  assert.deepEqual(pinned(undefined, 'prog', ['a']), ['prog', ['a']]);
});

test('parseRusage: the last rusage line of a workload output; a clear error without one', () => {
  const out = '{"workload":"fork_exec","ops":10,"seconds":0.1,"ops_per_sec":100.0}\n{"rusage_user_s":0.012000,"rusage_sys_s":1.500250}\n';
  assert.deepEqual(parseRusage(out), { userSec: 0.012, sysSec: 1.50025 });
  assert.throws(() => parseRusage('SET: 1000 requests per second\n'), /no rusage line in the workload's output: SET: 1000/);
});

test('progDelta: runs and ns per program name between snapshots; new programs count whole, idle ones not at all', () => {
  const before = new Map([
    [1, { name: 'vgl_sched_exec', runCnt: 100, runTimeNs: 200_000 }],
    [2, { name: 'vgl_sys_exit_file', runCnt: 50, runTimeNs: 25_000 }],
  ]);
  const after = new Map([
    [1, { name: 'vgl_sched_exec', runCnt: 110, runTimeNs: 218_000 }],
    [2, { name: 'vgl_sys_exit_file', runCnt: 50, runTimeNs: 25_000 }],
    [3, { name: 'vgl_sched_fork', runCnt: 4, runTimeNs: 2_400 }],
    // two programs of one name (one program attached per syscall family) are summed
    [4, { name: 'vgl_sched_exec', runCnt: 1, runTimeNs: 1_000 }],
  ]);
  assert.deepEqual(progDelta(before, after), {
    vgl_sched_exec: { runs: 11, ns: 19_000 },
    vgl_sched_fork: { runs: 4, ns: 2_400 },
  });
});
