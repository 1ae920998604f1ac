// Tests of rules-file loading: the community Falco files load unmodified, Falco's schema keys and
// semantics (override append/replace, deprecated append and bare enabled, visibility of lists and
// macros, exceptions with their defaults, required versions), event-type indexing, and bad input
// giving located errors while the previously loaded rules stay in force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { RuleLoader, formatMessage, toVigilError } from '../../../src/rules/index.ts';
import { repoRoot } from '../../helpers/kernel.ts';
import { INCUBATING, STABLE, check, event, loadRules } from '../../helpers/rules.ts';

test('stable then incubating Falco rules load with no errors: exactly 25 + 31 rules', () => {
  const l = new RuleLoader();
  const a = l.loadFiles([STABLE]);
  assert.equal(a.ok, true, a.errors.map(formatMessage).join('\n'));
  assert.equal(a.ruleset.rules.length, 25);
  assert.equal(a.ruleset.macroCount, 87);
  assert.equal(a.ruleset.listCount, 49);
  const b = l.loadFiles([INCUBATING]);
  assert.equal(b.ok, true, b.errors.map(formatMessage).join('\n'));
  assert.equal(b.ruleset.rules.length, 25 + 31);
  assert.ok(b.ruleset.rules.every((r) => r.enabled && r.source === 'syscall'));
});

test('eventTypes(): evt.type -> rules, derived from conditions like Falco', () => {
  const rs = new RuleLoader().loadFiles([STABLE, INCUBATING]).ruleset;
  const m = rs.eventTypes();
  assert.ok(m.get('execve')?.includes('Run shell untrusted'));
  assert.ok(m.get('execveat')?.includes('Terminal shell in container'));
  assert.deepEqual(m.get('ptrace')?.sort(), ['PTRACE anti-debug attempt', 'PTRACE attached to process']);
  assert.ok(m.get('openat')?.includes('Read sensitive file untrusted'));
  assert.ok(!m.get('openat')?.includes('Run shell untrusted'));
  assert.deepEqual(m.get('symlinkat'), ['Create Symlink Over Sensitive Files']);
  assert.deepEqual(m.get('socket'), ['Packet socket created in container']);
  assert.equal(m.has('procexit'), false); // no rule needs it
  assert.deepEqual(rs.unconstrainedRules(), []);
  const r = rs.rules.find((x) => x.name === 'Disallowed SSH Connection Non Standard Port');
  assert.deepEqual([...(r?.types.set ?? [])].sort(), ['connect', 'sendmsg', 'sendto']);
});

test('evttype extraction: negation, or/and, rules without constraint', () => {
  const r = loadRules(`
- rule: a
  desc: d
  condition: evt.type = open or (evt.type in (connect, accept) and proc.name = x)
  output: o
  priority: INFO
- rule: b
  desc: d
  condition: evt.type != open and proc.name = x
  output: o
  priority: debug
  warn_evttypes: false
- rule: c
  desc: d
  condition: not (evt.type in (open, close) or proc.name = x)
  output: o
  priority: Notice
- rule: d
  desc: d
  condition: proc.name = x
  output: o
  priority: alert
`);
  assert.equal(r.ok, true);
  const [a, b, c, d] = r.ruleset.rules;
  assert.deepEqual([...(a?.types.set ?? [])].sort(), ['accept', 'connect', 'open']);
  assert.equal(b?.types.neg, true);
  assert.deepEqual([...(b?.types.set ?? [])], ['open']);
  assert.equal(c?.types.neg, true);
  assert.deepEqual([...(c?.types.set ?? [])].sort(), ['close', 'open']);
  assert.equal(d?.types.neg, true);
  assert.equal(d?.types.set.size, 0);
  assert.deepEqual(
    r.ruleset.rulesFor('open').map((x) => x.name),
    ['a', 'd'],
  );
  assert.deepEqual(
    r.ruleset.rulesFor('some_unknown_type').map((x) => x.name),
    ['b', 'c', 'd'],
  );
  // warn_evttypes: c and d warn, b opted out
  assert.deepEqual(
    r.warnings.filter((w) => /too many evt.type/.test(w.message)).map((w) => w.item),
    ['c', 'd'],
  );
  // priorities: all nine spellings, case-insensitive
  assert.deepEqual(
    r.ruleset.rules.map((x) => x.priority),
    ['Informational', 'Debug', 'Notice', 'Alert'],
  );
});

