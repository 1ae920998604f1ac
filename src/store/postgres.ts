// PostgreSQL store: shared by several `vigil server` processes (scale-out). Exactly-once: one
// transaction per batch, serialised per sensor by an advisory lock, skips seqs inside the sensor's
// stored ingest_ranges (kept after retention) and inserts with ON CONFLICT DO NOTHING on the
// (sensor_id, seq) primary key as a second guard; a batch's events are loaded with one COPY FROM STDIN
// (src/store/pgcopy.ts), falling back to INSERT ... SELECT FROM unnest(column arrays) ... ON CONFLICT
// DO NOTHING when the key finds a row already stored; alerts go through the unnest insert.
import pg from 'pg';
import { VigilError } from '../common/errors.ts';
import { ALERT_COLUMNS, EVENT_COLUMNS, alertRow, eventRow, type AlertRow, type EventRow } from './extract.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { copyRows } from './pgcopy.ts';
import { SqlStore, num, type Params, type Row } from './sqlbase.ts';
import type { IngestRecord, IngestResult, RetentionPolicy } from './types.ts';
import { RangeSet, runsOf } from './ranges.ts';
import { ROLLUP_REBUILD, rollupStatements, type RollupRow } from './rollup.ts';
import { RECORD_KEEP_MARGIN_NS, prepareBatch } from './records.ts';
import { AGG_COLUMNS, AGG_DELETE_BEFORE, AGG_DELETE_UPTO, aggDelta, aggUpsertSql, aggValues, bucketOfNs } from './aggregates.ts';

const EVENT_TYPES: Record<string, string> = {
  seq: 'bigint',
  time_ns: 'bigint',
  evt_res: 'bigint',
  proc_pid: 'bigint',
  peer_port: 'integer',
  cap_granted: 'bigint',
  cap_denied: 'bigint',
  denied: 'boolean',
  data: 'jsonb',
};
const ALERT_TYPES: Record<string, string> = {
  seq: 'bigint',
  time_ns: 'bigint',
  priority_num: 'integer',
  data: 'jsonb',
};

function pgValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' && v.includes('\0')) return v.replaceAll('\0', ''); // PostgreSQL text holds no NUL
  if (Array.isArray(v)) return v.map(pgValue);
  return v;
}

export class PostgresStore extends SqlStore {
  readonly kind = 'postgres' as const;
  private pool: pg.Pool;
  private closed = false;

  /** `bulk: false` keeps the previous ingest path (INSERT ... SELECT FROM unnest) for the
   * benchmark's same-run baseline (bench/backend-ingest.ts). */
  private readonly bulk: boolean;

  constructor(url: string, opts: { bulk?: boolean } = {}) {
    super();
    this.bulk = opts.bulk ?? true;
    this.pool = new pg.Pool({ connectionString: url, max: 8 });
    this.pool.on('error', () => undefined); // idle client errors surface on the next query
  }

