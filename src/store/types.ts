// Store contract: the one interface both storage back ends (DuckDB embedded, PostgreSQL) implement.
// The server ingests sensor batches through `ingest` (exactly-once per (sensor, seq)), the API reads
// through the query methods, a timer applies retention. The insight shapes the store returns are
// owned by src/insights (re-exported here for the store's callers).
import type { WorkloadInsights, WorkloadSummary } from '../insights/types.ts';

export type { CapEntry, FileEntry, NetEntry, PolicyEntry, ProcEntry, RuleEntry, WorkloadInsights, WorkloadSummary } from '../insights/types.ts';

export interface IngestRecord {
  seq: number; // per-sensor spool sequence, unique and increasing
  kind: 'e' | 'a' | 'c' | 'r' | 'g'; // event, alert, compact event, process record (src/wire/compact.ts), insight aggregates ({rows: AggRow[]}, src/insights/aggregate.ts)
  data: Record<string, unknown>;
  json?: string; // data already serialised (saves a stringify)
}

export interface IngestResult {
  inserted: number;
  duplicates: number;
}

export interface SensorUpdate {
  id: string;
  hostname?: string;
  version?: string;
  connected?: boolean;
  server?: string;
  drops?: { kernel?: number; user?: number; spool?: number };
  certSerial?: string;
}

export interface SensorRow {
  id: string;
  hostname: string | null;
  version: string | null;
  connected: boolean;
  last_seen: string | null; // RFC 3339
  first_seen: string | null;
  events_received: number;
  alerts_received: number;
  drops: { kernel: number; user: number; spool: number };
  server: string | null;
  revoked?: boolean;
}

export interface TimeRange {
  since?: bigint; // ns, inclusive
  until?: bigint; // ns, exclusive
}

export interface EventQuery extends TimeRange {
  fields: Record<string, string[]>; // Falco field -> accepted values (OR), fields ANDed
  sensor?: string;
  workload?: string;
  limit: number;
  cursor?: string;
  order?: 'asc' | 'desc';
}

export interface AlertQuery extends TimeRange {
  rule?: string[];
  priority?: string[];
  minPriority?: string;
  container?: string[];
  pod?: string[];
  namespace?: string[];
  workload?: string;
  sensor?: string;
  acked?: boolean;
  limit: number;
  cursor?: string;
  order?: 'asc' | 'desc';
}

/** A page of stored JSON documents (raw JSON text, so the API can pass them through). */
export interface Page {
  items: string[];
  next: string | null;
}

export interface RetentionPolicy {
  maxAgeMs?: number;
  maxBytes?: number;
}

export interface Store {
  readonly kind: 'duckdb' | 'postgres';
  /** References to process records the store did not have (at ingest and at read): counted, never guessed (src/store/records.ts). */
  readonly unknownRecords: number;
  /** Applies pending schema migrations; returns the schema version. */
  init(): Promise<number>;
  /** Stores a batch of one sensor; records already stored (same sensor, seq) are skipped. */
  ingest(sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<IngestResult>;
  /** Highest seq stored for the sensor (0 if none). */
  maxSeq(sensorId: string): Promise<number>;
  sensorUpdate(u: SensorUpdate): Promise<void>;
  listSensors(): Promise<SensorRow[]>;
  queryEvents(q: EventQuery): Promise<Page>;
  countEvents(q?: TimeRange): Promise<number>;
  queryAlerts(q: AlertQuery): Promise<Page>;
  ackAlert(uuid: string, by: string): Promise<boolean>;
  listWorkloads(q: TimeRange): Promise<WorkloadSummary[]>;
  workloadInsights(id: string, q: TimeRange): Promise<WorkloadInsights | null>;
  sizeBytes(): Promise<number>;
  applyRetention(p: RetentionPolicy): Promise<{ events: number; alerts: number }>;
  close(): Promise<void>;
}
