// SensorUplink: the sensor side of the transport. Capture calls `push(event)` / `pushAlert(alert)`
// synchronously; the record is redacted, serialised and appended to the bounded on-disk spool
// (never waiting for disk or network). A flush timer writes the spool and pumps batches to the
// server over an outbound WebSocket with mutual TLS (subprotocol vigil.v1), keeping a window of
// unacknowledged batches in flight. Acks advance the spool's acked seq (persisted), so after a
// reconnect or a sensor restart sending resumes right after the last ack; the server dedupes
// (sensor, seq) so resent records are stored once. Drop counts (spool, kernel, user space) travel
// in `hello` and in `stats` frames as soon as they change.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import WebSocket from 'ws';
import { mayHoldSecret, redactValue, stringifyRedacted } from '../common/redact.ts';
import { mayHoldBigInt, parseExact, stringifyJson } from '../wire/exact-json.ts';
import { VigilError } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { enroll, loadCredentials, type SensorCredentials } from './enroll.ts';
import {
  CloseCode,
  PROTO_VERSION,
  STREAM_PATH,
  SUBPROTOCOL,
  encodeBatch,
  encodeHello,
  encodeItem,
  encodeStats,
  MAX_AGGREGATE_ROWS,
  parseServerFrame,
  type Drops,
  type Kind,
  type ServerFrame,
} from '../wire/protocol.ts';
import { Spool } from './spool.ts';
import { RECORD_RESEND_MS, capsRecordJson, compactEventJson, procRecordJson, recordItemJson } from '../wire/compact.ts';

/** Process records remembered by content (see push). */
const CONTENT_REFS = 4096;
import type { AggRow } from '../insights/aggregate.ts';

export interface SensorUplinkOptions {
  /** SENSOR_DIR: credentials and spool live here. */
  dir: string;
  /** https://host:port of a vigil server (needed for the first start; later read from SENSOR_DIR). */
  server?: string;
  /** Failover list of server URLs (same CA); tried in turn when a connection fails. */
  servers?: string[];
  /** One-time enrollment token (first start only). */
  token?: string;
  /** Trust anchor for enrollment; by default the CA is fetched and pinned with the token's fingerprint. */
  caPem?: string;
  caFile?: string;
  hostname?: string;
  version?: string;
  /** Spool bound in bytes (default 256 MiB). When full the oldest unacknowledged data is dropped. */
  spoolMaxBytes?: number;
  segmentBytes?: number;
  batchMaxItems?: number;
  batchMaxBytes?: number;
  /** Batches sent and not yet acknowledged (default 8). */
  maxInflight?: number;
  flushIntervalMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Deflate batches on the WebSocket (permessage-deflate; default true). */
  compress?: boolean;
  /** Events as compact events referencing process records (default true; src/wire/compact.ts). */
  compact?: boolean;
  /** Redact credentials in every string field before spooling (default true; only tests turn it off). */
  redact?: boolean;
  logger?: Logger;
  /** For tests of version negotiation only. */
  subprotocol?: string;
  protoVersion?: number;
}

export interface UplinkCounters {
  sensorId: string | null;
  connected: boolean;
  pushed: number; // events and alerts accepted by push/pushAlert in this process
  records: number; // process records spooled in this process (compact events reference them)
  spoolBytes: number; // bytes in the spool (unacknowledged + not yet deleted)
  spoolRecords: number; // records not yet acknowledged
  dropped: number; // records dropped by the spool bound (cumulative, persisted)
  sent: number; // records sent (resends included) in this process
  acked: number; // records acknowledged in this process
  lastAckedSeq: number;
  lastSeq: number;
  reconnects: number;
  kernelDrops: number;
  userDrops: number;
  lastError: string | null;
  lastCloseCode: number | null;
}

