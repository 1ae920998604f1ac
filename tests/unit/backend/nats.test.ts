// Scale-out: two `vigil server` processes share one NATS JetStream stream (real nats-server -js)
// and one PostgreSQL store. A sensor with both servers in its failover list pushes a known set of
// events; the server it is connected to is SIGKILLed mid-stream; the sensor fails over to the
// other server, whose consumer also drains whatever the dead server had published. Every event
// is stored exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { silentLogger } from '../../../src/common/log.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { natsAvailable, postgresAvailable, startNats, startPostgres, type NatsHandle, type PgHandle } from '../../helpers/services.ts';
import { makeEvent } from '../../helpers/backend-fixtures.ts';
import {
  allEvents,
  api,
  spawnServer,
  waitFor,
  type ApiEvent,
  type ApiPage,
  type ApiSensor,
  type ApiToken,
  type ChildServer,
} from '../../helpers/backend-server.ts';

const missing = natsAvailable() ?? postgresAvailable();
let nats: NatsHandle | undefined;
let pg: PgHandle | undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-nats-test-'));

before(async () => {
  if (missing) return;
  nats = await startNats();
  pg = await startPostgres();
});
after(async () => {
  await nats?.stop();
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('two servers behind JetStream: SIGKILL one, nothing lost or duplicated', { timeout: 180_000, skip: missing }, async () => {
  const dataDir = path.join(tmp, 'server');
  const store = await pg!.createDb('vigil_nats');
  let a: ChildServer | undefined;
  let b: ChildServer | undefined;
  let up: SensorUplink | undefined;
  try {
    a = await spawnServer({ dataDir, store, stream: nats!.url, logLevel: 'warn' });
    b = await spawnServer({ dataDir, store, stream: nats!.url, logLevel: 'warn' });
    const tok = await api<ApiToken>(a.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
    up = new SensorUplink({
      dir: path.join(tmp, 'sensor'),
      server: a.url,
      servers: [a.url, b.url],
      token: tok.json.token,
      logger: silentLogger(),
      flushIntervalMs: 5,
      reconnectMinMs: 50,
      reconnectMaxMs: 300,
      batchMaxItems: 200,
    });
    await up.start();
    const N = 20_000;
    let pushed = 0;
    while (pushed < N / 2) {
      for (let i = 0; i < 200; i++) up.push(makeEvent({ num: ++pushed, proc: 'scale' }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await a.kill('SIGKILL');
    while (pushed < N) {
      for (let i = 0; i < 200; i++) up.push(makeEvent({ num: ++pushed, proc: 'scale' }));
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await up.drain(60_000), true, JSON.stringify(up.counters()));
    const sensorId = up.sensorId!;
    // The store catches up once JetStream is drained by B's consumer.
    let evs: ApiEvent[] = [];
    await waitFor(
      async () => {
        evs = await allEvents(b!.url, dataDir, `sensor=${sensorId}`, 5000);
        return evs.length >= N;
      },
      60_000,
      'store to catch up',
    );
    const nums = evs.map((e) => e.evt.num);
    assert.equal(new Set(nums).size, nums.length, 'no duplicates');
    assert.equal(nums.length, N);
    // Ingest went through JetStream: the work queue is empty and the consumer acked everything.
    const nc = await connect({ servers: nats!.url });
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_INGEST');
    const ci = await jsm.consumers.info('VIGIL_INGEST', 'vigil-store');
    await nc.close();
    assert.equal(info.state.messages, 0);
    assert.ok(ci.delivered.stream_seq > 0);
    const sensors = await api<ApiPage<ApiSensor>>(b.url, dataDir, '/api/v1/sensors');
    assert.equal(sensors.json.items.find((s) => s.id === sensorId)!.events_received, N);
  } finally {
    await up?.close();
    await a?.kill();
    await b?.kill();
  }
});
