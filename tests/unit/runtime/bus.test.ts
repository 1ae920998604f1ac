// The typed bus of one RunContext: subscription order, unsubscribe, a throwing subscriber counted
// without hurting the others, and nothing built for a topic nobody listens to (the logger and the
// publishers ask has() first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus, busLogger, type LogRecord, type Topic } from '../../../src/runtime/index.ts';
import { execOf } from './feed-sensor.ts';

test('subscribers get messages in subscription order; unsubscribe removes one', () => {
  const bus = new Bus();
  const got: string[] = [];
  const ev = execOf('x');
  assert.equal(bus.has('event'), false);
  const off1 = bus.subscribe('event', (e) => got.push(`1:${String(e.proc.name)}`));
  bus.subscribe('event', (e) => got.push(`2:${String(e.proc.name)}`));
  assert.equal(bus.has('event'), true);
  assert.equal(bus.has('alert'), false);
  bus.publish('event', ev);
  off1();
  bus.publish('event', ev);
  assert.deepEqual(got, ['1:x', '2:x', '2:x']);
  assert.deepEqual(bus.subscribers(), { event: 1, alert: 0, decision: 0, log: 0 });
  assert.deepEqual(bus.published, { event: 2, alert: 0, decision: 0, log: 0 });
});

test('unsubscribing during a publish does not skip the next subscriber', () => {
  const bus = new Bus();
  const got: number[] = [];
  const off = bus.subscribe('log', () => {
    got.push(1);
    off();
  });
  bus.subscribe('log', () => got.push(2));
  const r: LogRecord = { level: 'info', source: 't', msg: 'm' };
  bus.publish('log', r);
  bus.publish('log', r);
  assert.deepEqual(got, [1, 2, 2]);
});

test('a throwing subscriber is counted and reported; the others still get the message', () => {
  const errors: [Topic, string][] = [];
  const bus = new Bus((topic, e) => errors.push([topic, (e as Error).message]));
  const got: string[] = [];
  bus.subscribe('log', () => {
    throw new Error('boom');
  });
  bus.subscribe('log', (r) => got.push(r.msg));
  bus.publish('log', { level: 'warn', source: 't', msg: 'still here' });
  assert.deepEqual(got, ['still here']);
  assert.deepEqual(errors, [['log', 'boom']]);
  assert.deepEqual(bus.errors, { event: 0, alert: 0, decision: 0, log: 1 });
});

test('the logger builds and publishes no record while nobody listens to logs', () => {
  const bus = new Bus();
  const log = busLogger(bus, 'rules');
  log.warn('dropped on the floor');
  assert.equal(bus.published.log, 0);
  const got: LogRecord[] = [];
  bus.subscribe('log', (r) => got.push(r));
  log.error('heard');
  assert.deepEqual(got, [{ level: 'error', source: 'rules', msg: 'heard' }]);
  assert.equal(bus.published.log, 1);
});

test('an unknown topic is refused', () => {
  const bus = new Bus();
  assert.throws(() => bus.subscribe('alerts' as Topic, () => {}), /unknown bus topic alerts/);
});
