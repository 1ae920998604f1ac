// Route plugin: runtime insights. The workloads seen, and per workload what it did: network peers,
// files, processes, capabilities, policy decisions and rules that fired (src/insights owns the shapes).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../../common/errors.ts';
import { WorkloadInsights, WorkloadSummary } from '../../../insights/types.ts';
import type { ApiPluginOptions } from '../context.ts';
import { TimeQuery, errors } from '../schemas.ts';
import { timeRange } from './time.ts';

const RangeQuery = Type.Object(TimeQuery, { additionalProperties: false });
const WorkloadParams = Type.Object({ id: Type.String({ minLength: 1, description: 'workload id (see WorkloadSummary.id)' }) });

export async function insightRoutes(app: FastifyInstance, { ctx }: ApiPluginOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof RangeQuery> }>(
    '/api/v1/insights/workloads',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Workloads seen (pod owner, container or host)',
        tags: ['insights'],
        querystring: RangeQuery,
        response: { 200: Type.Object({ items: Type.Array(WorkloadSummary) }), ...errors(400, 401, 503) },
      },
    },
    async (req) => ({ items: await ctx.store.listWorkloads(timeRange(req.query)) }),
  );

  app.get<{ Params: Static<typeof WorkloadParams>; Querystring: Static<typeof RangeQuery> }>(
    '/api/v1/insights/workloads/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Runtime insights of one workload',
        tags: ['insights'],
        params: WorkloadParams,
        querystring: RangeQuery,
        response: { 200: WorkloadInsights, ...errors(400, 401, 404, 503) },
      },
    },
    async (req) => {
      const w = await ctx.store.workloadInsights(req.params.id, timeRange(req.query));
      if (!w) throw new VigilError('VIGIL_E_NOT_FOUND', `no workload ${req.params.id}`);
      return w;
    },
  );
}
