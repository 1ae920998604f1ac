// Per-event-type evaluation plans (src/rules/plan.ts): evt.type folding, shared sub-expressions
// evaluated once per event, and a differential check against the rules' own predicates on a
// large fuzzed event set built from the literals of the community rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleLoader } from '../../../src/rules/index.ts';
import type { CompiledRule, Ev, Ruleset } from '../../../src/rules/index.ts';
import { buildPlan, exprKey, foldForType } from '../../../src/rules/plan.ts';
import { parseCondition, stringSource } from '../../../src/rules/parser.ts';
import { exprToString } from '../../../src/rules/ast.ts';
import type { Expr } from '../../../src/rules/ast.ts';
import { INCUBATING, STABLE, event } from '../../helpers/rules.ts';

const cond = (t: string): Expr => parseCondition(stringSource(t, 'x', 1, 1));

test('evt.type checks fold to constants for the plan type, the rest is simplified', () => {
  const e = cond('(evt.type in (open, openat) and fd.name = /x) or (evt.type = execve and proc.name = bash) or evt.type != close');
  assert.equal(exprToString(foldForType(e, 'openat')), '(always true)');
  assert.equal(exprToString(foldForType(e, 'close')), 'fd.name = /x'.replace('fd.name = /x', '(always false)'));
  const f = cond('(evt.type in (open, openat) and fd.name = /x) or (evt.type = execve and proc.name = bash)');
  assert.equal(exprToString(foldForType(f, 'openat')), 'fd.name = /x');
  assert.equal(exprToString(foldForType(f, 'execve')), 'proc.name = bash');
  assert.equal(exprToString(foldForType(f, 'close')), '(always false)');
  assert.equal(exprToString(foldForType(cond('not evt.type startswith open and evt.num > 1'), 'openat')), '(always false)');
  assert.equal(exprToString(foldForType(cond('tolower(evt.type) = openat and evt.num > 1'), 'openat')), 'evt.num > 1');
  // without a type nothing is folded
  assert.equal(exprToString(foldForType(f, undefined)), exprToString(f));
});

test('structural keys ignore positions and distinguish operators and values', () => {
  assert.equal(exprKey(cond('proc.name in (a, b)')), exprKey(cond('  proc.name in (a,b)')));
  assert.notEqual(exprKey(cond('proc.name in (a, b)')), exprKey(cond('proc.name in (b, a)')));
  assert.notEqual(exprKey(cond('proc.name = a')), exprKey(cond('proc.name != a')));
  assert.notEqual(exprKey(cond('proc.aname = a')), exprKey(cond('proc.aname[1] = a')));
});

test('shared sub-expressions are evaluated once per event', () => {
  const rules = ['(proc.name = a and fd.name = /x) and evt.num = 1', '(proc.name = a and fd.name = /x) and evt.num = 2', 'proc.name = a and evt.num = 3'];
  const calls = { n: 0 };
  const asts = rules.map(cond);
  const p = buildPlan(asts, (a) => a, 'openat');
  assert.ok(p);
  assert.equal(p.rules.length, 3);
  assert.equal(p.shared, 2, 'the and-node and the proc.name leaf');
  const ev = event({ evt: { type: 'openat', num: 3 }, proc: { name: 'a' }, fd: { name: '/x' } });
  // count reads of proc.name through a getter
  const proc = ev.proc as Record<string, unknown>;
  Object.defineProperty(proc, 'name', { get: () => (calls.n++, 'a'), enumerable: true });
  assert.equal(p.fn(ev), 2);
  assert.equal(calls.n, 1);
  const out: number[] = [];
  calls.n = 0;
  assert.equal(p.fn(ev, out), -1);
  assert.deepEqual(out, [2]);
  assert.equal(calls.n, 1);
});

test('a field is read once per event across different checks of it', () => {
  const asts = ['proc.name = x and evt.num = 1', 'proc.name in (a, b) and evt.num = 2', 'proc.name startswith a and evt.num = 3'].map(cond);
  const p = buildPlan(asts, (a) => a, 'openat');
  assert.ok(p);
  const ev = event({ evt: { type: 'openat', num: 3 } });
  let reads = 0;
  Object.defineProperty(ev.proc as object, 'name', { get: () => (reads++, 'a'), enumerable: true });
  assert.equal(p.fn(ev), 2);
  assert.equal(reads, 1);
  // a value of the wrong JS type goes through the field's full extractor (coercion), as before
  const ev2 = event({ evt: { type: 'openat', num: 1 }, proc: { name: 7 } });
  assert.equal(buildPlan([cond('proc.name = 7')], (a) => a, 'openat')?.fn(ev2), 0);
});

