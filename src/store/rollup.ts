// Per-workload rollup, kept in step with the events table at ingest, so that the workload list
// (GET /api/v1/insights/workloads without a time range) reads one row per workload instead of
// aggregating every stored event (18 s over 10M events in PostgreSQL before this). Two tables:
// workload_rollup (counts, first/last seen, kind/name/namespace) and workload_members (distinct
// hostnames 'h' and container ids 'c' per workload). Ingest adds the rows it stored; retention,
// which deletes events, rebuilds both from what is left. Shared by the DuckDB and PostgreSQL stores
// (the SQL below is valid in both).

export const ROLLUP_TABLES = [
  `CREATE TABLE workload_rollup (
    workload_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    ns VARCHAR,
    events BIGINT NOT NULL,
    denied BIGINT NOT NULL,
    first_ns BIGINT NOT NULL,
    last_ns BIGINT NOT NULL
  )`,
  `CREATE TABLE workload_members (workload_id VARCHAR NOT NULL, what VARCHAR NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (workload_id, what, value))`,
];

/** Statements that rebuild the rollup from the events table (migration backfill, retention). */
export const ROLLUP_REBUILD = [
  `DELETE FROM workload_rollup`,
  `INSERT INTO workload_rollup (workload_id, kind, name, ns, events, denied, first_ns, last_ns)
   SELECT workload_id, min(workload_kind), min(workload_name), min(k8s_ns), count(*), count(*) FILTER (WHERE denied), min(time_ns), max(time_ns)
   FROM events GROUP BY workload_id`,
  `DELETE FROM workload_members`,
  `INSERT INTO workload_members (workload_id, what, value)
   SELECT DISTINCT workload_id, 'h', hostname FROM events WHERE hostname IS NOT NULL
   UNION SELECT DISTINCT workload_id, 'c', container_id FROM events WHERE container_id IS NOT NULL`,
];

/** The columns of a stored event row the rollup needs. */
export interface RollupRow {
  workload_id: string;
  workload_kind: string;
  workload_name: string;
  k8s_ns: string | null;
  hostname: string | null;
  container_id: string | null;
  denied: boolean;
  time_ns: bigint | string | number;
}

interface Agg {
  kind: string;
  name: string;
  ns: string | null;
  events: number;
  denied: number;
  first: bigint;
  last: bigint;
}

/** What a batch of stored rows adds to the rollup: per-workload aggregates and member rows, each in
 * key order (concurrent ingests then lock rows in the same order and cannot deadlock). */
export interface RollupDelta {
  /** workload_id, kind, name, ns, events, denied, first_ns, last_ns (numbers as decimal strings) */
  workloads: [string, string, string, string | null, string, string, string, string][];
  /** workload_id, 'h' | 'c', value */
  members: [string, string, string][];
}

export function rollupDelta(rows: Iterable<RollupRow>): RollupDelta {
  const aggs = new Map<string, Agg>();
  const members = new Map<string, [string, string, string]>();
  for (const r of rows) {
    const t = BigInt(r.time_ns);
    let a = aggs.get(r.workload_id);
    if (!a) aggs.set(r.workload_id, (a = { kind: r.workload_kind, name: r.workload_name, ns: r.k8s_ns, events: 0, denied: 0, first: t, last: t }));
    a.events++;
    if (r.denied) a.denied++;
    if (t < a.first) a.first = t;
    if (t > a.last) a.last = t;
    if (a.ns === null && r.k8s_ns !== null) a.ns = r.k8s_ns;
    if (r.hostname !== null) members.set(`${r.workload_id}\0h\0${r.hostname}`, [r.workload_id, 'h', r.hostname]);
    if (r.container_id !== null) members.set(`${r.workload_id}\0c\0${r.container_id}`, [r.workload_id, 'c', r.container_id]);
  }
  const byKey = <T>(m: Map<string, T>): [string, T][] => [...m].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return {
    workloads: byKey(aggs).map(([id, a]) => [id, a.kind, a.name, a.ns, String(a.events), String(a.denied), String(a.first), String(a.last)]),
    members: byKey(members).map(([, m]) => m),
  };
}

