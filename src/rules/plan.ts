// Rules engine, per-event-type evaluation plans. For each event type seen, the rules that can match
// it (engine.ts's type index) are fused into ONE generated function `(ev, out) => index`:
//
//  * evt.type checks are folded to constants for that type (the index already guarantees them:
//    `open_read` under openat is `evt.is_open_read = true and fd.typechar = f and fd.num >= 0`),
//    and and/or/not are simplified; a rule that folds to false is dropped from the plan;
//  * structurally identical sub-expressions (shared macros such as open_read, sensitive_files,
//    repeated leaves such as `proc.name in (...)`) are evaluated at most once per event: each
//    shared node gets a local tri-state slot (0 unknown, 1 true, 2 false) in the generated
//    function, so the memo is per event without any epoch, map or allocation;
//  * checks of a plain field against literals (`proc.name in (...)`, `fd.name startswith ...`,
//    `fd.num >= 0`: compile.ts's fastLeaf) are emitted inline, and each such field is read ONCE
//    per event into a local (a generated reader: the plain path when it has the right JS type,
//    else the field's full extractor), however many checks use it;
//  * other checks are closures from compile.ts (compileExpr; same semantics as the per-rule
//    predicates) bound to their own call sites, compiled for this type only so their property
//    reads see the shapes of this type's events.
//
// Leaves are pure functions of the event, so evaluating a shared node once and reusing its value
// gives exactly the results of evaluating each rule's predicate in order.
import type { Expr, FieldRef, LiteralArg, Operand, Rhs } from './ast.ts';
import { compileExpr, fastLeaf } from './compile.ts';
import type { Predicate } from './compile.ts';
import type { Ev } from './types.ts';

/** Evaluates the plan's rules in order: returns the index (into the plan's rules) of the first
 * match, or -1; when `out` is given, pushes every matching index and returns -1. */
export type PlanFn = (ev: Ev, out?: number[]) => number;

export interface Plan<R> {
  rules: readonly R[];
  fn: PlanFn;
  /** Distinct shared sub-expressions memoised per event (for tests and docs). */
  shared: number;
  leaves: number;
}

const MAX_NODES = 50_000;

// ---------------------------------------------------------------------------------------------
// Structural keys (positions ignored)

function operandKey(o: Operand | LiteralArg): string {
  if (o.kind === 'field') return o.arg === undefined ? `f:${o.name}` : `f:${o.name}[${JSON.stringify(o.arg)}]`;
  if (o.kind === 'literal') return `s:${JSON.stringify(o.value)}`;
  return `t:${o.fn}(${o.args.map(operandKey).join(',')})`;
}

function rhsKey(r: Rhs): string {
  switch (r.kind) {
    case 'value':
      return `v:${JSON.stringify(r.value)}`;
    case 'list':
      return `l${r.bareName ? '!' : ''}:${JSON.stringify(r.items.map((i) => i.value))}`;
    case 'val':
      return `val:${operandKey(r.field)}`;
    case 'transform':
      return operandKey(r);
  }
}

/** Canonical text of an expression without positions: equal keys, equal semantics. */
export function exprKey(e: Expr, memo: WeakMap<Expr, string> = new WeakMap()): string {
  const m = memo.get(e);
  if (m !== undefined) return m;
  let k: string;
  switch (e.kind) {
    case 'and':
    case 'or':
      k = `${e.kind === 'and' ? '&' : '|'}(${e.children.map((c) => exprKey(c, memo)).join(',')})`;
      break;
    case 'not':
      k = `!${exprKey(e.child, memo)}`;
      break;
    case 'const':
      k = e.value ? 'T' : 'F';
      break;
    case 'macro':
      k = `m:${e.name}`;
      break;
    case 'unary':
      k = `u(${operandKey(e.left)} exists)`;
      break;
    case 'binary':
      k = `b(${operandKey(e.left)} ${e.op} ${rhsKey(e.right)})`;
      break;
  }
  memo.set(e, k);
  return k;
}

