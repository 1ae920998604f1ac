// Unit tests of the rules collector (src/rules/loader-collect.ts), the second stage of rules
// loading: the items of two files (read by loader-read.ts) applied in order with Falco's override
// append/replace, deprecated append, enabled toggles, redefinition and visibility bookkeeping,
// exception defaults, required versions, and the errors of items that refer to undefined ones.
// No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, emptyCollection } from '../../../src/rules/loader-collect.ts';
import type { CollectSink, Collection } from '../../../src/rules/loader-collect.ts';
import { readRules } from '../../../src/rules/loader-read.ts';

function collectFiles(...files: [string, string][]): { col: Collection; sink: CollectSink } {
  const col = emptyCollection();
  const sink: CollectSink = { errors: [], warnings: [], failedMacros: new Set() };
  for (const [name, content] of files) collect(col, readRules({ name, content }), sink);
  return { col, sink };
}

const msg = (file: string, line: number, col: number, message: string, kind?: string, item?: string) => ({
  file,
  line,
  col,
  message,
  kind,
  item,
  code: 'VIGIL_E_RULE',
});

const A = `- list: shells
  items: [bash]
- macro: is_shell
  condition: proc.name in (shells)
- rule: Shell
  desc: a shell
  condition: evt.type = execve and is_shell
  output: shell %proc.name
  priority: WARNING
  tags: [b, a, b]
`;

test("collector: overrides from a second file append to and replace parts of the first one's items", () => {
  const { col, sink } = collectFiles(
    ['a.yaml', A],
    [
      'b.yaml',
      `- list: shells
  items: [zsh]
  override:
    items: append
- macro: is_shell
  condition: or proc.name = fish
  override:
    condition: append
- rule: Shell
  condition: and user.name = root
  output: (by %user.name)
  desc: replaced
  priority: error
  tags: [c, a]
  override:
    condition: append
    output: append
    tags: append
    desc: replace
    priority: replace
`,
    ],
  );
  assert.deepEqual([sink.errors, sink.warnings, [...sink.failedMacros]], [[], [], []]);
  // a.yaml gives indexes 0, 1, 2; each append/override in b.yaml moves the item's visibility on
  assert.deepEqual(col.lists.get('shells'), { name: 'shells', items: ['bash', 'zsh'], index: 0, visibility: 3, loc: { file: 'a.yaml', line: 1, col: 3 } });
  const m = col.macros.get('is_shell');
  assert.deepEqual(
    [m?.parts.map((p) => p.text), m?.index, m?.visibility, m?.loc],
    [['proc.name in (shells)', 'or proc.name = fish'], 1, 4, { file: 'a.yaml', line: 3, col: 3 }],
  );
  const r = col.rules.get('Shell');
  assert.ok(r);
  assert.deepEqual(
    r.parts.map((p) => p.text),
    ['evt.type = execve and is_shell', 'and user.name = root'],
  );
  // each part still maps to its own file
  assert.deepEqual(r.parts[1]?.src.loc(4), { file: 'b.yaml', line: 10, col: 18 });
  assert.deepEqual(
    [r.output, r.desc, r.priority, r.tags, r.enabled, r.source, r.index, r.visibility, r.loc],
    ['shell %proc.name (by %user.name)', 'replaced', 'Error', ['a', 'b', 'c'], true, 'syscall', 2, 5, { file: 'a.yaml', line: 5, col: 3 }],
  );
  assert.equal(col.curIndex, 6);
});

