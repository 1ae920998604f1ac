// Versioned schema migrations for both stores. A migration is applied once, in a transaction, and
// recorded in schema_migrations(version). Append new versions at the end; never edit applied ones.

export interface Migration {
  version: number;
  description: string;
  sql: string[];
}

const EVENT_COLS = (json: string, bool: string) => `
  sensor_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  time_ns BIGINT NOT NULL,
  hostname VARCHAR,
  evt_type VARCHAR,
  evt_category VARCHAR,
  evt_res BIGINT,
  proc_name VARCHAR,
  proc_exepath VARCHAR,
  proc_pexepath VARCHAR,
  proc_pid BIGINT,
  user_name VARCHAR,
  container_id VARCHAR,
  container_name VARCHAR,
  container_image VARCHAR,
  k8s_ns VARCHAR,
  k8s_pod VARCHAR,
  workload_id VARCHAR NOT NULL,
  workload_kind VARCHAR NOT NULL,
  workload_name VARCHAR NOT NULL,
  fd_name VARCHAR,
  net_dir VARCHAR,
  peer_addr VARCHAR,
  peer_port INTEGER,
  l4proto VARCHAR,
  file_path VARCHAR,
  file_op VARCHAR,
  cap_name VARCHAR,
  cap_granted BIGINT,
  cap_denied BIGINT,
  policy_name VARCHAR,
  policy_action VARCHAR,
  policy_rule VARCHAR,
  denied ${bool} NOT NULL,
  data ${json} NOT NULL`;

const ALERT_COLS = (json: string) => `
  uuid VARCHAR PRIMARY KEY,
  sensor_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  time_ns BIGINT NOT NULL,
  hostname VARCHAR,
  rule VARCHAR,
  priority VARCHAR,
  priority_num INTEGER NOT NULL,
  source VARCHAR,
  container_id VARCHAR,
  k8s_ns VARCHAR,
  k8s_pod VARCHAR,
  workload_id VARCHAR NOT NULL,
  data ${json} NOT NULL,
  acked BOOLEAN NOT NULL DEFAULT false,
  acked_at BIGINT,
  acked_by VARCHAR`;

const SENSORS = `CREATE TABLE sensors (
  id VARCHAR PRIMARY KEY,
  hostname VARCHAR,
  version VARCHAR,
  connected BOOLEAN NOT NULL DEFAULT false,
  server VARCHAR,
  cert_serial VARCHAR,
  first_seen BIGINT,
  last_seen BIGINT,
  events_received BIGINT NOT NULL DEFAULT 0,
  alerts_received BIGINT NOT NULL DEFAULT 0,
  drops_kernel BIGINT NOT NULL DEFAULT 0,
  drops_user BIGINT NOT NULL DEFAULT 0,
  drops_spool BIGINT NOT NULL DEFAULT 0
)`;

// DuckDB: columnar with per-row-group min/max (zone maps); events arrive roughly in time order so
// time-range scans prune well without ART indexes (which would slow bulk ingest and use memory).
// Dedupe uses ingest_ranges instead of a (sensor_id, seq) unique index for the same reason.
import { ROLLUP_REBUILD, ROLLUP_TABLES } from './rollup.ts';
import { AGG_TABLE, aggBackfillSql } from './aggregates.ts';

/** The per-workload rollup tables with their backfill (same SQL in both engines). */
const rollupMigration = (version: number): Migration => ({
  version,
  description: 'per-workload rollup (workload list without scanning events)',
  sql: [...ROLLUP_TABLES, ...ROLLUP_REBUILD],
});

/** Process records of compact events (src/store/records.ts, src/wire/compact.ts). */
const recordsMigration = (version: number, json: string, indexed: boolean): Migration => ({
  version,
  description: 'process records: compact events reference them',
  // DuckDB: no ART index (dedupe by ingest_ranges, lookups pruned by zone maps on seq, as for events)
  sql: indexed
    ? [
        `CREATE TABLE records (sensor_id VARCHAR NOT NULL, seq BIGINT NOT NULL, rkey VARCHAR NOT NULL, time_ns BIGINT NOT NULL, data ${json} NOT NULL, PRIMARY KEY (sensor_id, seq))`,
        `CREATE INDEX records_time ON records (time_ns)`,
      ]
    : [`CREATE TABLE records (sensor_id VARCHAR NOT NULL, seq BIGINT NOT NULL, rkey VARCHAR NOT NULL, time_ns BIGINT NOT NULL, data ${json} NOT NULL)`],
});

/** The insight aggregate table with its backfill from the stored events (src/store/aggregates.ts). */
const aggMigration = (version: number, idiv: string): Migration => ({
  version,
  description: 'insight aggregates (sensor-side and ingest-side), backfilled from events',
  sql: [AGG_TABLE, ...aggBackfillSql(idiv)],
});

export const DUCKDB_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'events, alerts, sensors, ingest ranges',
    sql: [
      `CREATE TABLE events (${EVENT_COLS('VARCHAR', 'BOOLEAN')})`,
      `CREATE TABLE alerts (${ALERT_COLS('VARCHAR')})`,
      SENSORS,
      `CREATE TABLE ingest_ranges (sensor_id VARCHAR NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL)`,
      `CREATE INDEX alerts_time ON alerts (time_ns)`,
    ],
  },
  rollupMigration(2),
  recordsMigration(3, 'VARCHAR', false),
  aggMigration(4, '//'),
];

// PostgreSQL: (sensor_id, seq) primary key gives the exactly-once dedupe (ON CONFLICT DO NOTHING),
// B-tree indexes serve the API's filters and keyset pagination, JSONB keeps the document.
export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'events, alerts, sensors, indexes',
    sql: [
      `CREATE TABLE events (${EVENT_COLS('JSONB', 'BOOLEAN')}, PRIMARY KEY (sensor_id, seq))`,
      `CREATE INDEX events_time ON events (time_ns DESC, sensor_id DESC, seq DESC)`,
      `CREATE INDEX events_type_time ON events (evt_type, time_ns DESC)`,
      `CREATE INDEX events_proc_time ON events (proc_name, time_ns DESC)`,
      `CREATE INDEX events_container_time ON events (container_id, time_ns DESC)`,
      `CREATE INDEX events_workload_time ON events (workload_id, time_ns DESC)`,
      `CREATE INDEX events_policy ON events (policy_name) WHERE policy_name IS NOT NULL`,
      `CREATE TABLE alerts (${ALERT_COLS('JSONB')})`,
      `CREATE UNIQUE INDEX alerts_sensor_seq ON alerts (sensor_id, seq)`,
      `CREATE INDEX alerts_time ON alerts (time_ns DESC, uuid DESC)`,
      `CREATE INDEX alerts_rule_time ON alerts (rule, time_ns DESC)`,
      `CREATE INDEX alerts_workload_time ON alerts (workload_id, time_ns DESC)`,
      `CREATE INDEX alerts_container_time ON alerts (container_id, time_ns DESC)`,
      SENSORS,
    ],
  },
  {
    version: 2,
    description: 'ingest_ranges: dedupe survives retention',
    sql: [
      `CREATE TABLE ingest_ranges (sensor_id VARCHAR NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL)`,
      `CREATE INDEX ingest_ranges_sensor ON ingest_ranges (sensor_id, last_seq)`,
    ],
  },
  rollupMigration(3),
  recordsMigration(4, 'JSONB', true),
  aggMigration(5, '/'),
];