test('all priority levels parse case-insensitively; an invalid one is an error at the value', () => {
  for (const [p, want] of [
    ['EMERGENCY', 'Emergency'],
    ['alert', 'Alert'],
    ['Critical', 'Critical'],
    ['ERROR', 'Error'],
    ['warning', 'Warning'],
    ['NOTICE', 'Notice'],
    ['informational', 'Informational'],
    ['INFO', 'Informational'],
    ['debug', 'Debug'],
  ]) {
    const r = loadRules(`- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: ${p}\n`);
    assert.equal(r.ruleset.rules[0]?.priority, want);
  }
  const bad = loadRules(`- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: LOUD\n`);
  assert.deepEqual([bad.errors[0]?.message, bad.errors[0]?.line, bad.errors[0]?.col, bad.errors[0]?.item], ['Invalid priority', 5, 13, 'r']);
});

const BASE = `
- list: shells
  items: [bash, sh]
- macro: is_shell
  condition: proc.name in (shells)
- rule: Shell
  desc: a shell ran
  condition: evt.type = execve and is_shell
  output: shell %proc.name
  priority: WARNING
  tags: [b, a]
`;

test('override append / replace on rules, lists and macros', () => {
  const l = new RuleLoader();
  assert.equal(l.loadString(BASE, 'base.yaml').ok, true);
  const r = l.loadString(
    `
- list: shells
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
  tags: [c]
  override:
    condition: append
    output: append
    tags: append
- rule: Shell
  priority: ERROR
  desc: replaced
  override:
    priority: replace
    desc: replace
`,
    'override.yaml',
  );
  assert.equal(r.ok, true, r.errors.map(formatMessage).join('\n'));
  const rule = r.ruleset.rules[0];
  assert.equal(rule?.priority, 'Error');
  assert.equal(rule?.desc, 'replaced');
  assert.deepEqual(rule?.tags, ['a', 'b', 'c']);
  assert.equal(rule?.condition, 'evt.type = execve and is_shell and user.name = root');
  assert.equal(rule?.line.text, '*%evt.time: Error shell %proc.name (by %user.name)');
  const rs = r.ruleset;
  assert.equal(rs.matchFirst(event({ proc: { name: 'zsh' } })) !== undefined, true);
  assert.equal(rs.matchFirst(event({ proc: { name: 'fish' } })) !== undefined, true);
  assert.equal(rs.matchFirst(event({ proc: { name: 'zsh' }, user: { name: 'bob' } })), undefined);
  // replace the list and the condition
  const r2 = l.loadString(
    `
- list: shells
  items: [ksh]
- rule: Shell
  condition: evt.type = execve and proc.name in (shells)
  override:
    condition: replace
`,
    'replace.yaml',
  );
  assert.equal(r2.ok, true, r2.errors.map(formatMessage).join('\n'));
  assert.equal(r2.ruleset.matchFirst(event({ proc: { name: 'ksh' } }))?.name, 'Shell');
  assert.equal(r2.ruleset.matchFirst(event({ proc: { name: 'bash' } })), undefined);
});

test('override errors: key not overridable, key without override entry, unknown operation', () => {
  const l = new RuleLoader();
  l.loadString(BASE, 'base.yaml');
  const a = l.loadString(`- rule: Shell\n  priority: ERROR\n  override:\n    priority: append\n`, 'x.yaml');
  assert.match(a.errors[0]?.message ?? '', /Key 'priority' cannot be appended to, use 'replace' instead/);
  assert.deepEqual([a.errors[0]?.line, a.errors[0]?.col], [4, 5]);
  const b = l.loadString(`- rule: Shell\n  priority: ERROR\n  desc: x\n  override:\n    priority: replace\n`, 'x.yaml');
  assert.match(b.errors[0]?.message ?? '', /Unexpected key 'desc': no corresponding entry under 'override'/);
  const c = l.loadString(`- rule: Shell\n  desc: x\n  override:\n    desc: merge\n`, 'x.yaml');
  assert.match(c.errors[0]?.message ?? '', /Invalid override operation for key 'desc': 'merge'/);
  const d = l.loadString(`- rule: Nope\n  desc: x\n  override:\n    desc: replace\n`, 'x.yaml');
  assert.match(d.errors[0]?.message ?? '', /no rule by that name already exists/);
});

