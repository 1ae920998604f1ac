// Route plugin: stored events, filtered by any Falco field (evt.type=execve&proc.name=cat), a time
// range, sensor or workload, in keyset-cursor pages. The store checks field names and value types
// (it knows the field table); the schema checks everything else.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiPluginOptions } from '../context.ts';
import { Event, Page, PageQuery, TimeQuery, errors } from '../schemas.ts';
import { list, timeRange } from './time.ts';

/** A query parameter with a dot in its name is a Falco field filter. */
export const FIELD_FILTER_PATTERN = '^[A-Za-z0-9_]+\\.[^=&]+$';

const EventsQuery = Type.Object(
  {
    ...TimeQuery,
    ...PageQuery,
    sensor: Type.Optional(Type.String({ description: 'only events of this sensor id' })),
    workload: Type.Optional(Type.String({ description: 'only events of this workload id' })),
  },
  {
    additionalProperties: false,
    patternProperties: {
      [FIELD_FILTER_PATTERN]: Type.Array(Type.String(), { description: 'accepted values of this Falco field (repeat the parameter for several)' }),
    },
    description: 'a Falco field name as a filter (evt.type=execve&proc.name=cat&container.id=...)',
  },
);
type EventsQuery = Static<typeof EventsQuery> & Record<string, string[] | string | number | undefined>;
const KNOWN = new Set(Object.keys(EventsQuery.properties));

export function pageJson(items: string[], next: string | null): string {
  return `{"items":[${items.join(',')}],"next":${next === null ? 'null' : JSON.stringify(next)}}`;
}

export async function eventRoutes(app: FastifyInstance, { ctx }: ApiPluginOptions): Promise<void> {
  app.get<{ Querystring: EventsQuery }>(
    '/api/v1/events',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Stored events, newest first, with Falco-field filters',
        tags: ['events'],
        querystring: EventsQuery,
        response: { 200: Page(Event, 'a page of events'), ...errors(400, 401, 503) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const fields: Record<string, string[]> = {};
      for (const k of Object.keys(q)) if (!KNOWN.has(k)) fields[k] = list(q[k] as string[]) ?? [];
      const page = await ctx.store.queryEvents({
        ...timeRange(q),
        fields,
        limit: q.limit,
        cursor: q.cursor,
        order: q.order,
        sensor: q.sensor,
        workload: q.workload,
      });
      // the stored documents are passed through as JSON text (never parsed: 64-bit values stay exact)
      return reply.type('application/json').send(pageJson(page.items, page.next));
    },
  );
}
