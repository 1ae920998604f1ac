// REST API tests over HTTPS against a real server, once with the DuckDB store and once with a real
// PostgreSQL: auth (401/403, JSON errors), OpenAPI document, Falco-field filters, cursor pagination
// while ingest continues (no item missed or repeated), alerts and ack, insights, sensors, metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../../src/server/index.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { postgresAvailable, startPostgres, type PgHandle } from '../../helpers/services.ts';
import { T0, makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';
import {
  allEvents,
  api,
  type ApiAlert,
  type ApiError,
  type ApiEvent,
  type ApiPage,
  type ApiSensor,
  type ApiToken,
  type WorkloadInsights,
  type WorkloadSummary,
} from '../../helpers/backend-server.ts';

function suite(name: string, storeUrl: () => Promise<string | undefined>) {
  describe(`API (${name})`, () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), `vigil-api-${name}-`));
    const dataDir = path.join(tmp, 'server');
    let srv: RunningServer;
    let up: SensorUplink;
    let sensorId: string;
    let readToken: string;
    const get = <T = unknown>(p: string, token?: string | null) => api<T>(srv.url, dataDir, p, { token });

    before(async () => {
      srv = await startServer({ dataDir, listen: '127.0.0.1:0', logger: silentLogger(), store: await storeUrl() });
      const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
      up = new SensorUplink({
        dir: path.join(tmp, 'sensor'),
        server: srv.url,
        token: tok.json.token,
        logger: silentLogger(),
        flushIntervalMs: 5,
        hostname: 'node-a',
      });
      await up.start();
      sensorId = up.sensorId!;
      for (let i = 1; i <= 300; i++) {
        up.push(
          makeEvent({
            num: i,
            time: T0 + BigInt(i) * 1_000_000n,
            type: i % 3 === 0 ? 'openat' : 'execve',
            proc: i % 2 ? 'cat' : 'ls',
            container: i % 5 === 0 ? 'abcdef123456' : 'host',
            ns: i % 5 === 0 ? 'prod' : undefined,
            pod: i % 5 === 0 ? 'web-6b8f7c9d5f-abcde' : undefined,
            fd: i % 3 === 0 ? { name: `/var/data/f${i}`, type: 'file' } : undefined,
            arg: i % 3 === 0 ? { flags: 'O_RDONLY' } : undefined,
          }),
        );
      }
      for (let i = 0; i < 12; i++) {
        up.pushAlert(
          makeAlert({
            rule: i % 2 ? 'Terminal shell in container' : 'Write below etc',
            priority: i % 3 ? 'Warning' : 'Critical',
            time: T0 + BigInt(i) * 1_000_000n,
            container: i % 4 ? 'abcdef123456' : 'host',
            pod: i % 4 ? 'web-6b8f7c9d5f-abcde' : undefined,
            ns: 'prod',
          }),
        );
      }
      assert.equal(await up.drain(30_000), true);
      readToken = (await api<ApiToken>(srv.url, dataDir, '/api/v1/api-tokens', { method: 'POST', body: { scope: 'read', name: 'viewer' } })).json.token;
    });
    after(async () => {
      await up?.close();
      await srv?.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    test('auth: 401 without or with a bad token, 403 for read on admin routes, JSON errors', async () => {
      for (const p of ['/api/v1/events', '/api/v1/alerts', '/api/v1/sensors', '/api/v1/insights/workloads', '/metrics']) {
        const r = await get<ApiError>(p, null);
        assert.equal(r.status, 401, p);
        assert.equal(r.json.code, 'unauthorized');
        assert.equal(typeof r.json.message, 'string');
        assert.equal((await get(p, 'vgl_r_nope')).status, 401);
        assert.equal((await get(p, readToken)).status, 200, p);
      }
      const ack = await api<ApiError>(srv.url, dataDir, '/api/v1/alerts/x/ack', { method: 'POST', token: readToken });
      assert.equal(ack.status, 403);
      assert.deepEqual(Object.keys(ack.json).sort(), ['code', 'message']);
      const nf = await get<ApiError>('/api/v1/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.json.code, 'not_found');
    });

    test('OpenAPI document describes every route', async () => {
      const r = await get<{ openapi: string; paths: Record<string, unknown> }>('/api/openapi.json', null);
      assert.equal(r.status, 200);
      assert.equal(r.json.openapi, '3.0.3');
      for (const p of [
        '/api/v1/events',
        '/api/v1/alerts',
        '/api/v1/alerts/{id}/ack',
        '/api/v1/insights/workloads',
        '/api/v1/insights/workloads/{id}',
        '/api/v1/sensors',
        '/api/v1/enrollment-tokens',
        '/api/v1/enroll',
        '/metrics',
      ]) {
        assert.ok(r.json.paths[p], p);
      }
    });

    test('events: Falco field filters, time range, validation', async () => {
      const cats = await allEvents(srv.url, dataDir, 'proc.name=cat');
      assert.equal(cats.length, 150);
      assert.ok(cats.every((e) => e.proc.name === 'cat'));
      const q = await allEvents(srv.url, dataDir, 'evt.type=execve&proc.name=cat&container.id=abcdef123456');
      assert.ok(q.length > 0 && q.every((e) => e.evt.type === 'execve' && e.proc.name === 'cat' && e.container.id === 'abcdef123456'));
      assert.equal(q.length, 300 / 10 - Math.floor(300 / 30)); // odd multiples of 5 that are not multiples of 3
      const multi = await allEvents(srv.url, dataDir, 'evt.type=openat&evt.type=execve');
      assert.equal(multi.length, 300);
      const pod = await allEvents(srv.url, dataDir, 'k8s.pod.name=web-6b8f7c9d5f-abcde');
      assert.equal(pod.length, 60);
      const byJson = await allEvents(srv.url, dataDir, 'fd.type=file');
      assert.equal(byJson.length, 100);
      const since = (T0 + 101n * 1_000_000n).toString();
      const until = new Date(Number((T0 + 111n * 1_000_000n) / 1_000_000n)).toISOString();
      const ranged = await allEvents(srv.url, dataDir, `since=${since}&until=${encodeURIComponent(until)}`);
      assert.deepEqual(
        ranged.map((e) => e.evt.num).sort((a, b) => a - b),
        [101, 102, 103, 104, 105, 106, 107, 108, 109, 110],
      );
      assert.equal((await get('/api/v1/events?bogus=1')).status, 400);
      assert.equal((await get('/api/v1/events?limit=0')).status, 400);
      assert.equal((await get('/api/v1/events?proc.pid=abc')).status, 400);
      assert.equal((await get('/api/v1/events?since=yesterday-ish')).status, 400);
      assert.equal((await get('/api/v1/events?cursor=broken')).status, 400);
      const page = await get<ApiPage<ApiEvent>>('/api/v1/events?limit=5');
      assert.equal(page.json.items.length, 5);
      assert.equal(typeof page.json.next, 'string');
      assert.ok(page.json.items[0].evt && page.json.items[0].proc, 'items are in the event shape');
    });

    test('pagination while ingest continues: nothing missed or repeated', async () => {
      const baseline = await allEvents(srv.url, dataDir, '');
      const seen: string[] = [];
      let cursor: string | null = null;
      let i = 301;
      do {
        const r: { status: number; json: ApiPage<ApiEvent> } = await get<ApiPage<ApiEvent>>(
          `/api/v1/events?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(r.status, 200);
        for (const e of r.json.items) seen.push(`${e.evt.num}`);
        cursor = r.json.next;
        // Newer events keep arriving between pages.
        for (let k = 0; k < 3; k++, i++) up.push(makeEvent({ num: i, time: T0 + 10_000_000_000n + BigInt(i), proc: 'late' }));
        await new Promise((res) => setTimeout(res, 5));
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, 'no repeats');
      const want = new Set(baseline.map((e) => `${e.evt.num}`));
      for (const k of want) assert.ok(seen.includes(k), `missed ${k}`);
      // Ascending order too.
      const asc: number[] = [];
      cursor = null;
      do {
        const r: { status: number; json: ApiPage<ApiEvent> } = await get<ApiPage<ApiEvent>>(
          `/api/v1/events?limit=13&order=asc&proc.name=cat${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        asc.push(...r.json.items.map((e) => e.evt.num));
        cursor = r.json.next;
      } while (cursor);
      assert.equal(asc.length, 150);
      assert.deepEqual(
        asc,
        [...asc].sort((a, b) => a - b),
      );
      assert.equal(await up.drain(10_000), true);
    });

    test('alerts: filters, ack', async () => {
      const all = (await get<ApiPage<ApiAlert>>('/api/v1/alerts?limit=100')).json.items;
      assert.equal(all.length, 12);
      assert.ok(all.every((a) => a.uuid && a.rule && a.output_fields && a.acked === false));
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?rule=Write%20below%20etc')).json.items.length, 6);
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?priority=critical')).json.items.length, 4);
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?min_priority=warning')).json.items.length, 12);
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?min_priority=critical')).json.items.length, 4);
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?container=host')).json.items.length, 3);
      assert.equal((await get<ApiPage<ApiAlert>>('/api/v1/alerts?pod=web-6b8f7c9d5f-abcde')).json.items.length, 9);
      assert.equal((await get<ApiPage<ApiAlert>>(`/api/v1/alerts?since=${T0}&until=${T0 + 3_000_000n}`)).json.items.length, 3);
      const p1 = await get<ApiPage<ApiAlert>>('/api/v1/alerts?limit=5');
      const p2 = await get<ApiPage<ApiAlert>>(`/api/v1/alerts?limit=5&cursor=${encodeURIComponent(p1.json.next!)}`);
      assert.equal(new Set([...p1.json.items, ...p2.json.items].map((a) => a.uuid)).size, 10);
      const id = all[0].uuid;
      const ack = await api(srv.url, dataDir, `/api/v1/alerts/${id}/ack`, { method: 'POST' });
      assert.equal(ack.status, 200);
      const acked = (await get<ApiPage<ApiAlert>>('/api/v1/alerts?acked=true')).json.items;
      assert.deepEqual(
        acked.map((a) => a.uuid),
        [id],
      );
      assert.equal((await api(srv.url, dataDir, '/api/v1/alerts/does-not-exist/ack', { method: 'POST' })).status, 404);
    });

    test('insights and sensors', async () => {
      const ws = (await get<ApiPage<WorkloadSummary>>('/api/v1/insights/workloads')).json.items;
      const web = ws.find((w) => w.id === 'k8s:prod:deployment:web');
      assert.ok(web, JSON.stringify(ws.map((w) => w.id)));
      assert.equal(web.events, 60);
      assert.ok(ws.some((w) => w.id === 'host:node-a'));
      const d = await get<WorkloadInsights>(`/api/v1/insights/workloads/${encodeURIComponent('k8s:prod:deployment:web')}`);
      assert.equal(d.status, 200);
      assert.equal(d.json.files.length, 1);
      assert.equal(d.json.files[0].path, '/var/data/*');
      assert.equal(d.json.files[0].count, 20);
      assert.ok(d.json.processes.length > 0);
      assert.ok(d.json.rules.some((r) => r.rule === 'Terminal shell in container'));
      assert.equal((await get('/api/v1/insights/workloads/k8s:x:pod:nope')).status, 404);
      const s = (await get<ApiPage<ApiSensor>>('/api/v1/sensors')).json.items.find((x) => x.id === sensorId)!;
      assert.equal(s.hostname, 'node-a');
      assert.equal(s.connected, true);
      assert.equal(s.alerts_received, 12);
      assert.ok(s.events_received >= 300);
      assert.deepEqual(s.drops, { kernel: 0, user: 0, spool: 0 });
      up.setDrops({ kernel: 7, user: 2 });
      for (let k = 0; k < 100; k++) {
        const x = (await get<ApiPage<ApiSensor>>('/api/v1/sensors')).json.items.find((y) => y.id === sensorId)!;
        if (x.drops.kernel === 7) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      const s2 = (await get<ApiPage<ApiSensor>>('/api/v1/sensors')).json.items.find((x) => x.id === sensorId)!;
      assert.deepEqual(s2.drops, { kernel: 7, user: 2, spool: 0 });
    });

    test('metrics', async () => {
      const r = await api(srv.url, dataDir, '/metrics', {});
      assert.equal(r.status, 200);
      assert.match(String(r.json), /vigil_ingest_records_total\{kind="event"\} \d+/);
      assert.match(String(r.json), /vigil_sensors_connected 1/);
    });
  });
}

suite('duckdb', async () => undefined);

const pgMissing = postgresAvailable();
if (pgMissing) test('API (postgres)', (t) => t.skip(pgMissing));
else {
  let pg: PgHandle;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });
  suite('postgres', async () => pg.createDb('vigil_api'));
}
