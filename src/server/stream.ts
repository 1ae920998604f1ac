// Sensor stream endpoint (GET /api/v1/stream, WebSocket, subprotocol vigil.v1, mutual TLS).
// Before the upgrade: the client certificate must chain to the Vigil CA, name a sensor (CN =
// sensor id, OU = vigil-sensor) and not be revoked; otherwise the upgrade is refused with 401/403.
// After it: hello -> welcome, then batches; each batch is submitted to the ingestor at once and
// acknowledged in order, only after it is durable. Protocol violations close the connection with
// the codes of src/wire/protocol.ts; other connections are unaffected.
import type { TLSSocket } from 'node:tls';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import {
  CloseCode,
  PROTO_VERSION,
  ProtocolError,
  STREAM_PATH,
  SUBPROTOCOL,
  encodeAck,
  encodeWelcome,
  parseClientFrame,
  type ClientFrame,
  type Drops,
} from '../wire/protocol.ts';
import type { Store } from '../store/types.ts';
import { SENSOR_ID_RE, type DataDirAuth } from './auth.ts';
import type { Ingestor } from './ingest.ts';
import type { Logger } from '../common/log.ts';
import type { ServerMetrics } from './metrics.ts';
import { errors } from './api/schemas.ts';

export interface StreamContext {
  auth: DataDirAuth;
  store: Store;
  ingestor: Ingestor;
  metrics: ServerMetrics;
  log: Logger;
  serverId: string;
  maxFrameBytes: number;
  maxBatchItems: number;
  /** Sees every text frame received from a sensor, before parsing (tests, debugging). */
  frameTap?: (sensor: string, text: string) => void;
}

interface Conn {
  socket: WebSocket;
  sensor: string;
  alive: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    vigilSensor?: { id: string; serial: string };
  }
}

