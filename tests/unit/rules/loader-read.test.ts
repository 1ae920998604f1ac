// Unit tests of the rules reader (src/rules/loader-read.ts), the first stage of rules loading:
// items of every kind with their exact positions (conditions mapped back character by character),
// the four forms of a rule item, malformed YAML and bad items as located error entries in file
// order, and fields that do not read kept with their error for the collector. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRules } from '../../../src/rules/loader-read.ts';
import type { CondPart, ReadEntry, RuleItem, Val } from '../../../src/rules/loader-read.ts';

const at = (line: number, col: number, file = 'a.yaml') => ({ file, line, col });

function ok<T>(v: Val<T> | undefined): T {
  assert.ok(v, 'field read');
  if (!v.ok) assert.fail(`field did not read: ${v.error.message}`);
  return v.value;
}

function rule(e: ReadEntry | undefined): RuleItem {
  assert.equal(e?.type, 'rule');
  return e as RuleItem;
}

const ALL_KINDS = `- required_engine_version: 0.26.0
- required_plugin_versions:
  - name: container
    version: 0.2.0
    alternatives:
      - name: k8smeta
        version: 0.1.0
- list: shells
  items: [bash, "my sh"]
- macro: is_shell
  condition: >
    proc.name in (shells)
    and evt.dir = <
- rule: Shell
  desc: a shell
  condition: evt.type = execve and is_shell
  output: shell %proc.name
  priority: WARNING
  tags: [b, a]
  exceptions:
    - name: by_parent
      fields: [proc.pname]
      values: [[sshd]]
`;

test('reader: one item per list, macro, rule and required version, each with its file:line:col', () => {
  const e = readRules({ name: 'a.yaml', content: ALL_KINDS });
  assert.deepEqual(
    e.map((x) => x.type),
    ['required_engine_version', 'required_plugin_versions', 'list', 'macro', 'rule'],
  );
  assert.deepEqual(e[0], { type: 'required_engine_version', version: '0.26.0', semver: [0, 26, 0], versionLoc: at(1, 28), loc: at(1, 3) });
  assert.deepEqual(e[1], {
    type: 'required_plugin_versions',
    plugins: [
      { ok: true, value: { name: 'container', version: '0.2.0', loc: at(3, 5), alternatives: [{ name: 'k8smeta', version: '0.1.0', loc: at(6, 9) }] } },
    ],
    loc: at(2, 3),
  });
  assert.deepEqual(e[2], { type: 'list', name: 'shells', items: ['bash', 'my sh'], append: false, loc: at(8, 3) });

  const m = e[3];
  assert.ok(m?.type === 'macro');
  assert.deepEqual([m.name, m.append, m.loc], ['is_shell', false, at(10, 3)]);
  assert.equal(m.condition.text, 'proc.name in (shells) and evt.dir = <\n'); // folded block scalar
  // every character of the folded text maps back to where it is written
  assert.deepEqual(m.condition.src.loc(0), at(12, 5));
  assert.deepEqual(m.condition.src.loc(m.condition.text.indexOf('and')), at(13, 5));
  assert.deepEqual(m.condition.src.loc(m.condition.text.indexOf('<')), at(13, 19));

  const r = rule(e[4]);
  assert.ok(r.form === 'define');
  assert.deepEqual([r.name, r.loc], ['Shell', at(14, 3)]);
  const cond = ok(r.condition);
  assert.equal(cond.text, 'evt.type = execve and is_shell');
  assert.deepEqual(cond.src.loc(cond.text.indexOf('is_shell')), at(16, 36));
  assert.equal(ok(r.output).text, 'shell %proc.name');
  assert.deepEqual(ok(r.output).src.loc(6), at(17, 17));
  assert.equal(ok(r.desc), 'a shell');
  assert.equal(ok(r.priority), 'Warning');
  assert.deepEqual(ok(r.tags), ['b', 'a']); // as written: the collector sorts
  // absent keys: their defaults
  assert.deepEqual(
    [ok(r.source), ok(r.enabled), ok(r.warnEvttypes), ok(r.skipIfUnknownFilter), ok(r.capture), ok(r.captureDuration)],
    ['syscall', true, true, false, false, undefined],
  );
  assert.deepEqual(ok(r.exceptions), [
    {
      name: 'by_parent',
      fields: { isList: true, item: '', items: [{ isList: false, item: 'proc.pname', items: [], loc: at(22, 16) }], loc: at(22, 15) },
      values: [{ isList: true, item: '', items: [{ isList: false, item: 'sshd', items: [], loc: at(23, 17) }], loc: at(23, 16) }],
      loc: at(21, 7),
    },
  ]);
});

