// The backend with the real sensor: `vigil run --server` (real eBPF, real execs) reporting to a
// `vigil server` child process. While a workload runs a known number of uniquely named execs, the
// server is SIGKILLed and restarted after a pause, and the sensor is SIGKILLed and restarted once;
// afterwards the API returns each exec exactly once. The execs carry planted credentials in argv,
// environment (captured with --capture-env) and a URL: none reaches the API, the database file,
// the sensor's spool or either side's logs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { kernelPrereqMissing, spawnVigilRun, waitForStatusSocket, type VigilRun } from '../helpers/kernel.ts';
import { allEvents, api, spawnServer, waitFor, type ApiPage, type ApiSensor, type ApiToken, type ChildServer } from '../helpers/backend-server.ts';

const missing = kernelPrereqMissing();
const required = process.env.VIGIL_REQUIRE_BPF === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SECRETS = ['S3cretArgvPw', 'EnvSecretPw77', 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY', 'UrlSecret99'];

function startSensor(args: string[], socket: string): VigilRun {
  return spawnVigilRun(['--events', 'exec', '--quiet', '--socket', socket, '--capture-env', ...args]);
}

/** Runs `count` execs of /bin/echo, each with a unique argument, with secrets in argv and env. */
async function workload(tag: string, from: number, count: number): Promise<void> {
  const script = `i=${from}; end=$((${from} + ${count})); while [ $i -lt $end ]; do /bin/echo nl-${tag}-$i --password=S3cretArgvPw postgres://app:UrlSecret99@db/x >/dev/null; i=$((i + 1)); done`;
  await new Promise<void>((resolve, reject) => {
    const c = spawn('/bin/sh', ['-c', script], {
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', PGPASSWORD: 'EnvSecretPw77', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY', VIGIL_TAG: tag },
    });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`workload exited ${code}`))));
  });
}

