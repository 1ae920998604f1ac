// Sensor-side aggregation for insights (issue 10): the same recording (real events of the recorded
// frames plus generated ones covering every insight operation and several workloads, k8s pods
// included) goes through per-event shipping (--ship all: every event raw) and through aggregated
// shipping (--ship exec,policy: the rest counted by the sensor's UplinkAggregator and sent as items
// of kind 'g', with a small key table so it flushes early) into two real stores per engine (DuckDB,
// and a real PostgreSQL 15), each behind a real server over mutual TLS. The insight_agg tables and
// the insight API responses must be identical, with exact counts; the aggregates must equal the
// scan over the stored events (the previous insight queries) and the migration's backfill.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../../src/server/index.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { UplinkAggregator } from '../../../src/uplink/aggregate.ts';
import { parseShip } from '../../../src/uplink/ship.ts';
import { AGG_OPS, AGG_ROW_LEN, eventFacts, aggregateEvents, Aggregator } from '../../../src/insights/aggregate.ts';
import { eventRow } from '../../../src/store/extract.ts';
import {
  AGGREGATE_OPS,
  AGGREGATE_ROW_LEN,
  aggregateItemError,
  CloseCode,
  encodeBatch,
  encodeItem,
  parseClientFrame,
  ProtocolError,
} from '../../../src/wire/protocol.ts';
import { Spool } from '../../../src/uplink/spool.ts';
import { DuckDbStore } from '../../../src/store/duckdb.ts';
import { PostgresStore } from '../../../src/store/postgres.ts';
import type { Store } from '../../../src/store/types.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { startPostgres, postgresAvailable, type PgHandle } from '../../helpers/services.ts';
import { api, type ApiPage, type WorkloadInsights, type WorkloadSummary } from '../../helpers/backend-server.ts';
import { insightRecording, type Doc } from '../../helpers/insight-recording.ts';

const HOST = 'node-eq';
const recording = insightRecording(3000);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-agg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Row = Record<string, unknown>;
const rawAll = (s: RunningServer, sql: string): Promise<Row[]> => (s.store as unknown as { all(sql: string): Promise<Row[]> }).all(sql);
const TABLE = `SELECT workload_id, CAST(bucket AS VARCHAR) AS bucket, k, op, a, b, c, d, e, port, pol, CAST(n AS VARCHAR) AS n, CAST(denied AS VARCHAR) AS denied,
  CAST(s1 AS VARCHAR) AS s1, CAST(s2 AS VARCHAR) AS s2, CAST(first_ns AS VARCHAR) AS first_ns, CAST(last_ns AS VARCHAR) AS last_ns FROM insight_agg ORDER BY workload_id, bucket, k`;

