// Two sensors in one process share nothing: two RunContexts, each with its own instances of the
// rules hook (different rules) fed by its own kernel-free sensor handle. Each context sees only its
// own events, alerts, logs and decisions, and each hook instance keeps its own state and options.
import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import {
  createRunContext,
  HookSet,
  printAlerts,
  type CoreRunOptions,
  type RunContext,
  type AlertMessage,
  type LogRecord,
  type PolicyDecision,
} from '../../../src/runtime/index.ts';
import { createRulesHook } from '../../../src/detect/run-hook.ts';
import { createUplinkHook } from '../../../src/uplink/run-hook.ts';
import { PlanBuilder } from '../../../src/sensor/hooks.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { Capture, execOf, FeedSensor, RecordingControl, rulesFile } from './feed-sensor.ts';

const CORE: CoreRunOptions = { output: 'json', argvMax: 4096, envMax: 4096, socket: false, ringbufMb: 16 };

interface Node {
  sensor: FeedSensor;
  control: RecordingControl;
  ctx: RunContext<FeedSensor>;
  hooks: HookSet<FeedSensor>;
  rules: ReturnType<typeof createRulesHook>;
  out: Capture;
  alerts: AlertMessage[];
  events: VigilEvent[];
  logs: LogRecord[];
  decisions: PolicyDecision[];
  plan: PlanBuilder;
}

async function node(rule: string, procName: string): Promise<Node> {
  const sensor = new FeedSensor();
  const control = new RecordingControl();
  const ctx = createRunContext({ sensor, core: CORE, control });
  const rules = createRulesHook();
  const file = rulesFile(rule, procName);
  // the uplink instance is there to show it stays off: an empty, unenrolled data dir and no --server
  const data = mkdtempSync(path.join(os.tmpdir(), 'vigil-runtime-data-'));
  const hooks = new HookSet<FeedSensor>([rules, createUplinkHook()], (h) => (h.name === 'rules' ? { rules: [file], workers: 1 } : { data }));
  const plan = new PlanBuilder();
  await hooks.plan(plan);
  const out = new Capture();
  printAlerts(ctx.bus, out);
  const n: Node = { sensor, control, ctx, hooks, rules, out, alerts: [], events: [], logs: [], decisions: [], plan };
  ctx.bus.subscribe('alert', (m) => n.alerts.push(m));
  ctx.bus.subscribe('event', (ev) => n.events.push(ev));
  ctx.bus.subscribe('log', (r) => n.logs.push(r));
  ctx.bus.subscribe('decision', (d) => n.decisions.push(d));
  await hooks.start(ctx);
  return n;
}

test('two rules hook instances with different rules each see only their own alerts', async () => {
  const a = await node('rule_alpha', 'alpha');
  const b = await node('rule_beta', 'beta');
  try {
    for (const n of [a, b]) {
      n.sensor.feed(execOf('alpha', 'alpha --one', 101));
      n.sensor.feed(execOf('beta', 'beta --two', 202));
      n.sensor.feed(execOf('gamma', 'gamma', 303));
    }
    assert.deepEqual(
      a.alerts.map((m) => [m.rule, m.alert.output_fields['proc.cmdline']]),
      [['rule_alpha', 'alpha --one']],
    );
    assert.deepEqual(
      b.alerts.map((m) => [m.rule, m.alert.output_fields['proc.cmdline']]),
      [['rule_beta', 'beta --two']],
    );
    // each context's stdout printer wrote its own alert line, and only that
    assert.deepEqual(
      a.out.lines().map((l) => (JSON.parse(l) as { rule: string }).rule),
      ['rule_alpha'],
    );
    assert.deepEqual(
      b.out.lines().map((l) => (JSON.parse(l) as { rule: string }).rule),
      ['rule_beta'],
    );
    // each hook instance keeps its own detector and statistics, served on its own control socket
    assert.notEqual(a.rules.detector, undefined);
    assert.notEqual(a.rules.detector, b.rules.detector);
    const sa = (await a.control.call('rules.status')) as { rulesLoaded: number; evaluated: number; alerts: number; alertsByRule: Record<string, number> };
    const sb = (await b.control.call('rules.status')) as typeof sa;
    assert.deepEqual([sa.rulesLoaded, sa.evaluated, sa.alerts, sa.alertsByRule], [1, 3, 1, { rule_alpha: 1 }]);
    assert.deepEqual([sb.rulesLoaded, sb.evaluated, sb.alerts, sb.alertsByRule], [1, 3, 1, { rule_beta: 1 }]);
    // each plan holds the hooks of its own rules only
    assert.deepEqual(
      [...a.plan.build().hooks.values()].flatMap((h) => h.reasons),
      ['rule "rule_alpha"'],
    );
    assert.deepEqual(
      [...b.plan.build().hooks.values()].flatMap((h) => h.reasons),
      ['rule "rule_beta"'],
    );
  } finally {
    await a.hooks.stop();
    await b.hooks.stop();
  }
  // stopped instances drop their state; the other instance is not affected by the first stop
  assert.equal(a.rules.detector, undefined);
  assert.equal(b.rules.detector, undefined);
});

test('bus subscribers of one context do not get the messages of the other', async () => {
  const a = await node('rule_alpha', 'alpha');
  const b = await node('rule_beta', 'beta');
  try {
    b.sensor.feed(execOf('beta', 'beta', 7));
    b.ctx.log.warn('only b');
    const ev = execOf('beta', 'beta', 8);
    b.ctx.bus.publish('decision', { enforcer: 'fanotify', blocked: true, policy: { name: 'p' }, event: ev });
    assert.deepEqual([a.events.length, a.alerts.length, a.logs.length, a.decisions.length], [0, 0, 0, 0]);
    assert.deepEqual([b.events.length, b.alerts.length, b.logs.length, b.decisions.length], [1, 1, 1, 1]);
    assert.deepEqual(b.logs[0], { level: 'warn', source: 'core', msg: 'only b' });
    assert.equal(b.decisions[0]!.event, ev);
    assert.equal(a.out.text, '');
    assert.deepEqual(a.ctx.bus.published, { event: 0, alert: 0, decision: 0, log: 0 });
    assert.deepEqual(b.ctx.bus.published, { event: 1, alert: 1, decision: 1, log: 1 });
    // the control sockets are apart too: each has the ops of its own hooks
    assert.deepEqual([...a.control.ops.keys()], ['rules.status']);
    assert.deepEqual([...b.control.ops.keys()], ['rules.status']);
  } finally {
    await a.hooks.stop();
    await b.hooks.stop();
  }
});

test('a hook reads only the options it declared; absent options take its defaults', () => {
  const rules = createRulesHook();
  const uplink = createUplinkHook();
  // values of other hooks' options handed to a hook are not part of its options
  assert.deepEqual(rules.parseOptions({ rules: ['x.yaml'], alertsOnly: true, server: 'https://x', policy: ['p.yaml'] }), {
    rules: ['x.yaml'],
    alertsOnly: true,
  });
  assert.deepEqual(uplink.parseOptions({ rules: ['x.yaml'], server: 'https://x' }), { server: 'https://x', data: '/var/lib/vigil/sensor' });
  assert.deepEqual(uplink.parseOptions({}), { data: '/var/lib/vigil/sensor' });
  const set = new HookSet([rules, uplink], (h) => (h.name === 'rules' ? { rules: ['x.yaml'], alertsOnly: true } : {}));
  assert.equal(set.selectsKinds(), true);
  assert.equal(set.printsEvents(), false);
  assert.deepEqual(set.sensorOptions(), {});
  assert.throws(() => new HookSet([rules, rules]), /run hook rules registered twice/);
});
