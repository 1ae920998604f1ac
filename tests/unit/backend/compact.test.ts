// Compact events end to end (src/wire/compact.ts, src/uplink/uplink.ts, src/store/records.ts): real
// sensor events (the recorded frames fixture, through the decoder and enricher) go through
// SensorUplink to a real server (DuckDB, then PostgreSQL) as process records plus compact events;
// the API gives back every event exactly as it was, Falco-field filters on process fields read the
// records, a restarted server reads records sent before the restart from its table, and a record
// the store never got is a counted unknown, never another process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { DuckDbStore } from '../../../src/store/duckdb.ts';
import { PostgresStore } from '../../../src/store/postgres.ts';
import type { SqlStore } from '../../../src/store/sqlbase.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { allEvents, api, spawnServer, waitFor, type ApiToken } from '../../helpers/backend-server.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';
import { postgresAvailable, startPostgres, type PgHandle } from '../../helpers/services.ts';

function fixtureEvents(): VigilEvent[] {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  return core.events;
}

/** The same events again under new numbers: new own fields, the same shared process objects. */
function renumbered(evs: VigilEvent[], add: number): VigilEvent[] {
  return evs.map((e) => ({ ...e, evt: { ...e.evt, num: e.evt.num + add } }));
}

async function roundTrip(t: { diagnostic(m: string): void }, store: 'duckdb' | 'postgres', storeUrl?: string): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-compact-'));
  const dataDir = path.join(tmp, 'server');
  let srv = await spawnServer({ dataDir, logLevel: 'warn', store: storeUrl });
  const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: { ttl: '10m' } });
  const up = new SensorUplink({
    dir: path.join(tmp, 'sensor'),
    server: srv.url,
    token: tok.json.token,
    logger: silentLogger(),
    flushIntervalMs: 5,
    reconnectMinMs: 50,
    reconnectMaxMs: 300,
  });
  try {
    await up.start();
    const evs = fixtureEvents();
    for (const e of evs) assert.equal(up.push(e), true);
    assert.equal(await up.drain(30_000), true);
    const c1 = up.counters();
    t.diagnostic(`${store}: ${evs.length} events, ${c1.records} process records`);
    assert.ok(c1.records > 0 && c1.records < evs.length, `records: ${c1.records}`);
    const byNum = <T extends { evt: { num: number } }>(xs: T[]): T[] => [...xs].sort((a, b) => a.evt.num - b.evt.num);
    const got = byNum(await allEvents(srv.url, dataDir, `sensor=${up.sensorId}`));
    assert.equal(got.length, evs.length);
    const want = byNum(evs);
    for (let i = 0; i < want.length; i++) {
      if (store === 'duckdb') assert.equal(JSON.stringify(got[i]), JSON.stringify(want[i]), `event ${want[i]!.evt.num}`);
      else assert.deepEqual(got[i], JSON.parse(JSON.stringify(want[i])), `event ${want[i]!.evt.num}`); // jsonb keeps no key order
    }
    // a filter on a process field that is not a column reads the process record
    const exec = want.find((e) => e.evt.type === 'execve' && typeof e.proc.cmdline === 'string' && e.proc.cmdline.includes(' '))!;
    assert.ok(exec, 'the fixture has an execve with arguments');
    const cmd = String(exec.proc.cmdline);
    const hits = await allEvents(srv.url, dataDir, `proc.cmdline=${encodeURIComponent(cmd)}`);
    assert.deepEqual(
      hits.map((e) => e.evt.num).sort((a, b) => a - b),
      want.filter((e) => e.proc.cmdline === cmd).map((e) => e.evt.num),
    );

    // evt.rawarg travels as its difference from evt.arg: filters on it read both
    const op = want.find((e) => e.evt.type === 'openat' && e.evt.rawarg.flags !== e.evt.arg.flags)!;
    assert.ok(op, 'the fixture has an openat');
    const raw = op.evt.rawarg as Record<string, unknown>;
    const rawHits = await allEvents(srv.url, dataDir, `evt.type=openat&evt.rawarg.flags=${raw.flags}&evt.rawarg.fd=${raw.fd}`);
    assert.deepEqual(
      rawHits.map((e) => e.evt.num).sort((a, b) => a - b),
      want
        .filter((e) => e.evt.type === 'openat' && String(e.evt.rawarg.flags) === String(raw.flags) && String(e.evt.rawarg.fd) === String(raw.fd))
        .map((e) => e.evt.num),
    );
    assert.ok(rawHits.length > 0);

    // restart the server: events sent afterwards reference records stored before it
    await srv.kill('SIGTERM');
    srv = await spawnServer({ dataDir, port: srv.port, logLevel: 'warn', store: storeUrl });
    const more = renumbered(evs, 100_000);
    for (const e of more) up.push(e);
    await waitFor(() => up.counters().connected, 30_000, 'reconnect');
    assert.equal(await up.drain(30_000), true);
    assert.equal(up.counters().records, c1.records, 'no record sent again');
    const got2 = byNum((await allEvents(srv.url, dataDir, `sensor=${up.sensorId}`)).filter((e) => e.evt.num > 100_000));
    assert.equal(got2.length, more.length);
    for (let i = 0; i < more.length; i++) assert.deepEqual(got2[i], JSON.parse(JSON.stringify(byNum(more)[i])));
    for (const e of got2) assert.equal((e as Record<string, unknown>).unknown_records, undefined);
    const st = await api<{ unknown_records: number }>(srv.url, dataDir, '/api/v1/status');
    assert.equal(st.json.unknown_records, 0);
  } finally {
    await up.close();
    await srv.kill('SIGTERM');
  }
}

