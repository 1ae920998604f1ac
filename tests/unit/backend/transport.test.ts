// Transport tests against a real in-process server: mutual TLS (no cert, foreign CA, revoked),
// one-time and expiring enrollment tokens, protocol violations (malformed frames, oversized frame,
// too many items, wrong version) closing only the offending connection, and the spool bound with
// exact drop accounting reported to the server after reconnect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import forge from 'node-forge';
import { startServer, type RunningServer } from '../../../src/server/index.ts';
import { silentLogger } from '../../../src/common/log.ts';
import { ensurePki, newRsaKeyPem, serverNames } from '../../../src/server/pki.ts';
import { enroll, createKeyAndCsr, type SensorCredentials } from '../../../src/uplink/enroll.ts';
import { CloseCode, SUBPROTOCOL, type AckFrame, type WelcomeFrame } from '../../../src/wire/protocol.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { freePort } from '../../helpers/services.ts';
import { api, allEvents, waitFor, type ApiError, type ApiPage, type ApiSensor, type ApiToken } from '../../helpers/backend-server.ts';
import { makeEvent } from '../../helpers/backend-fixtures.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-transport-'));
const dataDir = path.join(tmp, 'server');
let srv: RunningServer;
let port: number;

async function newToken(ttl = '10m'): Promise<string> {
  const r = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: { ttl } });
  assert.equal(r.status, 201);
  return r.json.token;
}

let n = 0;
async function enrolled(): Promise<SensorCredentials> {
  return enroll({ server: srv.url, token: await newToken(), dir: path.join(tmp, `s${++n}`), hostname: `h${n}` });
}

