// Alert serialisation fast paths (src/rules/output.ts): one-pass buildAlert and the hand-written
// sorted JSON of output_fields give the same text as the generic JSON rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertToJson, buildAlert, compileFormat } from '../../../src/rules/index.ts';
import { compileRuleOutput } from '../../../src/rules/output.ts';
import type { Alert } from '../../../src/rules/index.ts';
import { event } from '../../helpers/rules.ts';

test('output_fields JSON: sorted keys, scalars as JSON.stringify renders them, raw ns times', () => {
  const a: Alert = {
    hostname: 'h',
    output: 'o "q"',
    priority: 'Warning',
    rule: 'r',
    source: 'syscall',
    tags: ['b', 'a'],
    time: 't',
    uuid: 'u',
    output_fields: { 'z.s': 'a"b\\c\n', 'a.n': -0, 'm.nan': Number.NaN, 'b.t': true, 'c.f': false, 'd.null': null, 'e.big': 1e21, 'f.neg': -1.5 },
  };
  const expected = `{"hostname":"h","output":"o \\"q\\"","output_fields":${JSON.stringify(Object.fromEntries(Object.entries(a.output_fields).sort((x, y) => (x[0] < y[0] ? -1 : 1))))},"priority":"Warning","rule":"r","source":"syscall","tags":["b","a"],"time":"t","uuid":"u"}`;
  assert.equal(alertToJson(a), expected);
});

test('buildAlert: one pass gives the line and the fields; <NA> and required values; evt.time raw', () => {
  process.env.TZ = 'UTC';
  const ev = event({ proc: { name: 'cat' } });
  const rule = { name: 'R', priority: 'Notice' as const, tags: ['x'], line: compileRuleOutput('p=%proc.name t=%evt.time q=%proc.env', 'Notice') };
  const a = buildAlert(rule, ev, { hostname: 'h', uuid: () => 'u' });
  assert.equal(a.output, '22:13:20.123456789: Notice p=cat t=22:13:20.123456789 q=<NA>');
  assert.deepEqual(a.output_fields, { 'evt.time': '1700000000123456789', 'proc.name': 'cat', 'proc.env': null });
  assert.equal(a.time, '2023-11-14T22:13:20.123456789Z');
  assert.ok(alertToJson(a).includes('"output_fields":{"evt.time":1700000000123456789,"proc.env":null,"proc.name":"cat"}'));
  // a format without the leading '*' needs every value: the line is empty when one is missing
  assert.equal(buildAlert({ ...rule, line: compileFormat('p=%proc.name q=%proc.env') }, ev).output, '');
  assert.equal(buildAlert({ ...rule, line: compileFormat('p=%proc.name') }, ev).output, 'p=cat');
  // the same second renders from the cache, another second afresh
  const ev2 = event({ evt: { time: '1700000001000000001' } });
  assert.equal(buildAlert(rule, ev2).time, '2023-11-14T22:13:21.000000001Z');
  assert.equal(buildAlert(rule, ev).time, '2023-11-14T22:13:20.123456789Z');
});