test('the aggregation classifies every event of the recording exactly as the stored columns do', () => {
  assert.ok(recording.length > 3000, `${recording.length} events`);
  for (const [i, ev] of recording.entries()) {
    const f = eventFacts(ev, HOST);
    const r = eventRow('s', HOST, i, ev, '{}');
    const at = `event ${i} (${JSON.stringify((ev.evt as Doc).type)})`;
    assert.equal(f.time, r.time_ns.toString(), at);
    assert.deepEqual(
      [f.workload.id, f.workload.kind, f.workload.name, f.ns, f.containerId, f.denied],
      [r.workload_id, r.workload_kind, r.workload_name, r.k8s_ns, r.container_id, r.denied],
      at,
    );
    assert.deepEqual(f.net && [f.net.dir, f.net.peer, f.net.port, f.net.l4], r.net_dir === null ? null : [r.net_dir, r.peer_addr, r.peer_port, r.l4proto], at);
    assert.deepEqual(f.file && [f.file.path, f.file.op], r.file_op === null ? null : [r.file_path, r.file_op], at);
    assert.deepEqual(
      f.exec && [f.exec.exe, f.exec.parent],
      r.evt_type === 'execve' || r.evt_type === 'execveat' ? [r.proc_exepath, r.proc_pexepath] : null,
      at,
    );
    assert.deepEqual(f.cap && [f.cap.name, f.cap.granted, f.cap.denied], r.cap_name === null ? null : [r.cap_name, r.cap_granted, r.cap_denied], at);
    assert.deepEqual(
      f.policy && [f.policy.name, f.policy.action, f.policy.rule],
      r.policy_name === null ? null : [r.policy_name, r.policy_action, r.policy_rule],
      at,
    );
    assert.equal(f.pol, r.denied || r.policy_action !== null ? r.policy_name : null, at);
  }
  // every operation occurs, in several workloads, k8s ones included
  const rows = aggregateEvents(recording, HOST);
  assert.deepEqual([...new Set(rows.map((r) => r[2]))].sort(), ['cap', 'evt', 'exec', 'file', 'net', 'policy']);
  const ids = new Set(rows.map((r) => r[0]));
  for (const id of [
    'host:node-eq',
    'k8s:shop:deployment:api',
    'k8s:shop:statefulset:db',
    'k8s:ops:cronjob:backup',
    'k8s:kube-system:daemonset-or-job:agent',
    'k8s:dev:pod:debug',
    'container:fffffffffff1',
  ])
    assert.ok(ids.has(id), `${id} in ${[...ids].join(' ')}`);
  assert.ok(new Set(rows.map((r) => r[1])).size >= 2, 'the recording spans two buckets');
  // the aggregate item validator knows the aggregator's ops and row, accepts what it makes, and says what is wrong otherwise
  assert.deepEqual(AGGREGATE_OPS, AGG_OPS);
  assert.equal(AGGREGATE_ROW_LEN, AGG_ROW_LEN);
  assert.ok(rows.every((r) => r.length === AGG_ROW_LEN));
  assert.equal(aggregateItemError({ rows: rows.slice(0, 1000) }), null);
  const bad = [...rows[0]!];
  bad[15] = '1';
  assert.match(aggregateItemError({ rows: [bad] }) ?? '', /aggregate row 0: first_ns is after last_ns/);
  assert.match(aggregateItemError({ rows: [] }) ?? '', /1\.\.1000 rows/);
});

test('a full key table refuses the whole event (nothing counted twice or lost) and counts it', () => {
  const a = new Aggregator(HOST, 8);
  let refused = 0;
  const rows = [];
  for (const ev of recording.slice(0, 200)) {
    if (!a.add(ev)) {
      refused++;
      rows.push(...a.take());
      assert.ok(a.add(ev));
    }
  }
  rows.push(...a.take());
  assert.ok(refused > 10);
  assert.equal(a.stats().fullFlushes, refused);
  assert.equal(
    rows.filter((r) => r[2] === 'evt').reduce((s, r) => s + r[10], 0),
    200,
  );
});

test('aggregate items on the wire: a valid one parses, a bad one closes with 4400 naming the item, row and field', () => {
  const rows = aggregateEvents(recording.slice(0, 300), HOST);
  const ok = encodeBatch('s', 7, 8, [encodeItem(7, 'e', JSON.stringify(recording[0])), encodeItem(8, 'g', JSON.stringify({ rows }))].join(','));
  const f = parseClientFrame(ok, 5000);
  assert.equal(f.type === 'batch' && f.items[1]![1], 'g');
  const bad = structuredClone(rows);
  bad[3]![10] = 0;
  const text = encodeBatch('s', 7, 7, encodeItem(7, 'g', JSON.stringify({ rows: bad })));
  assert.throws(
    () => parseClientFrame(text, 5000),
    (e: unknown) => e instanceof ProtocolError && e.closeCode === CloseCode.MALFORMED && /item 0 \(seq 7\): aggregate row 3 field 10 \(n\)/.test(e.message),
  );
  assert.throws(() => parseClientFrame(encodeBatch('s', 7, 7, encodeItem(7, 'x' as 'g', '{}')), 5000), /kind must be "e", "a", "c", "r" or "g"/);
});

test('the spool keeps the kind of an aggregate item across a restart', () => {
  const dir = path.join(tmp, 'spool');
  const sp = new Spool(dir, { maxBytes: 1 << 20 });
  const json = JSON.stringify({ rows: aggregateEvents(recording.slice(0, 20), HOST) });
  assert.equal(sp.append('e', '{"evt":{}}'), 1);
  assert.equal(sp.append('g', json), 2);
  assert.equal(sp.append('a', '{"rule":"r"}'), 3);
  sp.flush();
  sp.close();
  const again = new Spool(dir, { maxBytes: 1 << 20 });
  assert.deepEqual(
    again.read(0, 10, 1 << 20).map((r) => [r.seq, r.kind, r.payload === json || r.kind !== 'g']),
    [
      [1, 'e', true],
      [2, 'g', true],
      [3, 'a', true],
    ],
  );
  again.close();
});