test('collector: enabled toggles (bare form, override replace) and a redefinition that keeps the first place', () => {
  const { col, sink } = collectFiles(
    ['a.yaml', A + '- rule: Other\n  desc: o\n  condition: proc.name = o\n  output: o\n  priority: info\n'],
    ['b.yaml', '- rule: Shell\n  enabled: false\n- rule: Other\n  enabled: false\n  override:\n    enabled: replace\n'],
  );
  assert.deepEqual(sink.errors, []);
  assert.deepEqual(sink.warnings, [msg('b.yaml', 1, 3, "the bare 'enabled' form is deprecated; use 'override: {enabled: replace}'", 'rule', 'Shell')]);
  // the bare form does not move the visibility; an override does
  assert.deepEqual([col.rules.get('Shell')?.enabled, col.rules.get('Shell')?.visibility], [false, 2]);
  assert.deepEqual([col.rules.get('Other')?.enabled, col.rules.get('Other')?.visibility], [false, 4]);

  const re = collectFiles(
    ['a.yaml', A],
    ['c.yaml', '- rule: Shell\n  enabled: false\n- rule: Shell\n  desc: again\n  condition: proc.name = x\n  output: o\n  priority: debug\n'],
  );
  const r = re.col.rules.get('Shell');
  // a redefinition replaces every field (enabled back to its default) but keeps the index
  assert.deepEqual(
    [r?.desc, r?.priority, r?.enabled, r?.tags, r?.index, r?.visibility, r?.loc],
    ['again', 'Debug', true, [], 2, 3, { file: 'c.yaml', line: 3, col: 3 }],
  );
});

test('collector: appending to or overriding an undefined item is an error at the item; the next items are collected', () => {
  const { col, sink } = collectFiles(
    ['a.yaml', A],
    [
      'b.yaml',
      `- rule: Nope
  condition: and proc.name = x
  append: true
- rule: Nope2
  desc: x
  override:
    desc: append
- list: nolist
  items: [a]
  override:
    items: append
- macro: nomacro
  condition: or x
  append: true
- rule: Shell
  enabled: false
`,
    ],
  );
  assert.deepEqual(sink.errors, [
    msg('b.yaml', 1, 3, "Rule has 'append' key but no rule by that name already exists", 'rule', 'Nope'),
    msg('b.yaml', 4, 3, 'Rule has an override but no rule by that name already exists', 'rule', 'Nope2'),
    msg('b.yaml', 8, 3, "List has 'append' key or an append override but no list by that name already exists", 'list', 'nolist'),
    msg('b.yaml', 12, 3, "Macro has 'append' key or an append override but no macro by that name already exists", 'macro', 'nomacro'),
  ]);
  assert.deepEqual(sink.warnings, [
    msg('b.yaml', 1, 3, "'append' key is deprecated; use 'override'", 'rule', 'Nope'),
    msg('b.yaml', 12, 3, "'append' key is deprecated; use 'override: {condition: append}'", 'macro', 'nomacro'),
    msg('b.yaml', 15, 3, "the bare 'enabled' form is deprecated; use 'override: {enabled: replace}'", 'rule', 'Shell'),
  ]);
  assert.deepEqual([...sink.failedMacros], ['nomacro']);
  assert.deepEqual([...col.rules.keys(), ...col.lists.keys(), ...col.macros.keys()], ['Shell', 'shells', 'is_shell']);
  assert.equal(col.rules.get('Shell')?.enabled, false);
});

test("collector: an item with several faults reports the first one met in Falco's order", () => {
  const override = '- rule: Shell\n  priority: LOUD\n  override:\n    priority: replace\n';
  // the rule does not exist: that comes before the value of the priority
  assert.deepEqual(collectFiles(['b.yaml', override]).sink.errors, [
    msg('b.yaml', 1, 3, 'Rule has an override but no rule by that name already exists', 'rule', 'Shell'),
  ]);
  assert.deepEqual(collectFiles(['a.yaml', A], ['b.yaml', override]).sink.errors, [msg('b.yaml', 2, 13, 'Invalid priority', 'rule', 'Shell')]);
  // a redefinition with another source comes after the condition .. exceptions, before capture_duration
  const redef = '- rule: Shell\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: info\n  source: k8s_audit\n  capture_duration: soon\n';
  assert.deepEqual(collectFiles(['a.yaml', A], ['b.yaml', redef]).sink.errors, [
    msg('b.yaml', 1, 3, 'Rule has been re-defined with a different source', 'rule', 'Shell'),
  ]);
  const { sink } = collectFiles(['b.yaml', redef]);
  assert.deepEqual(sink.errors, [msg('b.yaml', 7, 21, "Value for key 'capture_duration' must be a number of milliseconds", 'rule', 'Shell')]);
  assert.deepEqual(sink.warnings, [msg('b.yaml', 1, 3, 'Unknown source k8s_audit, skipping', 'rule', 'Shell')]);
});

