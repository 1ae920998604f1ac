// Sensor <-> server wire protocol `vigil.v1` (WebSocket subprotocol, JSON text frames, mutual TLS):
// frame types, limits, close codes and the codecs of every frame in both directions. The one module
// both the sensor uplink (src/uplink) and the server (src/server) import for the protocol; it
// imports nothing from src but its sibling exact-json.ts (documents keep 64-bit integers exact).
// See docs/backend.md for the full description.
import { mayHoldBigInt, parseJson } from './exact-json.ts';
import { compactItemError, recordItemError } from './compact.ts';

export const SUBPROTOCOL = 'vigil.v1';
export const PROTO_VERSION = 1;
export const STREAM_PATH = '/api/v1/stream';

/** Server-side limits (the server tells the sensor in `welcome`). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_ITEMS = 5000;

/** WebSocket close codes used by Vigil (4000-4999 are application codes). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001, // server shutting down
  TOO_BIG: 1009, // frame larger than maxFrameBytes (sent by the ws library)
  MALFORMED: 4400, // not JSON / not a valid frame / sequence rules violated
  UNAUTHENTICATED: 4401,
  REVOKED: 4403, // sensor certificate revoked
  UNSUPPORTED_VERSION: 4406, // subprotocol or `proto` not supported
  REPLACED: 4409, // the same sensor opened a newer connection
  BATCH_TOO_LARGE: 4413, // more items than maxBatchItems
  HELLO_TIMEOUT: 4408,
  INTERNAL: 4500, // storage failed; the sensor retries (nothing was acked)
} as const;

/** Item kinds: e = event (full), a = alert, c = compact event, r = process record (src/wire/compact.ts), g = insight aggregates (see aggregateItemError). */
export type Kind = 'e' | 'a' | 'c' | 'r' | 'g';
const KINDS = new Set<unknown>(['e', 'a', 'c', 'r', 'g']);
/** One spooled record on the wire: [seq, kind, document]. */
export type WireItem = [number, Kind, Record<string, unknown>];

export interface Drops {
  kernel: number;
  user: number;
  spool: number;
}

export interface HelloFrame {
  type: 'hello';
  proto: number;
  sensor: string;
  hostname: string;
  version: string;
  drops: Drops;
}
export interface BatchFrame {
  type: 'batch';
  sensor: string;
  first: number;
  last: number;
  items: WireItem[];
  /** set by parseClientFrame when the documents hold integers beyond 2^53 (as bigint): write them with stringifyJson */
  exact?: true;
}
export interface StatsFrame {
  type: 'stats';
  drops: Drops;
}
export type ClientFrame = HelloFrame | BatchFrame | StatsFrame;

export interface WelcomeFrame {
  type: 'welcome';
  proto: number;
  server: string;
  maxSeq: number; // highest seq of this sensor the server has stored
  maxBatchItems: number;
  maxFrameBytes: number;
}
export interface AckFrame {
  type: 'ack';
  last: number; // every record up to and including this seq sent on this connection is stored
}
export type ServerFrame = WelcomeFrame | AckFrame;

export class ProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function drops(v: unknown): Drops {
  const d = v as Partial<Drops> | undefined;
  if (!d || typeof d !== 'object') throw new ProtocolError(CloseCode.MALFORMED, 'drops must be an object');
  const out = { kernel: d.kernel ?? 0, user: d.user ?? 0, spool: d.spool ?? 0 };
  if (!isCount(out.kernel) || !isCount(out.user) || !isCount(out.spool)) throw new ProtocolError(CloseCode.MALFORMED, 'drops must be non-negative integers');
  return out;
}

