// DuckDB store (the default, embedded): one database file owned by one server process. Writes go
// through a single connection and a serial queue. Ingest uses group commit: all batches queued
// while the previous transaction ran are stored in one transaction holding their events (DuckDB
// appender with data chunks built from column arrays; it joins the open transaction), alerts
// (appended to a temporary table, then one INSERT OR IGNORE) and ingested seq ranges, so a
// batch is stored exactly once: seqs inside ranges already stored (kept in memory, persisted in
// ingest_ranges) are filtered out before appending. Reads use their own short-lived connections.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { VigilError } from '../common/errors.ts';
import { ALERT_COLUMNS, EVENT_COLUMNS, alertRow, eventRow } from './extract.ts';
import { DUCKDB_MIGRATIONS } from './migrations.ts';
import { SqlStore, num, type Params, type Row } from './sqlbase.ts';
import type { IngestRecord, IngestResult, RetentionPolicy } from './types.ts';
import { RangeSet, runsOf } from './ranges.ts';
import { RECORD_COLUMNS, RECORD_KEEP_MARGIN_NS, prepareBatch, type RecordRow } from './records.ts';
import { AGG_COLUMNS, AGG_DELETE_BEFORE, AGG_DELETE_UPTO, aggDelta, aggUpsertSql, aggValues, bucketOfNs } from './aggregates.ts';
import { mergeRows, type AggRow } from '../insights/aggregate.ts';
import {
  MEMBER_INSERT_ONE,
  ROLLUP_REBUILD,
  ROLLUP_UPDATE_ONE,
  ROLLUP_UPSERT_ONE,
  memberInsert,
  rollupDelta,
  rollupUpsert,
  type RollupDelta,
  type RollupRow,
} from './rollup.ts';

/** The knownMembers key of a member row. */
const memberKey = (m: RollupDelta['members'][number]): string => m.join('\0');

/** Up to this many rollup rows in a batch go through prepared single-row statements. */
const FEW_ROWS = 4;

/** A sensor's counters after an ingest (the writer's prepared statement). */
const SENSOR_SEEN_UPSERT = `INSERT INTO sensors (id, hostname, connected, first_seen, last_seen, events_received, alerts_received, drops_kernel, drops_user, drops_spool)
           VALUES ($1, $2, true, $3, $3, $4, $5, 0, 0, 0)
           ON CONFLICT (id) DO UPDATE SET events_received = sensors.events_received + EXCLUDED.events_received,
             alerts_received = sensors.alerts_received + EXCLUDED.alerts_received, last_seen = EXCLUDED.last_seen`;
const SENSOR_SEEN_UPDATE = `UPDATE sensors SET events_received = events_received + $3, alerts_received = alerts_received + $4, last_seen = $2 WHERE id = $1`;