  async init(): Promise<number> {
    const c = await this.connect();
    try {
      await c.query('SELECT pg_advisory_lock(74210001)');
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)`);
      const cur = num((await c.query(`SELECT max(version) AS v FROM schema_migrations`)).rows[0]?.v);
      let version = cur;
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= cur) continue;
        await c.query('BEGIN');
        try {
          for (const stmt of m.sql) await c.query(stmt);
          await c.query(`INSERT INTO schema_migrations VALUES ($1, $2)`, [m.version, Date.now()]);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw new VigilError('VIGIL_E_STORE', `migration ${m.version} failed: ${(e as Error).message}`, { cause: e });
        }
        version = m.version;
      }
      return version;
    } finally {
      await c.query('SELECT pg_advisory_unlock(74210001)').catch(() => undefined);
      c.release();
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new VigilError('VIGIL_E_STORE', 'store is closed');
    try {
      return await this.pool.connect();
    } catch (e) {
      throw new VigilError('VIGIL_E_STORE', `cannot connect to PostgreSQL: ${(e as Error).message}`, { cause: e });
    }
  }

  protected async all(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(sql, params.map(pgValue))).rows as Row[];
    } catch (e) {
      throw new VigilError('VIGIL_E_STORE', (e as Error).message, { cause: e });
    }
  }

  protected async exec(sql: string, params: unknown[] = []): Promise<number> {
    try {
      return (await this.pool.query(sql, params.map(pgValue))).rowCount ?? 0;
    } catch (e) {
      throw new VigilError('VIGIL_E_STORE', (e as Error).message, { cause: e });
    }
  }

  protected jsonField(p: string[], params: Params): string {
    return `(data #>> CAST(${params.add(p)} AS text[]))`;
  }
  protected dataText(): string {
    return 'data::text';
  }
  protected recordField(p: string[], params: Params): string {
    const full = params.add(p);
    const inRec = params.add(p.slice(1));
    const ref = params.add(p[0]);
    return `COALESCE(data #>> CAST(${full} AS text[]), (SELECT r.data #>> CAST(${inRec} AS text[]) FROM records r
      WHERE r.sensor_id = events.sensor_id AND r.seq = CASE WHEN jsonb_typeof(events.data -> CAST(${ref} AS text)) = 'number' THEN (events.data ->> CAST(${ref} AS text))::bigint END))`;
  }

  /** The last ingest of each sensor in this process: a sensor's batches are stored in the order
   * they arrive (a compact event's process record is in an earlier batch; the advisory lock alone
   * would let a later batch go first). */
  private readonly sensorChains = new Map<string, Promise<unknown>>();

  ingest(sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<IngestResult> {
    const prev = this.sensorChains.get(sensorId) ?? Promise.resolve();
    const run = prev.then(
      () => this.ingestOne(sensorId, hostname, records),
      () => this.ingestOne(sensorId, hostname, records),
    );
    const tail = run.catch(() => undefined);
    this.sensorChains.set(sensorId, tail);
    void tail.then(() => {
      if (this.sensorChains.get(sensorId) === tail) this.sensorChains.delete(sensorId);
    });
    return run;
  }

  private async ingestOne(sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<IngestResult> {
    const c = await this.connect();
    try {
      await c.query('BEGIN');
      // One ingest per sensor at a time across all servers sharing this database.
      await c.query('SELECT pg_advisory_xact_lock(74210002, hashtext($1))', [sensorId]);
      let fresh = records;
      if (records.length) {
        let lo = Infinity,
          hi = -Infinity;
        for (const r of records) {
          if (r.seq < lo) lo = r.seq;
          if (r.seq > hi) hi = r.seq;
        }
        const stored = await c.query(`SELECT first_seq, last_seq FROM ingest_ranges WHERE sensor_id = $1 AND last_seq >= $2 AND first_seq <= $3`, [
          sensorId,
          lo,
          hi,
        ]);
        if (stored.rows.length) {
          const rs = new RangeSet();
          for (const r of stored.rows) rs.add(num(r.first_seq), num(r.last_seq));
          fresh = records.filter((r) => !rs.has(r.seq));
        }
      }
      // process records go to their table, compact events come back expanded for their columns
      let rows = fresh;
      if (fresh.some((r) => r.kind === 'c' || r.kind === 'r')) {
        const prep = await prepareBatch(sensorId, fresh, this.records, async (sensor, seqs) => {
          const out = new Map<number, string>();
          const r = await c.query(`SELECT seq, data::text AS data FROM records WHERE sensor_id = $1 AND seq = ANY($2::bigint[])`, [sensor, seqs]);
          for (const row of r.rows as Row[]) out.set(num(row.seq), String(row.data));
          return out;
        });
        rows = prep.rows;
        this.unknownRecords += prep.unknown;
        if (prep.records.length) {
          const recs = prep.records;
          await c.query(
            `INSERT INTO records (sensor_id, seq, rkey, time_ns, data) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::jsonb[]) ON CONFLICT DO NOTHING`,
            [
              recs.map((r) => r.sensor_id),
              recs.map((r) => r.seq),
              recs.map((r) => r.rkey),
              recs.map((r) => r.time_ns.toString()),
              recs.map((r) => (r.data.includes('\\u0000') ? r.data.replace(/\\u0000/g, '') : r.data)),
            ],
          );
        }
      }
      const res = (await this.insertRows(c, sensorId, hostname, rows)) + (fresh.length - rows.length);
      for (const [a, b] of runsOf(fresh.map((r) => r.seq))) {
        await c.query(`INSERT INTO ingest_ranges VALUES ($1, $2, $3)`, [sensorId, a, b]);
      }
      await c.query('COMMIT');
      return { inserted: res, duplicates: records.length - res };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw new VigilError('VIGIL_E_STORE', `ingest failed: ${(e as Error).message}`, { cause: e });
    } finally {
      c.release();
    }
  }

  /** Inserts rows inside the caller's transaction; returns how many were new. */
  private async insertRows(c: pg.PoolClient, sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<number> {
    const evs: EventRow[] = [];
    const als: AlertRow[] = [];
    let nAgg = 0;
    for (const r of records) {
      if (r.kind === 'g') {
        nAgg++; // insight aggregates: merged below
        continue;
      }
      let json = r.json ?? JSON.stringify(r.data);
      if (json.includes('\\u0000')) json = json.replace(/\\u0000/g, ''); // jsonb rejects NUL
      if (r.kind === 'e') evs.push(eventRow(sensorId, hostname, r.seq, r.data, json));
      else als.push(alertRow(sensorId, hostname, r.seq, r.data, json));
    }
    let nEv = 0,
      nAl = 0;
    {
      if (evs.length && this.bulk) {
        // COPY: all rows of the batch or none. The (sensor_id, seq) key is the second guard behind
        // the ingest_ranges filter: a row stored without its range (written other than through
        // ingest) fails the COPY with unique_violation; the batch then goes through the row-wise
        // insert below, which skips such rows, as before.
        await c.query('SAVEPOINT bulk');
        try {
          nEv = await copyRows(c, 'events', EVENT_COLUMNS, evs as unknown as Record<string, unknown>[]);
          await c.query('RELEASE SAVEPOINT bulk');
          for (const [sql, params] of rollupStatements(evs)) await c.query(sql, params.map(pgValue));
        } catch (e) {
          if ((e as { code?: string }).code !== '23505') throw e;
          await c.query('ROLLBACK TO SAVEPOINT bulk');
          nEv = -1;
        }
      }
      if (evs.length && (!this.bulk || nEv < 0)) {
        const cols = EVENT_COLUMNS as string[];
        const arrays = cols.map((k) => evs.map((e) => pgValue((e as unknown as Record<string, unknown>)[k])));
        const sel = cols.map((k, i) => `$${i + 1}::${EVENT_TYPES[k] ?? 'text'}[]`).join(', ');
        const r = await c.query(
          `INSERT INTO events (${cols.join(', ')}) SELECT * FROM unnest(${sel}) ON CONFLICT (sensor_id, seq) DO NOTHING
           RETURNING workload_id, workload_kind, workload_name, k8s_ns, hostname, container_id, denied, time_ns`,
          arrays,
        );
        nEv = r.rowCount ?? 0;
        // the rollup counts exactly the rows stored (RETURNING skips the ones ON CONFLICT dropped)
        for (const [sql, params] of rollupStatements(r.rows as RollupRow[])) await c.query(sql, params);
      }
      if (als.length) {
        const cols = ALERT_COLUMNS as string[];
        const arrays = cols.map((k) => als.map((e) => pgValue((e as unknown as Record<string, unknown>)[k])));
        const sel = cols.map((k, i) => `$${i + 1}::${ALERT_TYPES[k] ?? 'text'}[]`).join(', ');
        const r = await c.query(`INSERT INTO alerts (${cols.join(', ')}) SELECT * FROM unnest(${sel}) ON CONFLICT DO NOTHING`, arrays);
        nAl = r.rowCount ?? 0;
      }
      // every fresh record by the seq ranges: an event the row-wise insert skipped as already in
      // events was written other than through ingest, so not yet aggregated: it counts now, once
      const aggs = aggDelta(records, hostname);
      if (aggs.length) {
        // insight aggregates (of the fresh aggregate items and events), merged per key, in key order
        const arrays = AGG_COLUMNS.map((_, i) => aggs.map((x) => pgValue(aggValues(x)[i])));
        const types = AGG_COLUMNS.map((k) =>
          k === 'port' ? 'integer' : ['bucket', 'n', 'denied', 's1', 's2', 'first_ns', 'last_ns'].includes(k) ? 'bigint' : 'text',
        );
        await c.query(aggUpsertSql(`unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS x(${AGG_COLUMNS.join(', ')})`), arrays);
      }
      const now = Date.now();
      await c.query(
        `INSERT INTO sensors (id, hostname, connected, first_seen, last_seen, events_received, alerts_received)
         VALUES ($1, $2, true, $3, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET events_received = sensors.events_received + EXCLUDED.events_received,
           alerts_received = sensors.alerts_received + EXCLUDED.alerts_received, last_seen = EXCLUDED.last_seen`,
        [sensorId, hostname, now, nEv, nAl],
      );
    }
    return nEv + nAl + nAgg;
  }

  async sizeBytes(): Promise<number> {
    const r = await this.all(`SELECT pg_total_relation_size('events') + pg_total_relation_size('alerts') + pg_total_relation_size('records') AS n`);
    return num(r[0]?.n);
  }

  async applyRetention(p: RetentionPolicy): Promise<{ events: number; alerts: number }> {
    let events = 0,
      alerts = 0;
    if (p.maxAgeMs !== undefined) {
      const cutoff = BigInt(Date.now() - p.maxAgeMs) * 1_000_000n;
      events += await this.exec(`DELETE FROM events WHERE time_ns < $1`, [cutoff]);
      await this.exec(AGG_DELETE_BEFORE, [bucketOfNs(cutoff)]);
      alerts += await this.exec(`DELETE FROM alerts WHERE time_ns < $1`, [cutoff]);
    }
    if (p.maxBytes !== undefined && (await this.sizeBytes()) > p.maxBytes) {
      // Space freed by DELETE is reused after (auto)vacuum; drop the oldest tenth per pass.
      const cnt = num((await this.all(`SELECT count(*) AS n FROM events`))[0]?.n);
      if (cnt > 0) {
        const off = Math.max(1, Math.floor(cnt / 10));
        const cut = (await this.all(`SELECT time_ns FROM events ORDER BY time_ns LIMIT 1 OFFSET ${off - 1}`))[0]?.time_ns;
        if (cut !== undefined) {
          events += await this.exec(`DELETE FROM events WHERE time_ns <= $1`, [cut]);
          await this.exec(AGG_DELETE_UPTO, [bucketOfNs(BigInt(String(cut)))]);
          alerts += await this.exec(`DELETE FROM alerts WHERE time_ns <= $1`, [cut]);
        }
      }
    }
    // process records no stored event can reference any more (src/store/records.ts)
    await this.exec(`DELETE FROM records WHERE time_ns < COALESCE((SELECT min(time_ns) FROM events), $1) - $2`, [
      BigInt(Date.now() - (p.maxAgeMs ?? 0)) * 1_000_000n,
      RECORD_KEEP_MARGIN_NS,
    ]);
    if (events > 0) {
      // deleted events leave the rollup: rebuild it in one transaction (readers never see it empty)
      const c = await this.connect();
      try {
        await c.query('BEGIN');
        for (const stmt of ROLLUP_REBUILD) await c.query(stmt);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    }
    await this.compactRanges();
    return { events, alerts };
  }

  /** Merges each sensor's stored seq ranges into their minimal form. */
  private async compactRanges(): Promise<void> {
    const rows = await this.all(`SELECT sensor_id, count(*) AS n FROM ingest_ranges GROUP BY sensor_id HAVING count(*) > 1`);
    for (const r of rows) {
      const sensor = String(r.sensor_id);
      const c = await this.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock(74210002, hashtext($1))', [sensor]);
        const rs = new RangeSet();
        for (const x of (await c.query(`SELECT first_seq, last_seq FROM ingest_ranges WHERE sensor_id = $1`, [sensor])).rows) {
          rs.add(num(x.first_seq), num(x.last_seq));
        }
        await c.query(`DELETE FROM ingest_ranges WHERE sensor_id = $1`, [sensor]);
        for (const [a, b] of rs.r) await c.query(`INSERT INTO ingest_ranges VALUES ($1, $2, $3)`, [sensor, a, b]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw new VigilError('VIGIL_E_STORE', `range compaction failed: ${(e as Error).message}`, { cause: e });
      } finally {
        c.release();
      }
    }
  }

  override async maxSeq(sensorId: string): Promise<number> {
    return num((await this.all(`SELECT max(last_seq) AS m FROM ingest_ranges WHERE sensor_id = $1`, [sensorId]))[0]?.m);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