export class SensorUplink extends EventEmitter {
  private readonly o: Required<
    Pick<SensorUplinkOptions, 'batchMaxItems' | 'batchMaxBytes' | 'maxInflight' | 'flushIntervalMs' | 'reconnectMinMs' | 'reconnectMaxMs'>
  > &
    SensorUplinkOptions;
  private readonly spool: Spool;
  private readonly log: Logger;
  private creds?: SensorCredentials;
  private ws?: WebSocket;
  private ready = false;
  private inflight: number[] = [];
  private closed = false;
  private started = false;
  private timer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private wakeLoop?: () => void;
  private kernelDrops = 0;
  private userDrops = 0;
  private reported = '';
  private readonly c = { pushed: 0, records: 0, sent: 0, acked: 0, reconnects: 0, lastError: null as string | null, lastCloseCode: null as number | null };
  private immediate = false;
  private serverIdx = 0;
  private limitItems = Infinity;
  private limitBytes = Infinity;

  constructor(opts: SensorUplinkOptions) {
    super();
    this.o = {
      batchMaxItems: 1000,
      batchMaxBytes: 1024 * 1024,
      maxInflight: 8,
      flushIntervalMs: 20,
      reconnectMinMs: 200,
      reconnectMaxMs: 10_000,
      ...opts,
    };
    this.log = opts.logger ?? createLogger({ name: 'vigil-uplink' });
    this.spool = new Spool(opts.dir, { maxBytes: opts.spoolMaxBytes ?? 256 * 1024 * 1024, segmentBytes: opts.segmentBytes });
    this.creds = loadCredentials(opts.dir);
    this.timer = setInterval(() => this.tick(), this.o.flushIntervalMs);
    this.timer.unref();
  }

  get sensorId(): string | null {
    return this.creds?.sensorId ?? null;
  }

  /** Enrolls when needed (throws on a refused token) and starts connecting in the background. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.creds) {
      if (!this.o.server || !this.o.token) throw new VigilError('VIGIL_E_CONFIG', 'not enrolled: server and token are required for the first start');
      const caPem = this.o.caPem ?? (this.o.caFile ? readFileSync(this.o.caFile, 'utf8') : undefined);
      this.creds = await enroll({ server: this.o.server, token: this.o.token, dir: this.o.dir, hostname: this.o.hostname, caPem });
      this.log.info({ sensor: this.creds.sensorId }, 'enrolled');
    }
    this.loop = this.connectLoop();
  }

  /**
   * Queues an event. Synchronous; never blocks. Returns false if the record was dropped. Unless
   * `compact: false`, the event travels compact (src/wire/compact.ts): each process object it
   * shares with other events (proc, user, container, ...) is spooled once as a process record ("r")
   * and the event ("c") references it by the record's seq.
   */
  push(event: object): boolean {
    if (this.o.compact === false) return this.append('e', event);
    if (this.spool.dropped !== this.refsAtDrops) {
      // records may have been dropped with the oldest spool segments: send them again
      this.refs = new WeakMap();
      this.byContent.clear();
      this.capsRefs.clear();
      this.refsAtDrops = this.spool.dropped;
    }
    const now = Date.now();
    const time = (event as { evt?: { time?: unknown } }).evt?.time;
    const json = compactEventJson(
      event,
      (key, obj) => {
        const hit = this.refs.get(obj);
        if (hit !== undefined && now - hit.at < RECORD_RESEND_MS) return hit.seq;
        // a new object with the content of a record already sent (a view rebuilt unchanged, or a
        // caller that does not share objects) reuses that record
        const text = key === 'proc' ? procRecordJson(this.stringify(obj)) : this.stringify(obj);
        const ck = `${key}\u0000${text}`;
        const same = this.byContent.get(ck);
        if (same !== undefined && now - same.at < RECORD_RESEND_MS) {
          this.refs.set(obj, same);
          return same.seq;
        }
        const ref = { seq: this.spoolRecord(recordItemJson(time, key, text)), at: now };
        if (ref.seq === 0) return 0; // not queued (oversized, or closing): the event carries the object
        this.refs.set(obj, ref);
        this.byContent.delete(ck);
        this.byContent.set(ck, ref);
        if (this.byContent.size > CONTENT_REFS) this.byContent.delete(this.byContent.keys().next().value!);
        this.c.records++;
        return ref.seq;
      },
      this.stringify,
      (eff, prm, inh) => {
        // the three strings are the same string objects for every event of a process view, so
        // these lookups hash each once
        if (this.capsRefs.size > 256) this.capsRefs.clear(); // bounded; distinct sets are few
        let a = this.capsRefs.get(eff);
        if (!a) this.capsRefs.set(eff, (a = new Map()));
        let b = a.get(prm);
        if (!b) a.set(prm, (b = new Map()));
        const hit = b.get(inh);
        if (hit !== undefined && now - hit.at < RECORD_RESEND_MS) return hit.seq;
        const ref = {
          seq: this.spoolRecord(recordItemJson(time, 'caps', capsRecordJson(eff, prm, inh, this.stringify))),
          at: now,
        };
        if (ref.seq === 0) return 0;
        b.set(inh, ref);
        this.c.records++;
        return ref.seq;
      },
    );
    return this.spoolJson('c', json);
  }

