// Route plugin: sensors. The enrolled sensors with their connection state and drop counters, and
// revocation (the certificate is refused from then on and a connected sensor is disconnected).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiPluginOptions } from '../context.ts';
import { Sensor, SensorId, errors } from '../schemas.ts';

const RevokeParams = Type.Object({ id: SensorId });

export async function sensorRoutes(app: FastifyInstance, { ctx }: ApiPluginOptions): Promise<void> {
  app.get(
    '/api/v1/sensors',
    {
      config: { scope: 'read' },
      schema: { summary: 'Enrolled sensors', tags: ['sensors'], response: { 200: Type.Object({ items: Type.Array(Sensor) }), ...errors(401, 503) } },
    },
    async (): Promise<{ items: Static<typeof Sensor>[] }> => {
      const rows = await ctx.store.listSensors();
      const revoked = new Set(ctx.auth.revokedList());
      const now = Date.now();
      return {
        items: rows.map((r) => ({
          ...r,
          connected: ctx.hub.isConnected(r.id) || (r.connected && r.last_seen !== null && now - Date.parse(r.last_seen) < 75_000),
          revoked: revoked.has(r.id),
        })),
      };
    },
  );

  app.post<{ Params: Static<typeof RevokeParams> }>(
    '/api/v1/sensors/:id/revoke',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke a sensor (its certificate is refused from now on)',
        tags: ['sensors'],
        params: RevokeParams,
        response: { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const id = req.params.id;
      ctx.auth.revoke(id);
      ctx.hub.checkRevoked();
      ctx.log.info({ sensor: id, by: req.principal?.name }, 'sensor revoked');
      return { id, revoked: true };
    },
  );
}
