// Benchmark: backend ingest rate (events/s) and CPU per event, DuckDB and PostgreSQL.
// Two modes:
//  --mode store (default): the server's ingest call (Store.ingest) fed the batches 10 sensors' uplinks
//    would send (≤ 1000 items and ≤ 1 MiB of JSON per batch, 8 batches in flight per sensor), with the
//    bulk path (DuckDB appender from column arrays, PostgreSQL COPY; records carry the JSON text the
//    sensor sent, as src/server/ingest.ts passes it now) against the previous path
//    (DuckDB appender from row objects, PostgreSQL INSERT ... SELECT FROM unnest; records without
//    their JSON text, so the store re-serialises each event as before) in the same run,
//    repetitions interleaved (old, new, old, new, ...), each on a fresh database; prints medians with
//    min–max and the new/old ratio. CPU: this process (DuckDB runs in it) plus, for PostgreSQL, the
//    backends that served the run (read from /proc before they exit).
//    With --form both (default) the comparison is instead full events (bulk path, the wire before
//    process records) against compact events + process records (src/wire/compact.ts), and the
//    wire bytes per event of both forms are printed (JSON and deflated).
//  --mode e2e: 10 SensorUplinks (mutual TLS WebSocket) into a `vigil server` child process; the
//    clock runs from the first push until every sensor has every event acknowledged (durably stored).
// Events: `--events FILE` (or $VIGIL_BENCH_EVENTS; ndjson, e.g. a `vigil run --output json` recording) or, without it,
// synthetic events (bench/backend-gen.ts); the output says which.
// Usage: node --import tsx bench/backend-ingest.ts [--events FILE] [--mode store|e2e] [--engine duckdb|postgres|both]
//          [--reps 7] [--per-sensor N] [--limit N] [--batch-items 1000] [--batch-bytes 1048576] [--paths both|new|old]
//          [--form both|full|compact]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/common/log.ts';
import { DuckDbStore } from '../src/store/duckdb.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import type { IngestRecord, Store } from '../src/store/types.ts';
import { SensorUplink } from '../src/uplink/uplink.ts';
import { startPostgres, type PgHandle } from '../tests/helpers/services.ts';
import { api, spawnServer, type ApiToken } from '../tests/helpers/backend-server.ts';
import { genEvent } from './backend-gen.ts';
import { deflateRawSync } from 'node:zlib';
import { capsRecordJson, compactEventJson, recordItemJson } from '../src/wire/compact.ts';

const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: process.env.VIGIL_BENCH_EVENTS },
    mode: { type: 'string', default: 'store' },
    engine: { type: 'string', default: 'both' },
    reps: { type: 'string', default: '7' },
    'per-sensor': { type: 'string' },
    limit: { type: 'string', default: '50000' }, // events read from --events (bounds `make bench` time)
    'batch-items': { type: 'string', default: '1000' },
    paths: { type: 'string', default: 'both' },
    form: { type: 'string', default: 'both' },
    'batch-bytes': { type: 'string', default: String(1024 * 1024) },
  },
  allowPositionals: true,
});
const SENSORS = 10;
const BATCH_ITEMS = Number(opt['batch-items']); // default: the uplink's defaults (src/uplink/uplink.ts)
const BATCH_BYTES = Number(opt['batch-bytes']);
const IN_FLIGHT = 8;
const REPS = Math.max(1, Number(opt.reps));
if (!['store', 'e2e'].includes(opt.mode!)) throw new Error(`--mode takes store or e2e, got ${opt.mode}`);
if (!['both', 'new', 'old'].includes(opt.paths!)) throw new Error(`--paths takes both, new or old, got ${opt.paths}`);
if (!['both', 'full', 'compact'].includes(opt.form!)) throw new Error(`--form takes both, full or compact, got ${opt.form}`);
if (!['duckdb', 'postgres', 'both'].includes(opt.engine!)) throw new Error(`--engine takes duckdb, postgres or both, got ${opt.engine}`);

