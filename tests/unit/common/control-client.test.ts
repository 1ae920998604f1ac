// Unit tests of the one control-socket client (src/common/control-client.ts) against the real
// control server (src/sensor/control.ts) on a temporary unix socket, and against raw sockets that
// misbehave: every failure is a VigilError with VIGIL_E_SOCKET or VIGIL_E_PROTOCOL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlRequest, DEFAULT_SOCKET } from '../../../src/common/control-client.ts';
import { isVigilError } from '../../../src/common/errors.ts';
import { ControlServer, DEFAULT_SOCKET as SERVER_DEFAULT, controlRequest as viaSensor } from '../../../src/sensor/control.ts';
import { sendRequest, DEFAULT_SOCKET as POLICY_DEFAULT } from '../../../src/policy/control-client.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-ctl-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function rawServer(file: string, onConn: (s: net.Socket) => void): Promise<net.Server> {
  const srv = net.createServer(onConn);
  return new Promise((resolve) => srv.listen(file, () => resolve(srv)));
}

const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;

test('one client, one default socket path for the sensor, the policy commands and the CLI', () => {
  assert.equal(DEFAULT_SOCKET, '/run/vigil/sensor.sock');
  assert.equal(SERVER_DEFAULT, DEFAULT_SOCKET);
  assert.equal(POLICY_DEFAULT, DEFAULT_SOCKET);
  assert.equal(viaSensor, controlRequest);
});

test('against the control server: result envelope, error envelope, unknown op', async () => {
  const sock = path.join(dir, 'ok.sock');
  const srv = new ControlServer(sock);
  srv.register('status', () => ({ uptimeSec: 3 }));
  srv.register('fail', () => {
    throw Object.assign(new Error('no such policy'), { code: 'VIGIL_E_POLICY' });
  });
  srv.register('policy.list', () => ({ ok: true, policies: ['a'] }));
  await srv.listen();
  try {
    assert.deepEqual(await controlRequest(sock, { op: 'status' }), { ok: true, result: { uptimeSec: 3 } });
    assert.deepEqual(await controlRequest(sock, { op: 'fail' }), { ok: false, error: 'no such policy', code: 'VIGIL_E_POLICY' });
    const unknown = await controlRequest(sock, { op: 'nope' });
    assert.equal(unknown.ok, false);
    assert.equal(unknown.error, 'unknown op nope');
    assert.deepEqual(await sendRequest({ op: 'policy.list' }, sock), { ok: true, policies: ['a'] });
  } finally {
    await srv.close();
  }
});

test('no socket: VIGIL_E_SOCKET naming the path and the errno', async () => {
  const sock = path.join(dir, 'none.sock');
  await assert.rejects(
    controlRequest(sock, { op: 'status' }),
    (e: unknown) => code('VIGIL_E_SOCKET')(e) && (e as Error).message === `cannot reach the sensor at ${sock} (ENOENT); is it running?`,
  );
  await assert.rejects(sendRequest({ op: 'policy.list' }, sock), code('VIGIL_E_SOCKET'));
});

test('no reply in time: VIGIL_E_SOCKET', async () => {
  const sock = path.join(dir, 'silent.sock');
  const srv = await rawServer(sock, () => {});
  try {
    await assert.rejects(
      controlRequest(sock, { op: 'status' }, 150),
      (e: unknown) => code('VIGIL_E_SOCKET')(e) && (e as Error).message === `no reply from ${sock} within 150 ms`,
    );
  } finally {
    srv.close();
  }
});

test('not JSON, JSON without "ok", closed without a reply: VIGIL_E_PROTOCOL', async () => {
  const cases: [string, (s: net.Socket) => void, RegExp][] = [
    ['garbage.sock', (s) => s.end('HTTP/1.1 400 Bad Request\n'), /^bad reply from the sensor: /],
    ['nook.sock', (s) => s.end('{"result":1}\n'), /^bad reply from the sensor: reply has no "ok"$/],
    ['close.sock', (s) => s.end(), /^the sensor closed the connection without a reply$/],
  ];
  for (const [name, onConn, msg] of cases) {
    const sock = path.join(dir, name);
    const srv = await rawServer(sock, (s) => s.once('data', () => onConn(s)));
    try {
      await assert.rejects(controlRequest(sock, { op: 'status' }), (e: unknown) => code('VIGIL_E_PROTOCOL')(e) && msg.test((e as Error).message), name);
    } finally {
      srv.close();
    }
  }
});