test('reader: the override, append and bare enabled forms of a rule; a deprecation warning comes before its item', () => {
  const e = readRules({
    name: 'b.yaml',
    content: `- rule: A
  condition: and proc.name = x
  tags: [z]
  override:
    condition: append
    tags: replace
- rule: B
  condition: and proc.name = y
  append: true
- rule: C
  enabled: false
- list: L
  items: [a]
  append: true
`,
  });
  assert.deepEqual(
    e.map((x) => (x.type === 'rule' ? `rule:${x.form}` : x.type)),
    ['rule:override', 'warning', 'rule:append', 'warning', 'rule:enable', 'warning', 'list'],
  );
  const a = rule(e[0]);
  assert.ok(a.form === 'override');
  assert.deepEqual([[...a.append], [...a.replace]], [['condition'], ['tags']]);
  assert.equal(ok(a.condition).text, 'and proc.name = x');
  assert.deepEqual(ok(a.tags), ['z']);
  assert.deepEqual([a.output, a.desc, a.priority, a.exceptions, a.enabled], [undefined, undefined, undefined, undefined, undefined]);
  assert.deepEqual(e[1], {
    type: 'warning',
    message: { file: 'b.yaml', line: 7, col: 3, message: "'append' key is deprecated; use 'override'", kind: 'rule', item: 'B', code: 'VIGIL_E_RULE' },
  });
  const b = rule(e[2]);
  assert.ok(b.form === 'append');
  assert.equal(ok(b.condition as Val<CondPart>).text, 'and proc.name = y');
  assert.equal(b.exceptions, undefined);
  assert.deepEqual(e[3], {
    type: 'warning',
    message: {
      file: 'b.yaml',
      line: 10,
      col: 3,
      message: "the bare 'enabled' form is deprecated; use 'override: {enabled: replace}'",
      kind: 'rule',
      item: 'C',
      code: 'VIGIL_E_RULE',
    },
  });
  assert.deepEqual(e[4], { type: 'rule', name: 'C', loc: { file: 'b.yaml', line: 10, col: 3 }, form: 'enable', enabled: false });
  assert.deepEqual(e[5], {
    type: 'warning',
    message: {
      file: 'b.yaml',
      line: 12,
      col: 3,
      message: "'append' key is deprecated; use 'override: {items: append}'",
      kind: 'list',
      item: 'L',
      code: 'VIGIL_E_RULE',
    },
  });
  assert.deepEqual(e[6], { type: 'list', name: 'L', items: ['a'], append: true, loc: { file: 'b.yaml', line: 12, col: 3 } });
});