/** The events of the run, one list per sensor: a recording split round-robin, or synthetic. */
interface Ev {
  data: Record<string, unknown>;
  json: string;
  bytes: number;
}
function loadEvents(contiguous = false): { source: string; perSensor: Ev[][] } {
  const perSensor: Ev[][] = Array.from({ length: SENSORS }, () => []);
  if (opt.events) {
    const text = readFileSync(opt.events, 'utf8');
    const limit = opt.limit ? Number(opt.limit) : Infinity;
    let n = 0,
      line = 0,
      bytes = 0;
    for (let i = 0; i < text.length && n < limit; ) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = text.length;
      line++;
      const l = text.slice(i, j);
      i = j + 1;
      if (l.trim() === '') continue;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(l);
      } catch (e) {
        throw new Error(`${opt.events}:${line}: not a JSON event (${(e as Error).message})`);
      }
      if (data === null || typeof data !== 'object' || typeof (data as { evt?: unknown }).evt !== 'object') {
        throw new Error(`${opt.events}:${line}:1: expected an event object with an "evt" member`);
      }
      perSensor[n % SENSORS]!.push({ data, json: l, bytes: l.length });
      bytes += l.length;
      n++;
    }
    if (n === 0) throw new Error(`${opt.events}: no events`);
    if (contiguous) {
      // one host's stream per sensor: consecutive tenths of the recording (a process's events and
      // records stay with one sensor, as they do live)
      const all: Ev[] = [];
      for (let k = 0; k < n; k++) all.push(perSensor[k % SENSORS]![Math.floor(k / SENSORS)]!);
      const per = Math.ceil(n / SENSORS);
      for (let s2 = 0; s2 < SENSORS; s2++) perSensor[s2] = all.slice(s2 * per, (s2 + 1) * per);
    }
    return { source: `real events from ${opt.events} (${n} events, mean ${Math.round(bytes / n)} B JSON)`, perSensor };
  }
  const per = Number(opt['per-sensor'] ?? 5_000);
  for (let s = 0; s < SENSORS; s++)
    for (let k = 0; k < per; k++) {
      const data = genEvent(k + 1, s);
      const json = JSON.stringify(data);
      perSensor[s]!.push({ data, json, bytes: json.length });
    }
  return { source: `synthetic events (bench/backend-gen.ts, ~${perSensor[0]![0]!.bytes} B JSON each)`, perSensor };
}

/** Batches as the uplink cuts them; with `withJson`, each record carries its JSON text as the
 * server now passes it (src/server/ingest.ts batchRecords); without, as the server passed it before. */