test("collector: exceptions get Falco's default comps, are validated, and append values across files", () => {
  const { col, sink } = collectFiles(
    [
      'a.yaml',
      `- rule: R
  desc: d
  condition: evt.type = open
  output: o
  priority: info
  exceptions:
    - name: pair
      fields: [proc.name, fd.name]
      values: [[a, /etc]]
    - name: one
      fields: proc.pname
      values: [sshd]
`,
    ],
    ['b.yaml', '- rule: R\n  exceptions:\n    - name: pair\n      values: [[b, /tmp]]\n  override:\n    exceptions: append\n'],
  );
  assert.deepEqual(sink.errors, []);
  const exs = col.rules.get('R')?.exceptions ?? [];
  const pair = exs[0];
  assert.deepEqual(pair?.comps, {
    isList: true,
    item: '',
    items: [
      { isList: false, item: '=', items: [], loc: { file: 'a.yaml', line: 7, col: 7 } },
      { isList: false, item: '=', items: [], loc: { file: 'a.yaml', line: 7, col: 7 } },
    ],
    loc: { file: 'a.yaml', line: 7, col: 7 },
  });
  assert.deepEqual(
    pair?.values.map((v) => v.items.map((x) => x.item)),
    [
      ['a', '/etc'],
      ['b', '/tmp'],
    ],
  );
  assert.deepEqual(pair?.values[1]?.loc, { file: 'b.yaml', line: 4, col: 16 });
  assert.deepEqual(exs[1]?.comps, { isList: false, item: 'in', items: [], loc: { file: 'a.yaml', line: 10, col: 7 } });

  const bad = collectFiles([
    'a.yaml',
    '- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: info\n  exceptions:\n    - name: e\n      fields: [proc.nme]\n      values: [[a]]\n',
  ]);
  assert.deepEqual(bad.sink.errors, [msg('a.yaml', 8, 16, "'proc.nme' is not a supported filter field", 'rule', 'R')]);
  assert.equal(bad.col.rules.size, 0);
});

test('collector: required versions: the highest engine version is kept; one this engine lacks, or a missing plugin, is an error', () => {
  const { col, sink } = collectFiles(
    ['a.yaml', '- required_engine_version: 0.26.0\n'],
    ['b.yaml', '- required_engine_version: 12\n- required_engine_version: 0.31.0\n'],
  );
  assert.deepEqual(sink.errors, []);
  assert.equal(col.requiredEngineVersion, '0.31.0');
  const bad = collectFiles([
    'c.yaml',
    '- required_engine_version: 0.99.0\n- required_plugin_versions:\n  - name: container\n    version: 0.1.0\n  - name: k8saudit\n    version: 0.1.0\n',
  ]);
  assert.deepEqual(bad.sink.errors, [
    {
      file: 'c.yaml',
      line: 1,
      col: 28,
      message: 'Rules require engine version 0.99.0, but engine version is 0.57.0',
      kind: undefined,
      item: undefined,
      code: 'VIGIL_E_RULE',
    },
    {
      file: 'c.yaml',
      line: 5,
      col: 5,
      message: "Plugin 'k8saudit' version 0.1.0 is required by these rules but is not available (built in: container 0.6.0)",
      kind: undefined,
      item: undefined,
      code: 'VIGIL_E_RULE',
    },
  ]);
  assert.equal(bad.col.requiredEngineVersion, undefined);
});
