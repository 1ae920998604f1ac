// The uplink run hook with sensor-side aggregation, as `vigil up` runs it: --ship exec,policy and a
// short --agg-interval, events fed through a kernel-free sensor handle into a real in-process server
// (DuckDB) over mutual TLS. The aggregates flush on the timer while events keep coming and once more
// on stop; the server's insights then equal those of a second store that got every event raw.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../../../src/server/index.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { stringifyRedacted } from '../../../src/common/redact.ts';
import { createRunContext, HookSet, type CoreRunOptions } from '../../../src/runtime/index.ts';
import { createUplinkHook } from '../../../src/uplink/run-hook.ts';
import { PlanBuilder } from '../../../src/sensor/hooks.ts';
import { DuckDbStore } from '../../../src/store/duckdb.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import type { UplinkAggregatorCounters } from '../../../src/uplink/aggregate.ts';
import { FeedSensor, RecordingControl } from '../runtime/feed-sensor.ts';
import { insightRecording } from '../../helpers/insight-recording.ts';
import { waitFor } from '../../helpers/backend-server.ts';

const CORE: CoreRunOptions = { output: 'json', argvMax: 4096, envMax: 4096, socket: false, ringbufMb: 16 };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-agghook-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('vigil up style shipping: timer and stop flushes, insights equal to shipping every event', async () => {
  const srv = await startServer({ dataDir: path.join(tmp, 'server'), listen: '127.0.0.1:0', logger: silentLogger() });
  const ref = new DuckDbStore(path.join(tmp, 'ref.duckdb'));
  await ref.init();
  try {
    const sensor = new FeedSensor();
    const control = new RecordingControl();
    const ctx = createRunContext({ sensor, core: CORE, control });
    const token = srv.auth.createEnrollmentToken(600_000, srv.caFingerprint).token;
    const opts = { server: srv.url, enroll: token, ca: srv.caPath, data: path.join(tmp, 'sensor'), ship: 'exec,policy', aggInterval: 100 };
    const hooks = new HookSet<FeedSensor>([createUplinkHook()], () => opts);
    await hooks.plan(new PlanBuilder());
    await hooks.start(ctx);
    const status = () => control.call('uplink.status') as { aggregates: UplinkAggregatorCounters; sensorId: string };

    const recording = insightRecording(1500);
    const half = recording.length >> 1;
    for (const ev of recording.slice(0, half)) sensor.feed(ev as unknown as VigilEvent);
    await waitFor(() => status().aggregates.flushes >= 1, 10_000, 'a timer flush');
    for (const ev of recording.slice(half)) sensor.feed(ev as unknown as VigilEvent);
    const beforeStop = status().aggregates;
    assert.ok(beforeStop.keys > 0, 'counters wait for the next flush');
    await hooks.stop(); // final flush, then drain
    assert.ok(beforeStop.events > 0 && beforeStop.droppedRows === 0, JSON.stringify(beforeStop));

    await ref.ingest(
      'ref',
      os.hostname(),
      recording.map((ev, i) => ({ seq: i + 1, kind: 'e' as const, data: JSON.parse(stringifyRedacted(ev)) as Record<string, unknown> })), // as the uplink sends it
    );
    const list = await srv.store.listWorkloads({});
    assert.deepEqual(list, await ref.listWorkloads({}));
    assert.equal(
      list.reduce((s, w) => s + w.events, 0),
      recording.length,
    );
    for (const w of list) assert.deepEqual(await srv.store.workloadInsights(w.id, {}), await ref.workloadInsights(w.id, {}), w.id);
    assert.ok((await srv.store.countEvents()) < recording.length / 3, 'only execs and policy decisions stored raw');
  } finally {
    await ref.close();
    await srv.close();
  }
});
