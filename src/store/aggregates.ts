// The insight aggregate table, shared by the DuckDB and PostgreSQL stores: `insight_agg`, one row per
// (workload, time bucket, key) with the counters of src/insights/aggregate.ts (count, denied, two
// sums, first/last seen). Ingest merges into it (counts added, first = min, last = max) the
// aggregate items sensors send (wire kind 'g': events they did not ship raw) and the aggregates of
// the raw events it stores, computed by the same function; the insights without a time range read
// it (`aggInsightSql`) instead of scanning events. The migration backfills it from stored events
// with the same keys (`aggBackfillSql`). Retention drops whole buckets older than its cutoff.
import { AGG_BUCKET_NS, aggregateEvents, mergeRows, type AggRow } from '../insights/aggregate.ts';
import type { IngestRecord } from './types.ts';

export const AGG_TABLE = `CREATE TABLE insight_agg (
  workload_id VARCHAR NOT NULL,
  bucket BIGINT NOT NULL,
  k VARCHAR NOT NULL,
  op VARCHAR NOT NULL,
  a VARCHAR,
  b VARCHAR,
  c VARCHAR,
  d VARCHAR,
  e VARCHAR,
  port INTEGER,
  pol VARCHAR,
  n BIGINT NOT NULL,
  denied BIGINT NOT NULL,
  s1 BIGINT NOT NULL,
  s2 BIGINT NOT NULL,
  first_ns BIGINT NOT NULL,
  last_ns BIGINT NOT NULL,
  PRIMARY KEY (workload_id, bucket, k)
)`;

/** Column order of insight_agg (an AggRow with its key text after the bucket). */
export const AGG_COLUMNS = [
  'workload_id',
  'bucket',
  'k',
  'op',
  'a',
  'b',
  'c',
  'd',
  'e',
  'port',
  'pol',
  'n',
  'denied',
  's1',
  's2',
  'first_ns',
  'last_ns',
] as const;

/** SQL text of aggKey's encoding of one field (null '~', else '=' and the text with \ and | escaped). */
const encSql = (x: string): string => `CASE WHEN ${x} IS NULL THEN '~' ELSE '=' || replace(replace(CAST(${x} AS VARCHAR), '\\', '\\\\'), '|', '\\|') END`;
const aggKeySql = (): string => `op || '|' || ${['a', 'b', 'c', 'd', 'e', 'port', 'pol'].map(encSql).join(` || '|' || `)}`;

/**
 * Statements that rebuild insight_agg from the stored events (the migration's backfill), with the
 * keys the ingest path gives them. `idiv` is the engine's integer division (DuckDB `//`, PostgreSQL `/`).
 */
export function aggBackfillSql(idiv: string): string[] {
  const bucket = `time_ns ${idiv} ${AGG_BUCKET_NS}`;
  const pol = `CASE WHEN denied OR policy_action IS NOT NULL THEN policy_name END`;
  const V = 'CAST(NULL AS VARCHAR)';
  const I = 'CAST(NULL AS INTEGER)';
  const Z = 'CAST(0 AS BIGINT)';
  const part = (op: string, a: string, b: string, c: string, d: string, e: string, port: string, p: string, s1: string, s2: string, where: string) =>
    `SELECT workload_id, ${bucket} AS bucket, '${op}' AS op, ${a} AS a, ${b} AS b, ${c} AS c, ${d} AS d, ${e} AS e, ${port} AS port, ${p} AS pol,
            denied, ${s1} AS g1, ${s2} AS g2, time_ns FROM events${where ? ` WHERE ${where}` : ''}`;
  const parts = [
    part('evt', 'workload_kind', 'workload_name', 'k8s_ns', 'hostname', 'container_id', I, V, Z, Z, ''),
    part('net', 'net_dir', 'peer_addr', 'l4proto', V, V, 'peer_port', pol, Z, Z, 'net_dir IS NOT NULL'),
    part('file', 'file_path', 'file_op', V, V, V, I, pol, Z, Z, 'file_op IS NOT NULL'),
    part('exec', 'proc_exepath', 'proc_pexepath', V, V, V, I, pol, Z, Z, `evt_type IN ('execve', 'execveat')`),
    part('cap', 'cap_name', V, V, V, V, I, V, 'cap_granted', 'cap_denied', 'cap_name IS NOT NULL'),
    part('policy', 'policy_name', 'policy_action', 'policy_rule', V, V, I, V, Z, Z, 'policy_name IS NOT NULL'),
  ];
  return [
    `DELETE FROM insight_agg`,
    `INSERT INTO insight_agg (${AGG_COLUMNS.join(', ')})
     SELECT workload_id, bucket, ${aggKeySql()}, op, a, b, c, d, e, port, pol, count(*), count(*) FILTER (WHERE denied), sum(g1), sum(g2), min(time_ns), max(time_ns)
     FROM (${parts.join('\n UNION ALL ')}) x
     GROUP BY workload_id, bucket, op, a, b, c, d, e, port, pol`,
  ];
}