/** Retention drops aggregates by whole buckets: what is older than the cutoff goes, the rest stays exact. */
async function retentionCase(store: Store): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const old = (i: number) => ({ ...recording[0]!, evt: { ...(recording[0]!.evt as Doc), time: String(1_000_000_000_000_000_000n + BigInt(i)) } });
  const fresh = (i: number) => ({ ...recording[0]!, evt: { ...(recording[0]!.evt as Doc), time: String(now + BigInt(i)) } });
  await store.ingest('ret', 'ret-host', [
    ...Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, kind: 'e' as const, data: old(i) })),
    { seq: 11, kind: 'g', data: { rows: aggregateEvents([old(99), fresh(99)], 'ret-host') } },
    ...Array.from({ length: 5 }, (_, i) => ({ seq: 12 + i, kind: 'e' as const, data: fresh(i) })),
  ]);
  const w = 'host:ret-host';
  assert.equal((await store.workloadInsights(w, {}))!.events, 17);
  await store.applyRetention({ maxAgeMs: 3600_000 });
  const after = (await store.workloadInsights(w, {}))!;
  assert.equal(after.events, 6);
  assert.equal(after.first_seen.slice(0, 4), new Date().toISOString().slice(0, 4));
}

test('retention drops old aggregate buckets and keeps the recent ones exactly: duckdb', async () => {
  const s = new DuckDbStore(path.join(tmp, 'ret.duckdb'));
  await s.init();
  try {
    await retentionCase(s);
  } finally {
    await s.close();
  }
});

