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

/** The store records of a batch. With the frame's text, each record carries its document's JSON
 * text as the sensor sent it (the store then does not serialise the parsed object again);
 * without it, documents holding bigints (`exact`) are serialised here, exactly (the store would
 * JSON.stringify them). */
export function batchRecords(batch: Pick<BatchFrame, 'items' | 'exact'>, frameText?: string): IngestRecord[] {
  const texts = frameText === undefined ? null : itemDataTexts(frameText, batch.items);
  if (texts) return batch.items.map(([seq, kind, data], i) => ({ seq, kind, data, json: texts[i]! }));
  if (batch.exact) return batch.items.map(([seq, kind, data]) => ({ seq, kind, data, json: stringifyJson(data) }));
  return batch.items.map(([seq, kind, data]) => ({ seq, kind, data }));
}

/**
 * The JSON text of each item's document in a batch frame's `items` array (`[seq,"k",{...}]` items),
 * found by one scan that tracks strings and nesting, each item checked against the parsed seq;
 * null when the frame does not have the shape
 * encodeBatch gives it (the caller then serialises the parsed objects). The frame was parsed
 * already, so the text is valid JSON; the checks here only guard the slicing.
 */
export function itemDataTexts(text: string, items: BatchFrame['items']): string[] | null {
  const start = text.indexOf('"items":[');
  if (start < 0) return null;
  const out: string[] = [];
  let i = start + 9;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5d /* ] */) break;
    if (ch === 0x2c /* , */) {
      i++;
      continue;
    }
    if (ch !== 0x5b /* [ */) return null;
    // `[seq,"k",` then the document
    const c1 = text.indexOf(',', i);
    if (
      c1 < 0 ||
      out.length >= items.length ||
      text.slice(i + 1, c1) !== String(items[out.length]![0]) ||
      text.charCodeAt(c1 + 1) !== 0x22 ||
      text.charCodeAt(c1 + 3) !== 0x22 ||
      text.charCodeAt(c1 + 4) !== 0x2c
    )
      return null;
    let j = c1 + 5;
    if (text.charCodeAt(j) !== 0x7b /* { */) return null;
    const from = j;
    let depth = 0;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        // skip the string
        for (j++; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d === 0x5c) j++;
          else if (d === 0x22) break;
        }
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) break;
      }
    }
    if (j >= n || text.charCodeAt(j + 1) !== 0x5d /* ] closing the item */) return null;
    out.push(text.slice(from, j + 1));
    i = j + 2;
  }
  // the top-level items array closes the frame (a nested "items" key elsewhere does not)
  if (text.charCodeAt(i) !== 0x5d || text.slice(i + 1).trim() !== '}') return null;
  return out.length === items.length ? out : null;
}

export async function storeBatch(
  store: Store,
  metrics: ServerMetrics,
  sensorId: string,
  hostname: string | null,
  batch: Pick<BatchFrame, 'items' | 'exact'>,
  frameText?: string,
): Promise<void> {
  const recs = batchRecords(batch, frameText);
  const r = await store.ingest(sensorId, hostname, recs);
  let alerts = 0;
  let records = 0;
  let aggregates = 0;
  for (const x of recs) {
    if (x.kind === 'a') alerts++;
    else if (x.kind === 'r') records++;
    else if (x.kind === 'g') aggregates++;
  }
  if (r.inserted) {
    // Approximation of the split when part of a batch was a duplicate.
    const a = Math.min(alerts, r.inserted);
    const p = Math.min(records, r.inserted - a);
    const g = Math.min(aggregates, r.inserted - a - p);
    metrics.ingestedEvents.inc({ kind: 'event' }, r.inserted - a - p - g);
    if (a) metrics.ingestedEvents.inc({ kind: 'alert' }, a);
    if (p) metrics.ingestedEvents.inc({ kind: 'record' }, p);
    if (g) metrics.ingestedEvents.inc({ kind: 'aggregate' }, g);
  }
  if (r.duplicates) metrics.duplicates.inc(r.duplicates);
}

export class DirectIngestor implements Ingestor {
  constructor(
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
  ) {}
  submit(sensorId: string, hostname: string | null, batch: BatchFrame, frameText: string): Promise<void> {
    return storeBatch(this.store, this.metrics, sensorId, hostname, batch, frameText);
  }
  async close(): Promise<void> {}
}