test('reader: malformed YAML gives only its errors (VIGIL_E_YAML) at the position the parser stopped', () => {
  assert.deepEqual(readRules({ name: 'm.yaml', content: '- list: a\n  items: [x]\n   bad: indent\n- list: b\n  items: [y]\n' }), [
    {
      type: 'error',
      message: {
        file: 'm.yaml',
        line: 3,
        col: 1,
        message: 'malformed YAML: All mapping items must start at the same column',
        kind: 'file',
        code: 'VIGIL_E_YAML',
      },
    },
  ]);
  assert.deepEqual(readRules({ name: 'm.yaml', content: '- list: a\n  items: "x\n' }), [
    { type: 'error', message: { file: 'm.yaml', line: 3, col: 1, message: 'malformed YAML: Missing closing "quote', kind: 'file', code: 'VIGIL_E_YAML' } },
  ]);
  // well-formed YAML that is not a sequence of items: what came before it is kept
  assert.deepEqual(readRules({ name: 'm.yaml', content: '- list: a\n  items: [x]\n---\nrule: a\n' }), [
    { type: 'list', name: 'a', items: ['x'], append: false, loc: { file: 'm.yaml', line: 1, col: 3 } },
    { type: 'error', message: { file: 'm.yaml', line: 4, col: 1, message: 'Rules content is not yaml array of objects', kind: 'file', code: 'VIGIL_E_RULE' } },
  ]);
});

test('reader: an item that does not read is an error entry in its place, named once its name is known; reading goes on', () => {
  const e = readRules({
    name: 'c.yaml',
    content: '- rule: a\n  desc: d\n  bogus: 1\n- list: 1 2\n  items: [a]\n- macro:\n  condition: x\n- what: x\n- list: l\n  items: [a]\n',
  });
  assert.deepEqual(e, [
    { type: 'error', message: { file: 'c.yaml', line: 3, col: 3, message: "unknown key 'bogus' in rule", kind: 'rule', item: 'a', code: 'VIGIL_E_RULE' } },
    {
      type: 'error',
      message: {
        file: 'c.yaml',
        line: 4,
        col: 9,
        message: "Invalid list name '1 2': names may not contain blanks, quotes, parentheses, '=' or ','",
        kind: 'list',
        item: '1 2',
        code: 'VIGIL_E_RULE',
      },
    },
    {
      type: 'error',
      message: { file: 'c.yaml', line: 6, col: 3, message: "Mapping for key 'macro' is empty", kind: undefined, item: undefined, code: 'VIGIL_E_RULE' },
    },
    {
      type: 'error',
      message: {
        file: 'c.yaml',
        line: 8,
        col: 3,
        message: "unknown top-level item 'what': expected one of rule, macro, list, required_engine_version, required_plugin_versions",
        kind: undefined,
        item: undefined,
        code: 'VIGIL_E_RULE',
      },
    },
    { type: 'list', name: 'l', items: ['a'], append: false, loc: { file: 'c.yaml', line: 9, col: 3 } },
  ]);
});

test('reader: a field that does not read keeps its error (for the collector to raise in order); the other fields read', () => {
  const e = readRules({
    name: 'd.yaml',
    content: '- rule: R\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: LOUD\n  capture_duration: soon\n  enabled: maybe\n',
  });
  const r = rule(e[0]);
  assert.equal(e.length, 1);
  assert.ok(r.form === 'define');
  const err = (v: Val<unknown>) => (v.ok ? undefined : [v.error.message, v.error.loc.line, v.error.loc.col]);
  assert.deepEqual(err(r.priority), ['Invalid priority', 5, 13]);
  assert.deepEqual(err(r.captureDuration), ["Value for key 'capture_duration' must be a number of milliseconds", 6, 21]);
  assert.deepEqual(err(r.enabled), ["Value for key 'enabled' is not a boolean: 'maybe'", 7, 12]);
  assert.deepEqual([ok(r.condition).text, ok(r.output).text, ok(r.desc)], ['proc.name = x', 'o', 'd']);
  // a plugin requirement that does not read ends the list, after the ones that did
  const p = readRules({
    name: 'p.yaml',
    content: '- required_plugin_versions:\n  - name: a\n    version: 1.0.0\n  - name: b\n    version: one\n  - name: c\n    version: 1.0.0\n',
  })[0];
  assert.ok(p?.type === 'required_plugin_versions');
  assert.deepEqual(
    p.plugins.map((x) => (x.ok ? x.value.name : x.error.message)),
    ['a', "Invalid required version 'one' for plugin 'b'"],
  );
});
