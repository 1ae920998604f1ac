// The OpenAPI document is generated from the routes as registered (no root, no kernel: a real
// in-process server). Every route registered on the server appears with its method, security, path
// and query parameters, request body and every response status of its schemas; every route has
// schemas for what it reads and answers; every $ref resolves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../src/common/log.ts';
import { startServer, type RunningServer } from '../../../src/server/index.ts';
import type { RouteInfo } from '../../../src/server/api/index.ts';
import { api } from '../../helpers/backend-server.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-openapi-'));
const dataDir = path.join(tmp, 'server');
let srv: RunningServer;
const routes: RouteInfo[] = [];
/** The parts of a JSON schema, a route's schemas and the OpenAPI document these checks read. */
interface SchemaNode {
  type?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean;
  patternProperties?: Record<string, unknown>;
  nullable?: boolean;
}
interface RouteSchema {
  summary?: string;
  params?: SchemaNode;
  querystring?: SchemaNode;
  body?: SchemaNode;
  response?: Record<string, unknown>;
}
interface OaParam {
  name: string;
  in: string;
  required: boolean;
  schema: SchemaNode;
}
type OaContent = Record<string, { schema?: SchemaNode }>;
interface OaOperation {
  summary?: string;
  security?: unknown;
  parameters?: OaParam[];
  requestBody?: { content?: OaContent };
  responses: Record<string, { description?: string; content?: OaContent }>;
}
interface OaDoc {
  openapi: string;
  paths: Record<string, Record<string, OaOperation>>;
  components: { schemas: Record<string, SchemaNode> };
}
let doc: OaDoc;

before(async () => {
  srv = await startServer({ dataDir, listen: '127.0.0.1:0', logger: silentLogger(), routeTap: (r) => routes.push(r) });
  const r = await api<OaDoc>(srv.url, dataDir, '/api/openapi.json', { token: null });
  assert.equal(r.status, 200);
  doc = r.json;
});
after(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const methods = (r: RouteInfo) => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
const oaPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const props = (s: SchemaNode | undefined): string[] => Object.keys(s?.properties ?? {});

test('the server registered the routes of every resource group', () => {
  const have = new Set(routes.flatMap((r) => methods(r).map((m) => `${m} ${r.url}`)));
  for (const want of [
    'GET /healthz',
    'GET /api/openapi.json',
    'GET /api/v1/ca',
    'GET /api/v1/status',
    'GET /metrics',
    'POST /api/v1/enroll',
    'POST /api/v1/enrollment-tokens',
    'POST /api/v1/api-tokens',
    'GET /api/v1/sensors',
    'POST /api/v1/sensors/:id/revoke',
    'GET /api/v1/stream',
    'GET /api/v1/events',
    'GET /api/v1/alerts',
    'POST /api/v1/alerts/:id/ack',
    'GET /api/v1/insights/workloads',
    'GET /api/v1/insights/workloads/:id',
  ])
    assert.ok(have.has(want), want);
  assert.equal(have.size, 16, [...have].join('\n'));
});

test('every route has schemas for what it reads and every status it answers', () => {
  for (const r of routes) {
    if (methods(r).length === 0) continue;
    const s = r.schema as RouteSchema | undefined;
    const id = `${methods(r).join(',')} ${r.url}`;
    assert.ok(s, `${id}: no schema`);
    assert.equal(typeof s.summary, 'string', `${id}: no summary`);
    assert.ok(s.response && Object.keys(s.response).some((k) => /^(2\d\d|101)$/.test(k)), `${id}: no success response schema`);
    const pathParams = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    assert.deepEqual(props(s.params), pathParams, `${id}: params schema`);
    if (methods(r).includes('POST') && !r.url.includes('/:id/')) assert.ok(s.body, `${id}: no body schema`);
    if (s.querystring) assert.equal(s.querystring.additionalProperties, false, `${id}: unknown query parameters must be refused`);
    if (r.config?.scope !== 'public') assert.ok(s.response![401], `${id}: 401 not described`);
  }
});

test('every route appears in the OpenAPI document with its schemas', () => {
  assert.equal(doc.openapi, '3.0.3');
  let n = 0;
  for (const r of routes) {
    for (const m of methods(r)) {
      n++;
      const s = (r.schema ?? {}) as RouteSchema;
      const id = `${m} ${r.url}`;
      const op = doc.paths[oaPath(r.url)]?.[m.toLowerCase()];
      assert.ok(op, `${id} missing from the document`);
      assert.equal(op.summary, s.summary, id);
      const scope = r.config?.scope ?? 'read';
      assert.deepEqual(op.security, scope === 'public' ? [] : [{ bearer: [scope] }], id);
      const params = op.parameters ?? [];
      assert.deepEqual(
        params.filter((p) => p.in === 'path').map((p) => p.name),
        props(s.params),
        `${id}: path parameters`,
      );
      const query = params.filter((p) => p.in === 'query');
      assert.deepEqual(
        query.map((p) => p.name).filter((x) => x !== 'filters'),
        props(s.querystring),
        `${id}: query parameters`,
      );
      for (const p of query) assert.ok(p.schema.type || p.schema.$ref, `${id}: ${p.name} has a schema`);
      assert.equal(
        query.some((p) => p.name === 'filters'),
        !!s.querystring?.patternProperties,
        `${id}: field filters`,
      );
      if (s.body) {
        const body = op.requestBody?.content?.['application/json']?.schema;
        assert.ok(body, `${id}: request body`);
        assert.deepEqual(Object.keys(body.properties!).sort(), props(s.body).sort(), `${id}: body fields`);
      } else assert.equal(op.requestBody, undefined, id);
      assert.deepEqual(Object.keys(op.responses).sort(), Object.keys(s.response ?? {}).sort(), `${id}: responses`);
      for (const [status, resp] of Object.entries(op.responses)) {
        assert.equal(typeof resp.description, 'string', `${id} ${status}`);
        if (status !== '101') assert.ok(Object.values(resp.content!)[0]!.schema, `${id} ${status}: schema`);
      }
    }
  }
  assert.equal(
    Object.values(doc.paths).reduce((a, p) => a + Object.keys(p).length, 0),
    n,
    'no operation without a route',
  );
});

test('shared shapes are components, every $ref resolves, no JSON-schema-only constructs remain', () => {
  for (const c of ['Error', 'Event', 'Alert', 'Sensor', 'WorkloadSummary', 'WorkloadInsights']) assert.ok(doc.components.schemas[c], c);
  assert.deepEqual(doc.components.schemas.Error!.required, ['code', 'message']);
  assert.deepEqual(Object.keys(doc.components.schemas.Error!.properties!), ['code', 'message', 'field', 'expected']);
  const text = JSON.stringify(doc);
  for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) assert.ok(doc.components.schemas[m[1]!], m[1]);
  for (const bad of ['"const"', '"patternProperties"', '"type":"null"', '"anyOf"', '"$id"', '"examples"']) assert.ok(!text.includes(bad), bad);
  // nullable fields of the insight types keep their type
  assert.deepEqual(doc.components.schemas.WorkloadSummary!.properties!.namespace, { nullable: true, type: 'string' });
  // 64-bit times are strings in the document too
  const since = doc.paths['/api/v1/events']!.get!.parameters!.find((p) => p.name === 'since')!;
  assert.equal(since.schema.type, 'string');
});