  /** Capability-set records by their three strings (few distinct values on a host). */
  private capsRefs = new Map<string, Map<string, Map<string, { seq: number; at: number }>>>();

  /** Record ids of the process objects already spooled (by object identity; see push). */
  private refs = new WeakMap<object, { seq: number; at: number }>();
  private refsAtDrops = 0;
  /** The same by content (bounded, oldest first out). */
  private readonly byContent = new Map<string, { seq: number; at: number }>();
  private readonly stringify = (v: unknown): string => (this.o.redact === false ? JSON.stringify(v) : stringifyRedacted(v));

  private spoolRecord(json: string): number {
    if (this.closed) return 0;
    return this.spool.append('r', json);
  }

  /** Queues an alert (Falco json_output shape). */
  pushAlert(alert: object): boolean {
    return this.append('a', alert);
  }

  /**
   * Queues an alert already serialised (its one JSON line, from the run-time bus): spooled as is
   * when the line cannot hold a credential, else the object is serialised redacted.
   */
  pushAlertLine(json: string, alert: object): boolean {
    if (this.o.redact === false || !mayHoldSecret(json)) return this.spoolJson('a', json);
    // the line writes 64-bit values (evt.time in output_fields) as bare digits, which the object of an
    // alert parsed from a worker's line no longer holds exactly: redact from the line, exactly
    return this.spoolJson('a', mayHoldBigInt(json) ? stringifyJson(redactValue(parseExact(json))) : stringifyRedacted(alert));
  }

  /** Queues an event already serialised as one JSON line (e.g. the sensor's eventToJson text), same redaction rule as alerts. */
  pushEventLine(json: string, event: object): boolean {
    if (this.o.redact === false || !mayHoldSecret(json)) return this.spoolJson('e', json);
    return this.spoolJson('e', mayHoldBigInt(json) ? stringifyJson(redactValue(parseExact(json))) : stringifyRedacted(event));
  }

  /** The hostname the server is told in hello (it names host workloads: src/insights/workload.ts). */
  get hostname(): string | null {
    return (this.o.hostname ?? os.hostname()).slice(0, 255) || null;
  }

  /**
   * Queues insight aggregate rows (src/insights/aggregate.ts) as items of kind 'g', at most
   * MAX_AGGREGATE_ROWS rows each; redacted like events. Returns how many rows the spool refused.
   */
  pushAggregates(rows: readonly AggRow[]): number {
    let refused = 0;
    for (let i = 0; i < rows.length; i += MAX_AGGREGATE_ROWS) {
      const part = rows.slice(i, i + MAX_AGGREGATE_ROWS);
      if (!this.append('g', { rows: part })) refused += part.length;
    }
    return refused;
  }

  private append(kind: Kind, doc: object): boolean {
    return this.spoolJson(kind, this.o.redact === false ? JSON.stringify(doc) : stringifyRedacted(doc));
  }

  private spoolJson(kind: Kind, json: string): boolean {
    if (this.closed) return false;
    const seq = this.spool.append(kind, json);
    this.c.pushed++;
    if (!this.immediate && this.spool.pendingBytes >= 256 * 1024) {
      this.immediate = true;
      setImmediate(() => {
        this.immediate = false;
        this.tick();
      });
    }
    return seq !== 0;
  }