/** The aggregate rows one ingest adds: the documents of its fresh aggregate items ('g') and the
 * aggregates of its fresh events (seen by the sensor named `hostname`), merged by key. */
export function aggDelta(records: Iterable<IngestRecord>, hostname: string | null): { key: string; row: AggRow }[] {
  const rows: AggRow[] = [];
  const events: Record<string, unknown>[] = [];
  for (const r of records) {
    if (r.kind === 'e') events.push(r.data);
    else if (r.kind === 'g') for (const row of r.data.rows as AggRow[]) rows.push(row);
  }
  if (events.length) for (const row of aggregateEvents(events, hostname)) rows.push(row);
  return mergeRows(rows);
}

/** One delta row as the values of AGG_COLUMNS (bigint for the BIGINT ns columns). */
export function aggValues(x: { key: string; row: AggRow }): unknown[] {
  const r = x.row;
  return [r[0], r[1], x.key, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], BigInt(r[14]), BigInt(r[15])];
}

/** The merge of rows already in `src` (a table or select with AGG_COLUMNS) into insight_agg. */
export function aggUpsertSql(src: string): string {
  const cols = AGG_COLUMNS.join(', ');
  return `INSERT INTO insight_agg (${cols}) SELECT ${cols} FROM ${src}
    ON CONFLICT (workload_id, bucket, k) DO UPDATE SET n = insight_agg.n + EXCLUDED.n, denied = insight_agg.denied + EXCLUDED.denied,
      s1 = insight_agg.s1 + EXCLUDED.s1, s2 = insight_agg.s2 + EXCLUDED.s2,
      first_ns = least(insight_agg.first_ns, EXCLUDED.first_ns), last_ns = greatest(insight_agg.last_ns, EXCLUDED.last_ns)`;
}

/** Retention: buckets that end at or before `cutoffNs` (age), or that start at or before `cutNs`
 * (size: the bucket holding the cut goes whole). */
export const AGG_DELETE_BEFORE = `DELETE FROM insight_agg WHERE bucket < $1`;
export const AGG_DELETE_UPTO = `DELETE FROM insight_agg WHERE bucket <= $1`;
export const bucketOfNs = (ns: bigint): bigint => ns / AGG_BUCKET_NS;

/** The insight queries over insight_agg, same column names as the scans over events in
 * src/store/sqlbase.ts (one workload: its id is `$1`). */
export function aggInsightSql(sep: string): Record<'sum' | 'net' | 'files' | 'procs' | 'caps' | 'pols', string> & { list: string } {
  const W = `workload_id = $1`;
  const summary = `SELECT workload_id, min(a) AS kind, min(b) AS name, min(c) AS ns, string_agg(DISTINCT d, ${sep}) AS hosts, count(DISTINCT e) AS containers,
            sum(n) AS events, sum(denied) AS denied, CAST(min(first_ns) AS VARCHAR) AS first_ns, CAST(max(last_ns) AS VARCHAR) AS last_ns
     FROM insight_agg WHERE op = 'evt'`;
  const pols = `string_agg(DISTINCT pol, ${sep}) AS policies`;
  return {
    list: `${summary} GROUP BY workload_id ORDER BY max(last_ns) DESC, workload_id LIMIT 5000`,
    sum: `${summary} AND ${W} GROUP BY workload_id`,
    net: `SELECT a AS net_dir, b AS peer_addr, port AS peer_port, c AS l4proto, sum(n) - sum(denied) AS allowed, sum(denied) AS denied,
            CAST(min(first_ns) AS VARCHAR) AS first_ns, CAST(max(last_ns) AS VARCHAR) AS last_ns, ${pols}
          FROM insight_agg WHERE ${W} AND op = 'net' GROUP BY a, b, port, c ORDER BY max(last_ns) DESC LIMIT 2000`,
    files: `SELECT a AS file_path, b AS file_op, sum(n) AS n, sum(denied) AS denied, CAST(max(last_ns) AS VARCHAR) AS last_ns, ${pols}
          FROM insight_agg WHERE ${W} AND op = 'file' GROUP BY a, b ORDER BY max(last_ns) DESC LIMIT 20000`,
    procs: `SELECT a AS proc_exepath, b AS proc_pexepath, sum(n) AS n, sum(denied) AS denied, CAST(max(last_ns) AS VARCHAR) AS last_ns, ${pols}
          FROM insight_agg WHERE ${W} AND op = 'exec' GROUP BY a, b ORDER BY max(last_ns) DESC LIMIT 2000`,
    caps: `SELECT a AS cap_name, sum(s1) AS granted, sum(s2) AS denied, sum(n) AS n, CAST(max(last_ns) AS VARCHAR) AS last_ns
          FROM insight_agg WHERE ${W} AND op = 'cap' GROUP BY a ORDER BY a`,
    pols: `SELECT a AS policy_name, b AS policy_action, c AS policy_rule, sum(n) AS n, CAST(max(last_ns) AS VARCHAR) AS last_ns
          FROM insight_agg WHERE ${W} AND op = 'policy' GROUP BY a, b, c ORDER BY a, b, c`,
  };
}
