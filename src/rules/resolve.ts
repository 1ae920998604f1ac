// Rules engine, name resolution on the condition AST: list references inside `in (...)` lists are
// replaced by the list items (Falco substitutes lists in list-index order, so a list item naming a
// later list is expanded too), and macro identifiers are replaced by the macro's (already
// resolved) AST, with the visibility rules of the loader and reference-loop detection.
import type { Expr, ListExpr, Pos, Rhs, ValueExpr } from './ast.ts';
import { unescapeQuoted } from './parser.ts';

/** A compiled list: raw item texts, as Falco substitutes them into conditions. */
export interface ListDef {
  name: string;
  items: string[];
}

export class ResolveError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
    this.name = 'ResolveError';
  }
}

/** An item text as a value token: quoted texts are unquoted; texts with blanks stay literal. */
export function itemToValue(item: string, pos: Pos): ValueExpr {
  const q = item[0];
  if ((q === '"' || q === "'") && item.length >= 2 && item.endsWith(q)) {
    try {
      return { kind: 'value', value: unescapeQuoted(item.slice(1, -1)), quoted: true, pos };
    } catch {
      /* fall through: literal */
    }
  }
  return { kind: 'value', value: item, quoted: /\s/.test(item), pos };
}

function expandListExpr(l: ListExpr, lists: readonly ListDef[], byName: ReadonlyMap<string, ListDef>, used: Set<string>): ListExpr {
  if (!l.items.some((i) => !i.quoted && byName.has(i.value))) return l;
  let items = l.items;
  for (const def of lists) {
    if (!items.some((i) => !i.quoted && i.value === def.name)) continue;
    used.add(def.name);
    const next: ValueExpr[] = [];
    for (const it of items) {
      if (!it.quoted && it.value === def.name) {
        for (const raw of def.items) next.push(itemToValue(raw, it.pos));
      } else next.push(it);
    }
    items = next;
  }
  return { ...l, items, bareName: false };
}

/** Expands list names in every list-valued right-hand side of the expression. */
export function expandLists(e: Expr, lists: readonly ListDef[], used: Set<string> = new Set()): Expr {
  const byName = new Map(lists.map((l) => [l.name, l]));
  const walk = (x: Expr): Expr => {
    switch (x.kind) {
      case 'and':
      case 'or':
        return { ...x, children: x.children.map(walk) };
      case 'not':
        return { ...x, child: walk(x.child) };
      case 'binary': {
        const r: Rhs = x.right;
        if (r.kind !== 'list') return x;
        return { ...x, right: expandListExpr(r, lists, byName, used) };
      }
      default:
        return x;
    }
  };
  return walk(e);
}

/**
 * Replaces macro references by their ASTs. `macros` holds the macros visible at this point;
 * nested references inside a substituted macro are resolved with the same set (as Falco's
 * filter_macro_resolver). Throws ResolveError for an undefined macro or a reference loop.
 */
export function resolveMacros(e: Expr, macros: ReadonlyMap<string, Expr>, used?: Set<string>): Expr {
  const walk = (x: Expr, stack: string[]): Expr => {
    switch (x.kind) {
      case 'and':
      case 'or':
        return { ...x, children: x.children.map((c) => walk(c, stack)) };
      case 'not':
        return { ...x, child: walk(x.child, stack) };
      case 'macro': {
        const m = macros.get(x.name);
        if (!m) throw new ResolveError(`Undefined macro '${x.name}' used in filter.`, x.pos);
        if (stack.includes(x.name)) throw new ResolveError(`Reference loop in macro '${x.name}'`, x.pos);
        used?.add(x.name);
        return walk(m, [...stack, x.name]);
      }
      default:
        return x;
    }
  };
  return walk(e, []);
}