export class DuckDbStore extends SqlStore {
  readonly kind = 'duckdb' as const;
  private instance!: DuckDBInstance;
  private writer!: DuckDBConnection;
  private queue: Promise<unknown> = Promise.resolve();
  private ranges = new Map<string, RangeSet>();
  private closed = false;
  private pendingJobs: {
    sensorId: string;
    hostname: string | null;
    records: IngestRecord[];
    resolve: (r: IngestResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private groupScheduled = false;
  /** Statements of the ingest path, prepared once on the writer connection (planning a statement
   * costs DuckDB milliseconds; binding and running a prepared one, tens of microseconds). */
  private prepared = new Map<string, DuckDBPreparedStatement>();

  /** Member rows known to be stored: inserted once per server process, not once per batch. */
  private knownMembers = new Set<string>();

  /** Runs a prepared ingest statement; returns the rows it changed. */
  private async runPrepared(sql: string, params: DuckDBValue[]): Promise<number> {
    let st = this.prepared.get(sql);
    if (!st) this.prepared.set(sql, (st = await this.writer.prepare(sql)));
    st.bind(params);
    return (await st.run()).rowsChanged;
  }

  /** `bulk: false` keeps the previous ingest path (events appended from row objects, alerts by
   * single-row INSERT) for the benchmark's same-run baseline (bench/backend-ingest.ts). */
  private readonly bulk: boolean;

  constructor(
    private readonly file: string,
    opts: { bulk?: boolean } = {},
  ) {
    super();
    this.bulk = opts.bulk ?? true;
  }

  /** Serialises a write job with every other write. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async init(): Promise<number> {
    if (this.file !== ':memory:') mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    try {
      this.instance = await DuckDBInstance.create(this.file);
    } catch (e) {
      throw new VigilError('VIGIL_E_STORE', `cannot open DuckDB database ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    this.writer = await this.instance.connect();
    await this.writer.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)`);
    const cur = num((await this.writer.runAndReadAll(`SELECT max(version) AS v FROM schema_migrations`)).getRowObjects()[0]?.v);
    let version = cur;
    for (const m of DUCKDB_MIGRATIONS) {
      if (m.version <= cur) continue;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        for (const stmt of m.sql) await this.writer.run(stmt);
        await this.writer.run(`INSERT INTO schema_migrations VALUES (${m.version}, ${Date.now()})`);
        await this.writer.run('COMMIT');
      } catch (e) {
        await this.writer.run('ROLLBACK');
        throw new VigilError('VIGIL_E_STORE', `migration ${m.version} failed: ${(e as Error).message}`, { cause: e });
      }
      version = m.version;
    }
    await this.loadRanges();
    return version;
  }

  private async loadRanges(): Promise<void> {
    const rows = (await this.writer.runAndReadAll(`SELECT sensor_id, first_seq, last_seq FROM ingest_ranges`)).getRowObjects();
    for (const r of rows) this.rangeSet(String(r.sensor_id)).add(num(r.first_seq), num(r.last_seq));
  }

  private rangeSet(sensor: string): RangeSet {
    let s = this.ranges.get(sensor);
    if (!s) this.ranges.set(sensor, (s = new RangeSet()));
    return s;
  }

  protected async all(sql: string, params: unknown[] = []): Promise<Row[]> {
    if (this.closed) throw new VigilError('VIGIL_E_STORE', 'store is closed');
    const c = await this.instance.connect();
    try {
      const r = await c.runAndReadAll(sql, params as never);
      return r.getRowObjects() as Row[];
    } catch (e) {
      throw new VigilError('VIGIL_E_STORE', (e as Error).message, { cause: e });
    } finally {
      c.closeSync();
    }
  }

  protected exec(sql: string, params: unknown[] = []): Promise<number> {
    return this.serial(async () => {
      const r = await this.writer.run(sql, params as never);
      return Number(r.rowsChanged);
    });
  }

  protected jsonField(p: string[], params: Params): string {
    return `json_extract_string(data, ${params.add('$.' + p.map((x) => `"${x}"`).join('.'))})`;
  }
  protected dataText(): string {
    return 'data';
  }
  protected recordField(p: string[], params: Params): string {
    const full = params.add('$.' + p.map((x) => `"${x}"`).join('.'));
    const inRec = params.add(
      '$.' +
        p
          .slice(1)
          .map((x) => `"${x}"`)
          .join('.'),
    );
    const ref = params.add(`$."${p[0]}"`);
    return `COALESCE(json_extract_string(data, ${full}), (SELECT json_extract_string(r.data, ${inRec}) FROM records r
      WHERE r.sensor_id = events.sensor_id AND r.seq = TRY_CAST(json_extract_string(events.data, ${ref}) AS BIGINT)))`;
  }

  override async maxSeq(sensorId: string): Promise<number> {
    return this.ranges.get(sensorId)?.max() ?? 0;
  }

  ingest(sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new VigilError('VIGIL_E_STORE', 'store is closed'));
    return new Promise((resolve, reject) => {
      this.pendingJobs.push({ sensorId, hostname, records, resolve, reject });
      if (!this.groupScheduled) {
        this.groupScheduled = true;
        // Group commit: every batch queued while the previous transaction ran shares the next one.
        void this.serial(() => this.commitGroup());
      }
    });
  }

  private async commitGroup(): Promise<void> {
    this.groupScheduled = false;
    const jobs = this.pendingJobs;
    this.pendingJobs = [];
    if (jobs.length === 0) return;
    if (this.closed) {
      for (const j of jobs) j.reject(new VigilError('VIGIL_E_STORE', 'store is closed'));
      return;
    }
    const c = this.writer;
    // Dedupe against stored ranges and against earlier jobs of this group.
    const added = new Map<string, RangeSet>();
    const results: IngestResult[] = [];
    const eventRows: Record<string, unknown>[] = [];
    const alertRows: Record<string, unknown>[] = [];
    const rangeRows: [string, number, number][] = [];
    const perSensor = new Map<string, { host: string | null; ev: number; al: number }>();
    const recordRows: RecordRow[] = [];
    const aggParts: AggRow[] = [];
    for (const j of jobs) {
      const rs = this.rangeSet(j.sensorId);
      let extra = added.get(j.sensorId);
      const fresh = j.records.filter((r) => !rs.has(r.seq) && !(extra?.has(r.seq) ?? false));
      results.push({ inserted: fresh.length, duplicates: j.records.length - fresh.length });
      if (fresh.length === 0) continue;
      const agg = perSensor.get(j.sensorId) ?? { host: j.hostname, ev: 0, al: 0 };
      perSensor.set(j.sensorId, agg);
      // process records go to their table, compact events come back expanded for their columns
      let rows = fresh;
      if (fresh.some((r) => r.kind === 'c' || r.kind === 'r')) {
        try {
          const prep = await prepareBatch(j.sensorId, fresh, this.records, this.loadRecords);
          rows = prep.rows;
          for (const r of prep.records) recordRows.push(r);
          this.unknownRecords += prep.unknown;
        } catch (e) {
          j.reject(new VigilError('VIGIL_E_STORE', `ingest failed: ${(e as Error).message}`, { cause: e }));
          results[results.length - 1] = { inserted: -1, duplicates: 0 };
          continue;
        }
      }
      for (const rec of rows) {
        if (rec.kind === 'g') continue; // insight aggregates: merged below
        const json = rec.json ?? JSON.stringify(rec.data);
        if (rec.kind === 'e') {
          eventRows.push(eventRow(j.sensorId, j.hostname, rec.seq, rec.data, json) as unknown as Record<string, unknown>);
          agg.ev++;
        } else {
          alertRows.push(alertRow(j.sensorId, j.hostname, rec.seq, rec.data, json) as unknown as Record<string, unknown>);
          agg.al++;
        }
      }
      for (const x of aggDelta(rows, j.hostname)) aggParts.push(x.row); // compact events expanded
      if (!extra) added.set(j.sensorId, (extra = new RangeSet()));
      for (const [a, b] of runsOf(fresh.map((r) => r.seq))) {
        extra.add(a, b);
        rangeRows.push([j.sensorId, a, b]);
      }
    }
    if (rangeRows.length === 0) {
      for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(results[i]!);
      return;
    }
    try {
      await c.run('BEGIN TRANSACTION');
      if (recordRows.length) await appendColumns(c, 'records', RECORD_COLUMNS, RECORD_TYPES, recordRows as unknown as Record<string, unknown>[]);
      if (eventRows.length && this.bulk) await appendColumns(c, 'events', EVENT_COLUMNS, EVENT_TYPES, eventRows);
      else if (eventRows.length) {
        const ap = await c.createAppender('events');
        try {
          for (let i = 0; i < eventRows.length; i += 2048) {
            const part = eventRows.slice(i, i + 2048);
            const chunk = DuckDBDataChunk.create(EVENT_TYPES, part.length);
            chunk.setColumns(EVENT_COLUMNS.map((k, ci) => part.map((r) => toDuck(r[k], EVENT_TYPES[ci]!))));
            ap.appendDataChunk(chunk);
          }
          ap.flushSync();
        } finally {
          ap.closeSync();
        }
      }
      const cols = ALERT_COLUMNS as string[];
      if (alertRows.length && this.bulk) {
        // appended to a temporary table, then one INSERT OR IGNORE (an alert uuid already stored is
        // skipped, as with the single-row INSERTs)
        await c.run(`CREATE TEMP TABLE IF NOT EXISTS alerts_in AS SELECT ${cols.join(', ')} FROM alerts LIMIT 0`);
        await c.run(`DELETE FROM alerts_in`);
        await appendColumns(c, 'alerts_in', ALERT_COLUMNS, ALERT_TYPES, alertRows, 'main', 'temp');
        await c.run(`INSERT OR IGNORE INTO alerts (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM alerts_in`);
      } else
        for (const a of alertRows) {
          await c.run(
            `INSERT OR IGNORE INTO alerts (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
            cols.map((k) => a[k] ?? null) as never,
          );
        }
      const ap = await c.createAppender('ingest_ranges');
      for (const [sensor, a, b] of rangeRows) {
        ap.appendVarchar(sensor);
        ap.appendBigInt(BigInt(a));
        ap.appendBigInt(BigInt(b));
        ap.endRow();
      }
      ap.flushSync();
      ap.closeSync();
      // A batch of few workloads (the live case) updates their rows in place with prepared
      // statements (an UPDATE costs DuckDB a third of an upsert; the upsert only for a new row); a
      // large batch (a backlog) pays one multi-row upsert instead of a statement per workload.
      // Members rarely change: each is inserted once per server process.
      const delta = rollupDelta(eventRows as unknown as RollupRow[]);
      if (delta.workloads.length <= FEW_ROWS) {
        for (const w of delta.workloads) if ((await this.runPrepared(ROLLUP_UPDATE_ONE, w)) === 0) await this.runPrepared(ROLLUP_UPSERT_ONE, w);
      } else {
        const [sql, params] = rollupUpsert(delta.workloads);
        await c.run(sql, params as never);
      }
      const fresh = delta.members.filter((m) => !this.knownMembers.has(memberKey(m)));
      if (fresh.length <= FEW_ROWS) for (const m of fresh) await this.runPrepared(MEMBER_INSERT_ONE, m);
      else {
        const [sql, params] = memberInsert(fresh);
        await c.run(sql, params as never);
      }
      if (aggParts.length) {
        // insight aggregates: merged per key in memory, appended to a temporary table, one upsert
        await c.run(`CREATE TEMP TABLE IF NOT EXISTS agg_in AS SELECT ${AGG_COLUMNS.join(', ')} FROM insight_agg LIMIT 0`);
        await c.run(`DELETE FROM agg_in`);
        const rows = mergeRows(aggParts).map((x) => {
          const v = aggValues(x);
          return Object.fromEntries(AGG_COLUMNS.map((k, i) => [k, v[i]]));
        });
        await appendColumns(c, 'agg_in', AGG_COLUMNS, AGG_TYPES, rows, 'main', 'temp');
        await c.run(aggUpsertSql('agg_in'));
      }
      const now = Date.now();
      for (const [sensor, agg] of perSensor) {
        if ((await this.runPrepared(SENSOR_SEEN_UPDATE, [sensor, now, agg.ev, agg.al])) === 0)
          await this.runPrepared(SENSOR_SEEN_UPSERT, [sensor, agg.host, now, agg.ev, agg.al]);
      }
      await c.run('COMMIT');
      for (const m of fresh) this.knownMembers.add(memberKey(m));
    } catch (e) {
      try {
        await c.run('ROLLBACK');
      } catch {
        /* already rolled back */
      }
      const err = new VigilError('VIGIL_E_STORE', `ingest failed: ${(e as Error).message}`, { cause: e });
      for (const j of jobs) j.reject(err);
      return;
    }
    for (const [sensor, a, b] of rangeRows) this.rangeSet(sensor).add(a, b);
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(results[i]!);
  }

  async sizeBytes(): Promise<number> {
    if (this.file === ':memory:') return 0;
    const r = await this.all(`SELECT used_blocks, block_size FROM pragma_database_size()`);
    return num(r[0]?.used_blocks) * num(r[0]?.block_size);
  }

  applyRetention(p: RetentionPolicy): Promise<{ events: number; alerts: number }> {
    return this.serial(async () => {
      let events = 0,
        alerts = 0;
      const c = this.writer;
      if (p.maxAgeMs !== undefined) {
        const cutoff = BigInt(Date.now() - p.maxAgeMs) * 1_000_000n;
        events += Number((await c.run(`DELETE FROM events WHERE time_ns < $1`, [cutoff] as never)).rowsChanged);
        await c.run(AGG_DELETE_BEFORE, [bucketOfNs(cutoff)] as never);
        alerts += Number((await c.run(`DELETE FROM alerts WHERE time_ns < $1`, [cutoff] as never)).rowsChanged);
      }
      if (p.maxBytes !== undefined && this.file !== ':memory:') {
        await c.run('CHECKPOINT');
        const sz = (await c.runAndReadAll(`SELECT used_blocks, block_size FROM pragma_database_size()`)).getRowObjects()[0];
        const used = num(sz?.used_blocks) * num(sz?.block_size);
        if (used > p.maxBytes) {
          // Drop the oldest tenth of the events (and alerts older than that) per pass.
          const cnt = num((await c.runAndReadAll(`SELECT count(*) AS n FROM events`)).getRowObjects()[0]?.n);
          if (cnt > 0) {
            const off = Math.max(1, Math.floor(cnt / 10));
            const cut = (await c.runAndReadAll(`SELECT time_ns FROM events ORDER BY time_ns LIMIT 1 OFFSET ${off - 1}`)).getRowObjects()[0]?.time_ns;
            if (cut !== undefined && cut !== null) {
              events += Number((await c.run(`DELETE FROM events WHERE time_ns <= $1`, [cut] as never)).rowsChanged);
              await c.run(AGG_DELETE_UPTO, [bucketOfNs(BigInt(cut as bigint))] as never);
              alerts += Number((await c.run(`DELETE FROM alerts WHERE time_ns <= $1`, [cut] as never)).rowsChanged);
            }
          }
          await c.run('CHECKPOINT');
        }
      }
      // Process records no stored event can reference any more (src/store/records.ts).
      await c.run(`DELETE FROM records WHERE time_ns < COALESCE((SELECT min(time_ns) FROM events), $1) - $2`, [
        BigInt(Date.now() - (p.maxAgeMs ?? 0)) * 1_000_000n,
        RECORD_KEEP_MARGIN_NS,
      ] as never);
      // Compact the stored seq ranges to their merged form.
      await c.run('BEGIN TRANSACTION');
      await c.run('DELETE FROM ingest_ranges');
      if (events > 0) {
        for (const stmt of ROLLUP_REBUILD) await c.run(stmt);
        this.knownMembers.clear();
      }
      const ap = await c.createAppender('ingest_ranges');
      for (const [sensor, rs] of this.ranges) {
        for (const [a, b] of rs.r) {
          ap.appendVarchar(sensor);
          ap.appendBigInt(BigInt(a));
          ap.appendBigInt(BigInt(b));
          ap.endRow();
        }
      }
      ap.flushSync();
      ap.closeSync();
      await c.run('COMMIT');
      return { events, alerts };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serial(async () => {
      this.closed = true;
      try {
        await this.writer.run('CHECKPOINT');
      } catch {
        /* best effort */
      }
      for (const st of this.prepared.values()) st.destroySync();
      this.prepared.clear();
      this.writer.closeSync();
      this.instance.closeSync();
    });
  }
}

const EVENT_TYPES: DuckDBType[] = EVENT_COLUMNS.map((k) => {
  switch (k) {
    case 'seq':
    case 'time_ns':
    case 'evt_res':
    case 'proc_pid':
    case 'cap_granted':
    case 'cap_denied':
      return BIGINT;
    case 'peer_port':
      return INTEGER;
    case 'denied':
      return BOOLEAN;
    default:
      return VARCHAR;
  }
});

const RECORD_TYPES: DuckDBType[] = RECORD_COLUMNS.map((k) => (k === 'seq' || k === 'time_ns' ? BIGINT : VARCHAR));

const ALERT_TYPES: DuckDBType[] = ALERT_COLUMNS.map((k) => (k === 'seq' || k === 'time_ns' ? BIGINT : k === 'priority_num' ? INTEGER : VARCHAR));

const AGG_TYPES: DuckDBType[] = AGG_COLUMNS.map((k) =>
  k === 'port' ? INTEGER : ['bucket', 'n', 'denied', 's1', 's2', 'first_ns', 'last_ns'].includes(k) ? BIGINT : VARCHAR,
);

/** Rows per appended data chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** Appends rows through the appender, column by column: one array per column filled in one pass
 * over the rows (no per-cell closure), BIGINT cells converted once. Joins the open transaction. */
async function appendColumns(
  c: DuckDBConnection,
  table: string,
  names: readonly string[],
  types: readonly DuckDBType[],
  rows: readonly Record<string, unknown>[],
  schema?: string,
  catalog?: string,
): Promise<void> {
  const ap = await c.createAppender(table, schema, catalog);
  try {
    const big = types.map((t) => t === BIGINT);
    for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - i);
      const cols: DuckDBValue[][] = names.map(() => new Array<DuckDBValue>(n));
      for (let r = 0; r < n; r++) {
        const row = rows[i + r]!;
        for (let k = 0; k < names.length; k++) {
          const v = row[names[k]!];
          cols[k]![r] = v === null || v === undefined ? null : big[k] && typeof v !== 'bigint' ? BigInt(v as number) : (v as DuckDBValue);
        }
      }
      const chunk = DuckDBDataChunk.create(types, n);
      chunk.setColumns(cols);
      ap.appendDataChunk(chunk);
    }
    ap.flushSync();
  } finally {
    ap.closeSync();
  }
}

function toDuck(v: unknown, t: DuckDBType): DuckDBValue {
  if (v === null || v === undefined) return null;
  if (t === BIGINT) return typeof v === 'bigint' ? v : BigInt(v as number);
  return v as DuckDBValue;
}
