// Benchmark: what sensor-side aggregation for insights saves. One recording (an ndjson file of
// `vigil run --output json`, or the generated insight recording of the tests) goes through the two
// ways a sensor ships it: per event (`--ship all`: every event a spooled item) and aggregated
// (`--ship exec,policy`, `vigil up`'s default: execs and policy decisions raw, the rest counted by
// the sensor's Aggregator and flushed every 5 s of event time as items of kind 'g', at most 8192
// keys between flushes). For each: wire bytes (the spooled items, redacted, as encodeItem writes
// them), items, store rows (events + insight_agg) and the DuckDB file after ingesting the items
// through Store.ingest in batches of 1000 (a real store; both paths fill the same insight_agg).
// Rates per hour are scaled from the recording's time span. Then the sensor-side cost per event:
// serialising an event for the spool (what per-event shipping pays) against aggregating it, in CPU
// time, interleaved over 7 repetitions, medians with their spread.
// Usage: node --import tsx bench/insight-aggregation.ts [FILE.ndjson] [maxEvents=200000]
//        node --import tsx bench/insight-aggregation.ts --stream FILE.ndjson   (whole file, aggregation only)
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Aggregator, mergeRows, type AggRow } from '../src/insights/aggregate.ts';
import { parseShip } from '../src/uplink/ship.ts';
import { stringifyRedacted } from '../src/common/redact.ts';
import { encodeItem, MAX_AGGREGATE_ROWS } from '../src/wire/protocol.ts';
import { DuckDbStore } from '../src/store/duckdb.ts';
import type { IngestRecord } from '../src/store/types.ts';
import type { VigilEvent } from '../src/abi/event.ts';
import { insightRecording } from '../tests/helpers/insight-recording.ts';

type Doc = Record<string, unknown>;
const HOST = 'bench-host';
const FLUSH_NS = 5_000_000_000n;

