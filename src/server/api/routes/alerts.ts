// Route plugin: alerts (Falco json_output shape) with filters and keyset-cursor pages, and
// acknowledgement.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../../common/errors.ts';
import type { ApiPluginOptions } from '../context.ts';
import { Alert, Page, PageQuery, TimeQuery, errors } from '../schemas.ts';
import { pageJson } from './events.ts';
import { list, timeRange } from './time.ts';

const Values = (description: string) => Type.Optional(Type.Array(Type.String(), { description: `${description} (repeat for several)` }));

const AlertsQuery = Type.Object(
  {
    ...TimeQuery,
    ...PageQuery,
    rule: Values('rule name'),
    priority: Values('priority, any case'),
    min_priority: Type.Optional(Type.String({ description: 'lowest priority (debug, informational, notice, warning, error, critical, alert, emergency)' })),
    container: Values('container id (host for the host)'),
    'container.id': Values('same as container'),
    pod: Values('pod name'),
    'k8s.pod.name': Values('same as pod'),
    namespace: Values('namespace'),
    'k8s.ns.name': Values('same as namespace'),
    workload: Type.Optional(Type.String({ description: 'workload id' })),
    sensor: Type.Optional(Type.String({ description: 'sensor id' })),
    acked: Type.Optional(Type.Boolean({ description: 'only acknowledged (true) or unacknowledged (false) alerts' })),
  },
  { additionalProperties: false },
);

const AckParams = Type.Object({ id: Type.String({ minLength: 1, description: 'alert uuid' }) });

export async function alertRoutes(app: FastifyInstance, { ctx }: ApiPluginOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/v1/alerts',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Alerts (Falco json_output), newest first',
        tags: ['alerts'],
        querystring: AlertsQuery,
        response: { 200: Page(Alert, 'a page of alerts'), ...errors(400, 401, 503) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const page = await ctx.store.queryAlerts({
        ...timeRange(q),
        rule: list(q.rule),
        priority: list(q.priority),
        minPriority: q.min_priority,
        container: list(q.container) ?? list(q['container.id']),
        pod: list(q.pod) ?? list(q['k8s.pod.name']),
        namespace: list(q.namespace) ?? list(q['k8s.ns.name']),
        workload: q.workload,
        sensor: q.sensor,
        acked: q.acked,
        limit: q.limit,
        cursor: q.cursor,
        order: q.order,
      });
      return reply.type('application/json').send(pageJson(page.items, page.next));
    },
  );

  app.post<{ Params: Static<typeof AckParams> }>(
    '/api/v1/alerts/:id/ack',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Acknowledge an alert',
        tags: ['alerts'],
        params: AckParams,
        response: { 200: Type.Object({ uuid: Type.String(), acked: Type.Boolean() }), ...errors(401, 403, 404, 503) },
      },
    },
    async (req) => {
      const id = req.params.id;
      if (!(await ctx.store.ackAlert(id, req.principal?.name || 'admin'))) throw new VigilError('VIGIL_E_NOT_FOUND', `no alert ${id}`);
      return { uuid: id, acked: true };
    },
  );
}