// ---------------------------------------------------------------------------------------------
// Folding of evt.type checks

function onlyEvtType(o: Operand | LiteralArg | Rhs): boolean {
  switch (o.kind) {
    case 'field':
      return o.name === 'evt.type' && o.arg === undefined;
    case 'literal':
    case 'value':
    case 'list':
      return true;
    case 'val':
      return onlyEvtType(o.field as FieldRef);
    case 'transform':
      return o.args.every(onlyEvtType);
  }
}

/** True for a leaf whose value depends on nothing but evt.type (and that reads evt.type). */
function typeOnlyLeaf(e: Expr): boolean {
  if (e.kind === 'unary') return e.left.kind === 'field' && onlyEvtType(e.left);
  if (e.kind === 'binary') return onlyEvtType(e.left) && onlyEvtType(e.right);
  return false;
}

const cnst = (value: boolean, like: Expr): Expr => ({ kind: 'const', value, pos: like.pos });

/**
 * Specialises an expression for events whose evt.type is the string `type`: checks that depend
 * only on evt.type become constants (evaluated with the compiled check itself on an event that
 * has just that type), then and/or/not are simplified. Without a type, only simplifies.
 */
export function foldForType(e: Expr, type: string | undefined, cache: Map<string, boolean> = new Map(), memo: WeakMap<Expr, string> = new WeakMap()): Expr {
  const probe: Ev | undefined = type === undefined ? undefined : { evt: { type } };
  const walk = (x: Expr): Expr => {
    switch (x.kind) {
      case 'and':
      case 'or': {
        const isAnd = x.kind === 'and';
        const kids: Expr[] = [];
        let changed = false;
        for (const c of x.children) {
          const f = walk(c);
          if (f !== c) changed = true;
          if (f.kind === 'const') {
            changed = true;
            if (f.value === isAnd) continue; // neutral element
            return cnst(!isAnd, x); // absorbing element
          }
          kids.push(f);
        }
        if (kids.length === 0) return cnst(isAnd, x);
        if (kids.length === 1) return kids[0] as Expr;
        return changed ? { kind: x.kind, children: kids, pos: x.pos } : x;
      }
      case 'not': {
        const c = walk(x.child);
        if (c.kind === 'const') return cnst(!c.value, x);
        return c === x.child ? x : { kind: 'not', child: c, pos: x.pos };
      }
      case 'unary':
      case 'binary': {
        if (probe === undefined || !typeOnlyLeaf(x)) return x;
        const k = exprKey(x, memo);
        let v = cache.get(k);
        if (v === undefined) {
          v = compileExpr(x)(probe);
          cache.set(k, v);
        }
        return cnst(v, x);
      }
      default:
        return x;
    }
  };
  return walk(e);
}

// ---------------------------------------------------------------------------------------------
// Plan generation

class TooLarge extends Error {}

/**
 * Builds the plan of `rules` (in order) for events of type `type` (undefined: no type folding,
 * for events without a string evt.type). `astOf` gives each rule's resolved condition.
 * Returns undefined when the conditions are too large to fuse (callers then loop over the
 * rules' own predicates).
 */
