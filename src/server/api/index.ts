// REST API under /api/v1 (+ /api/openapi.json, /metrics, /healthz): what applies to every route
// (bearer-token auth by the route's `config.scope`, request metrics, JSON errors, 404s), then one
// fastify plugin per resource group (routes/*.ts), each route with TypeBox schemas for params,
// querystring, body and responses. Routes are recorded as they register; the OpenAPI document is
// generated from them (openapi.ts).
//
// A new route: add it to the plugin of its resource group (or a new plugin registered below) with
// `config.scope` and a `schema` for everything it reads and every status it answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '../auth.ts';
import type { ApiContext } from './context.ts';
import { errorHandler } from './errors.ts';
import { openApiDocument, type RouteInfo } from './openapi.ts';
import { installValidators } from './validation.ts';
import { alertRoutes } from './routes/alerts.ts';
import { enrollmentRoutes } from './routes/enrollment.ts';
import { eventRoutes } from './routes/events.ts';
import { insightRoutes } from './routes/insights.ts';
import { metaRoutes } from './routes/meta.ts';
import { sensorRoutes } from './routes/sensors.ts';

export type { ApiContext } from './context.ts';
export type { RouteInfo } from './openapi.ts';

/**
 * Installs the API on `app`. `extra` registers further route plugins (the sensor stream) so that
 * they are documented too; `routeTap` sees every route as registered (tests).
 */
export function registerApi(
  app: FastifyInstance,
  ctx: ApiContext,
  o: { extra?: (app: FastifyInstance) => Promise<void>; routeTap?: (r: RouteInfo) => void } = {},
): void {
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    const info: RouteInfo = { method: r.method, url: r.url, schema: r.schema as Record<string, unknown> | undefined, config: r.config as RouteInfo['config'] };
    routes.push(info);
    o.routeTap?.(info);
  });
  let openApiJson: string | undefined;
  const openApi = () => (openApiJson ??= JSON.stringify(openApiDocument(routes, ctx.version)));

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const cfg = req.routeOptions.config ?? {};
    if (cfg.scope === 'public') return;
    const need: Scope = cfg.scope === 'admin' ? 'admin' : 'read';
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) {
      reply.header('www-authenticate', 'Bearer realm="vigil"');
      return reply.code(401).send({ code: 'unauthorized', message: 'missing bearer token' });
    }
    const p = ctx.auth.verifyApiToken(m[1]!);
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

  installValidators(app);
  app.setErrorHandler(errorHandler(ctx.log));
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.register(metaRoutes, { ctx, openApiJson: openApi });
  app.register(enrollmentRoutes, { ctx });
  app.register(sensorRoutes, { ctx });
  app.register(eventRoutes, { ctx });
  app.register(alertRoutes, { ctx });
  app.register(insightRoutes, { ctx });
  if (o.extra) app.register(o.extra);
}
