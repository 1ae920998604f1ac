// Rules engine, event-type extraction: derives from a resolved condition the set of evt.type
// values it can match (like Falco's filter_evttype_resolver), so the engine indexes rules by
// event type and the sensor knows which kernel hooks a rule set needs. Negations are pushed down
// (De Morgan); any check that is not on evt.type matches every type.
import type { Expr, ValueExpr } from './ast.ts';

/** A set of event types, or its complement ("every type except ..."). */
export interface TypeSet {
  neg: boolean;
  set: Set<string>;
}

const ALL = (): TypeSet => ({ neg: true, set: new Set() });

function inter(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.neg && !b.neg) return { neg: false, set: new Set([...a.set].filter((x) => b.set.has(x))) };
  if (!a.neg && b.neg) return { neg: false, set: new Set([...a.set].filter((x) => !b.set.has(x))) };
  if (a.neg && !b.neg) return inter(b, a);
  return { neg: true, set: new Set([...a.set, ...b.set]) };
}

function union(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.neg && !b.neg) return { neg: false, set: new Set([...a.set, ...b.set]) };
  if (!a.neg && b.neg) return { neg: true, set: new Set([...b.set].filter((x) => !a.set.has(x))) };
  if (a.neg && !b.neg) return union(b, a);
  return { neg: true, set: new Set([...a.set].filter((x) => b.set.has(x))) };
}

const complement = (a: TypeSet): TypeSet => ({ neg: !a.neg, set: a.set });

function leaf(e: Expr): TypeSet {
  if (e.kind !== 'binary' || e.left.kind !== 'field' || e.left.name !== 'evt.type' || e.left.arg !== undefined) return ALL();
  const r = e.right;
  const vals = (xs: ValueExpr[]): Set<string> => new Set(xs.map((x) => x.value));
  switch (e.op) {
    case '=':
    case '==':
      return r.kind === 'value' ? { neg: false, set: vals([r]) } : ALL();
    case 'in':
    case 'intersects':
      return r.kind === 'list' ? { neg: false, set: vals(r.items) } : r.kind === 'value' ? { neg: false, set: vals([r]) } : ALL();
    case '!=':
      return r.kind === 'value' ? { neg: true, set: vals([r]) } : ALL();
    default:
      return ALL();
  }
}

export function eventTypesOf(e: Expr, negated = false): TypeSet {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const useInter = (e.kind === 'and') !== negated;
      let acc: TypeSet | undefined;
      for (const c of e.children) {
        const t = eventTypesOf(c, negated);
        acc = acc === undefined ? t : useInter ? inter(acc, t) : union(acc, t);
      }
      return acc ?? ALL();
    }
    case 'not':
      return eventTypesOf(e.child, !negated);
    case 'binary': {
      const t = leaf(e);
      // a non-evt.type check matches every type whether negated or not
      if (t.neg && t.set.size === 0) return t;
      return negated ? complement(t) : t;
    }
    default:
      return ALL();
  }
}

export function typeSetHas(t: TypeSet, type: string): boolean {
  return t.neg ? !t.set.has(type) : t.set.has(type);
}

/** evt.type literals mentioned anywhere in a condition (to extend the known-type universe). */
export function mentionedTypes(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const c of e.children) mentionedTypes(c, out);
      break;
    case 'not':
      mentionedTypes(e.child, out);
      break;
    case 'binary':
      if (e.left.kind === 'field' && e.left.name === 'evt.type') {
        if (e.right.kind === 'value') out.add(e.right.value);
        else if (e.right.kind === 'list') for (const i of e.right.items) out.add(i.value);
      }
      break;
    default:
  }
  return out;
}
