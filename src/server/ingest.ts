// Ingest paths: a validated batch goes either straight into the store (DirectIngestor) or through
// a NATS JetStream stream (NatsIngestor, src/server/nats.ts). `submit` resolves only once the batch
// is durable (committed to the store, or acknowledged by JetStream); the server acks the sensor then.
import type { BatchFrame } from '../wire/protocol.ts';
import { stringifyJson } from '../wire/exact-json.ts';
import type { IngestRecord, Store } from '../store/types.ts';
import type { ServerMetrics } from './metrics.ts';

export interface Ingestor {
  submit(sensorId: string, hostname: string | null, batch: BatchFrame, frameText: string): Promise<void>;
  close(): Promise<void>;
}

/** The batch's items as store records; documents holding bigints are serialised here, exactly (the store would JSON.stringify). */
export function batchRecords(batch: Pick<BatchFrame, 'items' | 'exact'>): IngestRecord[] {
  if (batch.exact) return batch.items.map(([seq, kind, data]) => ({ seq, kind, data, json: stringifyJson(data) }));
  return batch.items.map(([seq, kind, data]) => ({ seq, kind, data }));
}

export async function storeBatch(store: Store, metrics: ServerMetrics, sensorId: string, hostname: string | null, batch: Pick<BatchFrame, 'items' | 'exact'>): Promise<void> {
  const recs = batchRecords(batch);
  const r = await store.ingest(sensorId, hostname, recs);
  let alerts = 0;
  for (const x of recs) if (x.kind === 'a') alerts++;
  if (r.inserted) {
    // Approximation of the split when part of a batch was a duplicate.
    const a = Math.min(alerts, r.inserted);
    metrics.ingestedEvents.inc({ kind: 'event' }, r.inserted - a);
    if (a) metrics.ingestedEvents.inc({ kind: 'alert' }, a);
  }
  if (r.duplicates) metrics.duplicates.inc(r.duplicates);
}

export class DirectIngestor implements Ingestor {
  constructor(private readonly store: Store, private readonly metrics: ServerMetrics) {}
  submit(sensorId: string, hostname: string | null, batch: BatchFrame): Promise<void> {
    return storeBatch(this.store, this.metrics, sensorId, hostname, batch);
  }
  async close(): Promise<void> {}
}