test('deprecated append: true and bare enabled: forms', () => {
  const l = new RuleLoader();
  l.loadString(BASE, 'base.yaml');
  const r = l.loadString(
    `
- list: shells
  items: [dash]
  append: true
- rule: Shell
  condition: and not proc.pname = sshd
  append: true
`,
    'append.yaml',
  );
  assert.equal(r.ok, true, r.errors.map(formatMessage).join('\n'));
  assert.equal(r.warnings.filter((w) => /deprecated/.test(w.message)).length, 2);
  assert.equal(r.ruleset.matchFirst(event({ proc: { name: 'dash', pname: 'cron' } }))?.name, 'Shell');
  assert.equal(r.ruleset.matchFirst(event({ proc: { name: 'dash', pname: 'sshd' } })), undefined);
  const off = l.loadString(`- rule: Shell\n  enabled: false\n`, 'disable.yaml');
  assert.equal(off.ok, true);
  assert.equal(off.ruleset.rules[0]?.enabled, false);
  assert.equal(off.ruleset.matchFirst(event({ proc: { name: 'dash', pname: 'cron' } })), undefined);
  assert.deepEqual([...off.ruleset.eventTypes().keys()], []);
  const on = l.loadString(`- rule: Shell\n  enabled: true\n  override:\n    enabled: replace\n`, 'enable.yaml');
  assert.equal(on.ruleset.rules[0]?.enabled, true);
  const missing = l.loadString(`- rule: Other\n  enabled: false\n`, 'x.yaml');
  assert.match(missing.errors[0]?.message ?? '', /Rule has 'enabled' key but no rule by that name already exists/);
});

test('visibility: a macro sees only earlier macros, a rule sees every macro; lists expand one level of earlier lists', () => {
  const early = loadRules(`
- macro: a
  condition: b
- macro: b
  condition: proc.name = x
`);
  assert.equal(early.ok, false);
  assert.match(early.errors[0]?.message ?? '', /Undefined macro 'b'/);
  assert.equal(early.errors[0]?.item, 'a');
  const late = loadRules(`
- rule: r
  desc: d
  condition: later_macro
  output: o
  priority: INFO
- macro: later_macro
  condition: proc.name = x
`);
  assert.equal(late.ok, true);
  assert.equal(late.ruleset.matchFirst(event({ proc: { name: 'x' } }))?.name, 'r');
  // redefining a macro after its users: rules see the final definition
  assert.equal(
    check(
      'm',
      event({ proc: { name: 'y' } }),
      `
- macro: m
  condition: proc.name = x
- macro: m
  condition: proc.name = y
`,
    ),
    true,
  );
  // a list item naming a later list is a literal in the list...
  assert.equal(
    check(
      'proc.name in (l1)',
      event({ proc: { name: 'l2' } }),
      `
- list: l1
  items: [l2]
- list: l2
  items: [z]
`,
    ),
    false,
  );
  // ...but later lists are still substituted in conditions (Falco substitutes in list order)
  assert.equal(
    check(
      'proc.name in (l1)',
      event({ proc: { name: 'z' } }),
      `
- list: l1
  items: [l2]
- list: l2
  items: [z]
`,
    ),
    true,
  );
  // items that are quoted in the YAML value stay one literal
  assert.equal(
    check(
      'proc.name in (l3)',
      event({ proc: { name: '(systemd)' } }),
      `
- list: l3
  items: ['"(systemd)"', "a b"]
`,
    ),
    true,
  );
  assert.equal(
    check(
      'proc.name in (l3)',
      event({ proc: { name: 'a b' } }),
      `
- list: l3
  items: ['"(systemd)"', "a b"]
`,
    ),
    true,
  );
  const loop = loadRules(`
- macro: p
  condition: proc.name = x
- macro: p
  condition: p or proc.name = y
`);
  assert.match(loop.errors[0]?.message ?? '', /Reference loop in macro 'p'/);
});