describe('backend with the real sensor (real kernel)', { skip: missing && !required ? missing : false }, () => {
  let tmp: string;
  before(() => {
    if (missing) throw new Error(`VIGIL_REQUIRE_BPF=1 but ${missing}`);
    tmp = mkdtempSync(path.join(tmpdir(), 'vigil-live-backend-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('server SIGKILLed and restarted, sensor SIGKILLed and restarted: every exec stored exactly once, planted secrets nowhere', {
    timeout: 240_000,
  }, async () => {
    const dataDir = path.join(tmp, 'server');
    const sensorDir = path.join(tmp, 'sensor');
    const tag = randomBytes(3).toString('hex');
    let srv: ChildServer | undefined;
    let sensor: VigilRun | undefined;
    const sensorLogs: string[] = [];
    const serverLogs: string[] = [];
    try {
      srv = await spawnServer({ dataDir, logLevel: 'debug' });
      const port = srv.port;
      const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: { ttl: '10m' } });
      assert.equal(tok.status, 201);
      const sock1 = path.join(tmp, 's1.sock');
      sensor = startSensor(['--server', srv.url, '--ca', path.join(dataDir, 'ca.pem'), '--enroll', tok.json.token, '--data', sensorDir], sock1);
      await waitForStatusSocket(sock1, 60_000, () => (sensor!.child.exitCode !== null ? sensor!.logs() : undefined));
      const execsStored = async () =>
        (await allEvents(srv!.url, dataDir, `evt.type=execve&proc.name=echo`, 1000)).filter((e) => String(e.proc.args).startsWith(`nl-${tag}-`));
      // the sensor is up once a probe exec reaches the API
      await waitFor(
        async () => {
          await workload(`${tag}probe`, 0, 1);
          return (await allEvents(srv!.url, dataDir, `evt.type=execve&proc.name=echo`, 1000)).some((e) => String(e.proc.args).startsWith(`nl-${tag}probe-`));
        },
        60_000,
        `sensor enrolled and reporting: ${sensor.logs()}`,
      );

      // phase 1: 400 execs; the server is SIGKILLed while they run (batches in flight)
      const p1 = workload(tag, 0, 400);
      await sleep(300);
      serverLogs.push(srv.logs());
      await srv.kill('SIGKILL');
      await p1;
      // phase 2, server down: 300 more execs go to the spool only
      await workload(tag, 400, 300);
      await sleep(1500); // captured and written to the spool
      // the sensor dies hard with unacknowledged data in its spool, and comes back
      sensor.child.kill('SIGKILL');
      await sensor.exited;
      sensorLogs.push(sensor.logs());
      const sock2 = path.join(tmp, 's2.sock');
      sensor = startSensor(['--server', `https://127.0.0.1:${port}`, '--data', sensorDir], sock2);
      await waitForStatusSocket(sock2, 60_000, () => (sensor!.child.exitCode !== null ? sensor!.logs() : undefined));
      // phase 3 with the server still down, then the server comes back after a pause
      await workload(tag, 700, 100);
      await sleep(1000);
      srv = await spawnServer({ dataDir, port, logLevel: 'debug' });
      // phase 4: everything up
      await workload(tag, 800, 200);
      const N = 1000;
      await waitFor(async () => (await execsStored()).length >= N, 90_000, 'all execs stored');
      await sleep(2000); // anything resent late would show up as a duplicate now
      const stored = await execsStored();
      const args = stored.map((e) => String(e.proc.args).split(' ')[0]);
      const uniq = new Set(args);
      assert.equal(uniq.size, args.length, `duplicates: ${args.length - uniq.size}`);
      assert.equal(args.length, N, `stored ${args.length} of ${N}`);
      for (let i = 0; i < N; i++) assert.ok(uniq.has(`nl-${tag}-${i}`), `exec ${i} missing`);

      // redaction: argv, environment and URL kept apart from their secrets
      const one = stored.find((e) => String(e.proc.args).startsWith(`nl-${tag}-5 `))!;
      assert.equal(one.proc.args, `nl-${tag}-5 --password=***REDACTED*** postgres://app:***REDACTED***@db/x`);
      // (sh adds PWD; the order is the shell's)
      assert.deepEqual([...(one.proc.env as string[])].sort(), [
        'AWS_SECRET_ACCESS_KEY=***REDACTED***',
        'PATH=/usr/bin:/bin',
        'PGPASSWORD=***REDACTED***',
        `PWD=${process.cwd()}`,
        `VIGIL_TAG=${tag}`,
      ]);
      const sensors = await api<ApiPage<ApiSensor>>(srv.url, dataDir, '/api/v1/sensors');
      assert.equal(sensors.json.items.length, 1);
      assert.deepEqual(sensors.json.items[0].drops, { kernel: 0, user: 0, spool: 0 });
      const apiText = JSON.stringify(stored) + JSON.stringify((await api(srv.url, dataDir, '/api/v1/alerts')).json) + JSON.stringify(sensors.json);
      sensor.child.kill('SIGTERM');
      await sensor.exited;
      sensorLogs.push(sensor.logs());
      serverLogs.push(srv.logs());
      await srv.kill('SIGTERM');
      const dbText = readdirSync(dataDir)
        .filter((f) => f.startsWith('vigil.duckdb'))
        .map((f) => readFileSync(path.join(dataDir, f), 'latin1'))
        .join('\n');
      assert.ok(dbText.length > 0);
      const spoolDir = path.join(sensorDir, 'spool');
      const spoolText = existsSync(spoolDir)
        ? readdirSync(spoolDir)
            .map((f) => readFileSync(path.join(spoolDir, f), 'latin1'))
            .join('\n')
        : '';
      for (const s of SECRETS) {
        for (const [where, text] of [
          ['API', apiText],
          ['database file', dbText],
          ['spool', spoolText],
          ['sensor logs', sensorLogs.join('\n')],
          ['server logs', serverLogs.join('\n')],
        ] as const) {
          assert.ok(!text.includes(s), `${s} found in the ${where}`);
        }
      }
    } finally {
      if (sensor && sensor.child.exitCode === null && sensor.child.signalCode === null) {
        sensor.child.kill('SIGKILL');
        await sensor.exited;
      }
      await srv?.kill('SIGTERM');
    }
  });
});