/** Parses and validates a client frame; throws ProtocolError with the close code to use. */
export function parseClientFrame(text: string, maxBatchItems: number): ClientFrame {
  let f: Record<string, unknown>;
  try {
    f = parseJson(text) as Record<string, unknown>;
  } catch {
    throw new ProtocolError(CloseCode.MALFORMED, 'frame is not valid JSON');
  }
  if (!f || typeof f !== 'object' || Array.isArray(f)) throw new ProtocolError(CloseCode.MALFORMED, 'frame must be a JSON object');
  switch (f.type) {
    case 'hello': {
      if (f.proto !== PROTO_VERSION)
        throw new ProtocolError(CloseCode.UNSUPPORTED_VERSION, `unsupported protocol version ${String(f.proto)}; server speaks ${PROTO_VERSION}`);
      if (typeof f.sensor !== 'string') throw new ProtocolError(CloseCode.MALFORMED, 'hello.sensor must be a string');
      return {
        type: 'hello',
        proto: PROTO_VERSION,
        sensor: f.sensor,
        hostname: typeof f.hostname === 'string' ? f.hostname.slice(0, 255) : '',
        version: typeof f.version === 'string' ? f.version.slice(0, 64) : '',
        drops: drops(f.drops ?? {}),
      };
    }
    case 'stats':
      return { type: 'stats', drops: drops(f.drops) };
    case 'batch': {
      const items = f.items;
      if (typeof f.sensor !== 'string' || !isCount(f.first) || !isCount(f.last) || !Array.isArray(items)) {
        throw new ProtocolError(CloseCode.MALFORMED, 'batch needs sensor, first, last and items');
      }
      if (items.length === 0) throw new ProtocolError(CloseCode.MALFORMED, 'batch has no items');
      if (items.length > maxBatchItems) throw new ProtocolError(CloseCode.BATCH_TOO_LARGE, `batch has ${items.length} items; the limit is ${maxBatchItems}`);
      let prev = 0;
      for (let i = 0; i < items.length; i++) {
        const it = items[i] as unknown;
        if (!Array.isArray(it) || it.length !== 3) throw new ProtocolError(CloseCode.MALFORMED, `item ${i} must be [seq, kind, document]`);
        const [seq, kind, doc] = it as [unknown, unknown, unknown];
        if (!isCount(seq) || seq <= prev) throw new ProtocolError(CloseCode.MALFORMED, `item ${i}: seq must increase`);
        if (!KINDS.has(kind)) throw new ProtocolError(CloseCode.MALFORMED, `item ${i}: kind must be "e", "a", "c", "r" or "g"`);
        if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ProtocolError(CloseCode.MALFORMED, `item ${i}: document must be an object`);
        const err =
          kind === 'g'
            ? aggregateItemError(doc as Record<string, unknown>)
            : kind === 'r'
              ? recordItemError(doc as Record<string, unknown>)
              : kind === 'c'
                ? compactItemError(doc as Record<string, unknown>, seq)
                : null;
        if (err) throw new ProtocolError(CloseCode.MALFORMED, `item ${i} (seq ${seq}): ${err}`);
        prev = seq;
      }
      if ((items[0] as WireItem)[0] !== f.first || prev !== f.last) throw new ProtocolError(CloseCode.MALFORMED, 'batch first/last do not match its items');
      const batch: BatchFrame = { type: 'batch', sensor: f.sensor, first: f.first, last: f.last, items: items as WireItem[] };
      if (mayHoldBigInt(text)) batch.exact = true;
      return batch;
    }
    default:
      throw new ProtocolError(CloseCode.MALFORMED, `unknown frame type ${JSON.stringify(f.type)}`);
  }
}

/** Rows per aggregate item at most (the sensor splits a larger flush into several items). */
export const MAX_AGGREGATE_ROWS = 1000;
/** The ops of aggregate rows and the row length (mirrors of src/insights/aggregate.ts, checked by a test). */
export const AGGREGATE_OPS: readonly string[] = ['evt', 'net', 'file', 'exec', 'cap', 'policy'];
export const AGGREGATE_ROW_LEN = 16;
const AGG_OP_NAMES = new Set(AGGREGATE_OPS);
const NS_TEXT = /^(0|[1-9]\d{0,18})$/;

/**
 * The document of an aggregate item (kind 'g'): `{"rows": [row, ...]}`, 1..MAX_AGGREGATE_ROWS rows,
 * each `[workload_id, bucket, op, a, b, c, d, e, port, pol, n, denied, s1, s2, first_ns, last_ns]`
 * (src/insights/aggregate.ts, AggRow): strings or null for the resource fields, counts as
 * non-negative safe integers (n >= 1, denied <= n), port null or 0..65535, first/last ns as decimal
 * strings with first <= last. Returns what is wrong (row and field), or null when valid.
 */
