// Process records in the store (see src/wire/compact.ts): the `records` table keeps each record a
// sensor sent (wire item "r": {"t": evt.time, "k": "proc", "v": {...}}) by (sensor_id, seq); a
// compact event (item "c") is stored as its compact text, with its columns extracted from the event
// expanded with those records. Reads expand the stored text again. A bounded in-memory cache holds
// the records of recent batches (most references hit it); a miss reads the table. How long records
// are kept: while they can still be referenced. The uplink re-sends a record still in use once it was
// sent RECORD_RESEND_MS ago (by the sensor's clock; a record carries the time of the event it was sent
// with), so every stored event references a record at most about that much older than itself;
// retention deletes records older than the oldest event left minus twice that.
import { RECORD_RESEND_MS, deriveRecordObject, deriveRecordText, expandEventJson, expandEventObject, recordRefs, topLevelMembers } from '../wire/compact.ts';
import type { IngestRecord } from './types.ts';

/** Records older than the oldest stored event minus this are deleted by retention. */
export const RECORD_KEEP_MARGIN_NS = BigInt(2 * RECORD_RESEND_MS) * 1_000_000n;

export interface RecordRow {
  sensor_id: string;
  seq: number;
  rkey: string;
  time_ns: bigint;
  data: string;
}

export const RECORD_COLUMNS: (keyof RecordRow)[] = ['sensor_id', 'seq', 'rkey', 'time_ns', 'data'];

interface Cached {
  obj: Record<string, unknown>;
  json: string;
}

/**
 * Bounded cache of parsed records, keyed by sensor and seq: two generations (a record read from the
 * older one moves to the newer; when the newer holds half the bound, the older is dropped), so a
 * lookup is two number-keyed map reads, without LRU bookkeeping per hit.
 */
export class RecordCache {
  private cur = new Map<string, Map<number, Cached>>();
  private old = new Map<string, Map<number, Cached>>();
  private n = 0;
  hits = 0;
  misses = 0;
  constructor(private readonly max = 200_000) {}
  get(sensor: string, seq: number): Cached | undefined {
    const v = this.cur.get(sensor)?.get(seq);
    if (v !== undefined) return v;
    const o = this.old.get(sensor)?.get(seq);
    if (o !== undefined) this.set(sensor, seq, o);
    return o;
  }
  set(sensor: string, seq: number, v: Cached): void {
    if (this.n >= this.max >> 1) {
      this.old = this.cur;
      this.cur = new Map();
      this.n = 0;
    }
    let m = this.cur.get(sensor);
    if (!m) this.cur.set(sensor, (m = new Map()));
    if (!m.has(seq)) this.n++;
    m.set(seq, v);
  }
  clear(): void {
    this.cur.clear();
    this.old.clear();
    this.n = 0;
  }
}

/** Reads records of one sensor from the table: seq -> JSON text of the record. */
export type RecordLoader = (sensor: string, seqs: number[]) => Promise<Map<number, string>>;

export interface PreparedBatch {
  /** events and alerts in the shape the stores have always ingested ('e' with a full object) */
  rows: IngestRecord[];
  records: RecordRow[];
  /** references to records neither the batch, the cache nor the table had */
  unknown: number;
}

/**
 * Turns a batch of one sensor into what the store writes: records into RecordRows (and the cache),
 * compact events into 'e' records whose `data` is the expanded object (for column extraction) and
 * whose `json` stays the compact text (what is stored).
 */
export async function prepareBatch(sensor: string, recs: IngestRecord[], cache: RecordCache, load: RecordLoader): Promise<PreparedBatch> {
  const out: IngestRecord[] = [];
  const records: RecordRow[] = [];
  let hasCompact = false;
  for (const r of recs) {
    if (r.kind === 'r') {
      const d = r.data as { t?: unknown; k?: unknown; v?: unknown };
      const v = d.v !== null && typeof d.v === 'object' && !Array.isArray(d.v) ? (d.v as Record<string, unknown>) : {};
      const vText = (r.json !== undefined ? topLevelMembers(r.json)?.find(([k]) => k === 'v')?.[1] : undefined) ?? JSON.stringify(v);
      const t = typeof d.t === 'string' && /^\d{1,19}$/.test(d.t) ? BigInt(d.t) : 0n;
      // stored as sent (a process record's cmdline may be derived: null); cached whole
      records.push({ sensor_id: sensor, seq: r.seq, rkey: typeof d.k === 'string' ? d.k : '', time_ns: t, data: vText });
      cache.set(sensor, r.seq, { obj: deriveRecordObject(v), json: deriveRecordText(vText) });
    } else if (r.kind === 'c') hasCompact = true;
  }
  let unknown = 0;
  if (hasCompact) {
    const need = new Set<number>();
    for (const r of recs) {
      if (r.kind !== 'c') continue;
      for (const k in r.data) {
        let v = r.data[k];
        if (k === 'thread' && v !== null && typeof v === 'object') v = (v as { caps?: unknown }).caps;
        if (typeof v === 'number' && cache.get(sensor, v) === undefined) need.add(v);
      }
    }
    if (need.size) {
      cache.misses += need.size;
      const got = await load(sensor, [...need]);
      for (const [seq, json] of got)
        cache.set(sensor, seq, { obj: deriveRecordObject(JSON.parse(json) as Record<string, unknown>), json: deriveRecordText(json) });
    }
  }
  for (const r of recs) {
    if (r.kind === 'r') continue;
    if (r.kind !== 'c') {
      out.push(r);
      continue;
    }
    const full = expandEventObject(r.data, (id) => {
      const c = cache.get(sensor, id);
      if (c === undefined) unknown++;
      else cache.hits++;
      return c?.obj;
    });
    out.push({ seq: r.seq, kind: 'e', data: full, json: r.json ?? JSON.stringify(r.data) });
  }
  return { rows: out, records, unknown };
}

/**
 * Expands a page of stored event texts (compact or full) of possibly several sensors: the records
 * they reference come from the cache or, in one read per sensor, from the table. Returns the full
 * texts and how many references were unknown.
 */
export async function expandPage(
  items: { sensor: string; data: string }[],
  cache: RecordCache,
  load: RecordLoader,
): Promise<{ items: string[]; unknown: number }> {
  const need = new Map<string, Set<number>>();
  const refs = items.map((it) => recordRefs(it.data));
  items.forEach((it, i) => {
    for (const { id } of refs[i]!) {
      if (cache.get(it.sensor, id) !== undefined) continue;
      let s = need.get(it.sensor);
      if (!s) need.set(it.sensor, (s = new Set()));
      s.add(id);
    }
  });
  const loaded = new Map<string, Map<number, string>>();
  for (const [sensor, seqs] of need) loaded.set(sensor, await load(sensor, [...seqs]));
  let unknown = 0;
  const out = items.map((it, i) => {
    if (refs[i]!.length === 0) return it.data;
    const r = expandEventJson(it.data, (id) => {
      const c = cache.get(it.sensor, id)?.json;
      if (c !== undefined) return c;
      const l = loaded.get(it.sensor)?.get(id);
      return l === undefined ? undefined : deriveRecordText(l);
    });
    unknown += r.missing;
    return r.json;
  });
  return { items: out, unknown };
}