test('exceptions: single field (comps default in), multiple fields, lists in values, pmatch, append values', () => {
  const y = `
- list: allowed_parents
  items: [cron, at]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (bash, sh)
  output: o
  priority: INFO
  exceptions:
    - name: by_name
      fields: proc.pname
      values: [sshd, allowed_parents]
    - name: by_pair
      fields: [proc.pname, user.name]
      comps: [in, =]
      values:
        - [containerd, root]
        - [[dockerd, podman], "alice smith"]
    - name: by_path
      fields: [proc.cwd, proc.pname]
      comps: [pmatch, in]
      values:
        - [/srv/app, make]
        - [/opt, (allowed_parents)]
    - name: by_icontains
      fields: [proc.cmdline]
      comps: [icontains]
      values: [[NOALERT]]
`;
  const r = loadRules(y);
  assert.equal(r.ok, true, r.errors.map(formatMessage).join('\n'));
  const m = (over: Parameters<typeof event>[0]) => r.ruleset.matchFirst(event(over))?.name;
  assert.equal(m({ proc: { pname: 'python' } }), 'r');
  assert.equal(m({ proc: { pname: 'sshd' } }), undefined);
  assert.equal(m({ proc: { pname: 'cron' } }), undefined); // list name in values expands
  assert.equal(m({ proc: { pname: 'containerd' }, user: { name: 'root' } }), undefined);
  assert.equal(m({ proc: { pname: 'containerd' }, user: { name: 'bob' } }), 'r');
  assert.equal(m({ proc: { pname: 'podman' }, user: { name: 'alice smith' } }), undefined);
  assert.equal(m({ proc: { pname: 'make', cwd: '/srv/app/build/' } }), undefined);
  assert.equal(m({ proc: { pname: 'make', cwd: '/srv/apps/' } }), 'r');
  assert.equal(m({ proc: { pname: 'at', cwd: '/opt/x/' } }), undefined);
  assert.equal(m({ proc: { pname: 'p', cmdline: 'bash -c "x # noalert"' } }), undefined);
  // appending values to an existing exception, and a new exception
  const l = new RuleLoader();
  l.loadString(y, 'a.yaml');
  const r2 = l.loadString(
    `
- rule: r
  exceptions:
    - name: by_name
      values: [python]
    - name: by_user
      fields: user.name
      values: [nobody]
  override:
    exceptions: append
`,
    'b.yaml',
  );
  assert.equal(r2.ok, true, r2.errors.map(formatMessage).join('\n'));
  assert.equal(r2.ruleset.matchFirst(event({ proc: { pname: 'python' } })), undefined);
  assert.equal(r2.ruleset.matchFirst(event({ proc: { pname: 'x' }, user: { name: 'nobody' } })), undefined);
  assert.equal(r2.ruleset.matchFirst(event({ proc: { pname: 'x' } }))?.name, 'r');
});

test('exception validation errors', () => {
  const bad = (ex: string) =>
    loadRules(`- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n  exceptions:\n${ex}`).errors[0]?.message;
  assert.match(bad(`    - name: e\n      fields: proc.nope\n      values: [a]\n`) ?? '', /'proc.nope' is not a supported filter field/);
  assert.match(bad(`    - name: e\n      fields: proc.name\n      comps: "="\n      values: [a]\n`) ?? '', /comps must be one of \(in, pmatch, intersects\)/);
  assert.match(
    bad(`    - name: e\n      fields: [proc.name, user.name]\n      comps: [=]\n      values: [[a, b]]\n`) ?? '',
    /Fields and comps lists must have equal length/,
  );
  assert.match(
    bad(`    - name: e\n      fields: [proc.name, user.name]\n      comps: [=, like]\n      values: [[a, b]]\n`) ?? '',
    /'like' is not a supported comparison operator/,
  );
  assert.match(bad(`    - name: e\n      fields: [proc.name, user.name]\n      values: [[a]]\n`) ?? '', /Fields and values lists must have equal length/);
  // comps default to '=' for each field: a list value then needs an explicit 'in'
  assert.match(bad(`    - name: e\n      fields: [proc.name, user.name]\n      values: [[[a, b], c]]\n`) ?? '', /operator '=' does not take a list/);
  assert.match(
    bad(`    - name: e\n      fields: proc.name\n      values: [a]\n    - name: e\n      fields: proc.name\n      values: [b]\n`) ?? '',
    /Exceptions names in the same object must be unique/,
  );
});