export function buildPlan<R>(rules: readonly R[], astOf: (r: R) => Expr, type: string | undefined): Plan<R> | undefined {
  const memo = new WeakMap<Expr, string>();
  const foldCache = new Map<string, boolean>();
  const kept: R[] = [];
  const asts: Expr[] = [];
  for (const r of rules) {
    const f = foldForType(astOf(r), type, foldCache, memo);
    if (f.kind === 'const' && !f.value) continue;
    kept.push(r);
    asts.push(f);
  }
  // count the occurrences of each sub-expression; a repeated node's subtree is counted once
  const count = new Map<string, number>();
  let nodes = 0;
  const visit = (x: Expr): void => {
    if (++nodes > MAX_NODES) throw new TooLarge();
    const k = exprKey(x, memo);
    const n = count.get(k) ?? 0;
    count.set(k, n + 1);
    if (n > 0) return;
    if (x.kind === 'and' || x.kind === 'or') x.children.forEach(visit);
    else if (x.kind === 'not') visit(x.child);
  };
  const leafNames = new Map<string, string>();
  const leafFns: Predicate[] = [];
  const slots = new Map<string, string>();
  // fields read inline: one reader per field, its value kept in a local for the whole event
  const fieldNames = new Map<string, string>();
  const readers: ((ev: Ev) => unknown)[] = [];
  const consts: unknown[] = [];
  const preds: unknown[] = [];
  const inlineLeaf = (x: Expr): string | undefined => {
    const fl = x.kind === 'binary' ? fastLeaf(x) : undefined;
    if (fl === undefined) return undefined;
    let f = fieldNames.get(fl.fieldKey);
    if (f === undefined) {
      f = `f${readers.length}`;
      readers.push(new Function('slow', fl.readCode)(fl.slow) as (ev: Ev) => unknown);
      fieldNames.set(fl.fieldKey, f);
    }
    const i = consts.length;
    consts.push(fl.k);
    preds.push(fl.pred);
    const test = fl.test.replace(/\b(k|pred)\b/g, (m) => (m === 'k' ? `k${i}` : `p${i}`));
    return `((v = (${f} === NR ? (${f} = r${f.slice(1)}(ev)) : ${f})) !== undefined && (${test}))`;
  };
  const gen = (x: Expr): string => {
    if (x.kind === 'const') return x.value ? 'true' : 'false';
    const k = exprKey(x, memo);
    let code: string;
    if (x.kind === 'and' || x.kind === 'or') code = '(' + x.children.map(gen).join(x.kind === 'and' ? ' && ' : ' || ') + ')';
    else if (x.kind === 'not') code = '!' + gen(x.child);
    else {
      const inl = inlineLeaf(x);
      if (inl !== undefined) code = inl;
      else {
        let name = leafNames.get(k);
        if (name === undefined) {
          name = `l${leafFns.length}`;
          leafFns.push(compileExpr(x));
          leafNames.set(k, name);
        }
        code = `${name}(ev)`;
      }
    }
    if ((count.get(k) ?? 0) < 2) return code;
    let s = slots.get(k);
    if (s === undefined) {
      s = `s${slots.size}`;
      slots.set(k, s);
    }
    return `((${s} === 0 ? (${s} = ${code} ? 1 : 2) : ${s}) === 1)`;
  };
  let body: string;
  try {
    asts.forEach(visit);
    const lines = asts.map((a, i) => `if (${gen(a)}) { if (out === undefined) return ${i}; out.push(${i}); }`);
    const locals = ['v', ...[...slots.values()].map((x) => `${x} = 0`), ...[...fieldNames.values()].map((f) => `${f} = NR`)];
    const decl = `let ${locals.join(', ')};`;
    body = `return function plan(ev, out) { ${decl}\n${lines.join('\n')}\nreturn -1; };`;
  } catch (e) {
    if (e instanceof TooLarge || e instanceof RangeError) return undefined;
    throw e;
  }
  let fn: PlanFn;
  try {
    const names = [
      'NR',
      ...leafFns.map((_, i) => `l${i}`),
      ...readers.map((_, i) => `r${i}`),
      ...consts.map((_, i) => `k${i}`),
      ...preds.map((_, i) => `p${i}`),
    ];
    const NR = { notRead: true };
    fn = new Function(...names, body)(NR, ...leafFns, ...readers, ...consts, ...preds) as PlanFn;
  } catch (e) {
    if (e instanceof RangeError) return undefined; // generated code too deep for the JS parser
    throw e;
  }
  return { rules: kept, fn, shared: slots.size, leaves: leafFns.length + consts.length };
}
