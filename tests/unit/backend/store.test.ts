// Storage test suite, run unchanged against the DuckDB store and a real PostgreSQL 15 (started in a
// temp dir): migrations, exactly-once ingest, Falco-field filters, keyset pagination, alerts and
// ack, runtime insights, sensors registry, retention.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDbStore } from '../../../src/store/duckdb.ts';
import { PostgresStore } from '../../../src/store/postgres.ts';
import type { IngestRecord, Store } from '../../../src/store/types.ts';
import { startPostgres, postgresAvailable, type PgHandle } from '../../helpers/services.ts';
import { T0, makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';
import type { ApiAlert, ApiEvent } from '../../helpers/backend-server.ts';

function recs(from: number, to: number, f: (i: number) => Record<string, unknown>): IngestRecord[] {
  const out: IngestRecord[] = [];
  for (let i = from; i <= to; i++) out.push({ seq: i, kind: 'e', data: f(i) });
  return out;
}

function suite(name: string, open: () => Promise<Store>, reopen?: (s: Store) => Promise<Store>) {
  describe(`store: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    test('ingest is exactly-once per (sensor, seq), also across reopen', async () => {
      const r1 = await store.ingest(
        's1',
        'node1',
        recs(1, 100, (i) => makeEvent({ num: i, proc: i % 2 ? 'cat' : 'ls', container: i % 3 ? 'host' : 'abcdef123456' })),
      );
      assert.deepEqual(r1, { inserted: 100, duplicates: 0 });
      const r2 = await store.ingest(
        's1',
        'node1',
        recs(51, 150, (i) => makeEvent({ num: i, proc: i % 2 ? 'cat' : 'ls', container: i % 3 ? 'host' : 'abcdef123456' })),
      );
      assert.deepEqual(r2, { inserted: 50, duplicates: 50 });
      // Another sensor may use the same seqs.
      const r3 = await store.ingest(
        's2',
        'node2',
        recs(1, 10, (i) => makeEvent({ num: i, proc: 'curl', time: T0 + 500n * 1000n })),
      );
      assert.equal(r3.inserted, 10);
      assert.equal(await store.countEvents(), 160);
      assert.equal(await store.maxSeq('s1'), 150);
      if (reopen) {
        store = await reopen(store);
        const r4 = await store.ingest(
          's1',
          'node1',
          recs(140, 160, (i) => makeEvent({ num: i, proc: 'cat' })),
        );
        assert.deepEqual(r4, { inserted: 10, duplicates: 11 });
        assert.equal(await store.countEvents(), 170);
      } else {
        await store.ingest(
          's1',
          'node1',
          recs(151, 160, (i) => makeEvent({ num: i, proc: 'cat' })),
        );
      }
      const sensors = await store.listSensors();
      const s1 = sensors.find((s) => s.id === 's1');
      assert.equal(s1?.events_received, 160);
    });

    test('filters by Falco fields and time range', async () => {
      const all = async (q: Partial<Parameters<Store['queryEvents']>[0]>) => {
        const out: ApiEvent[] = [];
        let cursor: string | undefined;
        do {
          const p = await store.queryEvents({ fields: {}, limit: 1000, ...q, cursor });
          out.push(...p.items.map((x) => JSON.parse(x)));
          cursor = p.next ?? undefined;
        } while (cursor);
        return out;
      };
      const cats = await all({ fields: { 'proc.name': ['cat'] } });
      assert.ok(cats.length > 0 && cats.every((e) => e.proc.name === 'cat'));
      const curl = await all({ fields: { 'proc.name': ['curl'] } });
      assert.equal(curl.length, 10);
      const both = await all({ fields: { 'proc.name': ['curl', 'ls'] } });
      assert.ok(both.every((e) => e.proc.name === 'curl' || e.proc.name === 'ls'));
      assert.equal(both.length, 10 + 75);
      const ctr = await all({ fields: { 'container.id': ['abcdef123456'], 'evt.type': ['execve'] } });
      assert.ok(ctr.length > 0 && ctr.every((e) => e.container.id === 'abcdef123456'));
      // A field without a column goes through the JSON document.
      const byCmd = await all({ fields: { 'proc.cmdline': ['curl'] } });
      assert.equal(byCmd.length, 10);
      const byPid = await all({ fields: { 'proc.pid': ['1005'] } });
      assert.ok(byPid.length > 0 && byPid.every((e) => e.proc.pid === 1005));
      const ranged = await all({ since: T0 + 10n * 1000n, until: T0 + 20n * 1000n, sensor: 's1' });
      assert.deepEqual(
        ranged.map((e) => e.evt.num).sort((a, b) => a - b),
        [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      );
      await assert.rejects(store.queryEvents({ fields: { 'proc.pid': ['x'] }, limit: 10 }), /integer/);
      await assert.rejects(store.queryEvents({ fields: { "proc.name'--": ['x'] }, limit: 10 }), /invalid field/);
    });

    test('cursor pagination returns every item exactly once, both orders, with time ties', async () => {
      // Ties: 30 events from 3 sensors sharing the same timestamps.
      for (const s of ['t1', 't2', 't3']) {
        await store.ingest(
          s,
          'tie',
          recs(1, 10, (i) => makeEvent({ num: i, proc: 'tie', time: T0 + 7777n + BigInt(i % 2) })),
        );
      }
      const total = await store.countEvents();
      for (const order of ['desc', 'asc'] as const) {
        for (const limit of [1, 7, 50]) {
          const seen = new Set<string>();
          let cursor: string | undefined;
          let prev: bigint | undefined;
          let pages = 0;
          do {
            const p = await store.queryEvents({ fields: {}, limit, order, cursor });
            for (const x of p.items) {
              const e = JSON.parse(x);
              const key = `${e.proc.name}/${e.evt.num}/${e.evt.time}/${x.length}/${seen.size}`;
              const t = BigInt(e.evt.time);
              if (prev !== undefined) assert.ok(order === 'desc' ? t <= prev : t >= prev, 'ordered');
              prev = t;
              seen.add(key);
            }
            cursor = p.next ?? undefined;
            pages++;
          } while (cursor && pages < 1000);
          assert.equal(seen.size, total, `order=${order} limit=${limit}`);
        }
      }
      // Identity check: all (sensor, num) pairs of the tie set appear once.
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await store.queryEvents({ fields: { 'proc.name': ['tie'] }, limit: 4, cursor });
        ids.push(...p.items.map((x) => JSON.parse(x).evt.num + '@' + JSON.parse(x).evt.time));
        cursor = p.next ?? undefined;
      } while (cursor);
      assert.equal(ids.length, 30);
      await assert.rejects(store.queryEvents({ fields: {}, limit: 5, cursor: 'garbage' }), /cursor/);
    });

    test('alerts: filters, pagination, ack', async () => {
      const alerts: IngestRecord[] = [];
      const prios = ['Warning', 'Critical', 'Notice'];
      for (let i = 0; i < 30; i++) {
        alerts.push({
          seq: 1000 + i,
          kind: 'a',
          data: makeAlert({
            rule: i % 2 ? 'Shell in container' : 'Read sensitive file',
            priority: prios[i % 3]!,
            time: T0 + BigInt(i) * 1000n,
            container: i % 5 ? 'c1c1c1c1c1c1' : 'host',
            pod: i % 5 ? 'web-7d9f8b6c5d-x2x9k' : undefined,
            ns: 'prod',
          }),
        });
      }
      assert.equal((await store.ingest('s1', 'node1', alerts)).inserted, 30);
      assert.equal((await store.ingest('s1', 'node1', alerts.slice(0, 5))).inserted, 0);
      const get = async (q: Partial<Parameters<Store['queryAlerts']>[0]>) => {
        const out: ApiAlert[] = [];
        let cursor: string | undefined;
        do {
          const p = await store.queryAlerts({ limit: 4, ...q, cursor });
          out.push(...p.items.map((x) => JSON.parse(x)));
          cursor = p.next ?? undefined;
        } while (cursor);
        return out;
      };
      assert.equal((await get({})).length, 30);
      assert.equal(new Set((await get({})).map((a) => a.uuid)).size, 30);
      assert.equal((await get({ rule: ['Shell in container'] })).length, 15);
      assert.equal((await get({ priority: ['critical'] })).length, 10);
      assert.equal((await get({ minPriority: 'warning' })).length, 20);
      assert.equal((await get({ container: ['host'] })).length, 6);
      assert.equal((await get({ pod: ['web-7d9f8b6c5d-x2x9k'] })).length, 24);
      assert.equal((await get({ since: T0, until: T0 + 10n * 1000n })).length, 10);
      const one = (await get({}))[0];
      assert.equal(one.acked, false);
      assert.equal(await store.ackAlert(one.uuid, 'admin'), true);
      assert.equal(await store.ackAlert('nope', 'admin'), false);
      const acked = await get({ acked: true });
      assert.equal(acked.length, 1);
      assert.equal(acked[0].uuid, one.uuid);
      assert.equal(acked[0].acked_by, 'admin');
    });

    test('runtime insights per workload', async () => {
      const pod = 'api-5f7c9d8b4d-qwzxv';
      const base = { container: 'feedfacecafe', ns: 'shop', pod };
      let n = 0;
      const evs: IngestRecord[] = [];
      const add = (e: Record<string, unknown>) => evs.push({ seq: ++n, kind: 'e', data: e });
      add(makeEvent({ num: n, ...base, type: 'execve', proc: 'python3', exepath: '/usr/bin/python3' }));
      add(makeEvent({ num: n, ...base, type: 'execve', proc: 'python3', exepath: '/usr/bin/python3' }));
      add(
        makeEvent({
          num: n,
          ...base,
          type: 'connect',
          proc: 'python3',
          fd: { name: '10.0.0.5:40000->10.0.0.9:5432', cip: '10.0.0.5', cport: 40000, sip: '10.0.0.9', sport: 5432, l4proto: 'tcp', type: 'ipv4' },
        }),
      );
      add(
        makeEvent({
          num: n,
          ...base,
          type: 'connect',
          proc: 'python3',
          res: -1,
          policy: { name: 'no-egress', action: 'Block', rule: 'deny 1.2.3.4' },
          fd: { name: '10.0.0.5:40001->1.2.3.4:443', sip: '1.2.3.4', sport: 443, l4proto: 'tcp', type: 'ipv4' },
        }),
      );
      add(
        makeEvent({
          num: n,
          ...base,
          type: 'accept4',
          proc: 'python3',
          fd: { name: '10.0.0.7:5555->10.0.0.5:8080', cip: '10.0.0.7', sip: '10.0.0.5', sport: 8080, l4proto: 'tcp', type: 'ipv4' },
        }),
      );
      for (let i = 0; i < 40; i++)
        add(makeEvent({ num: n, ...base, type: 'openat', proc: 'python3', arg: { flags: 'O_RDONLY' }, fd: { name: `/app/cache/f${i}`, type: 'file' } }));
      add(makeEvent({ num: n, ...base, type: 'openat', proc: 'python3', arg: { flags: 'O_WRONLY|O_CREAT' }, fd: { name: '/tmp/out.txt', type: 'file' } }));
      add(
        makeEvent({
          num: n,
          ...base,
          type: 'openat',
          proc: 'python3',
          res: -13,
          policy: { name: 'ro-etc', action: 'Block' },
          arg: { flags: 'O_WRONLY' },
          fd: { name: '/etc/shadow', type: 'file' },
        }),
      );
      add(makeEvent({ num: n, ...base, type: 'capability', proc: 'python3', arg: { cap: 'CAP_NET_RAW', granted: 0, denied: 3 } }));
      add(makeEvent({ num: n, ...base, type: 'capability', proc: 'python3', arg: { cap: 'CAP_CHOWN', granted: 2, denied: 0 } }));
      await store.ingest('ins', 'node9', evs);
      await store.ingest('ins', 'node9', [
        { seq: 10_000, kind: 'a', data: makeAlert({ rule: 'Shell spawned', priority: 'Warning', container: 'feedfacecafe', pod, ns: 'shop' }) },
      ]);
      const list = await store.listWorkloads({});
      const w = list.find((x) => x.id === 'k8s:shop:deployment:api');
      assert.ok(w, JSON.stringify(list.map((x) => x.id)));
      assert.equal(w.events, evs.length);
      assert.equal(w.kind, 'deployment');
      assert.equal(w.namespace, 'shop');
      assert.equal(w.denied, 2);
      assert.ok(list.some((x) => x.id === 'container:abcdef123456'));
      assert.ok(list.some((x) => x.id === 'host:node1'));
      const d = await store.workloadInsights('k8s:shop:deployment:api', {});
      assert.ok(d);
      const egress = d.network.filter((x) => x.direction === 'egress');
      assert.equal(egress.length, 2);
      const pgc = egress.find((x) => x.peer === '10.0.0.9')!;
      assert.equal(pgc.port, 5432);
      assert.equal(pgc.allowed, 1);
      const blocked = egress.find((x) => x.peer === '1.2.3.4')!;
      assert.equal(blocked.denied, 1);
      assert.deepEqual(blocked.policies, ['no-egress']);
      const ing = d.network.find((x) => x.direction === 'ingress')!;
      assert.equal(ing.peer, '10.0.0.7');
      assert.equal(ing.port, 8080);
      const cache = d.files.find((f) => f.path === '/app/cache/*')!;
      assert.equal(cache.collapsed, 40);
      assert.equal(cache.count, 40);
      assert.equal(cache.operation, 'read');
      assert.ok(d.files.some((f) => f.path === '/tmp/out.txt' && f.operation === 'write'));
      const shadow = d.files.find((f) => f.path === '/etc/shadow')!;
      assert.equal(shadow.denied, 1);
      assert.deepEqual(shadow.policies, ['ro-etc']);
      assert.deepEqual(
        d.processes.map((p) => [p.exe, p.parent, p.count]),
        [['/usr/bin/python3', '/bin/bash', 2]],
      );
      assert.deepEqual(
        d.capabilities.map((c) => [c.name, c.granted, c.denied]),
        [
          ['CAP_CHOWN', 2, 0],
          ['CAP_NET_RAW', 0, 3],
        ],
      );
      assert.deepEqual(d.policies.map((p) => p.policy).sort(), ['no-egress', 'ro-etc']);
      assert.deepEqual(
        d.rules.map((r) => [r.rule, r.count]),
        [['Shell spawned', 1]],
      );
      assert.equal(await store.workloadInsights('k8s:nope:pod:x', {}), null);
    });

    test('sensors registry', async () => {
      await store.sensorUpdate({ id: 'sx', hostname: 'hx', version: '0.1.0', connected: true, drops: { kernel: 5, user: 1, spool: 2 } });
      await store.sensorUpdate({ id: 'sx', connected: false, drops: { spool: 9 } });
      const s = (await store.listSensors()).find((x) => x.id === 'sx')!;
      assert.equal(s.hostname, 'hx');
      assert.equal(s.connected, false);
      assert.deepEqual(s.drops, { kernel: 5, user: 1, spool: 9 });
      assert.ok(s.last_seen);
    });

    test('retention by age and size', async () => {
      const before = await store.countEvents();
      const old: IngestRecord[] = recs(1, 20, (i) => makeEvent({ num: i, proc: 'old', time: 1_000_000_000_000_000_000n + BigInt(i) }));
      await store.ingest('ret', 'h', old);
      const now = BigInt(Date.now()) * 1_000_000n;
      await store.ingest(
        'ret',
        'h',
        recs(21, 25, (i) => makeEvent({ num: i, proc: 'new', time: now })),
      );
      assert.equal(await store.countEvents(), before + 25);
      const r = await store.applyRetention({ maxAgeMs: 3600_000 });
      // Everything with T0 (2023) and the 2001 events are older than an hour.
      assert.equal(await store.countEvents(), 5);
      assert.ok(r.events >= 20);
      assert.ok((await store.sizeBytes()) >= 0);
      // Re-sent old data is still recognised as a duplicate after retention.
      assert.equal((await store.ingest('ret', 'h', old.slice(0, 3))).inserted, 0);
      const r2 = await store.applyRetention({ maxBytes: 1 });
      assert.ok(r2.events >= 0);
    });

    test('the workload list from the ingest rollup equals the scan over events, also after retention and duplicates', async () => {
      const scan = () => store.listWorkloads({ since: 0n }); // a time range: aggregated from events
      const roll = () => store.listWorkloads({}); // no range: the rollup kept at ingest
      const now = BigInt(Date.now()) * 1_000_000n;
      const more = recs(1, 30, (i) => makeEvent({ num: i, proc: 'roll', time: now + BigInt(i), container: i % 2 ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb' }));
      await store.ingest('roll', 'hostA', more.slice(0, 20));
      await store.ingest('roll', 'hostB', more.slice(10)); // 10 duplicates: counted once
      const a = await roll();
      assert.ok(a.length > 0);
      assert.deepEqual(a, await scan());
      await store.applyRetention({ maxAgeMs: 3600_000 });
      assert.deepEqual(await roll(), await scan());
      const w = (await roll()).find((x) => x.id === 'container:aaaaaaaaaaaa');
      assert.ok(w, JSON.stringify((await roll()).map((x) => x.id)));
      assert.equal(w.events, 15);
    });
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

suite(
  'duckdb',
  async () => {
    const s = new DuckDbStore(path.join(tmp, 'a.duckdb'));
    await s.init();
    return s;
  },
  async (s) => {
    await s.close();
    const n = new DuckDbStore(path.join(tmp, 'a.duckdb'));
    assert.ok((await n.init()) >= 1);
    return n;
  },
);

let pgh: PgHandle | undefined;
const pgMissing = postgresAvailable();
if (pgMissing) {
  test('store: postgres', (t) => t.skip(pgMissing));
} else {
  before(async () => {
    pgh = await startPostgres();
  });
  after(async () => {
    await pgh?.stop();
  });
  suite(
    'postgres',
    async () => {
      const s = new PostgresStore(await pgh!.createDb('vigil_store_test'));
      await s.init();
      return s;
    },
    async (s) => {
      await s.close();
      const n = new PostgresStore(`postgres://postgres@127.0.0.1:${pgh!.port}/vigil_store_test`);
      assert.ok((await n.init()) >= 1);
      return n;
    },
  );
}