/** Opens a raw stream connection; resolves with the close code/reason or the HTTP refusal status. */
function rawConnect(o: {
  cert?: string;
  key?: string;
  protocol?: string;
  frames?: (string | Buffer)[];
  afterWelcome?: (string | Buffer)[];
}): Promise<{ code?: number; reason?: string; status?: number; welcome?: WelcomeFrame }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/stream`, o.protocol === '' ? [] : [o.protocol ?? SUBPROTOCOL], {
      ca: readFileSync(srv.caPath, 'utf8'),
      cert: o.cert,
      key: o.key,
      maxPayload: 64 * 1024 * 1024,
    });
    let welcome: WelcomeFrame | undefined;
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', () => undefined);
    ws.on('open', () => {
      for (const f of o.frames ?? []) ws.send(f);
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') {
        welcome = m;
        for (const f of o.afterWelcome ?? []) ws.send(f);
      }
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), welcome }));
  });
}

function hello(c: SensorCredentials, proto = 1): string {
  return JSON.stringify({ type: 'hello', proto, sensor: c.sensorId, hostname: 'x', version: 't', drops: { kernel: 0, user: 0, spool: 0 } });
}

/** Proves the server still serves a well-behaved sensor. */
async function goodSensorWorks(): Promise<void> {
  const c = await enrolled();
  const dir = path.join(tmp, `s${n}`);
  const up = new SensorUplink({ dir, logger: silentLogger(), flushIntervalMs: 5 });
  await up.start();
  for (let i = 1; i <= 120; i++) up.push(makeEvent({ num: i, proc: 'good' }));
  assert.equal(await up.drain(20_000), true);
  await up.close();
  const evs = await allEvents(srv.url, dataDir, `sensor=${c.sensorId}`);
  assert.equal(evs.length, 120);
}

before(async () => {
  port = await freePort();
  srv = await startServer({ dataDir, listen: `127.0.0.1:${port}`, logger: silentLogger(), maxFrameBytes: 256 * 1024, maxBatchItems: 100 });
});
after(async () => {
  await srv.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('mutual TLS', () => {
  test('client without certificate is refused', async () => {
    const r = await rawConnect({});
    assert.equal(r.status, 401);
  });

  test('client certificate from another CA is refused', async () => {
    const other = ensurePki(path.join(tmp, 'other-ca'), serverNames('127.0.0.1'));
    // A sensor-looking certificate signed by the foreign CA.
    const { keyPem, csrPem } = createKeyAndCsr('evil');
    const { signSensorCsr } = await import('../../../src/server/pki.ts');
    const cert = signSensorCsr(other, csrPem, 'sensor-0123456789abcdef');
    const r = await rawConnect({ cert: cert.certPem, key: keyPem });
    assert.equal(r.status, 401);
    // A self-signed certificate too.
    const k = forge.pki.privateKeyFromPem(newRsaKeyPem()) as forge.pki.rsa.PrivateKey;
    const c = forge.pki.createCertificate();
    c.publicKey = forge.pki.setRsaPublicKey(k.n, k.e);
    c.serialNumber = '01';
    c.validity.notBefore = new Date(Date.now() - 1000);
    c.validity.notAfter = new Date(Date.now() + 86400_000);
    c.setSubject([{ name: 'commonName', value: 'sensor-0123456789abcdef' }]);
    c.setIssuer([{ name: 'commonName', value: 'sensor-0123456789abcdef' }]);
    c.sign(k, forge.md.sha256.create());
    const r2 = await rawConnect({ cert: forge.pki.certificateToPem(c), key: forge.pki.privateKeyToPem(k) });
    assert.equal(r2.status, 401);
  });

  test('revoked sensor is disconnected and refused', async () => {
    const c = await enrolled();
    const dir = path.join(tmp, `s${n}`);
    const up = new SensorUplink({ dir, logger: silentLogger(), flushIntervalMs: 5 });
    await up.start();
    await waitFor(() => up.counters().connected, 10_000, 'connected');
    const closed = new Promise<number>((r) => up.once('disconnected', (code: number) => r(code)));
    const rv = await api(srv.url, dataDir, `/api/v1/sensors/${c.sensorId}/revoke`, { method: 'POST' });
    assert.equal(rv.status, 200);
    assert.equal(await closed, CloseCode.REVOKED);
    await up.close();
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem });
    assert.equal(r.status, 403);
    const list = await api<ApiPage<ApiSensor>>(srv.url, dataDir, '/api/v1/sensors');
    assert.equal(list.json.items.find((s) => s.id === c.sensorId)!.revoked, true);
  });

  test('a server certificate cannot be used as a sensor certificate', async () => {
    const r = await rawConnect({
      cert: readFileSync(path.join(dataDir, 'server.pem'), 'utf8'),
      key: readFileSync(path.join(dataDir, 'server-key.pem'), 'utf8'),
    });
    // server.pem has serverAuth only: the TLS layer or the CN/OU check refuses it.
    assert.ok(r.status === 401 || r.status === 403, JSON.stringify(r));
  });
});

describe('enrollment', () => {
  test('a token works exactly once', async () => {
    const tok = await newToken();
    const c = await enroll({ server: srv.url, token: tok, dir: path.join(tmp, 'once-a') });
    assert.match(c.sensorId, /^sensor-[0-9a-f]{16}$/);
    await assert.rejects(enroll({ server: srv.url, token: tok, dir: path.join(tmp, 'once-b') }), /already used|invalid/);
  });

  test('an expired token is refused', async () => {
    const tok = await newToken('50ms');
    await new Promise((r) => setTimeout(r, 120));
    await assert.rejects(enroll({ server: srv.url, token: tok, dir: path.join(tmp, 'exp') }), /expired/);
  });

  test('a token whose CA fingerprint does not match is refused by the sensor', async () => {
    const tok = await newToken();
    const parts = tok.split('.');
    await assert.rejects(enroll({ server: srv.url, token: `${parts[0]}.${parts[1]}.${'0'.repeat(64)}`, dir: path.join(tmp, 'pin') }), /fingerprint/);
  });

  test('creating tokens needs the admin scope', async () => {
    const read = await api<ApiToken>(srv.url, dataDir, '/api/v1/api-tokens', { method: 'POST', body: { scope: 'read' } });
    assert.equal(read.status, 201);
    const r = await api<ApiError>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {}, token: read.json.token });
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'forbidden');
  });
});

describe('protocol violations close only the offending connection', () => {
  let c: SensorCredentials;
  before(async () => {
    c = await enrolled();
  });
  const batch = (items: unknown[], first: number, last: number) => JSON.stringify({ type: 'batch', sensor: c.sensorId, first, last, items });

  test('non-JSON frame -> 4400', async () => {
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: ['this is not json'] });
    assert.equal(r.code, CloseCode.MALFORMED);
    assert.match(r.reason!, /JSON/);
  });
  test('batch before hello -> 4400', async () => {
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: [batch([[1, 'e', {}]], 1, 1)] });
    assert.equal(r.code, CloseCode.MALFORMED);
  });
  test('non-increasing seqs -> 4400', async () => {
    const r = await rawConnect({
      cert: c.certPem,
      key: c.keyPem,
      frames: [hello(c)],
      afterWelcome: [
        batch(
          [
            [5, 'e', {}],
            [5, 'e', {}],
          ],
          5,
          5,
        ),
      ],
    });
    assert.equal(r.code, CloseCode.MALFORMED);
    assert.match(r.reason!, /seq/);
  });
  test('binary frame -> 4400', async () => {
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: [hello(c)], afterWelcome: [Buffer.from([1, 2, 3])] });
    assert.equal(r.code, CloseCode.MALFORMED);
  });
  test('too many items -> 4413', async () => {
    const items = Array.from({ length: 101 }, (_, i) => [i + 1, 'e', { evt: { num: i } }]);
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: [hello(c)], afterWelcome: [batch(items, 1, 101)] });
    assert.equal(r.code, CloseCode.BATCH_TOO_LARGE);
  });
  test('oversized frame -> 1009', async () => {
    const big = 'x'.repeat(300 * 1024);
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: [hello(c)], afterWelcome: [batch([[1, 'e', { big }]], 1, 1)] });
    assert.equal(r.code, CloseCode.TOO_BIG);
  });
  test('wrong subprotocol -> 4406', async () => {
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, protocol: 'vigil.v2', frames: [hello(c)] });
    assert.equal(r.code, CloseCode.UNSUPPORTED_VERSION);
    assert.match(r.reason!, /vigil\.v1/);
    const r2 = await rawConnect({ cert: c.certPem, key: c.keyPem, protocol: '', frames: [hello(c)] });
    assert.equal(r2.code, CloseCode.UNSUPPORTED_VERSION);
  });
  test('wrong hello version -> 4406', async () => {
    const r = await rawConnect({ cert: c.certPem, key: c.keyPem, frames: [hello(c, 2)] });
    assert.equal(r.code, CloseCode.UNSUPPORTED_VERSION);
  });
  test('hello for another sensor id -> 4401', async () => {
    const r = await rawConnect({
      cert: c.certPem,
      key: c.keyPem,
      frames: [JSON.stringify({ type: 'hello', proto: 1, sensor: 'sensor-ffffffffffffffff', drops: {} })],
    });
    assert.equal(r.code, CloseCode.UNAUTHENTICATED);
  });
  test('a valid raw batch is acked', async () => {
    const got = await new Promise<AckFrame>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/stream`, [SUBPROTOCOL], {
        ca: readFileSync(srv.caPath, 'utf8'),
        cert: c.certPem,
        key: c.keyPem,
      });
      ws.on('open', () => ws.send(hello(c)));
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'welcome') ws.send(batch([[7, 'e', makeEvent({ num: 7, proc: 'raw' })]], 7, 7));
        if (m.type === 'ack') {
          ws.close();
          resolve(m);
        }
      });
    });
    assert.deepEqual(got, { type: 'ack', last: 7 });
  });
  test('the server still serves other sensors', async () => {
    await goodSensorWorks();
  });
});

