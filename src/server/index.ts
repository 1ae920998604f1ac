// `vigil server`: wires the PKI, credentials, store, ingest path (direct or NATS JetStream), the
// sensor stream endpoint and the REST API into one HTTPS (fastify) server. `startServer` is also
// what `vigil up` and the tests call in-process.
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { VigilError } from '../common/errors.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { DEFAULT_MAX_BATCH_ITEMS, DEFAULT_MAX_FRAME_BYTES, SUBPROTOCOL } from '../wire/protocol.ts';
import { registerApi, type RouteInfo } from './api/index.ts';
import { DataDirAuth } from './auth.ts';
import { DirectIngestor, type Ingestor } from './ingest.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { ServerMetrics } from './metrics.ts';
import { ensurePki, serverNames } from './pki.ts';
import { StreamHub } from './stream.ts';

export const VERSION = '0.1.0';

export interface ServerOptions {
  dataDir: string;
  /** HOST:PORT; port 0 picks a free port. Default 127.0.0.1:7443. */
  listen?: string;
  /** duckdb:PATH (default DATA_DIR/vigil.duckdb) or postgres://... */
  store?: string;
  /** nats://host:port: ingest through a JetStream stream. */
  stream?: string;
  logger?: Logger;
  logLevel?: string;
  /** Extra DNS names / IPs for the server certificate. */
  names?: string[];
  retention?: { maxAgeMs?: number; maxBytes?: number; intervalMs?: number };
  maxFrameBytes?: number;
  maxBatchItems?: number;
  /** Sees every text frame received from sensors (tests, debugging). */
  frameTap?: (sensor: string, text: string) => void;
  /** Sees every route as it is registered, with its schemas and config (tests). */
  routeTap?: (route: RouteInfo) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  dataDir: string;
  caPath: string;
  adminToken: string;
  adminTokenPath: string;
  caFingerprint: string;
  store: Store;
  serverId: string;
  metrics: ServerMetrics;
  auth: DataDirAuth;
  close(): Promise<void>;
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s.trim());
  if (!m) throw new VigilError('VIGIL_E_USAGE', `--listen expects HOST:PORT, got ${JSON.stringify(s)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new VigilError('VIGIL_E_USAGE', `invalid port ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.logger ?? createLogger({ level: opts.logLevel, name: 'vigil-server' });
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:7443');
  const auth = new DataDirAuth(dataDir);
  const adminToken = auth.init()!;
  const pki = ensurePki(dataDir, serverNames(host, opts.names));
  const store = await openStore(opts.store, dataDir);
  if (store.kind === 'duckdb') {
    // This process owns the embedded database: nobody is connected yet.
    for (const s of await store.listSensors()) if (s.connected) await store.sensorUpdate({ id: s.id, connected: false });
  }
  const metrics = new ServerMetrics();
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxBatchItems = opts.maxBatchItems ?? DEFAULT_MAX_BATCH_ITEMS;

  let ingestor: Ingestor;
  if (opts.stream) {
    const { NatsIngestor } = await import('./nats.ts');
    ingestor = await NatsIngestor.start({ url: opts.stream, store, metrics, log });
  } else {
    ingestor = new DirectIngestor(store, metrics);
  }

  const app = Fastify({
    loggerInstance: log.child({}, { level: log.isLevelEnabled('warn') ? 'warn' : log.level }),
    https: { key: pki.keyPem, cert: pki.certPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 500 },
  });
  await app.register(websocket, {
    options: {
      maxPayload: maxFrameBytes,
      // sensors deflate their batches (permessage-deflate); the server's own frames are small acks
      perMessageDeflate: { threshold: 1 << 20 },
      handleProtocols: (protocols: Set<string>) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : (protocols.values().next().value ?? false)),
    },
  });
  let serverId = `${os.hostname()}:${process.pid}`;
  const hub = new StreamHub({
    auth,
    store,
    ingestor,
    metrics,
    log,
    get serverId() {
      return serverId;
    },
    maxFrameBytes,
    maxBatchItems,
    frameTap: opts.frameTap,
  });
  const fapp = app as unknown as FastifyInstance;
  registerApi(
    fapp,
    {
      store,
      auth,
      pki,
      hub,
      metrics,
      log,
      version: VERSION,
      retention: opts.retention,
      get serverId() {
        return serverId;
      },
    },
    { extra: (a) => hub.register(a), routeTap: opts.routeTap },
  );

  try {
    await app.listen({ host, port });
  } catch (e) {
    await ingestor.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw new VigilError('VIGIL_E_CONFIG', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
  }
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  serverId = `${os.hostname()}:${boundPort}:${process.pid}`;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `https://${urlHost}:${boundPort}`;

  let retentionTimer: NodeJS.Timeout | undefined;
  let retentionRunning = false;
  const ret = opts.retention;
  const runRetention = async () => {
    if (retentionRunning) return;
    retentionRunning = true;
    try {
      if (ret && (ret.maxAgeMs !== undefined || ret.maxBytes !== undefined)) {
        const r = await store.applyRetention({ maxAgeMs: ret.maxAgeMs, maxBytes: ret.maxBytes });
        metrics.retentionDeleted.inc({ table: 'events' }, r.events);
        metrics.retentionDeleted.inc({ table: 'alerts' }, r.alerts);
        if (r.events || r.alerts) log.info(r, 'retention deleted old rows');
      }
      metrics.storeBytes.set(await store.sizeBytes());
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'retention pass failed');
    } finally {
      retentionRunning = false;
    }
  };
  retentionTimer = setInterval(() => void runRetention(), ret?.intervalMs ?? 60_000);
  retentionTimer.unref();
  void runRetention(); // at start too: a restarted server applies its retention at once

  log.info({ url, store: store.kind, stream: opts.stream ? 'nats' : 'direct', dataDir }, 'vigil server listening');
  let closed = false;
  return {
    url,
    host,
    port: boundPort,
    dataDir,
    caPath: pki.caPath,
    adminToken,
    adminTokenPath: auth.adminTokenFile,
    caFingerprint: pki.caFingerprint,
    store,
    get serverId() {
      return serverId;
    },
    metrics,
    auth,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(retentionTimer);
      hub.closeAll();
      await app.close();
      await ingestor.close();
      await store.close();
      log.info('vigil server stopped');
    },
  };
}