export function aggregateItemError(doc: Record<string, unknown>): string | null {
  const rows = doc.rows;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > MAX_AGGREGATE_ROWS)
    return `aggregate document needs "rows": an array of 1..${MAX_AGGREGATE_ROWS} rows`;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as unknown[];
    const at = `aggregate row ${i}`;
    if (!Array.isArray(r) || r.length !== AGGREGATE_ROW_LEN) return `${at}: expected an array of ${AGGREGATE_ROW_LEN} fields`;
    if (typeof r[0] !== 'string' || r[0] === '') return `${at} field 0 (workload_id): expected a non-empty string`;
    if (!isCount(r[1])) return `${at} field 1 (bucket): expected a non-negative integer`;
    if (typeof r[2] !== 'string' || !AGG_OP_NAMES.has(r[2])) return `${at} field 2 (op): expected one of ${[...AGG_OP_NAMES].join(', ')}`;
    for (const k of [3, 4, 5, 6, 7, 9]) if (r[k] !== null && typeof r[k] !== 'string') return `${at} field ${k}: expected a string or null`;
    if (r[8] !== null && !(isCount(r[8]) && r[8] <= 65535)) return `${at} field 8 (port): expected null or an integer in 0..65535`;
    if (!isCount(r[10]) || r[10] < 1) return `${at} field 10 (n): expected a positive integer`;
    if (!isCount(r[11]) || r[11] > r[10]) return `${at} field 11 (denied): expected an integer in 0..n`;
    if (!Number.isSafeInteger(r[12]) || !Number.isSafeInteger(r[13])) return `${at} fields 12, 13 (sums): expected integers`;
    if (typeof r[14] !== 'string' || !NS_TEXT.test(r[14])) return `${at} field 14 (first_ns): expected a decimal string`;
    if (typeof r[15] !== 'string' || !NS_TEXT.test(r[15])) return `${at} field 15 (last_ns): expected a decimal string`;
    const f = r[14],
      l = r[15];
    if (f.length > l.length || (f.length === l.length && f > l)) return `${at}: first_ns is after last_ns`;
  }
  return null;
}

// ---- encoders (one per frame; the batch encoder takes items already serialised, the hot path) ----

export function encodeHello(f: Omit<HelloFrame, 'type'>): string {
  return JSON.stringify({ type: 'hello', proto: f.proto, sensor: f.sensor, hostname: f.hostname, version: f.version, drops: f.drops });
}

export function encodeStats(drops: Drops): string {
  return JSON.stringify({ type: 'stats', drops });
}

/** One item of a batch, `[seq,"kind",document]`, with the document already JSON text. */
export function encodeItem(seq: number, kind: Kind, json: string): string {
  return `[${seq},"${kind}",${json}]`;
}

/** A batch frame from items encoded with encodeItem and joined with commas. */
export function encodeBatch(sensor: string, first: number, last: number, itemsJson: string): string {
  return `{"type":"batch","sensor":${JSON.stringify(sensor)},"first":${first},"last":${last},"items":[${itemsJson}]}`;
}

export function encodeWelcome(f: Omit<WelcomeFrame, 'type'>): string {
  return JSON.stringify({
    type: 'welcome',
    proto: f.proto,
    server: f.server,
    maxSeq: f.maxSeq,
    maxBatchItems: f.maxBatchItems,
    maxFrameBytes: f.maxFrameBytes,
  });
}

export function encodeAck(last: number): string {
  return `{"type":"ack","last":${last}}`;
}

/**
 * Parses a server frame (sensor side): the frame, or undefined for a frame type this version does
 * not know (ignored, so a newer server may add frames); throws ProtocolError(MALFORMED) otherwise.
 */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ProtocolError(CloseCode.MALFORMED, 'bad server frame');
  }
  if (!f || typeof f !== 'object' || Array.isArray(f)) throw new ProtocolError(CloseCode.MALFORMED, 'bad server frame');
  if (f.type === 'ack') {
    if (!isCount(f.last)) throw new ProtocolError(CloseCode.MALFORMED, 'ack.last must be a non-negative integer');
    return { type: 'ack', last: f.last };
  }
  if (f.type === 'welcome') {
    if (!isCount(f.maxSeq) || typeof f.maxBatchItems !== 'number' || typeof f.maxFrameBytes !== 'number')
      throw new ProtocolError(CloseCode.MALFORMED, 'welcome needs maxSeq, maxBatchItems and maxFrameBytes');
    return {
      type: 'welcome',
      proto: Number(f.proto),
      server: String(f.server ?? ''),
      maxSeq: f.maxSeq,
      maxBatchItems: f.maxBatchItems,
      maxFrameBytes: f.maxFrameBytes,
    };
  }
  return undefined;
}