test('other schema keys: source, tags, enabled, capture, capture_duration, skip-if-unknown-filter, required versions', () => {
  const r = loadRules(`
- required_engine_version: 0.26.0
- required_engine_version: 10
- required_plugin_versions:
    - name: container
      version: 0.4.0
    - name: json
      version: 0.7.0
      alternatives:
        - name: container
          version: 0.1.0
- rule: audit
  desc: k8s audit rule, other source
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
- rule: cap
  desc: d
  condition: evt.type = execve and proc.name = x
  output: o %proc.name
  priority: INFO
  enabled: false
  capture: true
  capture_duration: 5000
  tags: [z, a, z]
- rule: future
  desc: uses a field this engine does not have
  condition: evt.type = execve and proc.future_field = 1
  output: o
  priority: INFO
  skip-if-unknown-filter: true
`);
  assert.equal(r.ok, true, r.errors.map(formatMessage).join('\n'));
  assert.deepEqual(
    r.ruleset.rules.map((x) => x.name),
    ['cap'],
  );
  const cap = r.ruleset.rules[0];
  assert.deepEqual([cap?.enabled, cap?.capture, cap?.captureDuration, cap?.tags], [false, true, 5000, ['a', 'z']]);
  assert.ok(r.warnings.some((w) => /Unknown source k8s_audit, skipping/.test(w.message)));
  assert.ok(r.warnings.some((w) => w.item === 'future' && /unknown field 'proc.future_field'/.test(w.message)));
  const newer = loadRules(`- required_engine_version: 9.0.0\n`);
  assert.match(newer.errors[0]?.message ?? '', /Rules require engine version 9.0.0, but engine version is 0.57.0/);
  const plugin = loadRules(`- required_plugin_versions:\n    - name: k8saudit\n      version: 0.1.0\n`);
  assert.match(plugin.errors[0]?.message ?? '', /Plugin 'k8saudit' version 0.1.0 is required/);
  assert.deepEqual([plugin.errors[0]?.line, plugin.errors[0]?.col], [2, 7]);
});

test('bad input: each error names file:line:col and the item; earlier rules stay in force', () => {
  const l = new RuleLoader();
  const ok = l.loadFiles([STABLE]);
  assert.equal(ok.ok, true);
  const before = ok.ruleset;
  const cases: [string, string, RegExp, number, number, string | undefined][] = [
    ['malformed YAML', '- rule: r\n  desc: [unclosed\n  condition: x\n', /malformed YAML/, 3, 3, undefined],
    [
      'unknown key',
      '- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n  severity: high\n',
      /unknown key 'severity' in rule/,
      6,
      3,
      'r',
    ],
    [
      'undefined macro',
      '- rule: r\n  desc: d\n  condition: evt.type = open and not_a_macro\n  output: o\n  priority: INFO\n',
      /Undefined macro 'not_a_macro' used in filter/,
      3,
      34,
      'r',
    ],
    [
      'undefined list (bare name after in)',
      '- rule: r\n  desc: d\n  condition: proc.name in not_a_list\n  output: o\n  priority: INFO\n',
      /'not_a_list' is not a list/,
      3,
      27,
      'r',
    ],
    ['unknown operator', '- rule: r\n  desc: d\n  condition: proc.name like bash\n  output: o\n  priority: INFO\n', /unknown operator 'like'/, 3, 24, 'r'],
    [
      'string compared with <',
      '- rule: r\n  desc: d\n  condition: proc.name < bash\n  output: o\n  priority: INFO\n',
      /operator '<' compares numbers: expected a number value.*got 'bash'/,
      3,
      26,
      'r',
    ],
    [
      'invalid regex',
      "- rule: r\n  desc: d\n  condition: proc.name regex 'a(b'\n  output: o\n  priority: INFO\n",
      /invalid regular expression 'a\(b'/,
      3,
      30,
      'r',
    ],
    ['rule without a condition', '- rule: r\n  desc: d\n  output: o\n  priority: INFO\n', /Item has no mapping for key 'condition'/, 1, 3, 'r'],
    [
      'unknown field in output',
      '- rule: r\n  desc: d\n  condition: proc.name = x\n  output: "x %proc.nam"\n  priority: INFO\n',
      /invalid formatting token %proc.nam: unknown field/,
      4,
      14,
      'r',
    ],
  ];
  for (const [what, yaml, re, line, col, item] of cases) {
    const r = l.loadString(yaml, `/rules/${what.replace(/\W+/g, '_')}.yaml`);
    assert.equal(r.ok, false, what);
    const e = r.errors[0];
    assert.ok(e, what);
    assert.match(e.message, re, what);
    assert.deepEqual([e.file, e.line, e.col, e.item], [`/rules/${what.replace(/\W+/g, '_')}.yaml`, line, col, item], `${what}: ${formatMessage(e)}`);
    // the failed load changed nothing
    assert.equal(r.ruleset, before, what);
    assert.equal(l.ruleset.rules.length, 25, what);
  }
  // formatted as file:line:col: message (rule NAME), and as a VigilError
  const r = l.loadString('- rule: r\n  desc: d\n  condition: evt.type = open and not_a_macro\n  output: o\n  priority: INFO\n', 'x.yaml');
  assert.equal(formatMessage(r.errors[0]!), "x.yaml:3:34: Undefined macro 'not_a_macro' used in filter. (rule r)");
  const ve = toVigilError(r.errors[0]!);
  assert.equal(ve.code, 'VIGIL_E_RULE');
  assert.deepEqual(ve.where, { file: 'x.yaml', line: 3, col: 34 });
  assert.equal(ve.format(), "x.yaml:3:34: Undefined macro 'not_a_macro' used in filter. (rule r)");
  const y = l.loadString('- rule: r\n  desc: [x\n', 'y.yaml');
  assert.equal(toVigilError(y.errors[0]!).code, 'VIGIL_E_YAML');
  // a multi-file load is atomic too: the good file is not kept when the second fails
  const multi = l.loadFiles([INCUBATING, '/nonexistent/rules.yaml']);
  assert.equal(multi.ok, false);
  assert.equal(l.ruleset.rules.length, 25);
});

