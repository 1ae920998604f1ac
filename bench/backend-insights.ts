// Benchmark: runtime-insights query time over a large stored set (10 million events by default,
// in DuckDB and in PostgreSQL). A seed of SEED events goes through Store.ingest (10 sensors, 200
// workloads, realistic event mix; its rate is reported), then the store copies the seed inside
// the database, each copy shifted 30 minutes back in time and to fresh sequence numbers, up to the target:
// filling 10M rows through ingest alone would take most of the benchmark budget on this machine
// (bench/backend-ingest.ts measures ingest). Then times the workload list, one workload's
// insights, the same over the last 60 s, and an events page with two field filters (median of 3).
// Usage: node --import tsx bench/backend-insights.ts [duckdbEvents=10000000] [postgresEvents=10000000] [seed=200000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDbStore } from '../src/store/duckdb.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import type { IngestRecord, Store } from '../src/store/types.ts';
import { startPostgres } from '../tests/helpers/services.ts';
import { genEvent } from './backend-gen.ts';

/** Stores that can copy their events in place (bench only: reaches the protected SQL runners). */
interface Amplifiable extends Store {
  amplify(copies: number, seqStride: number, timeStrideNs: bigint): Promise<void>;
  rebuildRollup(): Promise<void>;
  rebuildAggregates(): Promise<void>;
}

class BenchDuckDb extends DuckDbStore implements Amplifiable {
  async amplify(copies: number, seqStride: number, timeStrideNs: bigint): Promise<void> {
    await this.exec(`CREATE TEMP TABLE seed AS SELECT * FROM events`);
    await this.exec(
      `INSERT INTO events SELECT seed.* REPLACE (seq + k.i * ${seqStride} AS seq, time_ns - k.i * ${timeStrideNs} AS time_ns) FROM seed, range(1, ${copies}) AS k(i)`,
    );
    await this.exec(`DROP TABLE seed`);
  }
}

class BenchPostgres extends PostgresStore implements Amplifiable {
  async amplify(copies: number, seqStride: number, timeStrideNs: bigint): Promise<void> {
    const cols = (await this.all(`SELECT column_name FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`)).map((r) =>
      String(r.column_name),
    );
    const sel = cols.map((c) => (c === 'seq' ? `seq + k * ${seqStride}` : c === 'time_ns' ? `time_ns - k * ${timeStrideNs}` : c)).join(', ');
    await this.exec(`CREATE TEMP TABLE seed AS SELECT * FROM events`);
    // one copy per statement: progress is visible and no single transaction grows huge
    for (let k = 1; k < copies; k++) {
      await this.exec(`INSERT INTO events (${cols.join(', ')}) SELECT ${sel} FROM seed, (SELECT ${k}::bigint AS k) kk`);
      if (k % 5 === 0) process.stderr.write(`  postgres: copy ${k}/${copies - 1}\r`);
    }
    await this.exec(`DROP TABLE seed`);
    await this.exec(`ANALYZE events`);
  }
}

const DUCK_N = Number(process.argv[2] ?? 10_000_000);
const PG_N = Number(process.argv[3] ?? 10_000_000);
const SEED = Number(process.argv[4] ?? 200_000);
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
    if (base % (BATCH * 40) === 0 && base > 0)
      process.stderr.write(`  ${(base * SENSORS).toLocaleString()} events, ${Math.round((base * SENSORS) / ((performance.now() - t0) / 1000))}/s\r`);
  }
  await Promise.all(inflight);
  return (per * SENSORS) / ((performance.now() - t0) / 1000);
}

function lastNsOf(list: { last_seen: string | null }[]): bigint {
  return BigInt(Math.max(...list.map((w) => (w.last_seen ? Date.parse(w.last_seen) : 0)))) * 1_000_000n;
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

async function bench(label: string, store: Amplifiable, n: number): Promise<void> {
  await store.init();
  const seed = Math.min(SEED, n);
  const rate = await fill(store, seed);
  const copies = Math.ceil(n / seed);
  const ta = performance.now();
  if (copies > 1) {
    // each copy 30 minutes earlier than the next: 50 copies span about a day, so "the last 60 s"
    // selects a small part of the store, as it would on a real one
    await store.amplify(copies, Math.ceil(seed / SENSORS), 1_800_000_000_000n);
    await store.rebuildRollup(); // the copies bypassed ingest, which keeps the workload rollup
    await store.rebuildAggregates(); // and the insight aggregates
  }
  const amplifySec = (performance.now() - ta) / 1000;
  const count = await store.countEvents();
  const size = await store.sizeBytes();
  const list = await store.listWorkloads({});
  const top = list.sort((a, b) => b.events - a.events)[0]!;
  const tList = await timeIt(() => store.listWorkloads({}));
  const tListRange = await timeIt(() => store.listWorkloads({ since: lastNsOf(list) - 60_000_000_000n }));
  const tOne = await timeIt(() => store.workloadInsights(top.id, {}));
  const d = (await store.workloadInsights(top.id, {}))!;
  const lastNs = BigInt(d.last_seen ? Date.parse(d.last_seen) : 0) * 1_000_000n;
  const tRange = await timeIt(() => store.workloadInsights(top.id, { since: lastNs - 60_000_000_000n }));
  const tPage = await timeIt(() =>
    store.queryEvents({ fields: { 'evt.type': ['connect'], 'container.id': [`c${top.id.split(':')[3]?.replace('svc', '').padStart(11, '0')}`] }, limit: 100 }),
  );
  console.log(
    `${label.padEnd(9)} ${count.toLocaleString()} events (${(size / 1e9).toFixed(2)} GB), seed ${seed.toLocaleString()} at ${Math.round(rate).toLocaleString()} events/s via Store.ingest, ${copies} copies in ${amplifySec.toFixed(0)} s | ` +
      `workload list (${list.length} workloads): ${tList.toFixed(0)} ms (last 60 s: ${tListRange.toFixed(0)} ms) | insights of ${top.id} (${top.events.toLocaleString()} events; ${d.network.length} net, ${d.files.length} file, ${d.processes.length} proc, ${d.capabilities.length} cap rows): ${tOne.toFixed(0)} ms | same, last 60 s: ${tRange.toFixed(0)} ms | events page with 2 field filters: ${tPage.toFixed(0)} ms`,
  );
  await store.close();
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-ins-'));
try {
  if (DUCK_N > 0) await bench('duckdb', new BenchDuckDb(path.join(tmp, 'bench.duckdb')), DUCK_N);
  if (PG_N > 0) {
    const pg = await startPostgres();
    try {
      await bench('postgres', new BenchPostgres(await pg.createDb('vigil_bench_ins')), PG_N);
    } finally {
      await pg.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