export class StreamHub {
  private readonly conns = new Map<string, Conn>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly ctx: StreamContext) {}

  get connectedCount(): number {
    return this.conns.size;
  }
  isConnected(sensor: string): boolean {
    return this.conns.has(sensor);
  }

  /** Registers GET /api/v1/stream on `app` (a fastify plugin: `app.register((a) => hub.register(a))`). */
  async register(app: FastifyInstance): Promise<void> {
    const ctx = this.ctx;
    const verify = async (req: FastifyRequest, reply: FastifyReply) => {
      const sock = req.raw.socket as TLSSocket;
      const deny = (status: number, code: string, message: string) => {
        ctx.metrics.rejected.inc({ reason: code });
        ctx.log.warn({ remote: req.ip, code }, `sensor connection refused: ${message}`);
        return reply.code(status).send({ code, message });
      };
      if (typeof sock.getPeerCertificate !== 'function') return deny(401, 'unauthorized', 'TLS is required');
      const cert = sock.getPeerCertificate();
      if (!cert || Object.keys(cert).length === 0) return deny(401, 'unauthorized', 'a client certificate is required');
      if (!sock.authorized) return deny(401, 'unauthorized', `client certificate not trusted: ${String(sock.authorizationError)}`);
      const cn = String(cert.subject?.CN ?? '');
      const ou = String(cert.subject?.OU ?? '');
      if (!SENSOR_ID_RE.test(cn) || ou !== 'vigil-sensor') return deny(403, 'forbidden', 'certificate is not a sensor certificate');
      if (ctx.auth.isRevoked(cn)) return deny(403, 'revoked', `sensor ${cn} is revoked`);
      req.vigilSensor = { id: cn, serial: cert.serialNumber };
    };
    const schema = {
      summary: `Sensor stream: WebSocket (subprotocol ${SUBPROTOCOL}) with mutual TLS; frames in src/wire/protocol.ts, see docs/backend.md`,
      tags: ['sensors'],
      response: { 101: Type.Null({ description: 'switching protocols' }), ...errors(401, 403) },
    };
    app.get(STREAM_PATH, { websocket: true, preValidation: verify, config: { scope: 'public' }, schema }, (socket, req) => {
      this.onConnection(socket, req);
    });
    this.timers.push(setInterval(() => this.heartbeat(), 15_000).unref());
    this.timers.push(setInterval(() => this.checkRevoked(), 2_000).unref());
  }

  private heartbeat(): void {
    for (const c of this.conns.values()) {
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
      this.ctx.store.sensorUpdate({ id: c.sensor, connected: true, server: this.ctx.serverId }).catch(() => undefined);
    }
  }

  /** Closes connections of sensors revoked meanwhile (e.g. by `vigil server sensor revoke`). */
  checkRevoked(): void {
    for (const c of this.conns.values()) {
      if (this.ctx.auth.isRevoked(c.sensor)) c.socket.close(CloseCode.REVOKED, 'sensor revoked');
    }
  }

  closeAll(): void {
    for (const t of this.timers) clearInterval(t);
    for (const c of this.conns.values()) c.socket.close(CloseCode.GOING_AWAY, 'server shutting down');
  }

  private onConnection(socket: WebSocket, req: FastifyRequest): void {
    const ctx = this.ctx;
    const sensor = req.vigilSensor!.id;
    const log = ctx.log.child({ sensor, remote: req.ip });
    let hello: { hostname: string } | undefined;
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    let closing = false;
    let conn: Conn | undefined;
    const close = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      log.info({ code }, `closing sensor connection: ${reason}`);
      socket.close(code, reason.slice(0, 120));
    };
    if (socket.protocol !== SUBPROTOCOL) {
      close(CloseCode.UNSUPPORTED_VERSION, `unsupported subprotocol "${socket.protocol}"; server speaks ${SUBPROTOCOL}`);
      return;
    }
    const helloTimer = setTimeout(() => close(CloseCode.HELLO_TIMEOUT, 'no hello within 10s'), 10_000);
    socket.on('pong', () => {
      if (conn) conn.alive = true;
    });
    socket.on('close', (code) => {
      clearTimeout(helloTimer);
      ctx.metrics.closes.inc({ code: String(code) });
      if (conn && this.conns.get(sensor) === conn) {
        this.conns.delete(sensor);
        ctx.metrics.connected.set(this.conns.size);
        ctx.store.sensorUpdate({ id: sensor, connected: false }).catch(() => undefined);
      }
      log.info({ code }, 'sensor disconnected');
    });
    socket.on('error', (err) => log.warn({ err: err.message }, 'sensor socket error'));
    socket.on('message', (data, isBinary) => {
      if (closing) return;
      if (isBinary) return close(CloseCode.MALFORMED, 'binary frames are not supported');
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      ctx.frameTap?.(sensor, text);
      let frame: ClientFrame;
      try {
        frame = parseClientFrame(text, ctx.maxBatchItems);
      } catch (e) {
        if (e instanceof ProtocolError) return close(e.closeCode, e.message);
        return close(CloseCode.MALFORMED, 'invalid frame');
      }
      if (frame.type === 'hello') {
        if (hello) return close(CloseCode.MALFORMED, 'duplicate hello');
        if (frame.sensor !== sensor) return close(CloseCode.UNAUTHENTICATED, 'hello.sensor does not match the certificate');
        clearTimeout(helloTimer);
        hello = { hostname: frame.hostname };
        const prev = this.conns.get(sensor);
        if (prev) prev.socket.close(CloseCode.REPLACED, 'replaced by a newer connection of the same sensor');
        conn = { socket, sensor, alive: true };
        this.conns.set(sensor, conn);
        ctx.metrics.connected.set(this.conns.size);
        this.recordDrops(sensor, frame.drops);
        chain = chain
          .then(async () => {
            await ctx.store.sensorUpdate({
              id: sensor,
              hostname: frame.hostname,
              version: frame.version,
              connected: true,
              server: ctx.serverId,
              drops: frame.drops,
              certSerial: req.vigilSensor!.serial,
            });
            const maxSeq = await ctx.store.maxSeq(sensor);
            if (!closing) {
              socket.send(
                encodeWelcome({ proto: PROTO_VERSION, server: ctx.serverId, maxSeq, maxBatchItems: ctx.maxBatchItems, maxFrameBytes: ctx.maxFrameBytes }),
              );
            }
          })
          .catch((err: unknown) => {
            failed = true;
            log.error({ err: (err as Error).message }, 'hello failed');
            close(CloseCode.INTERNAL, 'server error');
          });
        log.info({ hostname: frame.hostname, version: frame.version, drops: frame.drops }, 'sensor connected');
        return;
      }
      if (!hello) return close(CloseCode.MALFORMED, `expected hello, got ${frame.type}`);
      if (frame.type === 'stats') {
        this.recordDrops(sensor, frame.drops);
        ctx.store.sensorUpdate({ id: sensor, drops: frame.drops }).catch(() => undefined);
        return;
      }
      if (frame.sensor !== sensor) return close(CloseCode.UNAUTHENTICATED, 'batch.sensor does not match the certificate');
      const started = process.hrtime.bigint();
      const hostname = hello.hostname || null;
      const p = ctx.ingestor.submit(sensor, hostname, frame, text);
      p.catch(() => undefined); // handled in the chain
      const last = frame.last;
      chain = chain.then(async () => {
        if (failed) return;
        try {
          await p;
        } catch (err) {
          failed = true;
          log.error({ err: (err as Error).message }, 'storing batch failed; closing so the sensor resends');
          close(CloseCode.INTERNAL, 'storage failed');
          return;
        }
        ctx.metrics.batches.inc();
        ctx.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        if (!closing && socket.readyState === socket.OPEN) socket.send(encodeAck(last));
      });
    });
  }

  private recordDrops(sensor: string, d: Drops): void {
    this.ctx.metrics.sensorDrops.set({ sensor, where: 'kernel' }, d.kernel);
    this.ctx.metrics.sensorDrops.set({ sensor, where: 'user' }, d.user);
    this.ctx.metrics.sensorDrops.set({ sensor, where: 'spool' }, d.spool);
  }
}
