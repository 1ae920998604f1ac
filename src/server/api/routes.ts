// REST API under /api/v1 (+ /api/openapi.json, /metrics, /healthz): bearer-token auth with read and
// admin scopes (route config `scope`), JSON errors {code, message}, Falco-field event filters with
// keyset cursors, alerts and ack, runtime insights, sensors, enrollment.
import { hostname as osHostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError, isVigilError, httpErrorOf } from '../../common/errors.ts';
import { rfc3339ToNs } from '../../store/extract.ts';
import type { AlertQuery, EventQuery, Store, TimeRange } from '../../store/types.ts';
import { SENSOR_ID_RE, newSensorId, parseDuration, type DataDirAuth, type Scope } from '../auth.ts';
import type { Logger } from '../log.ts';
import type { ServerMetrics } from '../metrics.ts';
import { EnrollFailureLimiter, type EnrollLimitOptions } from './enroll-limit.ts';
import { signSensorCsr, type Pki } from '../pki.ts';
import type { StreamHub } from '../stream.ts';
import { openApiDocument } from './openapi.ts';

export interface ApiContext {
  store: Store;
  auth: DataDirAuth;
  pki: Pki;
  hub: StreamHub;
  metrics: ServerMetrics;
  log: Logger;
  version: string;
  serverId: string;
  /** failed-enrollment limit per client address (default: 10 per minute) */
  enrollLimit?: EnrollLimitOptions;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: Scope | 'public';
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: { scope: Scope; name: string };
  }
}

/** A request error of the API: a VigilError whose catalogue code answers with `status` (400, 404, 429). */
export class ApiError extends VigilError {
  constructor(status: 400 | 404 | 429, _api: 'bad_request' | 'not_found' | 'rate_limited', message: string) {
    super(status === 404 ? 'VIGIL_E_NOT_FOUND' : status === 429 ? 'VIGIL_E_RATE_LIMITED' : 'VIGIL_E_USAGE', message);
  }
}

/** ns since epoch from an API time parameter: RFC 3339, integer ns, or a duration ago (15m, 2h). */
export function parseTimeParam(name: string, v: string): bigint {
  if (/^\d{12,19}$/.test(v)) return BigInt(v);
  if (/^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(v)) return BigInt(Date.now() - parseDuration(v)) * 1_000_000n;
  const ns = rfc3339ToNs(v);
  if (ns !== null) return ns;
  const ms = Date.parse(v);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(v)) return BigInt(ms) * 1_000_000n;
  throw new ApiError(400, 'bad_request', `${name}: expected RFC 3339 time, ns since epoch or a duration like 15m`);
}

type Q = Record<string, string | string[] | undefined>;
function list(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).filter((x) => x !== '');
}
function one(q: Q, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}
function limitOf(q: Q, dflt = 100): number {
  const s = one(q, 'limit');
  if (s === undefined) return dflt;
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 10_000) throw new ApiError(400, 'bad_request', 'limit must be an integer in 1..10000');
  return Number(s);
}
function orderOf(q: Q): 'asc' | 'desc' {
  const o = one(q, 'order') ?? 'desc';
  if (o !== 'asc' && o !== 'desc') throw new ApiError(400, 'bad_request', 'order must be asc or desc');
  return o;
}
function timeRange(q: Q): TimeRange {
  const r: TimeRange = {};
  const since = one(q, 'since');
  const until = one(q, 'until');
  if (since) r.since = parseTimeParam('since', since);
  if (until) r.until = parseTimeParam('until', until);
  return r;
}

const EVENT_PARAMS = new Set(['since', 'until', 'limit', 'cursor', 'order', 'sensor', 'workload']);
const ALERT_PARAMS = new Set(['since', 'until', 'limit', 'cursor', 'order', 'sensor', 'workload', 'rule', 'priority', 'min_priority', 'container', 'container.id', 'pod', 'k8s.pod.name', 'namespace', 'k8s.ns.name', 'acked']);

function pageJson(items: string[], next: string | null): string {
  return `{"items":[${items.join(',')}],"next":${next === null ? 'null' : JSON.stringify(next)}}`;
}