const ROLLUP_UPSERT_HEAD = `INSERT INTO workload_rollup (workload_id, kind, name, ns, events, denied, first_ns, last_ns) VALUES `;
const ROLLUP_UPSERT_TAIL = `
       ON CONFLICT (workload_id) DO UPDATE SET events = workload_rollup.events + EXCLUDED.events,
         denied = workload_rollup.denied + EXCLUDED.denied, first_ns = least(workload_rollup.first_ns, EXCLUDED.first_ns),
         last_ns = greatest(workload_rollup.last_ns, EXCLUDED.last_ns), ns = coalesce(workload_rollup.ns, EXCLUDED.ns)`;
const workloadTuple = (n: number): string =>
  `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, CAST($${n + 5} AS BIGINT), CAST($${n + 6} AS BIGINT), CAST($${n + 7} AS BIGINT), CAST($${n + 8} AS BIGINT))`;
const MEMBER_HEAD = `INSERT INTO workload_members (workload_id, what, value) VALUES `;
const MEMBER_TAIL = ` ON CONFLICT DO NOTHING`;

/** One workload's upsert and one member's insert: constant text, so a store can prepare them once
 * and run them per row (DuckDB plans every new statement text, which costs more than the rows). */
export const ROLLUP_UPSERT_ONE = ROLLUP_UPSERT_HEAD + workloadTuple(0) + ROLLUP_UPSERT_TAIL;
export const MEMBER_INSERT_ONE = `${MEMBER_HEAD}($1, $2, $3)${MEMBER_TAIL}`;
/** A known workload's row updated in place (cheaper than the upsert in DuckDB); parameters as a
 * RollupDelta workload tuple. Changes no row when the workload is new: then run the upsert. */
export const ROLLUP_UPDATE_ONE = `UPDATE workload_rollup SET events = events + CAST($5 AS BIGINT), denied = denied + CAST($6 AS BIGINT),
    first_ns = least(first_ns, CAST($7 AS BIGINT)), last_ns = greatest(last_ns, CAST($8 AS BIGINT)), ns = coalesce(ns, $4)
  WHERE workload_id = $1 AND kind = $2 AND name = $3`;

/** One multi-row upsert of workload tuples (parameterised, `$n` placeholders). */
export function rollupUpsert(workloads: RollupDelta['workloads']): [string, unknown[]] {
  return [ROLLUP_UPSERT_HEAD + workloads.map((_, i) => workloadTuple(i * 8)).join(', ') + ROLLUP_UPSERT_TAIL, workloads.flat()];
}

/** One multi-row insert of member tuples. */
export function memberInsert(members: RollupDelta['members']): [string, unknown[]] {
  return [MEMBER_HEAD + members.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ') + MEMBER_TAIL, members.flat()];
}

/** Multi-row upserts that add `rows`, just stored, to the rollup. */
export function rollupStatements(rows: Iterable<RollupRow>): [string, unknown[]][] {
  const d = rollupDelta(rows);
  const out: [string, unknown[]][] = [];
  if (d.workloads.length) out.push(rollupUpsert(d.workloads));
  if (d.members.length) out.push(memberInsert(d.members));
  return out;
}

/** The workload list from the rollup; same columns as the scan over events. */
export function rollupListSql(sep: string): string {
  return `SELECT r.workload_id, r.kind, r.name, r.ns,
            (SELECT string_agg(m.value, ${sep}) FROM workload_members m WHERE m.workload_id = r.workload_id AND m.what = 'h') AS hosts,
            (SELECT count(*) FROM workload_members m WHERE m.workload_id = r.workload_id AND m.what = 'c') AS containers,
            r.events, r.denied, CAST(r.first_ns AS VARCHAR) AS first_ns, CAST(r.last_ns AS VARCHAR) AS last_ns
          FROM workload_rollup r ORDER BY r.last_ns DESC, r.workload_id LIMIT 5000`;
}
