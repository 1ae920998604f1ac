// Bulk ingest (DuckDB appender from column arrays, PostgreSQL COPY FROM STDIN) against a real DuckDB
// file and a real PostgreSQL 15: a batch is all or nothing (one bad row fails the whole batch, which
// is rejected with VIGIL_E_STORE and stores nothing: no events, no seq range, no rollup, no sensor
// counts; the sensor resends), 64-bit values stay exact through the bulk path, alerts are stored once
// per uuid, a row stored without
// its seq range is skipped (PostgreSQL key guard behind COPY), and the server hands the store each
// item's JSON text exactly as the sensor sent it (src/server/ingest.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DuckDbStore } from '../../../src/store/duckdb.ts';
import { PostgresStore } from '../../../src/store/postgres.ts';
import type { IngestRecord, Store } from '../../../src/store/types.ts';
import { batchRecords, itemDataTexts } from '../../../src/server/ingest.ts';
import { encodeBatch, encodeItem, parseClientFrame, type BatchFrame } from '../../../src/wire/protocol.ts';
import { copyText, copyValue } from '../../../src/store/pgcopy.ts';
import { startPostgres, postgresAvailable, type PgHandle } from '../../helpers/services.ts';
import { T0, makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';

const BIG_TIME = '1796352333264153154'; // a live alert's evt.time that a JS double turns into ...153000
const BIG_INO = '18446744073709551615'; // 2^64 - 1, beyond a double and beyond BIGINT

/** An event record the way the server now passes it: parsed object plus the sensor's JSON text. */
function rec(seq: number, o: { time?: string; ino?: string; proc?: string } = {}): IngestRecord {
  const ev = makeEvent({ num: seq, proc: o.proc ?? 'cat', type: 'openat', arg: { name: `/etc/f${seq}`, flags: 'O_RDONLY' } });
  (ev.evt as Record<string, unknown>).time = o.time ?? String(T0 + BigInt(seq) * 1000n);
  let json = JSON.stringify(ev);
  // a number no double holds, as raw JSON text (the parsed object can only hold an approximation)
  if (o.ino) json = json.replace('"rawarg":{}', `"rawarg":{"ino":${o.ino}}`);
  return { seq, kind: 'e', data: JSON.parse(json), json };
}

function suite(name: string, open: () => Promise<Store>, pgUrl?: () => string) {
  describe(`bulk ingest: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    test('a batch with a bad row stores nothing; the same batch without it stores every row once', async () => {
      // evt.time of 20 digits-ish beyond int64: extract.ts keeps it as a bigint, BIGINT rejects it
      const bad = rec(3, { time: '9999999999999999999' });
      const batch = [rec(1), rec(2), bad, rec(4), rec(5)];
      await assert.rejects(store.ingest('sb', 'nodeb', batch), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'VIGIL_E_STORE');
        assert.match(e.message, /^ingest failed: /);
        return true;
      });
      assert.equal(await store.countEvents(), 0);
      assert.equal(await store.maxSeq('sb'), 0);
      assert.deepEqual(await store.listWorkloads({}), []);
      assert.equal(
        (await store.listSensors()).find((s) => s.id === 'sb'),
        undefined,
      );
      // the sensor resends; here the bad row is left out (seq 3 never stored)
      const ok = batch.filter((r) => r !== bad);
      assert.deepEqual(await store.ingest('sb', 'nodeb', ok), { inserted: 4, duplicates: 0 });
      assert.deepEqual(await store.ingest('sb', 'nodeb', ok), { inserted: 0, duplicates: 4 });
      assert.equal(await store.countEvents(), 4);
      const w = await store.listWorkloads({});
      assert.equal(w.length, 1);
      assert.equal(w[0]!.events, 4);
      assert.equal((await store.listSensors()).find((s) => s.id === 'sb')?.events_received, 4);
    });

    test('64-bit values stay exact: evt.time in the time column, raw numbers in the document', async () => {
      const r = rec(1, { time: BIG_TIME, ino: BIG_INO, proc: 'bigcat' });
      const fill = Array.from({ length: 3000 }, (_, i) => rec(i + 2)); // more than one appender chunk / COPY message
      assert.deepEqual(await store.ingest('s64', 'node64', [r, ...fill]), { inserted: 3001, duplicates: 0 });
      const t = BigInt(BIG_TIME);
      const at = await store.queryEvents({ fields: {}, limit: 10, since: t, until: t + 1n });
      assert.equal(at.items.length, 1);
      const doc = at.items[0]!;
      assert.match(doc, new RegExp(`"time": ?"${BIG_TIME}"`));
      assert.match(doc, new RegExp(`"ino": ?${BIG_INO}\\b`));
      assert.equal(JSON.parse(doc).proc.name, 'bigcat');
      assert.equal((await store.queryEvents({ fields: {}, limit: 10, since: t + 1n, until: t + 2n })).items.length, 0);
      assert.equal((await store.queryEvents({ fields: {}, limit: 10, since: t - 1n, until: t })).items.length, 0);
      // the cursor carries time_ns read back from the column as text
      const two = await store.queryEvents({ fields: { 'proc.name': ['bigcat', 'cat'] }, sensor: 's64', limit: 1, order: 'desc' });
      assert.equal(JSON.parse(Buffer.from(two.next!, 'base64url').toString()).t, BIG_TIME);
      // strings with the characters COPY's text format escapes come back unchanged
      const odd = rec(5000, { proc: 'a\\b\tc\nd\re' });
      await store.ingest('s64', 'node64', [odd]);
      const back = await store.queryEvents({ fields: { 'proc.name': ['a\\b\tc\nd\re'] }, limit: 10 });
      assert.equal(back.items.length, 1);
      assert.equal(JSON.parse(back.items[0]!).proc.name, 'a\\b\tc\nd\re');
    });

    test('alerts in a batch with events: stored once per uuid, exact times', async () => {
      const t = BigInt(BIG_TIME);
      const a = (seq: number, uuid: string): IngestRecord => {
        const data = makeAlert({ rule: 'Bulk rule', priority: 'Warning', time: t, uuid });
        return { seq, kind: 'a', data, json: JSON.stringify(data) };
      };
      assert.deepEqual(await store.ingest('sa', 'nodea', [rec(1), a(2, 'u-1'), a(3, 'u-2'), rec(4)]), { inserted: 4, duplicates: 0 });
      // the same alert uuid again under a new seq (a resend after the sensor lost its spool state)
      await store.ingest('sa', 'nodea', [a(5, 'u-1'), rec(6)]);
      const page = await store.queryAlerts({ rule: ['Bulk rule'], limit: 10, since: t, until: t + 1n });
      assert.deepEqual(page.items.map((x) => JSON.parse(x).uuid).sort(), ['u-1', 'u-2']);
      assert.equal(JSON.parse(page.items[0]!).output_fields['evt.time'], BIG_TIME);
    });

    if (pgUrl) {
      test('a row stored without its seq range is skipped (the key guard behind COPY), the rest stored', async () => {
        const c = new pg.Client({ connectionString: pgUrl() });
        await c.connect();
        try {
          // written other than through ingest: copy seq 2's row under sensor 'sg' without a range
          const r2 = rec(2);
          const cols = ['sensor_id', 'seq', 'time_ns', 'workload_id', 'workload_kind', 'workload_name', 'denied', 'data'];
          await c.query(`INSERT INTO events (${cols.join(', ')}) VALUES ('sg', 2, $1, 'host:x', 'host', 'x', false, $2)`, [String(T0 + 2000n), r2.json]);
        } finally {
          await c.end();
        }
        const before = await store.countEvents();
        assert.deepEqual(await store.ingest('sg', 'nodeg', [rec(1), rec(2), rec(3)]), { inserted: 2, duplicates: 1 });
        assert.equal(await store.countEvents(), before + 2);
        assert.equal(await store.maxSeq('sg'), 3);
      });
    }
  });
}

describe('batch frame item texts (server side)', () => {
  test('each record carries its item JSON text exactly as sent', () => {
    const docs = [
      '{"evt":{"time":"1796352333264153154","arg":{"name":"/a]b}\\"c[{"}},"n":18446744073709551615}',
      '{"x":[1,[2,{"y":"\\\\"}]],"z":"\\u0000]"}',
      '{}',
    ];
    const text = encodeBatch('s1', 7, 9, docs.map((d, i) => encodeItem(7 + i, i === 1 ? 'a' : 'e', d)).join(','));
    const frame = parseClientFrame(text, 1000) as BatchFrame;
    const recs = batchRecords(frame, text);
    assert.deepEqual(
      recs.map((r) => r.json),
      docs,
    );
    assert.deepEqual(
      recs.map((r) => [r.seq, r.kind]),
      [
        [7, 'e'],
        [8, 'a'],
        [9, 'e'],
      ],
    );
    assert.equal((recs[0]!.data.evt as Record<string, unknown>).time, '1796352333264153154');
  });

  test('a frame of another shape falls back to serialising the parsed objects', () => {
    const text = '{"type":"batch","sensor":"s1","first":1,"last":2,"items":[ [1, "e", {"a":1}], [2,"e",{"b":2}] ]}';
    const frame = parseClientFrame(text, 1000) as BatchFrame;
    assert.equal(itemDataTexts(text, frame.items), null);
    assert.deepEqual(
      batchRecords(frame, text).map((r) => r.json),
      [undefined, undefined],
    );
    // an "items" key nested before the frame's own items array is not taken for it
    const tricky = `{"type":"batch","sensor":"s1","x":{"items":[[1,"e",{"b":2}]]},"first":1,"last":1,"items":[[1,"e",{"a":1}]]}`;
    const f2 = parseClientFrame(tricky, 1000) as BatchFrame;
    assert.equal(itemDataTexts(tricky, f2.items), null);
  });
});

describe('COPY text format', () => {
  test('values and escapes', () => {
    assert.equal(copyValue(null), '\\N');
    assert.equal(copyValue(undefined), '\\N');
    assert.equal(copyValue(true), 't');
    assert.equal(copyValue(false), 'f');
    assert.equal(copyValue(9223372036854775807n), '9223372036854775807');
    assert.equal(copyValue('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re');
    assert.equal(copyValue('\\N'), '\\\\N');
    // PostgreSQL text holds no NUL (an abstract unix socket's fd.name starts with one): left out
    assert.equal(copyValue('\0/tmp/sock\0'), '/tmp/sock');
    assert.equal(Buffer.concat(copyText([{ a: 1, b: null, c: 'x\ty' }], ['a', 'b', 'c'])).toString(), '1\t\\N\tx\\ty\n');
    assert.throws(() => copyValue({}), /COPY value of type object/);
  });
});

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bulk-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

suite('duckdb', async () => {
  const s = new DuckDbStore(path.join(tmp, 'b.duckdb'));
  await s.init();
  return s;
});

let pgh: PgHandle | undefined;
let pgDb = '';
const pgMissing = postgresAvailable();
if (pgMissing) {
  test('bulk ingest: postgres', (t) => t.skip(pgMissing));
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
      pgDb = await pgh!.createDb('vigil_bulk_test');
      const s = new PostgresStore(pgDb);
      await s.init();
      return s;
    },
    () => pgDb,
  );
}