// ---------------------------------------------------------------------------------------------
// Differential test: the plans against each rule's predicate, on fuzzed events

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** field name -> literal values the rules compare it with. */
function literals(rules: readonly CompiledRule[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  const walk = (e: Expr): void => {
    if (e.kind === 'and' || e.kind === 'or') e.children.forEach(walk);
    else if (e.kind === 'not') walk(e.child);
    else if ((e.kind === 'binary' || e.kind === 'unary') && e.left.kind === 'field') {
      const name = e.left.arg === undefined ? e.left.name : `${e.left.name}.${e.left.arg}`;
      let s = m.get(name);
      if (!s) m.set(name, (s = new Set()));
      if (e.kind === 'binary') {
        if (e.right.kind === 'value') s.add(e.right.value);
        else if (e.right.kind === 'list') for (const i of e.right.items) s.add(i.value);
      }
    }
  };
  for (const r of rules) walk(r.ast);
  return new Map([...m].map(([k, v]) => [k, [...v]]));
}

function setPath(ev: Record<string, unknown>, path: string, v: unknown): void {
  const p = path.split('.');
  let cur = ev;
  for (let i = 0; i < p.length - 1; i++) {
    const k = p[i] as string;
    const nx = cur[k];
    if (nx === null || typeof nx !== 'object' || Array.isArray(nx)) {
      // leaf-and-prefix names (container.image / container.image.repository): flattened key
      if (nx !== undefined) {
        cur[p.slice(i).join('.')] = v;
        return;
      }
      cur[k] = {};
    }
    cur = cur[k] as Record<string, unknown>;
  }
  cur[p[p.length - 1] as string] = v;
}

const TYPES = [
  'open',
  'openat',
  'openat2',
  'execve',
  'execveat',
  'connect',
  'accept',
  'socket',
  'close',
  'clone',
  'dup2',
  'unlinkat',
  'renameat2',
  'symlinkat',
  'setuid',
  'ptrace',
  'bpf',
  'chmod',
  'mount',
  'memfd_create',
  'sendto',
  'kill',
];

function fuzz(lits: Map<string, string[]>, n: number): Ev[] {
  const r = rng(7);
  const fields = [...lits.keys()].filter((f) => f !== 'evt.type');
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const ev = event({ evt: { type: TYPES[Math.floor(r() * TYPES.length)], num: 1 + i } }) as Record<string, unknown>;
    const k = 3 + Math.floor(r() * 12);
    for (let j = 0; j < k; j++) {
      const f = fields[Math.floor(r() * fields.length)] as string;
      const vals = lits.get(f) as string[];
      const roll = r();
      let v: unknown = vals.length && roll < 0.8 ? vals[Math.floor(r() * vals.length)] : roll < 0.9 ? `x${Math.floor(r() * 3)}` : undefined;
      if (typeof v === 'string' && /^-?\d+$/.test(v) && r() < 0.7) v = Number(v);
      if (v === 'true' || v === 'false') v = v === 'true';
      if (['proc.aname', 'proc.aexepath', 'proc.apid', 'proc.aexe'].includes(f)) v = v === undefined ? [] : [v, 'systemd'];
      setPath(ev, f, v);
    }
    const roll = r();
    if (roll < 0.02) delete (ev.evt as Record<string, unknown>).type;
    else if (roll < 0.03) (ev.evt as Record<string, unknown>).type = 7;
    else if (roll < 0.04) (ev.evt as Record<string, unknown>).type = 'nonexistent_type';
    out.push(ev as Ev);
  }
  return out;
}

function reference(rs: Ruleset, ev: Ev): string[] {
  const t = (ev.evt as Record<string, unknown>).type;
  return rs
    .rulesFor(typeof t === 'string' ? t : '')
    .filter((r) => r.predicate(ev))
    .map((r) => r.name);
}

test('plans give the same matches as the rule predicates (stable + incubating, fuzzed events)', () => {
  const all = new RuleLoader({ ruleMatching: 'all' }).loadFiles([STABLE, INCUBATING]);
  const first = new RuleLoader().loadFiles([STABLE, INCUBATING]);
  assert.ok(all.ok && first.ok);
  const lits = literals(all.ruleset.rules);
  const evs = fuzz(lits, 20_000);
  let matched = 0;
  for (const ev of evs) {
    const exp = reference(all.ruleset, ev);
    const got = all.ruleset.match(ev).map((r) => r.name);
    assert.deepEqual(got, exp, JSON.stringify(ev));
    assert.equal(first.ruleset.matchFirst(ev)?.name, exp[0]);
    assert.deepEqual(
      first.ruleset.evaluate(ev).map((a) => a.rule),
      exp.slice(0, 1),
    );
    if (exp.length) matched++;
  }
  assert.ok(matched > 500, `fuzzed events should trigger rules (${matched})`);
});

test('setEnabled rebuilds the plans', () => {
  const l = new RuleLoader({ ruleMatching: 'all' }).loadFiles([STABLE]);
  assert.ok(l.ok);
  const rs = l.ruleset;
  const ev = event({
    evt: { type: 'openat', arg: { flags: 'O_RDONLY' } },
    proc: { name: 'cat' },
    fd: { num: 3, type: 'file', typechar: 'f', name: '/etc/shadow', directory: '/etc', filename: 'shadow' },
  });
  const before = rs.match(ev).map((r) => r.name);
  assert.ok(before.includes('Read sensitive file untrusted'), before.join());
  rs.setEnabled('Read sensitive file untrusted', false);
  assert.ok(
    !rs
      .match(ev)
      .map((r) => r.name)
      .includes('Read sensitive file untrusted'),
  );
  rs.setEnabled('Read sensitive file untrusted', true);
  assert.deepEqual(
    rs.match(ev).map((r) => r.name),
    before,
  );
});