function batchesOf(evs: Ev[], withJson: boolean): IngestRecord[][] {
  const out: IngestRecord[][] = [];
  let cur: IngestRecord[] = [];
  let bytes = 0;
  evs.forEach((e, i) => {
    if (cur.length && (cur.length >= BATCH_ITEMS || bytes + e.bytes > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(withJson ? { seq: i + 1, kind: 'e', data: e.data, json: e.json } : { seq: i + 1, kind: 'e', data: e.data });
    bytes += e.bytes;
  });
  if (cur.length) out.push(cur);
  return out;
}

/** CPU seconds (user + system) of the processes whose command line starts with `postgres:` and
 * whose parent is `ppid` (the backends and helpers of one test server). */
function pgCpu(ppid: number): Map<number, number> {
  const out = new Map<number, number>();
  const tick = 100; // USER_HZ
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== ppid) continue;
      out.set(Number(d), (Number(f[11]) + Number(f[12])) / tick);
    } catch {
      /* exited */
    }
  }
  return out;
}
function pgPostmaster(h: PgHandle): number {
  return Number(readFileSync(path.join(h.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

interface Sample {
  eps: number;
  cpuUsPerEvent: number;
  /** of which the PostgreSQL server processes */
  dbUsPerEvent: number;
  stored: number;
}

async function storeRun(
  engine: 'duckdb' | 'postgres',
  bulk: boolean,
  batches: IngestRecord[][][],
  total: number,
  pgh: PgHandle | null,
  rep: number,
): Promise<Sample> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  let store: Store;
  if (engine === 'duckdb') store = new DuckDbStore(path.join(tmp, 'vigil.duckdb'), { bulk });
  else store = new PostgresStore(await pgh!.createDb(`vigil_bench_${rep}_${bulk ? 'n' : 'o'}`), { bulk });
  await store.init();
  const pm = pgh ? pgPostmaster(pgh) : 0;
  const pg0 = pgh ? pgCpu(pm) : new Map<number, number>();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    batches.map(async (bs, s) => {
      // up to IN_FLIGHT batches of this sensor submitted at once (the server submits each batch as it arrives)
      const inflight = new Set<Promise<unknown>>();
      for (const b of bs) {
        if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
        const p: Promise<unknown> = store.ingest(`sensor-${s}`, `host-${s}`, b).then(() => inflight.delete(p));
        inflight.add(p);
      }
      await Promise.all(inflight);
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const nodeCpu = (cu.user + cu.system) / 1e6;
  let dbCpu = 0;
  if (pgh) {
    const pg1 = pgCpu(pm);
    for (const [pid, c] of pg1) dbCpu += c - (pg0.get(pid) ?? 0);
  }
  const cpu = nodeCpu + dbCpu;
  const stored = await store.countEvents();
  await store.close();
  rmSync(tmp, { recursive: true, force: true });
  if (stored !== total) throw new Error(`${engine} ${bulk ? 'bulk' : 'old'}: stored ${stored} of ${total} events`);
  return { eps: total / secs, cpuUsPerEvent: (cpu * 1e6) / total, dbUsPerEvent: (dbCpu * 1e6) / total, stored };
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (xs: number[], d = 0): string => `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

/**
 * The batches the uplink sends now (src/uplink/uplink.ts push): each distinct process object and
 * capability set once as a process record ("r"), events as compact events ("c"); objects parsed
 * from a recording share no identity, so records are found by content, as the uplink's second
 * lookup does. Also returns the JSON bytes of all items and their deflated size (one raw deflate
 * stream over the batches in order, level 1: what permessage-deflate with its window kept sends).
 */
function compactBatchesOf(evs: Ev[]): { batches: IngestRecord[][]; jsonBytes: number; deflated: number; records: number } {
  const items: { rec: IngestRecord; bytes: number }[] = [];
  const refs = new Map<string, number>();
  let seq = 0;
  let records = 0;
  const record = (key: string, text: string, time: string): number => {
    const k = `${key}\u0000${text}`;
    let id = refs.get(k);
    if (id === undefined) {
      id = ++seq;
      const json = recordItemJson(time, key, text);
      items.push({ rec: { seq: id, kind: 'r', data: JSON.parse(json) as Record<string, unknown>, json }, bytes: json.length });
      refs.set(k, id);
      records++;
    }
    return id;
  };
  for (const e of evs) {
    const time = String((e.data.evt as { time?: unknown }).time ?? '0');
    const json = compactEventJson(
      e.data,
      (k, o) => record(k, JSON.stringify(o), time),
      JSON.stringify,
      (a, b, c) => record('caps', capsRecordJson(a, b, c, JSON.stringify), time),
    );
    items.push({ rec: { seq: ++seq, kind: 'c', data: JSON.parse(json) as Record<string, unknown>, json }, bytes: json.length });
  }
  const batches: IngestRecord[][] = [];
  const texts: string[] = [];
  let cur: IngestRecord[] = [];
  let bytes = 0;
  let jsonBytes = 0;
  for (const it of items) {
    if (cur.length && (cur.length >= BATCH_ITEMS || bytes + it.bytes > BATCH_BYTES)) {
      batches.push(cur);
      texts.push(cur.map((r) => r.json).join(','));
      cur = [];
      bytes = 0;
    }
    cur.push(it.rec);
    bytes += it.bytes;
    jsonBytes += it.bytes;
  }
  if (cur.length) {
    batches.push(cur);
    texts.push(cur.map((r) => r.json).join(','));
  }
  return { batches, jsonBytes, deflated: deflateRawSync(texts.join('\n'), { level: 1 }).length, records };
}

async function storeMode(): Promise<void> {
  if (opt.form !== 'full') return formMode();
  const { source, perSensor } = loadEvents();
  const oldBatches = perSensor.map((x) => batchesOf(x, false));
  const newBatches = perSensor.map((x) => batchesOf(x, true));
  const total = perSensor.reduce((a, b) => a + b.length, 0);
  const nb = newBatches.reduce((a, b) => a + b.length, 0);
  console.log(
    `store ingest: ${source}; ${SENSORS} sensors, ${nb} batches (mean ${Math.round(total / nb)} events; ≤ ${BATCH_ITEMS} items, ≤ ${BATCH_BYTES} B), ${IN_FLIGHT} in flight per sensor; ${REPS} interleaved repetitions per path; ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const engines = opt.engine === 'both' ? (['duckdb', 'postgres'] as const) : ([opt.engine] as ('duckdb' | 'postgres')[]);
  for (const engine of engines) {
    const pgh = engine === 'postgres' ? await startPostgres() : null;
    try {
      const res = { old: [] as Sample[], bulk: [] as Sample[] };
      for (let r = 0; r < REPS; r++) {
        // alternate which path goes first, so a drift in machine load does not favour one
        const order = opt.paths === 'new' ? [true] : opt.paths === 'old' ? [false] : r % 2 ? [true, false] : [false, true];
        for (const bulk of order) {
          const smp = await storeRun(engine, bulk, bulk ? newBatches : oldBatches, total, pgh, r);
          (bulk ? res.bulk : res.old).push(smp);
          console.log(
            `  ${engine} rep ${r + 1} ${bulk ? 'bulk' : 'old '}: ${Math.round(smp.eps)} events/s, ${smp.cpuUsPerEvent.toFixed(1)} µs CPU/event${pgh ? ` (${smp.dbUsPerEvent.toFixed(1)} of it in PostgreSQL)` : ''}`,
          );
        }
      }
      if (res.old.length === 0 || res.bulk.length === 0) {
        const xs = res.old.length ? res.old : res.bulk;
        console.log(
          `${engine.padEnd(8)} ${res.old.length ? 'old' : 'new'}: ${fmt(xs.map((x) => x.eps))} events/s, ${fmt(
            xs.map((x) => x.cpuUsPerEvent),
            1,
          )} µs CPU/event`,
        );
        continue;
      }
      const ratios = res.old.map((o, i) => res.bulk[i]!.eps / o.eps);
      const label = engine === 'duckdb' ? ['appender from row objects', 'appender from column arrays'] : ['INSERT … unnest', 'COPY FROM STDIN'];
      console.log(
        `${engine.padEnd(8)} old (${label[0]}): ${fmt(res.old.map((x) => x.eps))} events/s, ${fmt(
          res.old.map((x) => x.cpuUsPerEvent),
          1,
        )} µs CPU/event`,
      );
      console.log(
        `${engine.padEnd(8)} new (${label[1]}): ${fmt(res.bulk.map((x) => x.eps))} events/s, ${fmt(
          res.bulk.map((x) => x.cpuUsPerEvent),
          1,
        )} µs CPU/event`,
      );
      console.log(
        `${engine.padEnd(8)} new/old throughput, per repetition pair: median ${med(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})  [median(new)/median(old) ${(med(res.bulk.map((x) => x.eps)) / med(res.old.map((x) => x.eps))).toFixed(2)}×]`,
      );
    } finally {
      await pgh?.stop();
    }
  }
}

/** Full events (bulk path, as the wire carried them before) against compact events + process records. */
async function formMode(): Promise<void> {
  const { source, perSensor } = loadEvents(true);
  const full = perSensor.map((x) => batchesOf(x, true));
  const comp = perSensor.map((x) => compactBatchesOf(x));
  const total = perSensor.reduce((a, b) => a + b.length, 0);
  const fullBytes = perSensor.reduce((a, b) => a + b.reduce((x, e) => x + e.bytes, 0), 0);
  const fullDeflated = perSensor.reduce((a, b) => a + deflateRawSync(b.map((e) => e.json).join('\n'), { level: 1 }).length, 0);
  const compBytes = comp.reduce((a, c) => a + c.jsonBytes, 0);
  const compDeflated = comp.reduce((a, c) => a + c.deflated, 0);
  const records = comp.reduce((a, c) => a + c.records, 0);
  console.log(
    `store ingest: ${source}; ${SENSORS} sensors, ${IN_FLIGHT} batches in flight per sensor; ${REPS} interleaved repetitions; ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `wire bytes per event: full ${(fullBytes / total).toFixed(0)} B JSON (${(fullDeflated / total).toFixed(0)} B deflated); compact ${(compBytes / total).toFixed(0)} B JSON incl. ${records} process records (${(compDeflated / total).toFixed(0)} B deflated)`,
  );
  const engines = opt.engine === 'both' ? (['duckdb', 'postgres'] as const) : ([opt.engine] as ('duckdb' | 'postgres')[]);
  for (const engine of engines) {
    const pgh = engine === 'postgres' ? await startPostgres() : null;
    try {
      const res = { full: [] as Sample[], compact: [] as Sample[] };
      for (let r = 0; r < REPS; r++) {
        const order: ('full' | 'compact')[] = opt.form === 'compact' ? ['compact'] : r % 2 ? ['compact', 'full'] : ['full', 'compact'];
        for (const f of order) {
          const smp = await storeRun(engine, true, f === 'full' ? full : comp.map((c) => c.batches), total, pgh, r * 2 + (f === 'full' ? 0 : 1));
          res[f].push(smp);
          console.log(`  ${engine} rep ${r + 1} ${f.padEnd(7)}: ${Math.round(smp.eps)} events/s, ${smp.cpuUsPerEvent.toFixed(1)} µs CPU/event`);
        }
      }
      for (const f of ['full', 'compact'] as const) {
        if (res[f].length === 0) continue;
        console.log(
          `${engine.padEnd(8)} ${f.padEnd(7)}: ${fmt(res[f].map((x) => x.eps))} events/s, ${fmt(
            res[f].map((x) => x.cpuUsPerEvent),
            1,
          )} µs CPU/event`,
        );
      }
      if (res.full.length && res.compact.length) {
        const ratios = res.full.map((o, i) => res.compact[i]!.eps / o.eps);
        console.log(
          `${engine.padEnd(8)} compact/full throughput, per repetition pair: median ${med(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
        );
      }
    } finally {
      await pgh?.stop();
    }
  }
}

async function e2eRun(label: string, store: string | undefined, perSensor: Ev[][], source: string): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  const dataDir = path.join(tmp, 'server');
  const srv = await spawnServer({ dataDir, store, logLevel: 'warn' });
  const ups: SensorUplink[] = [];
  try {
    for (let s = 0; s < SENSORS; s++) {
      const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
      const up = new SensorUplink({
        dir: path.join(tmp, `sensor${s}`),
        server: srv.url,
        token: tok.json.token,
        logger: silentLogger(),
        spoolMaxBytes: 4 * 1024 ** 3,
      });
      await up.start();
      ups.push(up);
    }
    const t0 = process.hrtime.bigint();
    // Capture at a steady pace from all sensors (interleaved, as real sensors would).
    const CH = 1000;
    const per = Math.max(...perSensor.map((x) => x.length));
    for (let i = 0; i < per; i += CH) {
      for (let s = 0; s < SENSORS; s++) for (const e of perSensor[s]!.slice(i, i + CH)) ups[s]!.push(e.data);
      await new Promise((r) => setImmediate(r));
    }
    const tPush = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const up of ups) if (!(await up.drain(600_000))) throw new Error('drain timed out');
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const total = perSensor.reduce((a, b) => a + b.length, 0);
    const st = await api<{ store_bytes: number }>(srv.url, dataDir, '/api/v1/status');
    console.log(
      `${label.padEnd(10)} ${total} ${source} from ${SENSORS} sensors: ${secs.toFixed(1)} s end-to-end, ${Math.round(total / secs)} events/s stored+acked (push phase ${tPush.toFixed(1)} s, ${Math.round(total / tPush)} events/s into the spools); store ${(st.json.store_bytes / 1e6).toFixed(0)} MB`,
    );
  } finally {
    for (const up of ups) await up.close();
    await srv.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function e2eMode(): Promise<void> {
  const { source, perSensor } = loadEvents();
  if (opt.engine !== 'postgres') await e2eRun('duckdb', undefined, perSensor, source);
  if (opt.engine !== 'duckdb') {
    const pg = await startPostgres();
    try {
      await e2eRun('postgres', await pg.createDb('vigil_bench'), perSensor, source);
    } finally {
      await pg.stop();
    }
  }
}

if (opt.mode === 'e2e') await e2eMode();
else await storeMode();
