// OpenAPI 3.0 description of the REST API, served at /api/openapi.json. Kept by hand next to the
// routes (src/server/api/routes.ts); tests check that every route is described.

const err = { $ref: '#/components/responses/Error' };
const page = (item: string) => ({
  type: 'object',
  required: ['items', 'next'],
  properties: { items: { type: 'array', items: { $ref: `#/components/schemas/${item}` } }, next: { type: 'string', nullable: true, description: 'cursor of the next page, null on the last page' } },
});
const timeParams = [
  { name: 'since', in: 'query', schema: { type: 'string' }, description: 'inclusive start: RFC 3339, ns since epoch, or a duration ago (15m, 2h, 7d)' },
  { name: 'until', in: 'query', schema: { type: 'string' }, description: 'exclusive end, same formats as since' },
];
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: '`next` of the previous page' },
  { name: 'order', in: 'query', schema: { type: 'string', enum: ['desc', 'asc'], default: 'desc' }, description: 'by event time' },
];
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const read = [{ bearer: ['read'] }];
const admin = [{ bearer: ['admin'] }];

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'Vigil API', version, description: 'Vigil backend: events, alerts, runtime insights, sensors. Bearer tokens with scope read or admin.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token (DATA_DIR/admin-token, or created with POST /api/v1/api-tokens)' } },
      responses: { Error: { description: 'error', ...json({ $ref: '#/components/schemas/Error' }) } },
      schemas: {
        Error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', example: 'unauthorized' }, message: { type: 'string' } } },
        Event: { type: 'object', description: 'Vigil event: nested so that each dotted path is the Falco field name (docs/event-format.md)', additionalProperties: true },
        Alert: {
          type: 'object',
          description: 'Falco json_output shaped alert plus acknowledgement state',
          properties: {
            uuid: { type: 'string' }, time: { type: 'string' }, rule: { type: 'string' }, priority: { type: 'string' }, output: { type: 'string' },
            output_fields: { type: 'object', additionalProperties: true }, source: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } },
            hostname: { type: 'string' }, acked: { type: 'boolean' }, acked_at: { type: 'string' }, acked_by: { type: 'string' },
          },
        },
        Sensor: {
          type: 'object',
          properties: {
            id: { type: 'string' }, hostname: { type: 'string', nullable: true }, version: { type: 'string', nullable: true }, connected: { type: 'boolean' },
            revoked: { type: 'boolean' }, first_seen: { type: 'string', nullable: true }, last_seen: { type: 'string', nullable: true },
            events_received: { type: 'integer' }, alerts_received: { type: 'integer' }, server: { type: 'string', nullable: true },
            drops: { type: 'object', properties: { kernel: { type: 'integer' }, user: { type: 'integer' }, spool: { type: 'integer' } } },
          },
        },
        WorkloadSummary: {
          type: 'object',
          properties: {
            id: { type: 'string', example: 'k8s:prod:deployment:api' }, kind: { type: 'string' }, name: { type: 'string' }, namespace: { type: 'string', nullable: true },
            hosts: { type: 'array', items: { type: 'string' } }, containers: { type: 'integer' }, events: { type: 'integer' }, denied: { type: 'integer' },
            first_seen: { type: 'string' }, last_seen: { type: 'string' },
          },
        },
        WorkloadInsights: {
          allOf: [
            { $ref: '#/components/schemas/WorkloadSummary' },
            {
              type: 'object',
              properties: {
                network: { type: 'array', items: { type: 'object', properties: { direction: { type: 'string', enum: ['ingress', 'egress'] }, peer: { type: 'string' }, port: { type: 'integer' }, protocol: { type: 'string' }, allowed: { type: 'integer' }, denied: { type: 'integer' }, first_seen: { type: 'string' }, last_seen: { type: 'string' }, policies: { type: 'array', items: { type: 'string' } } } } },
                files: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, operation: { type: 'string' }, count: { type: 'integer' }, denied: { type: 'integer' }, last_seen: { type: 'string' }, collapsed: { type: 'integer', description: 'children folded into path (dir/*)' }, policies: { type: 'array', items: { type: 'string' } } } } },
                processes: { type: 'array', items: { type: 'object', properties: { exe: { type: 'string' }, parent: { type: 'string' }, count: { type: 'integer' }, denied: { type: 'integer' }, last_seen: { type: 'string' }, policies: { type: 'array', items: { type: 'string' } } } } },
                capabilities: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, granted: { type: 'integer' }, denied: { type: 'integer' }, count: { type: 'integer' }, last_seen: { type: 'string' } } } },
                policies: { type: 'array', items: { type: 'object', properties: { policy: { type: 'string' }, action: { type: 'string' }, rule: { type: 'string' }, count: { type: 'integer' }, last_seen: { type: 'string' } } } },
                rules: { type: 'array', items: { type: 'object', properties: { rule: { type: 'string' }, priority: { type: 'string' }, count: { type: 'integer' }, last_seen: { type: 'string' } } } },
              },
            },
          ],
        },
      },
    },
    paths: {
      '/api/v1/events': {
        get: {
          summary: 'Stored events, newest first, with Falco-field filters',
          security: read,
          parameters: [
            ...timeParams,
            ...pageParams,
            { name: 'sensor', in: 'query', schema: { type: 'string' } },
            { name: 'workload', in: 'query', schema: { type: 'string' } },
            { name: 'falco.field', in: 'query', schema: { type: 'string' }, description: 'any Falco field name as parameter (evt.type=execve&proc.name=cat&container.id=...); repeat a field to accept several values' },
          ],
          responses: { 200: { description: 'a page of events', ...json(page('Event')) }, 400: err, 401: err },
        },
      },
      '/api/v1/alerts': {
        get: {
          summary: 'Alerts (Falco json_output), newest first',
          security: read,
          parameters: [
            ...timeParams,
            ...pageParams,
            ...['rule', 'priority', 'min_priority', 'container', 'pod', 'namespace', 'workload', 'sensor'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
            { name: 'acked', in: 'query', schema: { type: 'boolean' } },
          ],
          responses: { 200: { description: 'a page of alerts', ...json(page('Alert')) }, 400: err, 401: err },
        },
      },
      '/api/v1/alerts/{id}/ack': {
        post: { summary: 'Acknowledge an alert', security: admin, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'acknowledged' }, 401: err, 403: err, 404: err } },
      },
      '/api/v1/insights/workloads': {
        get: { summary: 'Workloads seen (pod owner, container or host)', security: read, parameters: timeParams, responses: { 200: { description: 'workloads', ...json({ type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/WorkloadSummary' } } } }) }, 401: err } },
      },
      '/api/v1/insights/workloads/{id}': {
        get: { summary: 'Runtime insights of one workload', security: read, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, ...timeParams], responses: { 200: { description: 'insights', ...json({ $ref: '#/components/schemas/WorkloadInsights' }) }, 401: err, 404: err } },
      },
      '/api/v1/sensors': {
        get: { summary: 'Enrolled sensors', security: read, responses: { 200: { description: 'sensors', ...json({ type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Sensor' } } } }) }, 401: err } },
      },
      '/api/v1/sensors/{id}/revoke': {
        post: { summary: 'Revoke a sensor (its certificate is refused from now on)', security: admin, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'revoked' }, 400: err, 401: err, 403: err } },
      },
      '/api/v1/enrollment-tokens': {
        post: { summary: 'Create a one-time sensor enrollment token', security: admin, requestBody: json({ type: 'object', properties: { ttl: { type: 'string', default: '1h' } } }), responses: { 201: { description: 'token', ...json({ type: 'object', properties: { token: { type: 'string' }, expires: { type: 'string' } } }) }, 401: err, 403: err } },
      },
      '/api/v1/api-tokens': {
        post: { summary: 'Create an API token', security: admin, requestBody: json({ type: 'object', required: ['scope'], properties: { scope: { type: 'string', enum: ['read', 'admin'] }, name: { type: 'string' } } }), responses: { 201: { description: 'token' }, 401: err, 403: err } },
      },
      '/api/v1/enroll': {
        post: { summary: 'Sensor enrollment: exchange a one-time token and a CSR for a client certificate', security: [], requestBody: json({ type: 'object', required: ['token', 'csr'], properties: { token: { type: 'string' }, csr: { type: 'string' }, hostname: { type: 'string' } } }), responses: { 200: { description: 'certificate', ...json({ type: 'object', properties: { sensor_id: { type: 'string' }, certificate: { type: 'string' }, ca: { type: 'string' } } }) }, 400: err, 401: err } },
      },
      '/api/v1/ca': { get: { summary: 'CA certificate (PEM); sensors pin it with the fingerprint inside the enrollment token', security: [], responses: { 200: { description: 'PEM' } } } },
      '/api/v1/stream': { get: { summary: 'Sensor stream: WebSocket (subprotocol vigil.v1) with mutual TLS; see docs/backend.md', security: [], responses: { 101: { description: 'switching protocols' }, 401: err, 403: err } } },
      '/api/v1/status': { get: { summary: 'Server status', security: read, responses: { 200: { description: 'status' }, 401: err } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: read, responses: { 200: { description: 'text exposition format' }, 401: err } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: { description: 'ok' } } } },
    },
  };
}
