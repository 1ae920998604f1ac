// API request validation comes from the route schemas (no root, no kernel: a real in-process server
// with the embedded DuckDB store over HTTPS). A bad body, query or path parameter gets a 400 whose
// body names the field and what was expected; bodies refused by the enrollment schema count as
// failed enrollments; 64-bit ns times in queries are not rounded through a double.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../src/common/log.ts';
import { startServer, type RunningServer } from '../../../src/server/index.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { makeEvent } from '../../helpers/backend-fixtures.ts';
import { api, type ApiError, type ApiEvent, type ApiPage, type ApiToken } from '../../helpers/backend-server.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-api-validation-'));
const dataDir = path.join(tmp, 'server');
let srv: RunningServer;

before(async () => {
  srv = await startServer({ dataDir, listen: '127.0.0.1:0', logger: silentLogger() });
});
after(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const call = <T = unknown>(p: string, o: { method?: string; body?: unknown; token?: string | null } = {}) => api<T>(srv.url, dataDir, p, o);

describe('a bad request gets a 400 naming the field and what was expected', () => {
  const cases: { what: string; p: string; o?: { method?: string; body?: unknown }; field: string; expected: RegExp; message: RegExp }[] = [
    {
      what: 'body: value outside an enum',
      p: '/api/v1/api-tokens',
      o: { method: 'POST', body: { scope: 'root' } },
      field: 'body.scope',
      expected: /^one of read, admin$/,
      message: /^body\.scope: expected one of read, admin$/,
    },
    {
      what: 'body: required field missing',
      p: '/api/v1/api-tokens',
      o: { method: 'POST', body: { name: 'ci' } },
      field: 'body.scope',
      expected: /^one of read, admin/,
      message: /^body\.scope: missing; expected one of read, admin/,
    },
    {
      what: 'body: field of the wrong type',
      p: '/api/v1/api-tokens',
      o: { method: 'POST', body: { scope: 'read', name: 7 } },
      field: 'body.name',
      expected: /^a string/,
      message: /^body\.name: expected a string/,
    },
    {
      what: 'body: unknown field',
      p: '/api/v1/api-tokens',
      o: { method: 'POST', body: { scope: 'read', admin: true } },
      field: 'body.admin',
      expected: /^one of scope, name$/,
      message: /^body\.admin: unknown field; expected one of scope, name$/,
    },
    {
      what: 'body: not an object',
      p: '/api/v1/api-tokens',
      o: { method: 'POST', body: ['read'] },
      field: 'body',
      expected: /^a JSON object$/,
      message: /^body: expected a JSON object$/,
    },
    {
      what: 'body: pattern',
      p: '/api/v1/enrollment-tokens',
      o: { method: 'POST', body: { ttl: 'soon' } },
      field: 'body.ttl',
      expected: /^a duration like 30s, 15m, 1h, 7d$/,
      message: /^body\.ttl: expected a duration/,
    },
    {
      what: 'query: integer bound',
      p: '/api/v1/events?limit=0',
      field: 'querystring.limit',
      expected: /^an integer in 1\.\.10000$/,
      message: /^querystring\.limit: expected an integer in 1\.\.10000$/,
    },
    {
      what: 'query: not an integer',
      p: '/api/v1/alerts?limit=ten',
      field: 'querystring.limit',
      expected: /^an integer/,
      message: /^querystring\.limit: expected an integer/,
    },
    {
      what: 'query: unknown parameter',
      p: '/api/v1/events?bogus=1',
      field: 'querystring.bogus',
      expected: /^one of since, until, limit, cursor, order, sensor, workload, or a Falco field name/,
      message: /^querystring\.bogus: unknown parameter; expected one of since/,
    },
    {
      what: 'query: time of the wrong shape',
      p: '/api/v1/events?since=yesterday-ish',
      field: 'querystring.since',
      expected: /RFC 3339 time, ns since epoch or a duration/,
      message: /^querystring\.since: expected /,
    },
    {
      what: 'query: impossible date',
      p: '/api/v1/alerts?until=2024-13-45',
      field: 'querystring.until',
      expected: /RFC 3339 time, ns since epoch or a duration/,
      message: /^querystring\.until: expected /,
    },
    {
      what: 'query: boolean',
      p: '/api/v1/alerts?acked=maybe',
      field: 'querystring.acked',
      expected: /^true or false/,
      message: /^querystring\.acked: expected true or false/,
    },
    {
      what: 'query: enum',
      p: '/api/v1/events?order=up',
      field: 'querystring.order',
      expected: /^one of desc, asc$/,
      message: /^querystring\.order: expected one of desc, asc$/,
    },
    {
      what: 'path parameter',
      p: '/api/v1/sensors/bogus/revoke',
      o: { method: 'POST' },
      field: 'params.id',
      expected: /^sensor id \(sensor-<16 hex digits>\)$/,
      message: /^params\.id: expected sensor id/,
    },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const r = await call<ApiError>(c.p, c.o);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.deepEqual(Object.keys(r.json).sort(), ['code', 'expected', 'field', 'message']);
      assert.equal(r.json.code, 'bad_request');
      assert.equal(r.json.field, c.field);
      assert.match(r.json.expected!, c.expected);
      assert.match(r.json.message, c.message);
    });
  }

  test('a body that is not JSON, or not declared as JSON', async () => {
    const raw = (type: string, data: string) =>
      new Promise<{ status: number; json: ApiError }>((resolve, reject) => {
        const req = https.request(
          `${srv.url}/api/v1/api-tokens`,
          { method: 'POST', ca: readFileSync(path.join(dataDir, 'ca.pem')), headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': type } },
          (res) => {
            let b = '';
            res.on('data', (c: Buffer) => (b += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(b) }));
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    const bad = await raw('application/json', '{"scope": read}');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'bad_request');
    assert.equal(bad.json.field, 'body');
    assert.equal(bad.json.expected, 'a JSON document');
    assert.match(bad.json.message, /^body: /);
    const text = await raw('text/csv', 'scope,read');
    assert.equal(text.status, 415);
    assert.equal(text.json.field, 'headers.content-type');
    assert.equal(text.json.message, 'headers.content-type: expected application/json, got "text/csv"');
  });

  test('a valid request passes the same schemas (defaults applied, optional body)', async () => {
    const t = await call<ApiToken>('/api/v1/enrollment-tokens', { method: 'POST' });
    assert.equal(t.status, 201, JSON.stringify(t.json));
    assert.match(t.json.token, /^vgle1\./);
    const a = await call<ApiToken>('/api/v1/api-tokens', { method: 'POST', body: { scope: 'read', name: 'ci' } });
    assert.equal(a.status, 201);
    assert.deepEqual(Object.keys(a.json).sort(), ['scope', 'token']);
    const e = await call('/api/v1/events?proc.name=cat&proc.name=ls&order=asc');
    assert.equal(e.status, 200);
    assert.deepEqual(e.json, { items: [], next: null });
  });

  test('auth runs before validation: a bad body without a token is a 401', async () => {
    const r = await call<ApiError>('/api/v1/api-tokens', { method: 'POST', body: { scope: 'root' }, token: null });
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'unauthorized');
  });
});

describe('64-bit ns times', () => {
  test('since/until keep every nanosecond (no rounding through a double)', async () => {
    // 2^53 < T: neighbouring ns values are not representable as doubles
    const T = 1_700_000_000_123_456_789n;
    const tok = await call<ApiToken>('/api/v1/enrollment-tokens', { method: 'POST', body: {} });
    const up = new SensorUplink({ dir: path.join(tmp, 'sensor'), server: srv.url, token: tok.json.token, logger: silentLogger(), flushIntervalMs: 5 });
    await up.start();
    try {
      for (let i = 0; i < 3; i++) up.push(makeEvent({ num: i + 1, time: T + BigInt(i) }));
      assert.equal(await up.drain(10_000), true);
      const r = await call<ApiPage<ApiEvent>>(`/api/v1/events?since=${T + 1n}&until=${T + 2n}`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(
        r.json.items.map((e) => [e.evt.num, e.evt.time]),
        [[2, String(T + 1n)]],
      );
    } finally {
      await up.close();
    }
  });
});

// last: it leaves this address unable to enroll for a minute
describe('enrollment guard', () => {
  test('bodies refused by the schema count as failed enrollments', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call('/api/v1/enroll', { method: 'POST', body: { token: 'vgle1.x.y' }, token: null })).status);
    assert.deepEqual(statuses, [...Array(10).fill(400), 429, 429]);
    const r = await call<ApiError>('/api/v1/enroll', { method: 'POST', body: { token: 'vgle1.x.y', csr: 'x' }, token: null });
    assert.equal(r.status, 429);
    assert.equal(r.json.code, 'rate_limited');
    assert.match(r.json.message, /^too many failed enrollments from \S+; retry in \d+ s$/);
  });
});
