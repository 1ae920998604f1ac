// An alert crosses the run time as an object and is serialised once: the rules hook publishes it on
// the bus, the stdout printer and the uplink write the same JSON line (the uplink redacts only an
// alert whose line can hold a credential), and nobody parses it back. Counted by spying on the one
// alert serialiser (alertCodec.toJson) and on JSON.parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlertMessage, alertCodec, createRunContext, HookSet, printAlerts, type CoreRunOptions } from '../../../src/runtime/index.ts';
import { createRulesHook } from '../../../src/detect/run-hook.ts';
import { SensorUplink } from '../../../src/uplink/uplink.ts';
import { Spool } from '../../../src/uplink/spool.ts';
import { PlanBuilder } from '../../../src/sensor/hooks.ts';
import { REDACTED } from '../../../src/common/redact.ts';
import { Capture, execOf, FeedSensor, rulesFile } from './feed-sensor.ts';

const CORE: CoreRunOptions = { output: 'json', argvMax: 4096, envMax: 4096, socket: false, ringbufMb: 16 };

test('an alert published once is serialised once, by whoever writes it out', async (t) => {
  const sensor = new FeedSensor();
  const ctx = createRunContext({ sensor, core: CORE });
  const hooks = new HookSet([createRulesHook()], () => ({ rules: [rulesFile('rule_alpha', 'alpha')], workers: 1 }));
  await hooks.plan(new PlanBuilder());
  const out = new Capture();
  printAlerts(ctx.bus, out);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-runtime-uplink-'));
  const up = new SensorUplink({ dir, server: 'https://127.0.0.1:1' }); // never started: spools only
  // the uplink hook's subscription (src/uplink/run-hook.ts)
  ctx.bus.subscribe('alert', (m) => up.pushAlertLine(m.json(), m.alert));
  let seen: AlertMessage[] = [];
  ctx.bus.subscribe('alert', (m) => seen.push(m));
  await hooks.start(ctx);

  const toJson = t.mock.method(alertCodec, 'toJson');
  const parse = t.mock.method(JSON, 'parse');
  sensor.feed(execOf('alpha', 'alpha --one', 11));
  sensor.feed(execOf('alpha', 'alpha --password=hunter22 --two', 12));
  sensor.feed(execOf('beta', 'beta', 13));
  const parsedAlerts = parse.mock.calls.filter((c) => typeof c.arguments[0] === 'string' && c.arguments[0].includes('"rule":"rule_alpha"')).length;
  parse.mock.restore();
  await hooks.stop();
  await up.close();

  // two alerts, each serialised exactly once, never parsed back
  assert.equal(seen.length, 2);
  assert.equal(toJson.mock.callCount(), 2);
  assert.deepEqual(
    toJson.mock.calls.map((c) => c.arguments[0]),
    seen.map((m) => m.alert),
  );
  assert.equal(parsedAlerts, 0);
  assert.equal(
    seen.every((m) => m.serialised),
    true,
  );

  // stdout got the lines, unredacted (as Falco prints them)
  const lines = out.lines();
  assert.deepEqual(
    lines,
    seen.map((m) => m.json()),
  );
  assert.match(lines[1]!, /--password=hunter22/);

  // the uplink spooled the very same line for the alert without a credential, and a redacted one
  // (from the object, not from parsing the line) for the other
  const spool = new Spool(dir, { maxBytes: 1 << 20 });
  const recs = spool.read(0, 10, 1 << 20);
  spool.close();
  assert.deepEqual(
    recs.map((r) => r.kind),
    ['a', 'a'],
  );
  assert.equal(recs[0]!.payload, lines[0]);
  assert.notEqual(recs[1]!.payload, lines[1]);
  assert.doesNotMatch(recs[1]!.payload, /hunter22/);
  const red = JSON.parse(recs[1]!.payload) as { rule: string; output_fields: Record<string, string> };
  assert.equal(red.rule, 'rule_alpha');
  assert.equal(red.output_fields['proc.cmdline'], `alpha --password=${REDACTED} --two`);
  seen = [];
});

test('an alert that crossed a thread as its line keeps that line: parsed once, not serialised again', (t) => {
  const toJson = t.mock.method(alertCodec, 'toJson');
  const line =
    '{"hostname":"h","output":"o","output_fields":{"proc.name":"x"},"priority":"Warning","rule":"r","source":"syscall","tags":[],"time":"2026-01-01T00:00:00.000000000Z","uuid":"u"}';
  const m = AlertMessage.fromJson(line);
  assert.equal(m.rule, 'r');
  assert.equal(m.alert.output_fields['proc.name'], 'x');
  assert.equal(m.json(), line);
  assert.equal(m.json(), line);
  assert.equal(toJson.mock.callCount(), 0);
  // an alert built here is serialised on first use only, then the line is kept
  const built = AlertMessage.of(m.alert);
  assert.equal(built.serialised, false);
  assert.equal(built.json(), line);
  assert.equal(built.json(), line);
  assert.equal(toJson.mock.callCount(), 1);
});
