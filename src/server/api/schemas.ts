// TypeBox schemas shared by the API route plugins: the error body, the stored documents (events,
// alerts), sensors, pages and the common query parameters. Fastify validates requests with them
// (ajv) and serialises responses with them; src/server/api/openapi.ts turns them into the OpenAPI
// document. A schema with a `title` becomes a named component there.
//
// 64-bit integers (times in ns, sequence numbers) are never typed `integer` in a request schema:
// ajv would coerce them to a double. They travel as strings with a pattern and are parsed to
// bigint by the handler (parseTimeParam).
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string limited to `values`, as one JSON-schema `enum` (clearer errors than a union of literals). */
export function StringEnum<const T extends readonly string[]>(values: T, opts: { description?: string; default?: T[number] } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });
}

export const ErrorBody = Type.Object(
  {
    code: Type.String({
      description: 'stable error code: bad_request, unauthorized, forbidden, not_found, rate_limited, payload_too_large, store_unavailable, internal',
      examples: ['unauthorized'],
    }),
    message: Type.String({ description: 'what went wrong, for a human' }),
    field: Type.Optional(Type.String({ description: 'bad_request: the offending field, as querystring.NAME, params.NAME or body.PATH' })),
    expected: Type.Optional(Type.String({ description: 'bad_request: what the field must hold' })),
  },
  { title: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Description of a response status in the OpenAPI document when its schema has none. */
export const STATUS_TEXT: Record<string, string> = {
  101: 'switching protocols',
  400: 'invalid request (the body names the field and what was expected)',
  401: 'missing or invalid bearer token',
  403: 'the token lacks the scope this operation needs',
  404: 'no such resource',
  413: 'body too large',
  429: 'rate limited (Retry-After says when to retry)',
  500: 'internal error',
  503: 'the store is unavailable',
};

/** Error responses of a route, by status (all the one Error body; STATUS_TEXT describes each). */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  const out: Record<number, typeof ErrorBody> = {};
  for (const s of statuses) out[s] = ErrorBody;
  return out;
}

export const Event = Type.Object(
  {},
  { title: 'Event', additionalProperties: true, description: 'Vigil event: nested so that each dotted path is the Falco field name (docs/event-format.md)' },
);

export const Alert = Type.Object(
  {
    uuid: Type.String(),
    acked: Type.Boolean(),
    acked_at: Type.Optional(Type.String()),
    acked_by: Type.Optional(Type.String()),
    time: Type.Optional(Type.String()),
    rule: Type.Optional(Type.String()),
    priority: Type.Optional(Type.String()),
    output: Type.Optional(Type.String()),
    output_fields: Type.Optional(Type.Object({}, { additionalProperties: true })),
    source: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Array(Type.String())),
    hostname: Type.Optional(Type.String()),
  },
  {
    title: 'Alert',
    additionalProperties: true,
    description: 'Falco json_output shaped alert (as the sensor sent it) plus the uuid and acknowledgement state the store keeps',
  },
);

export function Page<T extends TSchema>(item: T, description: string) {
  return Type.Object(
    {
      items: Type.Array(item),
      next: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page, null on the last page' }),
    },
    { description },
  );
}

const Drops = Type.Object(
  { kernel: Type.Integer({ minimum: 0 }), user: Type.Integer({ minimum: 0 }), spool: Type.Integer({ minimum: 0 }) },
  { description: 'drops reported by the sensor (cumulative)' },
);

export const Sensor = Type.Object(
  {
    id: Type.String(),
    hostname: Type.Union([Type.String(), Type.Null()]),
    version: Type.Union([Type.String(), Type.Null()]),
    connected: Type.Boolean(),
    revoked: Type.Boolean(),
    first_seen: Type.Union([Type.String(), Type.Null()]),
    last_seen: Type.Union([Type.String(), Type.Null()]),
    events_received: Type.Integer({ minimum: 0 }),
    alerts_received: Type.Integer({ minimum: 0 }),
    drops: Drops,
    server: Type.Union([Type.String(), Type.Null()], { description: 'server instance the sensor is (or was last) connected to' }),
  },
  { title: 'Sensor' },
);

/** RFC 3339 time, ns since epoch (a 64-bit integer kept as a string) or a duration ago. */
export const TIME_PATTERN = '^(|\\d{12,19}|\\d+(\\.\\d+)?(ms|s|m|h|d|w)|\\d{4}-\\d{2}-\\d{2}.*)$';
const TimeParam = (what: string) => Type.String({ pattern: TIME_PATTERN, description: `${what}: RFC 3339 time, ns since epoch or a duration ago like 15m` });

export const TimeQuery = {
  since: Type.Optional(TimeParam('inclusive start')),
  until: Type.Optional(TimeParam('exclusive end')),
};

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'items per page' }),
  cursor: Type.Optional(Type.String({ minLength: 1, description: '`next` of the previous page' })),
  order: StringEnum(['desc', 'asc'] as const, { default: 'desc', description: 'by event time' }),
};

/** Sensor id as issued at enrollment (src/server/auth.ts SENSOR_ID_RE). */
export const SensorId = Type.String({ pattern: '^sensor-[0-9a-f]{16}$', description: 'sensor id (sensor-<16 hex digits>)' });

/** A duration: a number with an optional unit ms, s, m, h, d, w (src/server/auth.ts parseDuration). */
export const Duration = Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?(ms|s|m|h|d|w)?\\s*$', description: 'a duration like 30s, 15m, 1h, 7d' });