function engine(name: string, storeUrl: (which: string) => Promise<string>) {
  describe(`per-event and aggregated shipping give identical insights: ${name}`, () => {
    let perEvent: RunningServer;
    let aggregated: RunningServer;
    let aggCounters: ReturnType<UplinkAggregator['counters']>;

    async function sensor(srv: RunningServer, dir: string): Promise<SensorUplink> {
      const token = srv.auth.createEnrollmentToken(600_000, srv.caFingerprint).token;
      const up = new SensorUplink({ dir: path.join(tmp, dir), server: srv.url, token, hostname: HOST, logger: silentLogger(), flushIntervalMs: 5 });
      await up.start();
      return up;
    }

    before(async () => {
      const mk = async (which: string) =>
        startServer({ dataDir: path.join(tmp, `${name}-${which}`), listen: '127.0.0.1:0', store: await storeUrl(which), logger: silentLogger() });
      [perEvent, aggregated] = await Promise.all([mk('a'), mk('b')]);
      const [upA, upB] = await Promise.all([sensor(perEvent, `${name}-sa`), sensor(aggregated, `${name}-sb`)]);
      // per-event shipping: every event raw
      for (const ev of recording) assert.ok(upA.push(ev));
      // aggregated shipping: execs and policy decisions raw, the rest aggregated (flushed by hand
      // every 500 events and early whenever 64 keys are held), final flush on stop
      const ship = parseShip('exec,policy');
      const agg = new UplinkAggregator(upB, upB.hostname, { intervalMs: 0, maxKeys: 64 });
      for (const [i, ev] of recording.entries()) {
        if (ship(ev as unknown as VigilEvent)) assert.ok(upB.push(ev));
        else agg.add(ev);
        if (i % 500 === 499) agg.flush();
      }
      agg.stop();
      aggCounters = agg.counters();
      assert.ok(await upA.drain(60_000), 'per-event sensor drained');
      assert.ok(await upB.drain(60_000), 'aggregating sensor drained');
      await Promise.all([upA.close(), upB.close()]);
    });
    after(async () => {
      await Promise.all([perEvent?.close(), aggregated?.close()]);
    });

    test('identical insight_agg tables, row for row', async () => {
      const a = await rawAll(perEvent, TABLE);
      const b = await rawAll(aggregated, TABLE);
      assert.ok(a.length > 100, `${a.length} rows`);
      assert.deepEqual(b, a);
      assert.ok(aggCounters.earlyFlushes > 0 && aggCounters.droppedRows === 0, JSON.stringify(aggCounters));
      // what was stored raw: every event, against execs and policy decisions only
      const ship = parseShip('exec,policy');
      const raw = recording.filter((e) => ship(e as unknown as VigilEvent)).length;
      assert.equal(await perEvent.store.countEvents(), recording.length);
      assert.equal(await aggregated.store.countEvents(), raw);
      assert.equal(aggCounters.events, recording.length - raw);
    });

    test('identical insight API responses (list and every workload), with exact counts', async () => {
      const list = async (s: RunningServer) => (await api<ApiPage<WorkloadSummary>>(s.url, s.dataDir, '/api/v1/insights/workloads')).json.items;
      const la = await list(perEvent);
      assert.deepEqual(await list(aggregated), la);
      // exact: the events of each workload in the recording
      const want = new Map<string, number>();
      for (const ev of recording) {
        const id = eventFacts(ev, HOST).workload.id;
        want.set(id, (want.get(id) ?? 0) + 1);
      }
      assert.deepEqual(new Map(la.map((w) => [w.id, w.events])), want);
      for (const w of la) {
        const p = `/api/v1/insights/workloads/${encodeURIComponent(w.id)}`;
        const da = await api<WorkloadInsights>(perEvent.url, perEvent.dataDir, p);
        const db = await api<WorkloadInsights>(aggregated.url, aggregated.dataDir, p);
        assert.equal(da.status, 200);
        assert.deepEqual(db.json, da.json, w.id);
      }
      const api1 = (await api<WorkloadInsights>(perEvent.url, perEvent.dataDir, `/api/v1/insights/workloads/${encodeURIComponent('k8s:shop:deployment:api')}`))
        .json;
      assert.equal(api1.hosts.join(), HOST);
      assert.equal(api1.containers, 2);
      assert.ok(api1.files.some((f) => f.path === '/etc/shadow' && f.denied > 0 && f.policies.includes('no-shadow')));
      assert.ok(
        api1.files.some((f) => f.path.includes('***REDACTED***')),
        'the secret in a path is redacted in both paths',
      );
      assert.ok(api1.network.some((x) => x.peer === '1.2.3.4' && x.denied > 0 && x.policies.join() === 'no-egress'));
    });

    test('the aggregates equal the scan over the stored events (the previous insight queries) and the backfill', async () => {
      for (const w of await perEvent.store.listWorkloads({})) {
        const fromAgg = await perEvent.store.workloadInsights(w.id, {});
        const fromScan = await perEvent.store.workloadInsights(w.id, { since: 0n });
        // the scans order entries by last seen without a tie-break: compare as sets of entries
        const norm = (x: WorkloadInsights | null) =>
          x && {
            ...x,
            network: x.network.map((e) => JSON.stringify(e)).sort(),
            files: x.files.map((e) => JSON.stringify(e)).sort(),
            processes: x.processes.map((e) => JSON.stringify(e)).sort(),
          };
        assert.deepEqual(norm(fromAgg), norm(fromScan), w.id);
      }
      assert.deepEqual(await perEvent.store.listWorkloads({}), await perEvent.store.listWorkloads({ since: 0n }));
      const before = await rawAll(perEvent, TABLE);
      await (perEvent.store as unknown as { rebuildAggregates(): Promise<void> }).rebuildAggregates();
      assert.deepEqual(await rawAll(perEvent, TABLE), before);
    });

    test('a resent aggregate item is stored once', async () => {
      const before = await rawAll(aggregated, TABLE);
      const sensorId = (await aggregated.store.listSensors())[0]!.id;
      const r = await aggregated.store.ingest(sensorId, HOST, [{ seq: 1, kind: 'g', data: { rows: aggregateEvents(recording.slice(0, 50), HOST) } }]);
      assert.deepEqual(r, { inserted: 0, duplicates: 1 });
      assert.deepEqual(await rawAll(aggregated, TABLE), before);
    });
  });
}

engine('duckdb', async (which) => `duckdb:${path.join(tmp, `${which}.duckdb`)}`);

let pgh: PgHandle | undefined;
const pgMissing = postgresAvailable();
if (pgMissing) {
  test('postgres', (t) => t.skip(pgMissing));
} else {
  before(async () => {
    pgh = await startPostgres();
  });
  after(async () => {
    await pgh?.stop();
  });
  engine('postgres', (which) => pgh!.createDb(`vigil_agg_${which}`));
  test('retention drops old aggregate buckets and keeps the recent ones exactly: postgres', async () => {
    const s = new PostgresStore(await pgh!.createDb('vigil_agg_ret'));
    await s.init();
    try {
      await retentionCase(s);
    } finally {
      await s.close();
    }
  });
}