describe('spool bound', () => {
  test('server down + small spool: drops counted exactly and reported after reconnect', { timeout: 60_000 }, async () => {
    const c = await enrolled();
    const dir = path.join(tmp, `s${n}`);
    // Take the server down (same data dir and port come back later).
    await srv.close();
    const up = new SensorUplink({
      dir,
      logger: silentLogger(),
      spoolMaxBytes: 64 * 1024,
      segmentBytes: 8 * 1024,
      // full events: this test counts spool records one per event (process records are tested in
      // tests/unit/backend/compact.test.ts)
      compact: false,
      flushIntervalMs: 5,
      reconnectMinMs: 50,
      reconnectMaxMs: 200,
    });
    await up.start();
    const N = 2000;
    for (let i = 1; i <= N; i++) up.push(makeEvent({ num: i, proc: 'spool' }));
    await new Promise((r) => setTimeout(r, 50));
    const c1 = up.counters();
    assert.ok(c1.dropped > 0, 'some records dropped');
    assert.equal(c1.dropped + c1.spoolRecords, N, 'every record is either kept or counted as dropped');
    assert.ok(c1.spoolBytes <= 64 * 1024, `spool bytes ${c1.spoolBytes}`);
    srv = await startServer({ dataDir, listen: `127.0.0.1:${port}`, logger: silentLogger(), maxFrameBytes: 256 * 1024, maxBatchItems: 100 });
    assert.equal(await up.drain(30_000), true);
    const c2 = up.counters();
    assert.equal(c2.dropped, c1.dropped);
    await waitFor(
      async () => {
        const s = (await api<ApiPage<ApiSensor>>(srv.url, dataDir, '/api/v1/sensors')).json.items.find((x) => x.id === c.sensorId);
        return s?.drops.spool === c1.dropped;
      },
      10_000,
      'drop count on the server',
    );
    const evs = await allEvents(srv.url, dataDir, `sensor=${c.sensorId}`);
    assert.equal(evs.length, N - c1.dropped);
    // The oldest were dropped: what is stored is exactly the newest N - dropped.
    const nums = evs.map((e) => e.evt.num).sort((a: number, b: number) => a - b);
    assert.equal(nums[0], c1.dropped + 1);
    assert.equal(nums[nums.length - 1], N);
    await up.close();
  });
});

