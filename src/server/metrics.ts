// Prometheus metrics of a server process (prom-client, own registry per server so several servers
// can run in one process, e.g. in tests). Served at /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly ingestedEvents = new Counter({
    name: 'vigil_ingest_records_total',
    help: 'Records stored (first time)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'vigil_ingest_duplicates_total',
    help: 'Records received again and skipped (already stored)',
    registers: [this.registry],
  });
  readonly batches = new Counter({ name: 'vigil_ingest_batches_total', help: 'Batches acknowledged to sensors', registers: [this.registry] });
  readonly batchSeconds = new Histogram({
    name: 'vigil_ingest_batch_seconds',
    help: 'Time from batch receipt to durable ack',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly connected = new Gauge({ name: 'vigil_sensors_connected', help: 'Sensors connected to this server', registers: [this.registry] });
  readonly closes = new Counter({
    name: 'vigil_stream_closed_total',
    help: 'Sensor connections closed, by close code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly enrollLimitEvicted = new Counter({
    name: 'vigil_enroll_limit_evicted_total',
    help: 'Addresses the failed-enrollment limiter forgot because its table was full',
    registers: [this.registry],
  });
  readonly enrollRefused = new Counter({
    name: 'vigil_enroll_rate_limited_total',
    help: 'Enrollment attempts refused (429) after too many failures from one address',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'vigil_stream_rejected_total',
    help: 'Sensor connections refused before upgrade',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly sensorDrops = new Gauge({
    name: 'vigil_sensor_drops',
    help: 'Drops reported by sensors (cumulative)',
    labelNames: ['sensor', 'where'] as const,
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'vigil_api_requests_total',
    help: 'API requests',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly unknownRecords = new Gauge({
    name: 'vigil_store_unknown_records',
    help: 'References of compact events to process records the store did not have (cumulative)',
    registers: [this.registry],
  });
  readonly storeBytes = new Gauge({ name: 'vigil_store_bytes', help: 'Size of the store', registers: [this.registry] });
  readonly retentionDeleted = new Counter({
    name: 'vigil_retention_deleted_total',
    help: 'Rows deleted by retention',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vigil_server_' });
  }
}
