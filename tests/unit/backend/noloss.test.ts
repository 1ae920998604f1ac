// No loss, no duplicates: a known number of uniquely numbered events goes through SensorUplink
// while the server process is SIGKILLed and restarted after a pause, and the uplink itself is
// stopped and restarted (a sensor restart). Afterwards the API returns every event exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { allEvents, api, spawnServer, waitFor, type ApiPage, type ApiSensor, type ApiToken, type ChildServer } from '../../helpers/backend-server.ts';
import { makeEvent } from '../../helpers/backend-fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILLed server and restarted sensor: every event stored exactly once', { timeout: 240_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-noloss-'));
  const dataDir = path.join(tmp, 'server');
  const sensorDir = path.join(tmp, 'sensor');
  let srv: ChildServer | undefined;
  let up: SensorUplink | undefined;
  try {
    srv = await spawnServer({ dataDir, logLevel: 'warn' });
    const port = srv.port;
    const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: { ttl: '10m' } });
    assert.equal(tok.status, 201);
    const opts = { dir: sensorDir, server: srv.url, logger: silentLogger(), flushIntervalMs: 10, reconnectMinMs: 100, reconnectMaxMs: 500, batchMaxItems: 500 };
    up = new SensorUplink({ ...opts, token: tok.json.token });
    await up.start();
    const sensorId = up.sensorId!;

    const N = 30_000;
    const CHUNK = 250;
    let pushed = 0;
    const pushChunk = () => {
      for (let i = 0; i < CHUNK && pushed < N; i++) {
        pushed++;
        up!.push(makeEvent({ num: pushed, proc: 'noloss', args: `marker-${pushed}` }));
      }
    };
    // Phase 1: a third of the events with the server up.
    while (pushed < N / 3) {
      pushChunk();
      await sleep(5);
    }
    // Kill the server hard while batches are in flight; keep capturing while it is down.
    await srv.kill('SIGKILL');
    for (let i = 0; i < 20; i++) {
      pushChunk();
      await sleep(50);
    }
    srv = await spawnServer({ dataDir, port, logLevel: 'warn' });
    await waitFor(() => up!.counters().connected, 30_000, 'reconnect after server restart');
    // Phase 2: up to two thirds, then restart the sensor side (close + new uplink on the same dir).
    while (pushed < (2 * N) / 3) {
      pushChunk();
      await sleep(5);
    }
    await up.close();
    const before = up.counters();
    assert.ok(before.spoolRecords >= 0);
    up = new SensorUplink(opts);
    await up.start();
    assert.equal(up.sensorId, sensorId, 'same identity after restart');
    while (pushed < N) {
      pushChunk();
      await sleep(5);
    }
    assert.equal(await up.drain(90_000), true, `drain: ${JSON.stringify(up.counters())}`);
    const c = up.counters();
    assert.equal(c.dropped, 0);
    assert.equal(c.spoolRecords, 0);

    const events = await allEvents(srv.url, dataDir, `sensor=${sensorId}&proc.name=noloss`, 5000);
    const nums = events.map((e) => e.evt.num as number);
    const uniq = new Set(nums);
    assert.equal(uniq.size, nums.length, `duplicates: ${nums.length - uniq.size}`);
    assert.equal(nums.length, N, `stored ${nums.length} of ${N}`);
    for (let i = 1; i <= N; i++) assert.ok(uniq.has(i), `missing event ${i}`);
    for (const e of events) assert.equal(e.proc.args, `marker-${e.evt.num}`);
    const sensors = await api<ApiPage<ApiSensor>>(srv.url, dataDir, '/api/v1/sensors');
    const me = sensors.json.items.find((s) => s.id === sensorId)!;
    assert.equal(me.events_received, N);
    assert.equal(me.connected, true);
  } finally {
    await up?.close();
    await srv?.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
});