export function registerApi(app: FastifyInstance, ctx: ApiContext): void {
  const { store, auth } = ctx;

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const cfg = req.routeOptions.config ?? {};
    if (cfg.public || cfg.scope === 'public') return;
    const need: Scope = cfg.scope === 'admin' ? 'admin' : 'read';
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) {
      reply.header('www-authenticate', 'Bearer realm="vigil"');
      return reply.code(401).send({ code: 'unauthorized', message: 'missing bearer token' });
    }
    const p = auth.verifyApiToken(m[1]!);
    if (!p) {
      reply.header('www-authenticate', 'Bearer realm="vigil", error="invalid_token"');
      return reply.code(401).send({ code: 'unauthorized', message: 'invalid token' });
    }
    if (need === 'admin' && p.scope !== 'admin') return reply.code(403).send({ code: 'forbidden', message: 'this operation needs the admin scope' });
    req.principal = p;
  });

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.apiRequests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (isVigilError(err)) {
      const { status, api: code } = httpErrorOf(err.code);
      if (status >= 500) ctx.log.error({ err: err.message, url: req.url }, 'request failed');
      return reply.code(status).send({ code, message: err.message });
    }
    const e = err as { statusCode?: number; validation?: unknown; message?: string; code?: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.code(e.statusCode ?? 400).send({ code: e.statusCode === 413 ? 'payload_too_large' : 'bad_request', message: e.message ?? 'bad request' });
    }
    ctx.log.error({ err: e.message, url: req.url }, 'request failed');
    return reply.code(500).send({ code: 'internal', message: 'internal error' });
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true, server: ctx.serverId }));
  app.get('/api/openapi.json', { config: { public: true } }, async () => openApiDocument(ctx.version));
  app.get('/api/v1/ca', { config: { public: true } }, async (_req, reply) => reply.type('application/x-pem-file').send(ctx.pki.caPem));

  const enrollLimiter = new EnrollFailureLimiter({ ...ctx.enrollLimit, onEvict: () => ctx.metrics.enrollLimitEvicted.inc() });
  app.post('/api/v1/enroll', { config: { public: true } }, async (req, reply) => {
    const wait = enrollLimiter.check(req.ip);
    if (wait > 0) {
      ctx.metrics.enrollRefused.inc();
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      throw new ApiError(429, 'rate_limited', `too many failed enrollments from ${req.ip}; retry in ${Math.ceil(wait / 1000)} s`);
    }
    const b = (req.body ?? {}) as { token?: unknown; csr?: unknown; hostname?: unknown };
    if (typeof b.token !== 'string' || typeof b.csr !== 'string') {
      enrollLimiter.fail(req.ip);
      throw new ApiError(400, 'bad_request', 'body needs token and csr');
    }
    try {
      auth.redeemEnrollmentToken(b.token);
    } catch (e) {
      enrollLimiter.fail(req.ip);
      ctx.log.warn({ client: req.ip, err: (e as Error).message }, 'enrollment refused');
      throw e;
    }
    const id = newSensorId();
    const cert = signSensorCsr(ctx.pki, b.csr, id);
    const host = typeof b.hostname === 'string' ? b.hostname.slice(0, 255) : undefined;
    await store.sensorUpdate({ id, hostname: host, connected: false, certSerial: cert.serial });
    ctx.log.info({ sensor: id, hostname: host }, 'sensor enrolled');
    return { sensor_id: id, certificate: cert.certPem, ca: ctx.pki.caPem };
  });

  app.post('/api/v1/enrollment-tokens', { config: { scope: 'admin' } }, async (req, reply) => {
    const b = (req.body ?? {}) as { ttl?: unknown };
    const ttl = typeof b.ttl === 'string' ? parseDuration(b.ttl) : 3600_000;
    const t = auth.createEnrollmentToken(ttl, ctx.pki.caFingerprint);
    return reply.code(201).send(t);
  });

  app.post('/api/v1/api-tokens', { config: { scope: 'admin' } }, async (req, reply) => {
    const b = (req.body ?? {}) as { scope?: unknown; name?: unknown };
    if (b.scope !== 'read' && b.scope !== 'admin') throw new ApiError(400, 'bad_request', 'scope must be read or admin');
    const token = auth.createApiToken(b.scope, typeof b.name === 'string' ? b.name : '');
    return reply.code(201).send({ token, scope: b.scope });
  });

  app.get('/api/v1/sensors', { config: { scope: 'read' } }, async () => {
    const rows = await store.listSensors();
    const revoked = new Set(auth.revokedList());
    const now = Date.now();
    return {
      items: rows.map((r) => ({
        ...r,
        connected: ctx.hub.isConnected(r.id) || (r.connected && r.last_seen !== null && now - Date.parse(r.last_seen) < 75_000),
        revoked: revoked.has(r.id),
      })),
    };
  });

  app.post('/api/v1/sensors/:id/revoke', { config: { scope: 'admin' } }, async (req) => {
    const id = (req.params as { id: string }).id;
    if (!SENSOR_ID_RE.test(id)) throw new ApiError(400, 'bad_request', 'invalid sensor id');
    auth.revoke(id);
    ctx.hub.checkRevoked();
    ctx.log.info({ sensor: id, by: req.principal?.name }, 'sensor revoked');
    return { id, revoked: true };
  });

  app.get('/api/v1/events', { config: { scope: 'read' } }, async (req, reply) => {
    const q = req.query as Q;
    const fields: Record<string, string[]> = {};
    for (const k of Object.keys(q)) {
      if (EVENT_PARAMS.has(k)) continue;
      if (!k.includes('.')) throw new ApiError(400, 'bad_request', `unknown parameter ${k}`);
      fields[k] = list(q[k]) ?? [];
    }
    const eq: EventQuery = { ...timeRange(q), fields, limit: limitOf(q), cursor: one(q, 'cursor'), order: orderOf(q), sensor: one(q, 'sensor'), workload: one(q, 'workload') };
    const page = await store.queryEvents(eq);
    return reply.type('application/json').send(pageJson(page.items, page.next));
  });

  app.get('/api/v1/alerts', { config: { scope: 'read' } }, async (req, reply) => {
    const q = req.query as Q;
    for (const k of Object.keys(q)) if (!ALERT_PARAMS.has(k)) throw new ApiError(400, 'bad_request', `unknown parameter ${k}`);
    const acked = one(q, 'acked');
    if (acked !== undefined && acked !== 'true' && acked !== 'false') throw new ApiError(400, 'bad_request', 'acked must be true or false');
    const aq: AlertQuery = {
      ...timeRange(q),
      rule: list(q.rule),
      priority: list(q.priority),
      minPriority: one(q, 'min_priority'),
      container: list(q.container) ?? list(q['container.id']),
      pod: list(q.pod) ?? list(q['k8s.pod.name']),
      namespace: list(q.namespace) ?? list(q['k8s.ns.name']),
      workload: one(q, 'workload'),
      sensor: one(q, 'sensor'),
      acked: acked === undefined ? undefined : acked === 'true',
      limit: limitOf(q),
      cursor: one(q, 'cursor'),
      order: orderOf(q),
    };
    const page = await store.queryAlerts(aq);
    return reply.type('application/json').send(pageJson(page.items, page.next));
  });

  app.post('/api/v1/alerts/:id/ack', { config: { scope: 'admin' } }, async (req) => {
    const id = (req.params as { id: string }).id;
    const ok = await store.ackAlert(id, req.principal?.name || 'admin');
    if (!ok) throw new ApiError(404, 'not_found', `no alert ${id}`);
    return { uuid: id, acked: true };
  });

  app.get('/api/v1/insights/workloads', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Q;
    return { items: await store.listWorkloads(timeRange(q)) };
  });

  app.get('/api/v1/insights/workloads/:id', { config: { scope: 'read' } }, async (req) => {
    const id = (req.params as { id: string }).id;
    const w = await store.workloadInsights(id, timeRange(req.query as Q));
    if (!w) throw new ApiError(404, 'not_found', `no workload ${id}`);
    return w;
  });

  app.get('/api/v1/status', { config: { scope: 'read' } }, async () => ({
    server: ctx.serverId,
    host: osHostname(),
    version: ctx.version,
    store: store.kind,
    store_bytes: await store.sizeBytes(),
    sensors_connected: ctx.hub.connectedCount,
  }));

  app.get('/metrics', { config: { scope: 'read' } }, async (_req, reply) => {
    ctx.metrics.connected.set(ctx.hub.connectedCount);
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}

export { VigilError };