test('compact events through the uplink to DuckDB come back exactly', { timeout: 120_000 }, (t) => roundTrip(t, 'duckdb'));

async function unknownRecord(s: SqlStore): Promise<void> {
  const own = { evt: { num: 1, time: '1700000000000000001', type: 'openat', category: 'file' }, proc: 999, thread: { tid: 5, caps: 998 } };
  const rec = { t: '1700000000000000000', k: 'user', v: { uid: 0, name: 'root' } };
  const ev2 = { evt: { num: 2, time: '1700000000000000002', type: 'openat', category: 'file' }, user: 1 };
  const r = await s.ingest('s1', 'h', [
    { seq: 1, kind: 'r', data: rec, json: JSON.stringify(rec) },
    { seq: 2, kind: 'c', data: own, json: JSON.stringify(own) },
    { seq: 3, kind: 'c', data: ev2, json: JSON.stringify(ev2) },
  ]);
  assert.deepEqual(r, { inserted: 3, duplicates: 0 });
  assert.equal(s.unknownRecords, 2, 'proc 999 and caps 998 are unknown at ingest');
  const page = await s.queryEvents({ fields: {}, limit: 10, order: 'asc' });
  const [a, b] = page.items.map((x) => JSON.parse(x) as Record<string, unknown>);
  assert.deepEqual(a, { evt: own.evt, thread: { tid: 5 }, unknown_records: { proc: 999, 'thread.caps': 998 } });
  assert.deepEqual(b, { evt: ev2.evt, user: { uid: 0, name: 'root' } });
  assert.equal(s.unknownRecords, 4);
  // the unknown event was stored under the host workload, not another process's
  const st = await s.queryEvents({ fields: { 'user.name': ['root'] }, limit: 10 });
  assert.deepEqual(
    st.items.map((x) => (JSON.parse(x) as { evt: { num: number } }).evt.num),
    [2],
  );
}

test('a record the store never got: counted unknown, left out, never guessed (DuckDB)', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-compact-'));
  const s = new DuckDbStore(path.join(tmp, 'a.duckdb'));
  await s.init();
  try {
    await unknownRecord(s);
  } finally {
    await s.close();
  }
});

let pgh: PgHandle | undefined;
const pgMissing = postgresAvailable();
if (pgMissing) test('compact events: postgres', (t) => t.skip(pgMissing));
else {
  before(async () => {
    pgh = await startPostgres();
  });
  after(async () => {
    await pgh?.stop();
  });
  test('compact events through the uplink to PostgreSQL come back exactly', { timeout: 120_000 }, async (t) =>
    roundTrip(t, 'postgres', await pgh!.createDb('vigil_compact_rt')),
  );
  test('a record the store never got: counted unknown (PostgreSQL)', async () => {
    const s = new PostgresStore(await pgh!.createDb('vigil_compact_unknown'));
    await s.init();
    try {
      await unknownRecord(s);
    } finally {
      await s.close();
    }
  });
}