// last in this file: it leaves this address unable to enroll for a minute
describe('enrollment brute-force guard', () => {
  test('failed enrollments from one address are refused with 429 after the limit; other routes are not', async () => {
    const statuses: number[] = [];
    let limited: { status: number; json: ApiError } | undefined;
    for (let i = 0; i < 15; i++) {
      const r = await api<ApiError>(srv.url, dataDir, '/api/v1/enroll', {
        method: 'POST',
        body: { token: `vgle1.${'x'.repeat(20)}${i}.${'0'.repeat(64)}`, csr: 'not a csr' },
        token: null,
      });
      if (r.status === 429) {
        limited = r;
        break;
      }
      statuses.push(r.status);
    }
    assert.ok(limited, `no 429 after 15 failures: ${statuses.join(',')}`);
    assert.equal(limited.json.code, 'rate_limited');
    assert.match(limited.json.message, /too many failed enrollments from \S+; retry in \d+ s/);
    // earlier failures of this file's tests count too: at most 10 failures were answered in all
    assert.ok(statuses.length >= 1 && statuses.length <= 10, statuses.join(','));
    assert.ok(
      statuses.every((st) => st === 401),
      statuses.join(','),
    );
    // a valid token from the same address waits as well (a guessed one would not be told apart)
    const tok = await newToken();
    await assert.rejects(enroll({ server: srv.url, token: tok, dir: path.join(tmp, 'limited') }), /429|too many failed enrollments/);
    // the rest of the API is unaffected
    assert.equal((await api(srv.url, dataDir, '/api/v1/sensors')).status, 200);
    const m = await api(srv.url, dataDir, '/metrics');
    assert.match(String(m.json), /vigil_enroll_rate_limited_total [1-9]/);
  });
});
