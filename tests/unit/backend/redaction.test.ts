// Redaction: credentials planted in argv, environment, paths and URLs of events and alerts never
// reach the wire (plaintext frames tapped on the server), the sensor spool files, the store (API
// and the database file itself) or any log line of sensor and server. Plus unit cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { REDACTED, redactString, stringifyRedacted } from '../../../src/common/redact.ts';
import { startServer } from '../../../src/server/index.ts';
import { createLogger } from '../../../src/common/log.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { makeAlert, makeEvent } from '../../helpers/backend-fixtures.ts';
import { api, type ApiAlert, type ApiEvent, type ApiPage, type ApiToken } from '../../helpers/backend-server.ts';

const SECRETS = [
  'S3cretPassw0rd',
  'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
  'PgSecret123',
  'UrlSecret99',
  'AKIAIOSFODNN7EXAMPLE',
  'tok9abcdef123456xyz',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  'FlagTok3n42',
];

test('unit: patterns', () => {
  const cases: [string, string][] = [
    ['mysql --password=S3cretPassw0rd -h db', 'mysql --password=***REDACTED*** -h db'],
    ['app --token FlagTok3n42 --verbose', 'app --token ***REDACTED*** --verbose'],
    ['curl -H "Authorization: Bearer tok9abcdef123456xyz" http://x', 'curl -H "Authorization: Bearer ***REDACTED***" http://x'],
    ['PGPASSWORD=PgSecret123', 'PGPASSWORD=***REDACTED***'],
    ['key AKIAIOSFODNN7EXAMPLE end', 'key ***REDACTED*** end'],
    ['postgres://app:UrlSecret99@db:5432/app', 'postgres://app:***REDACTED***@db:5432/app'],
    ['https://h/cb?x=1&password=UrlSecret99&y=2', 'https://h/cb?x=1&password=***REDACTED***&y=2'],
    ['/etc/passwd', '/etc/passwd'],
    ['PWD=/root ls -la', 'PWD=/root ls -la'],
    ['https://example.com:8443/path', 'https://example.com:8443/path'],
  ];
  for (const [i, o] of cases) assert.equal(redactString(i), o, i);
  assert.equal(redactString('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----'), REDACTED);
  const ev = { proc: { env: ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY', 'HOME=/root'] }, secret: 'x1', nested: { api_key: 'abc' } };
  const s = stringifyRedacted(ev);
  assert.ok(!s.includes('wJalrX') && !s.includes('"x1"') && !s.includes('abc'), s);
  assert.ok(s.includes('HOME=/root'));
  assert.equal(ev.secret, 'x1', 'input not modified');
});

test('planted secrets never leave the node, nor reach store, API or logs', { timeout: 60_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-redact-'));
  const dataDir = path.join(tmp, 'server');
  const logFile = path.join(tmp, 'all.log');
  const dest = pino.destination({ dest: logFile, sync: true });
  const log = createLogger({ level: 'trace', destination: dest });
  const frames: string[] = [];
  const srv = await startServer({ dataDir, listen: '127.0.0.1:0', logger: log, frameTap: (_s, t) => frames.push(t) });
  try {
    const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
    const up = new SensorUplink({ dir: path.join(tmp, 'sensor'), server: srv.url, token: tok.json.token, logger: log, flushIntervalMs: 5 });
    await up.start();
    const ev = makeEvent({
      num: 1,
      proc: 'mysql',
      args: '--password=S3cretPassw0rd --token FlagTok3n42 -h db',
      fd: { name: '/tmp/postgres://app:UrlSecret99@db/x', type: 'file' },
    });
    (ev.proc as Record<string, unknown>).cmdline = 'mysql --password=S3cretPassw0rd -h db';
    (ev.proc as Record<string, unknown>).env = [
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
      'PGPASSWORD=PgSecret123',
      'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
    ];
    (ev.evt as Record<string, unknown>).arg = {
      args: 'curl -H "Authorization: Bearer tok9abcdef123456xyz" https://api',
      data: '-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----',
    };
    up.push(ev);
    const alert = makeAlert({ rule: 'Secret in argv', priority: 'Warning' });
    alert.output = 'cmd=mysql --password=S3cretPassw0rd user=root';
    (alert.output_fields as Record<string, unknown>)['proc.cmdline'] = 'mysql --password=S3cretPassw0rd';
    up.pushAlert(alert);
    // Code paths that log user data: a logged command line and a logged error.
    log.info({ cmdline: 'mysql --password=S3cretPassw0rd', url: 'postgres://app:UrlSecret99@db/x' }, 'exec mysql --password=S3cretPassw0rd');
    log.error(new Error('connect postgres://app:UrlSecret99@db failed, AKIAIOSFODNN7EXAMPLE'));
    assert.equal(await up.drain(20_000), true);
    const spoolText = readdirSync(path.join(tmp, 'sensor', 'spool'))
      .map((f) => readFileSync(path.join(tmp, 'sensor', 'spool', f), 'latin1'))
      .join('\n');
    await up.close();
    const evs = await api<ApiPage<ApiEvent>>(srv.url, dataDir, '/api/v1/events');
    const als = await api<ApiPage<ApiAlert>>(srv.url, dataDir, '/api/v1/alerts');
    const apiText = JSON.stringify(evs.json) + JSON.stringify(als.json);
    assert.equal(evs.json.items.length, 1);
    assert.match(apiText, /\*\*\*REDACTED\*\*\*/);
    assert.ok(apiText.includes('-h db'), 'the rest of the field is kept');
    await srv.close();
    const dbText = readdirSync(dataDir)
      .filter((f) => f.startsWith('vigil.duckdb'))
      .map((f) => readFileSync(path.join(dataDir, f), 'latin1'))
      .join('\n');
    const logText = readFileSync(logFile, 'utf8');
    assert.ok(frames.length > 0 && frames.some((f) => f.includes('"batch"')));
    assert.ok(logText.includes('exec mysql --password=***REDACTED***'), 'log line kept, secret removed');
    for (const s of SECRETS) {
      for (const [where, text] of [
        ['wire', frames.join('\n')],
        ['spool', spoolText],
        ['API', apiText],
        ['database file', dbText],
        ['logs', logText],
      ] as const) {
        assert.ok(!text.includes(s), `${s} found in ${where}`);
      }
    }
  } finally {
    await srv.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