test('errors inside folded block conditions point at the right line and column', () => {
  const r = loadRules(`- rule: r
  desc: d
  condition: >
    evt.type = open
    and proc.name = x
    and fd.nme = y
  output: o
  priority: INFO
`);
  assert.deepEqual([r.errors[0]?.message, r.errors[0]?.line, r.errors[0]?.col], ["unknown field 'fd.nme'", 6, 9]);
  // an error in a macro used by a rule points into the macro
  const m = loadRules(`- macro: mm
  condition: (proc.name = x and
     proc.pid contains 1)
- rule: r
  desc: d
  condition: evt.type = open and mm
  output: o
  priority: INFO
`);
  assert.deepEqual([m.errors[0]?.line, m.errors[0]?.col, m.errors[0]?.item], [3, 6, 'r']);
  assert.match(m.errors[0]?.message ?? '', /operator 'contains' is not supported by field 'proc.pid'/);
});

const vigil = path.join(repoRoot, 'bin', 'vigil');

test('CLI: vigil rules validate / list', () => {
  const out = execFileSync(vigil, ['rules', 'validate', STABLE, INCUBATING], { encoding: 'utf8' });
  assert.match(out, /^OK: 56 rules \(56 enabled\), 157 macros, 83 lists in 2 file\(s\)/);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-rules-'));
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    '- rule: r\n  desc: d\n  condition: evt.type = open and nope\n  output: o\n  priority: INFO\n- rule: s\n  desc: d\n  output: o\n  priority: INFO\n',
  );
  const res = spawnSync(vigil, ['rules', 'validate', STABLE, bad], { encoding: 'utf8' });
  assert.equal(res.status, 1);
  assert.deepEqual(res.stdout.trim().split('\n'), [
    `${bad}:6:3: Item has no mapping for key 'condition' (rule s)`,
    `${bad}:3:34: Undefined macro 'nope' used in filter. (rule r)`,
  ]);
  const list = execFileSync(vigil, ['rules', 'list', STABLE], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(list.length, 25);
  assert.equal(list[2], 'Read sensitive file untrusted\tWarning\tT1555,container,filesystem,host,maturity_stable,mitre_credential_access\tenabled');
  const json = JSON.parse(execFileSync(vigil, ['rules', 'list', '--json', STABLE], { encoding: 'utf8' })) as { name: string; event_types: unknown }[];
  assert.equal(json.length, 25);
  assert.deepEqual(json.find((x) => x.name === 'PTRACE attached to process')?.event_types, ['ptrace']);
  assert.ok(readFileSync(STABLE, 'utf8').length > 0);
});
