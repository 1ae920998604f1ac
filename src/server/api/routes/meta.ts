// Route plugin: the server itself. Liveness, the OpenAPI document, the CA certificate, status and
// Prometheus metrics.
import { hostname as osHostname } from 'node:os';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiPluginOptions } from '../context.ts';
import { errors } from '../schemas.ts';

export interface MetaPluginOptions extends ApiPluginOptions {
  /** the OpenAPI document as JSON text (generated from the route schemas once all are registered) */
  openApiJson: () => string;
}

export async function metaRoutes(app: FastifyInstance, { ctx, openApiJson }: MetaPluginOptions): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { scope: 'public' },
      schema: { summary: 'Liveness', tags: ['server'], response: { 200: Type.Object({ ok: Type.Boolean(), server: Type.String() }) } },
    },
    async () => ({ ok: true, server: ctx.serverId }),
  );

  app.get(
    '/api/openapi.json',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'This OpenAPI document (generated from the route schemas)',
        tags: ['server'],
        response: { 200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.0 document' }) },
      },
    },
    async (_req, reply) => reply.type('application/json').send(openApiJson()),
  );

  app.get(
    '/api/v1/ca',
    {
      config: { scope: 'public', produces: 'application/x-pem-file' },
      schema: {
        summary: 'CA certificate (PEM); sensors pin it with the fingerprint inside the enrollment token',
        tags: ['server'],
        response: { 200: Type.String({ description: 'PEM' }) },
      },
    },
    async (_req, reply) => reply.type('application/x-pem-file').send(ctx.pki.caPem),
  );

  app.get(
    '/api/v1/status',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Server status',
        tags: ['server'],
        response: {
          200: Type.Object({
            server: Type.String(),
            host: Type.String(),
            version: Type.String(),
            store: Type.Union([Type.Literal('duckdb'), Type.Literal('postgres')]),
            store_bytes: Type.Integer({ minimum: 0 }),
            sensors_connected: Type.Integer({ minimum: 0 }),
            unknown_records: Type.Integer({
              minimum: 0,
              description: 'references of compact events to process records the store did not have (left out of the event, never guessed)',
            }),
            retention: Type.Object({
              max_age_ms: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'rows older than this are deleted; null: kept' }),
              max_bytes: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'the store is kept under this size; null: no bound' }),
            }),
          }),
          ...errors(401, 503),
        },
      },
    },
    async () => ({
      server: ctx.serverId,
      host: osHostname(),
      version: ctx.version,
      store: ctx.store.kind,
      store_bytes: await ctx.store.sizeBytes(),
      sensors_connected: ctx.hub.connectedCount,
      unknown_records: ctx.store.unknownRecords,
      retention: { max_age_ms: ctx.retention?.maxAgeMs ?? null, max_bytes: ctx.retention?.maxBytes ?? null },
    }),
  );

  app.get(
    '/metrics',
    {
      config: { scope: 'read', produces: 'text/plain' },
      schema: {
        summary: 'Prometheus metrics',
        tags: ['server'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format' }), ...errors(401) },
      },
    },
    async (_req, reply) => {
      ctx.metrics.connected.set(ctx.hub.connectedCount);
      ctx.metrics.unknownRecords.set(ctx.store.unknownRecords);
      return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  );
}
