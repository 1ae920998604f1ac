// 64-bit values survive every backend path exactly: an event and an alert holding integers beyond
// 2^53 (evt.time 1796352333264153154 of the issue, an inode near 2^64, a cgroup id of 2^53+1) go
// sensor uplink -> wire -> server -> store (DuckDB; PostgreSQL; NATS JetStream + PostgreSQL) -> API
// -> CLI (`vigil events --json`, `vigil alerts --json`). Assertions are on the digits in the JSON
// text (a JSON.parse in the test would itself round them). Real servers, real PostgreSQL and NATS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../../src/common/log.ts';
import { httpsRequest } from '../../../src/uplink/enroll.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { parseClientFrame } from '../../../src/wire/protocol.ts';
import { parseJson, stringifyJson } from '../../../src/wire/exact-json.ts';
import { natsAvailable, postgresAvailable, startNats, startPostgres, type NatsHandle, type PgHandle } from '../../helpers/services.ts';
import { makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';
import { adminToken, api, repoRoot, spawnServer, waitFor, type ApiToken, type ChildServer } from '../../helpers/backend-server.ts';

const run = promisify(execFile);
const TIME = '1796352333264153154'; // > 2^53: as a double it is 1796352333264153000
const INO = '12345678901234567891'; // > 2^63, < 2^64
const CGID = '9007199254740993'; // 2^53 + 1: as a double it is 9007199254740992

// The event as the sensor writes it (evt.time a decimal string), plus bare 64-bit numbers where a
// document may carry them (a recorded or third-party event, Falco's numeric fd.ino / cgroup id).
function eventLine(tag: string): string {
  const ev = makeEvent({ num: 1, proc: tag, time: BigInt(TIME), type: 'openat', fd: { name: '/etc/big', ino: 0 } });
  ev.cgroup = { id: 0 };
  ev.evt = { ...(ev.evt as object), rawtime: 0 };
  return JSON.stringify(ev)
    .replace('"ino":0', `"ino":${INO}`)
    .replace('"cgroup":{"id":0}', `"cgroup":{"id":${CGID}}`)
    .replace('"rawtime":0', `"rawtime":${TIME}`);
}
// The alert as the sensor writes it: output_fields' abstime values as bare digits (Falco's json_output).
function alertLine(tag: string): string {
  const a = makeAlert({ rule: `big ${tag}`, priority: 'Warning', time: BigInt(TIME) });
  (a.output_fields as Record<string, unknown>)['evt.time'] = 0;
  (a.output_fields as Record<string, unknown>)['fd.ino'] = 1;
  (a.output_fields as Record<string, unknown>)['cgroup.id'] = 2;
  return JSON.stringify(a)
    .replace('"evt.time":0', `"evt.time":${TIME}`)
    .replace('"fd.ino":1', `"fd.ino":${INO}`)
    .replace('"cgroup.id":2', `"cgroup.id":${CGID}`);
}

/** Asserts the exact digits of every 64-bit value in a JSON text of the event (jsonb may add a space after ':'). */
function assertEventDigits(text: string, where: string): void {
  assert.match(text, new RegExp(`"time":\\s*"${TIME}"`), `${where}: evt.time`);
  assert.match(text, new RegExp(`"rawtime":\\s*${TIME}[,}]`), `${where}: evt.rawtime`);
  assert.match(text, new RegExp(`"ino":\\s*${INO}[,}]`), `${where}: fd.ino`);
  assert.match(text, new RegExp(`"cgroup":\\s*\\{"id":\\s*${CGID}\\}`), `${where}: cgroup.id`);
}
function assertAlertDigits(text: string, where: string): void {
  assert.match(text, new RegExp(`"evt.time":\\s*${TIME}[,}]`), `${where}: output_fields evt.time`);
  assert.match(text, new RegExp(`"fd.ino":\\s*${INO}[,}]`), `${where}: output_fields fd.ino`);
  assert.match(text, new RegExp(`"cgroup.id":\\s*${CGID}[,}]`), `${where}: output_fields cgroup.id`);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bigint-'));
const missing = natsAvailable() ?? postgresAvailable();
let nats: NatsHandle | undefined;
let pg: PgHandle | undefined;

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

test('exact JSON: integers beyond 2^53 parse as bigint and are written back with the same digits', () => {
  const text = `{"a":${TIME},"b":[-${INO},1.5,2e3,9007199254740991],"c":"x:${TIME}","d":{"__proto__":1},"e":"\\u00e9\\n"}`;
  const v = parseJson(text) as { a: unknown; b: unknown; c: unknown; d: object; e: unknown };
  assert.equal(v.a, BigInt(TIME));
  assert.deepEqual(v.b, [-BigInt(INO), 1.5, 2000, 9007199254740991]);
  assert.equal(v.c, `x:${TIME}`);
  assert.equal(Object.getPrototypeOf(v.d), Object.prototype);
  assert.equal(v.e, 'é\n');
  assert.equal(stringifyJson(v), `{"a":${TIME},"b":[-${INO},1.5,2000,9007199254740991],"c":"x:${TIME}","d":{"__proto__":1},"e":"é\\n"}`);
  assert.throws(() => parseJson(`{"a":${TIME},}`), /offset 25: expected a property name, got "}"/);
  assert.throws(() => parseJson(`[${TIME}`), /offset 20: expected ',' or '\]'/);
  // a batch frame as the server parses it
  const f = parseClientFrame(`{"type":"batch","sensor":"s","first":1,"last":1,"items":[[1,"a",${alertLine('w')}]]}`, 10);
  assert.equal(f.type === 'batch' && f.exact, true);
});

async function roundTrip(name: string, o: { store?: string; stream?: string }): Promise<void> {
  const dataDir = path.join(tmp, name);
  let srv: ChildServer | undefined;
  let up: SensorUplink | undefined;
  try {
    srv = await spawnServer({ dataDir, store: o.store, stream: o.stream, logLevel: 'warn' });
    const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
    up = new SensorUplink({ dir: path.join(tmp, `${name}-sensor`), server: srv.url, token: tok.json.token, logger: silentLogger(), flushIntervalMs: 5 });
    await up.start();
    assert.equal(up.pushEventLine(eventLine(name), {}), true);
    assert.equal(up.pushAlertLine(alertLine(name), {}), true);
    assert.equal(await up.drain(20_000), true);
    const get = async (p: string) => {
      const r = await httpsRequest(`${srv!.url}${p}`, {
        ca: readFileSync(path.join(dataDir, 'ca.pem'), 'utf8'),
        headers: { authorization: `Bearer ${adminToken(dataDir)}` },
      });
      assert.equal(r.status, 200, r.body);
      return r.body;
    };
    let evText = '';
    let alText = '';
    await waitFor(
      async () => {
        evText = await get(`/api/v1/events?proc.name=${name}`);
        alText = await get(`/api/v1/alerts?rule=${encodeURIComponent(`big ${name}`)}`);
        return evText.includes(name) && alText.includes(`big ${name}`);
      },
      30_000,
      `${name}: stored event and alert`,
    );
    // API: the stored documents, digit for digit
    assertEventDigits(evText, `${name} API events`);
    assertAlertDigits(alText, `${name} API alerts`);
    // the time columns are exact too (time filters and ordering use them): a one-ns window finds both
    const next = (BigInt(TIME) + 1n).toString();
    assert.match(await get(`/api/v1/events?since=${TIME}&until=${next}`), new RegExp(`"proc":\\s*\\{[^}]*"name":\\s*"${name}"`));
    assert.match(await get(`/api/v1/alerts?since=${TIME}&until=${next}`), new RegExp(`big ${name}`));
    // CLI: --json prints the documents with the same digits
    const env = { ...process.env, VIGIL_API: '', VIGIL_TOKEN: '' };
    const ev = await run(path.join(repoRoot, 'bin/vigil'), ['events', '--data', dataDir, '--json', `proc.name=${name}`], { env });
    assertEventDigits(ev.stdout, `${name} CLI events`);
    const al = await run(path.join(repoRoot, 'bin/vigil'), ['alerts', '--data', dataDir, '--json', '--rule', `big ${name}`], { env });
    assertAlertDigits(al.stdout, `${name} CLI alerts`);
  } finally {
    await up?.close();
    await srv?.kill();
  }
}

test('sensor uplink -> server -> DuckDB -> API -> CLI keeps 64-bit values exact', { timeout: 120_000 }, async () => {
  await roundTrip('duck', {});
});

test('sensor uplink -> server -> PostgreSQL -> API -> CLI keeps 64-bit values exact', { timeout: 120_000, skip: missing }, async () => {
  await roundTrip('pg', { store: await pg!.createDb('vigil_bigint') });
});

test('sensor uplink -> server -> NATS JetStream -> PostgreSQL -> API -> CLI keeps 64-bit values exact', { timeout: 120_000, skip: missing }, async () => {
  await roundTrip('nats', { store: await pg!.createDb('vigil_bigint_nats'), stream: nats!.url });
});
