// Unit tests of the rules compiler stage (src/rules/loader-compile.ts), the third stage of rules
// loading: collected lists, macros and rules (loader-read.ts + loader-collect.ts) compiled into a
// Ruleset: one compiled rule with its exact fields and a predicate that matches, and errors inside
// conditions located in the file (a failed macro is not reported again at its users). No root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, emptyCollection } from '../../../src/rules/loader-collect.ts';
import type { CollectSink, Collection } from '../../../src/rules/loader-collect.ts';
import { compileCollection } from '../../../src/rules/loader-compile.ts';
import { readRules } from '../../../src/rules/loader-read.ts';
import type { Ev } from '../../../src/rules/types.ts';

function collected(name: string, content: string): { col: Collection; sink: CollectSink } {
  const col = emptyCollection();
  const sink: CollectSink = { errors: [], warnings: [], failedMacros: new Set() };
  collect(col, readRules({ name, content }), sink);
  assert.deepEqual(sink.errors, []);
  return { col, sink };
}

function exec(name: string, pname: string, user = 'root'): Ev {
  return {
    evt: { num: 1, time: '1700000000123456789', type: 'execve', category: 'process', dir: '<', res: 0, failed: false, arg: {}, rawarg: {} },
    proc: { pid: 42, name, pname, exepath: `/usr/bin/${name}`, cmdline: name, args: '' },
    user: { uid: 0, name: user },
    container: { id: 'host' },
  } as unknown as Ev;
}

const RULES = `- required_engine_version: 0.26.0
- list: shells
  items: [bash, zsh]
- list: all_shells
  items: [shells, fish]
- macro: spawned
  condition: evt.type in (execve, execveat) and evt.dir = <
- macro: is_shell
  condition: proc.name in (all_shells)
- rule: Shell
  desc: a shell ran
  condition: spawned and is_shell
  output: shell %proc.name by %user.name
  priority: WARNING
  tags: [process, mitre]
  capture: true
  capture_duration: 3000
  exceptions:
    - name: from_sshd
      fields: [proc.pname, user.name]
      values: [[sshd, alice]]
`;

test('compiler: one rule compiled from collected lists, macros and exceptions, with its exact fields', () => {
  const { col, sink } = collected('r.yaml', RULES);
  const rs = compileCollection(col, {}, sink.errors, sink.warnings, sink.failedMacros);
  assert.ok(rs);
  assert.deepEqual([sink.errors, sink.warnings], [[], []]);
  assert.deepEqual([rs.listCount, rs.macroCount, rs.requiredEngineVersion, rs.rules.length], [2, 2, '0.26.0', 1]);
  const r = rs.rules[0];
  assert.ok(r);
  assert.deepEqual(
    [r.name, r.desc, r.priority, r.tags, r.enabled, r.source, r.condition, r.capture, r.captureDuration],
    ['Shell', 'a shell ran', 'Warning', ['mitre', 'process'], true, 'syscall', 'spawned and is_shell', true, 3000],
  );
  assert.deepEqual([[...r.types.set].sort(), r.types.neg], [['execve', 'execveat'], false]);
  assert.equal(r.line.text, '*%evt.time: Warning shell %proc.name by %user.name');
  // the nested list is expanded (fish), the macros resolved, the exception excludes sshd+alice only
  assert.equal(r.predicate(exec('fish', 'cron')), true);
  assert.equal(r.predicate(exec('bash', 'sshd')), true);
  assert.equal(r.predicate(exec('bash', 'sshd', 'alice')), false);
  assert.equal(r.predicate(exec('ls', 'cron')), false);
  assert.deepEqual(
    rs.rulesFor('execve').map((x) => x.name),
    ['Shell'],
  );
  // appendOutput adds Falco's extra output to the compiled line
  const withExtra = compileCollection(col, { appendOutput: 'pid=%proc.pid' }, [], [], new Set());
  assert.equal(withExtra?.rules[0]?.line.text, '*%evt.time: Warning shell %proc.name by %user.name pid=%proc.pid');
});

test('compiler: errors inside conditions are located in the file; users of a failed macro get no second error', () => {
  const { col, sink } = collected(
    'e.yaml',
    `- macro: broken
  condition: proc.name = = x
- rule: Uses broken
  desc: d
  condition: evt.type = open and broken
  output: o
  priority: info
- rule: Unknown field
  desc: d
  condition: evt.type = open and proc.nme = x
  output: o
  priority: info
- rule: Good
  desc: d
  condition: evt.type = open
  output: o
  priority: info
`,
  );
  const rs = compileCollection(col, {}, sink.errors, sink.warnings, sink.failedMacros);
  assert.equal(rs, undefined);
  assert.deepEqual(
    sink.errors.map((e) => [e.file, e.line, e.col, e.kind, e.item]),
    [
      ['e.yaml', 2, 26, 'macro', 'broken'],
      ['e.yaml', 10, 34, 'rule', 'Unknown field'],
    ],
  );
  assert.deepEqual(
    sink.errors.map((e) => e.message),
    ['expected a string value or a field with a valid transformer', "unknown field 'proc.nme'"],
  );
  assert.deepEqual([...sink.failedMacros], ['broken']);
});
