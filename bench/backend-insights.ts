// Benchmark: runtime-insights query time over a large stored set. Fills a DuckDB store (and a
// PostgreSQL one) directly through Store.ingest (10 sensors, 200 workloads, realistic event mix),
// then times the workload list and one workload's insights (median of 3 runs).
// Usage: node --import tsx bench/backend-insights.ts [duckdbEvents=10000000] [postgresEvents=1000000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDbStore } from '../src/store/duckdb.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import type { IngestRecord, Store } from '../src/store/types.ts';
import { startPostgres } from '../tests/helpers/services.ts';
import { genEvent } from './backend-gen.ts';

const DUCK_N = Number(process.argv[2] ?? 10_000_000);
const PG_N = Number(process.argv[3] ?? 1_000_000);
const SENSORS = 10;
const BATCH = 5000;

async function fill(store: Store, total: number): Promise<number> {
  const t0 = performance.now();
  const per = Math.ceil(total / SENSORS);
  const inflight: Promise<unknown>[] = [];
  for (let base = 0; base < per; base += BATCH) {
    for (let s = 0; s < SENSORS; s++) {
      const recs: IngestRecord[] = [];
      for (let i = base + 1; i <= Math.min(base + BATCH, per); i++) recs.push({ seq: i, kind: 'e', data: genEvent(i, s) });
      inflight.push(store.ingest(`sensor-${String(s).padStart(16, '0')}`, `node${s}`, recs));
      if (inflight.length >= 4) await inflight.shift();
    }
    if (base % (BATCH * 40) === 0 && base > 0) process.stderr.write(`  ${(base * SENSORS).toLocaleString()} events, ${Math.round((base * SENSORS) / ((performance.now() - t0) / 1000))}/s\r`);
  }
  await Promise.all(inflight);
  return (per * SENSORS) / ((performance.now() - t0) / 1000);
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return ts.sort((a, b) => a - b)[1]!;
}

async function bench(label: string, store: Store, n: number): Promise<void> {
  await store.init();
  const rate = await fill(store, n);
  const count = await store.countEvents();
  const size = await store.sizeBytes();
  const list = await store.listWorkloads({});
  const top = list.sort((a, b) => b.events - a.events)[0]!;
  const tList = await timeIt(() => store.listWorkloads({}));
  const tOne = await timeIt(() => store.workloadInsights(top.id, {}));
  const d = (await store.workloadInsights(top.id, {}))!;
  const lastNs = BigInt(d.last_seen ? Date.parse(d.last_seen) : 0) * 1_000_000n;
  const tRange = await timeIt(() => store.workloadInsights(top.id, { since: lastNs - 60_000_000_000n }));
  const tPage = await timeIt(() => store.queryEvents({ fields: { 'evt.type': ['connect'], 'container.id': [`c${top.id.split(':')[3]?.replace('svc', '').padStart(11, '0')}`] }, limit: 100 }));
  console.log(
    `${label.padEnd(9)} ${count.toLocaleString()} events (${(size / 1e9).toFixed(2)} GB), fill ${Math.round(rate).toLocaleString()} events/s via Store.ingest | ` +
      `workload list (${list.length} workloads): ${tList.toFixed(0)} ms | insights of ${top.id} (${top.events.toLocaleString()} events; ${d.network.length} net, ${d.files.length} file, ${d.processes.length} proc, ${d.capabilities.length} cap rows): ${tOne.toFixed(0)} ms | same, last 60 s: ${tRange.toFixed(0)} ms | events page with 2 field filters: ${tPage.toFixed(0)} ms`,
  );
  await store.close();
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-ins-'));
try {
  if (DUCK_N > 0) await bench('duckdb', new DuckDbStore(path.join(tmp, 'bench.duckdb')), DUCK_N);
  if (PG_N > 0) {
    const pg = await startPostgres();
    try {
      await bench('postgres', new PostgresStore(await pg.createDb('vigil_bench_ins')), PG_N);
    } finally {
      await pg.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