function readEvents(file: string, max: number): Doc[] {
  const out: Doc[] = [];
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(16 * 1024 * 1024);
  let rest = '';
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        const d = JSON.parse(l) as Doc;
        if (d.evt) out.push(d);
        if (out.length >= max) return out;
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const timeOf = (e: Doc): bigint => BigInt(String((e.evt as Doc).time));

interface PathResult {
  items: IngestRecord[];
  bytes: number;
  aggBytes: number;
  rawEvents: number;
  aggItems: number;
  aggRowsSent: number;
}

function perEvent(events: Doc[]): PathResult {
  const items: IngestRecord[] = [];
  let bytes = 0;
  for (const e of events) {
    const json = stringifyRedacted(e);
    const seq = items.length + 1;
    bytes += encodeItem(seq, 'e', json).length + 1;
    items.push({ seq, kind: 'e', data: JSON.parse(json) as Doc, json }); // the server stores what it received: redacted
  }
  return { items, bytes, aggBytes: 0, rawEvents: events.length, aggItems: 0, aggRowsSent: 0 };
}

function aggregated(events: Doc[]): PathResult {
  const ship = parseShip('exec,policy');
  const agg = new Aggregator(HOST, 8192);
  const items: IngestRecord[] = [];
  let bytes = 0,
    aggBytes = 0,
    raw = 0,
    aggItems = 0,
    aggRowsSent = 0;
  const push = (kind: 'e' | 'g', data: Doc) => {
    const json = stringifyRedacted(data);
    const seq = items.length + 1;
    const len = encodeItem(seq, kind, json).length + 1;
    bytes += len;
    if (kind === 'g') aggBytes += len;
    items.push({ seq, kind, data: JSON.parse(json) as Doc, json });
  };
  const flush = () => {
    const rows: AggRow[] = agg.take();
    aggRowsSent += rows.length;
    for (let i = 0; i < rows.length; i += MAX_AGGREGATE_ROWS) {
      push('g', { rows: rows.slice(i, i + MAX_AGGREGATE_ROWS) });
      aggItems++;
    }
  };
  let next = events.length ? timeOf(events[0]!) + FLUSH_NS : 0n;
  for (const e of events) {
    const t = timeOf(e);
    if (t >= next) {
      flush();
      next = t + FLUSH_NS;
    }
    if (ship(e as unknown as VigilEvent)) {
      push('e', e);
      raw++;
    } else if (!agg.add(e)) {
      flush();
      agg.add(e);
    }
  }
  flush();
  return { items, bytes, aggBytes, rawEvents: raw, aggItems, aggRowsSent };
}

async function store(dir: string, name: string, items: IngestRecord[]): Promise<{ events: number; aggRows: number; fileBytes: number; ingestMs: number }> {
  const file = path.join(dir, `${name}.duckdb`);
  const s = new DuckDbStore(file);
  await s.init();
  const t0 = performance.now();
  for (let i = 0; i < items.length; i += 1000) await s.ingest('s1', HOST, items.slice(i, i + 1000));
  const ingestMs = performance.now() - t0;
  const events = await s.countEvents();
  const aggRows = Number(
    ((await (s as unknown as { all(q: string): Promise<Doc[]> }).all('SELECT count(*) AS n FROM insight_agg'))[0] as { n: bigint | number }).n,
  );
  await s.close();
  return { events, aggRows, fileBytes: statSync(file).size, ingestMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}`;

/** --stream FILE: the whole file, aggregated path only, without a store: how the aggregate items and
 * the insight_agg rows (distinct workload, bucket, key) grow over the recording's whole time span. */
function streamWhole(file: string): void {
  const ship = parseShip('exec,policy');
  const agg = new Aggregator(HOST, 8192);
  const keys = new Set<string>();
  let events = 0,
    raw = 0,
    aggBytes = 0,
    rows = 0,
    first = -1n,
    last = 0n,
    next = 0n;
  const flush = () => {
    const r = agg.take();
    rows += r.length;
    for (let i = 0; i < r.length; i += MAX_AGGREGATE_ROWS)
      aggBytes += encodeItem(1, 'g', stringifyRedacted({ rows: r.slice(i, i + MAX_AGGREGATE_ROWS) })).length + 1;
    for (const x of mergeRows(r)) keys.add(`${x.row[0]}\u0000${x.row[1]}\u0000${x.key}`);
  };
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(16 * 1024 * 1024);
  let rest = '';
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{"evt')) continue;
      const e = JSON.parse(l) as Doc;
      const t = timeOf(e);
      if (first < 0n) {
        first = t;
        next = t + FLUSH_NS;
      }
      if (t > last) last = t;
      if (t >= next) {
        flush();
        next = t + FLUSH_NS;
      }
      events++;
      if (ship(e as unknown as VigilEvent)) raw++;
      else if (!agg.add(e)) {
        flush();
        agg.add(e);
      }
    }
  }
  closeSync(fd);
  flush();
  const span = Number(last - first) / 1e9;
  const h = (x: number) => ((x * 3600) / span).toFixed(0);
  console.log(`whole recording ${file}: ${events} events over ${span.toFixed(1)} s; raw (exec,policy) ${raw} (${h(raw)}/h)`);
  console.log(
    `aggregated ${events - raw} events into ${rows} rows sent (${h(rows)}/h), ${(aggBytes / 1e6).toFixed(1)} MB of aggregate items (${((aggBytes * 3600) / span / 1e6).toFixed(1)} MB/h)`,
  );
  console.log(`insight_agg rows after merging: ${keys.size} (${h(keys.size)}/h scaled linearly, an upper bound)`);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--stream') return streamWhole(process.argv[3]!);
  const file = process.argv[2];
  const max = Number(process.argv[3] ?? 200_000);
  const events = file ? readEvents(file, max) : insightRecording(50_000);
  // per-hour rates only for a recording of real time (the generated one is not)
  const span = file ? Number(timeOf(events[events.length - 1]!) - timeOf(events[0]!)) / 1e9 : Number.NaN;
  const perHour = (x: number) => (span > 0 ? (x * 3600) / span : Number.NaN);
  console.log(
    `recording: ${file ?? 'generated (tests/helpers/insight-recording.ts)'}, ${events.length} events${file ? ` over ${span.toFixed(1)} s of event time` : ''}`,
  );

  const a = perEvent(events);
  const b = aggregated(events);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-aggbench-'));
  try {
    const sa = await store(dir, 'all', a.items);
    const sb = await store(dir, 'agg', b.items);
    const MB = (x: number) => (Number.isNaN(x) ? 'n/a' : (x / 1e6).toFixed(1));
    console.log(`\n| | ship all (per event) | ship exec,policy + aggregates | ratio |`);
    console.log(`| --- | ---: | ---: | ---: |`);
    console.log(
      `| items on the wire | ${a.items.length} | ${b.items.length} (${b.rawEvents} raw events, ${b.aggItems} aggregate items, ${b.aggRowsSent} rows) | ${(a.items.length / b.items.length).toFixed(1)}x |`,
    );
    console.log(`| wire bytes (items) | ${MB(a.bytes)} MB | ${MB(b.bytes)} MB | ${(a.bytes / b.bytes).toFixed(1)}x |`);
    console.log(`| wire bytes per hour | ${MB(perHour(a.bytes))} MB | ${MB(perHour(b.bytes))} MB | |`);
    console.log(`| of which aggregate items | | ${MB(b.aggBytes)} MB (${MB(perHour(b.aggBytes))} MB per hour) | |`);
    console.log(
      `| store rows: events + insight_agg | ${sa.events} + ${sa.aggRows} | ${sb.events} + ${sb.aggRows} | ${((sa.events + sa.aggRows) / (sb.events + sb.aggRows)).toFixed(1)}x |`,
    );
    console.log(
      `| store rows per hour (insight_agg scaled linearly: an upper bound) | ${perHour(sa.events + sa.aggRows).toFixed(0)} | ${perHour(sb.events + sb.aggRows).toFixed(0)} | |`,
    );
    console.log(`| DuckDB file after ingest | ${MB(sa.fileBytes)} MB | ${MB(sb.fileBytes)} MB | ${(sa.fileBytes / sb.fileBytes).toFixed(1)}x |`);
    console.log(`| DuckDB file per hour | ${MB(perHour(sa.fileBytes))} MB | ${MB(perHour(sb.fileBytes))} MB | |`);
    console.log(
      `| ingest time (1000-item batches) | ${sa.ingestMs.toFixed(0)} ms | ${sb.ingestMs.toFixed(0)} ms | ${(sa.ingestMs / sb.ingestMs).toFixed(1)}x |`,
    );
    if (sa.aggRows !== sb.aggRows) throw new Error(`insight_agg differs: ${sa.aggRows} vs ${sb.aggRows} rows`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // sensor-side cost per event: the spool's serialisation (per-event shipping) vs aggregation
  const sample = events.slice(0, Math.min(events.length, 50_000));
  const ser: number[] = [];
  const agg: number[] = [];
  // CPU time of this process (user + system), not wall time: other processes on this shared VM
  // take the cores away at random
  const cpuNs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  for (let rep = 0; rep < 7; rep++) {
    let t = cpuNs();
    let n = 0;
    for (const e of sample) n += stringifyRedacted(e).length;
    ser.push((cpuNs() - t) / sample.length);
    t = cpuNs();
    const g = new Aggregator(HOST, 1 << 30);
    for (const e of sample) g.add(e);
    agg.push((cpuNs() - t) / sample.length);
    if (n === 0 || g.size === 0) throw new Error('nothing measured');
  }
  console.log(`\nsensor cost per event (${sample.length} events, 7 interleaved repetitions, CPU ns per event, median [min..max]):`);
  console.log(`  serialise + redact for the spool (per-event shipping): ${median(ser).toFixed(0)} [${spread(ser)}]`);
  console.log(`  aggregate (Aggregator.add):                            ${median(agg).toFixed(0)} [${spread(agg)}]`);
}

await main();