  /** Kernel / user-space drop counters of the sensor (cumulative); reported to the server. */
  setDrops(d: { kernel?: number; user?: number }): void {
    if (d.kernel !== undefined) this.kernelDrops = d.kernel;
    if (d.user !== undefined) this.userDrops = d.user;
  }

  counters(): UplinkCounters {
    return {
      sensorId: this.sensorId,
      connected: this.ready,
      pushed: this.c.pushed,
      records: this.c.records,
      spoolBytes: this.spool.bytes,
      spoolRecords: this.spool.unacked,
      dropped: this.spool.dropped,
      sent: this.c.sent,
      acked: this.c.acked,
      lastAckedSeq: this.spool.acked,
      lastSeq: this.spool.lastSeq,
      reconnects: this.c.reconnects,
      kernelDrops: this.kernelDrops,
      userDrops: this.userDrops,
      lastError: this.c.lastError,
      lastCloseCode: this.c.lastCloseCode,
    };
  }

  /** Resolves when everything pushed so far is acknowledged (false on timeout). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const target = this.spool.lastSeq;
    const deadline = Date.now() + timeoutMs;
    while (this.spool.acked < target) {
      if (Date.now() > deadline || this.closed) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Stops sending; unacknowledged records stay in the spool for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wakeLoop?.();
    this.ws?.close(CloseCode.NORMAL, 'sensor stopping');
    await this.loop?.catch(() => undefined);
    this.spool.close();
  }

  private drops(): Drops {
    return { kernel: this.kernelDrops, user: this.userDrops, spool: this.spool.dropped };
  }

  private tick(): void {
    try {
      this.spool.flush();
    } catch (e) {
      this.c.lastError = `spool: ${(e as Error).message}`;
      this.log.error({ err: (e as Error).message }, 'spool flush failed');
    }
    if (this.ready) {
      const d = this.drops();
      const key = `${d.kernel}/${d.user}/${d.spool}`;
      if (key !== this.reported) {
        this.reported = key;
        this.ws!.send(encodeStats(d));
      }
      this.pump();
    }
  }

  private pump(): void {
    const ws = this.ws;
    if (!this.ready || !ws || !this.creds) return;
    while (this.inflight.length < this.o.maxInflight && ws.bufferedAmount < 8 * 1024 * 1024) {
      const recs = this.spool.read(this.spool.sentSeq, Math.min(this.o.batchMaxItems, this.limitItems), Math.min(this.o.batchMaxBytes, this.limitBytes));
      if (recs.length === 0) break;
      const first = recs[0]!.seq;
      const last = recs[recs.length - 1]!.seq;
      let body = '';
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!;
        body += i ? `,${encodeItem(r.seq, r.kind, r.payload)}` : encodeItem(r.seq, r.kind, r.payload);
      }
      ws.send(encodeBatch(this.creds.sensorId, first, last, body));
      this.spool.sentSeq = last;
      this.inflight.push(last);
      this.c.sent += recs.length;
    }
  }

  private async connectLoop(): Promise<void> {
    let backoff = this.o.reconnectMinMs;
    while (!this.closed) {
      const t0 = Date.now();
      let ok = false;
      try {
        await this.connectOnce();
        ok = true;
      } catch (e) {
        const list = this.o.servers ?? [];
        if (list.length > 1) this.serverIdx = (this.serverIdx + 1) % list.length;
        this.c.lastError = (e as Error).message;
        this.log.warn({ err: (e as Error).message }, 'uplink connection failed');
      }
      if (this.closed) break;
      if (!ok && (this.o.servers?.length ?? 0) > 1 && this.serverIdx !== 0) {
        // Try the next server of the list right away.
        this.c.reconnects++;
        continue;
      }
      if (this.c.lastCloseCode === CloseCode.REVOKED || this.c.lastError?.includes('403')) {
        this.emit('revoked');
        this.log.error('sensor certificate refused (revoked?); retrying slowly');
        backoff = this.o.reconnectMaxMs;
      } else if (Date.now() - t0 > 10_000) backoff = this.o.reconnectMinMs;
      const wait = Math.min(backoff, this.o.reconnectMaxMs) * (0.75 + Math.random() * 0.5);
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.wakeLoop = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(backoff * 2, this.o.reconnectMaxMs);
      this.c.reconnects++;
    }
  }

  private connectOnce(): Promise<void> {
    const creds = this.creds!;
    const base = this.o.servers?.length ? this.o.servers[this.serverIdx % this.o.servers.length]! : creds.server;
    const url = base.replace(/^http/, 'ws').replace(/\/+$/, '') + STREAM_PATH;
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, [this.o.subprotocol ?? SUBPROTOCOL], {
        ca: creds.caPem,
        cert: creds.certPem,
        key: creds.keyPem,
        handshakeTimeout: 10_000,
        // batches are deflated (RFC 7692, level 1, the window kept between batches: repeated
        // paths, types and field names cost a few bytes); `compress: false` turns it off
        perMessageDeflate: this.o.compress === false ? false : { threshold: 512, zlibDeflateOptions: { level: 1 } },
        maxPayload: 1024 * 1024,
      });
      this.ws = ws;
      let opened = false;
      let watchdog: NodeJS.Timeout | undefined;
      const alive = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ws.terminate(), 45_000);
        watchdog.unref();
      };
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          reject(new Error(`server refused the connection: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
          ws.terminate();
        });
      });
      ws.on('open', () => {
        opened = true;
        alive();
        this.inflight = [];
        this.spool.sentSeq = this.spool.acked;
        ws.send(
          encodeHello({
            proto: this.o.protoVersion ?? PROTO_VERSION,
            sensor: creds.sensorId,
            hostname: this.o.hostname ?? os.hostname(),
            version: this.o.version ?? '0.1.0',
            drops: this.drops(),
          }),
        );
      });
      ws.on('ping', alive);
      ws.on('message', (data) => {
        alive();
        let f: ServerFrame | undefined;
        try {
          f = parseServerFrame(data.toString());
        } catch {
          ws.close(CloseCode.MALFORMED, 'bad server frame');
          return;
        }
        if (f?.type === 'welcome') {
          if (this.spool.ensureNextAbove(f.maxSeq)) {
            this.log.warn({ serverMaxSeq: f.maxSeq }, 'server holds newer seqs than the local spool (spool state lost?)');
          }
          // Respect the server's limits (frame overhead: ~40 bytes per item plus the envelope).
          this.limitItems = f.maxBatchItems > 0 ? f.maxBatchItems : Infinity;
          this.limitBytes = f.maxFrameBytes > 0 ? Math.floor(f.maxFrameBytes * 0.8) - 4096 : Infinity;
          const d = this.drops();
          this.reported = `${d.kernel}/${d.user}/${d.spool}`;
          this.ready = true;
          this.c.lastError = null;
          this.emit('connected');
          this.log.info({ server: f.server }, 'uplink connected');
          this.pump();
        } else if (f?.type === 'ack') {
          const n = this.spool.ack(f.last);
          this.c.acked += n;
          while (this.inflight.length && this.inflight[0]! <= f.last) this.inflight.shift();
          this.emit('ack', f.last);
          this.pump();
        }
      });
      ws.on('close', (code, reason) => {
        clearTimeout(watchdog);
        const wasReady = this.ready;
        this.ready = false;
        this.inflight = [];
        this.spool.connectionLost();
        this.c.lastCloseCode = code;
        if (code !== CloseCode.NORMAL && code !== 1005) this.c.lastError = `closed ${code} ${reason.toString()}`;
        if (wasReady) this.emit('disconnected', code, reason.toString());
        this.log.info({ code, reason: reason.toString() }, 'uplink disconnected');
        if (opened) resolve();
      });
      ws.on('error', (err) => {
        if (!opened) reject(err);
        else this.log.warn({ err: err.message }, 'uplink socket error');
      });
    });
  }
}
