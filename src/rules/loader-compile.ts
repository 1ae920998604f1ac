// Rules engine, loading stage 3, the compiler (Falco's rule_loader_compiler): turns the collected
// lists, macros and rules (loader-collect.ts) into a Ruleset (engine.ts). Lists are expanded one
// level into later lists, macros are parsed and resolved in index order (each sees what its
// visibility allows), every rule's condition is parsed (appended parts joined), its exceptions
// become `and not (...)` terms, lists and macros are substituted, its output is compiled, and the
// condition is handed to the condition compiler (compile.ts) for its predicate. Errors name the
// file:line:col inside the condition or output text they come from.
import type { CondSource, Expr, FieldRef, ListExpr, Pos, ValueExpr } from './ast.ts';
import { CompileError, compileRule, type Predicate } from './compile.ts';
import { Ruleset } from './engine.ts';
import type { CompiledRule, RulesetOptions } from './engine.ts';
import { eventTypesOf, mentionedTypes } from './evttypes.ts';
import type { Collection } from './loader-collect.ts';
import { ItemError } from './loader-messages.ts';
import type { ItemKind, LoadMessage } from './loader-messages.ts';
import type { CondPart, ExceptionEntry, ExceptionInfo } from './loader-read.ts';
import { compileRuleOutput, DEFAULT_APPEND_OUTPUT, type OutputFormat } from './output.ts';
import { ParseError, parseCondition, Parser } from './parser.ts';
import { expandLists, itemToValue, resolveMacros, ResolveError } from './resolve.ts';
import type { ListDef } from './resolve.ts';
import type { Loc } from './types.ts';

export interface CompileOptions extends RulesetOptions {
  /** Append Falco-style extra output (container and pod fields) to every rule's output. */
  appendOutput?: boolean | string;
}

/** A condition made of several appended parts, joined with a space as Falco does. */
class JoinedSource implements CondSource {
  readonly text: string;
  private readonly starts: number[] = [];
  constructor(private readonly parts: readonly CondPart[]) {
    let off = 0;
    for (const p of parts) {
      this.starts.push(off);
      off += p.text.length + 1;
    }
    this.text = parts.map((p) => p.text).join(' ');
  }
  loc(off: number): Loc {
    let k = 0;
    while (k + 1 < this.starts.length && (this.starts[k + 1] as number) <= off) k++;
    const p = this.parts[k] as CondPart;
    return p.src.loc(Math.min(off - (this.starts[k] as number), p.text.length));
  }
}

/** A text at one location (exception fields and values). */
class FixedSource implements CondSource {
  constructor(
    readonly text: string,
    private readonly at: Loc,
  ) {}
  loc(): Loc {
    return this.at;
  }
}

function errMsg(e: unknown): { message: string; loc?: Loc; unknownField: boolean } | undefined {
  if (e instanceof ParseError) return undefined;
  if (e instanceof CompileError) return { message: e.message, loc: e.pos.src.loc(e.pos.off), unknownField: e.unknownField };
  if (e instanceof ResolveError) return { message: e.message, loc: e.pos.src.loc(e.pos.off), unknownField: false };
  return undefined;
}

function partsSource(parts: readonly CondPart[]): CondSource {
  return parts.length === 1 ? (parts[0] as CondPart).src : new JoinedSource(parts);
}

function listValues(e: ExceptionEntry, pos: Pos): ValueExpr[] {
  return e.items.map((x) => itemToValue(quoteItem(x.item), pos));
}

/** Falco's quote_item: values containing a blank are quoted (so they stay one literal). */
function quoteItem(s: string): string {
  return s.includes(' ') && s[0] !== '"' && s[0] !== "'" ? `"${s}"` : s;
}

function fieldOperand(name: string, pos: Pos): FieldRef {
  const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(name);
  return { kind: 'field', name: (m?.[1] ?? name) as string, arg: m?.[2], pos };
}

/** Builds the `and not (...)` part of a rule's condition from its exceptions. */
function exceptionExprs(ex: ExceptionInfo): Expr | undefined {
  const fields = ex.fields as ExceptionEntry;
  const comps = ex.comps as ExceptionEntry;
  if (!fields.isList) {
    const vals: ValueExpr[] = [];
    for (const v of ex.values) {
      if (v.isList) throw new ItemError('Expected values array to contain a list of strings', v.loc);
      vals.push(itemToValue(quoteItem(v.item), { src: new FixedSource(v.item, v.loc), off: 0 }));
    }
    if (vals.length === 0) return undefined;
    const pos: Pos = { src: new FixedSource(fields.item, fields.loc), off: 0 };
    const l: ListExpr = { kind: 'list', items: vals, pos };
    return { kind: 'binary', left: fieldOperand(fields.item, pos), op: comps.item, right: l, pos };
  }
  const alts: Expr[] = [];
  for (const tuple of ex.values) {
    if (!tuple.isList || tuple.items.length !== fields.items.length) {
      throw new ItemError('Fields and values lists must have equal length', tuple.loc);
    }
    const conj: Expr[] = fields.items.map((fe, k) => {
      const v = tuple.items[k] as ExceptionEntry;
      const op = (comps.items[k] as ExceptionEntry).item;
      const pos: Pos = { src: new FixedSource(v.item, v.loc), off: 0 };
      const fpos: Pos = { src: new FixedSource(fe.item, fe.loc), off: 0 };
      const isListOp = op === 'in' || op === 'intersects' || op === 'pmatch';
      if (v.isList) return { kind: 'binary', left: fieldOperand(fe.item, fpos), op, right: { kind: 'list', items: listValues(v, pos), pos }, pos: fpos };
      if (isListOp) {
        // Falco's paren_item: "(a, b)" text is parsed as a list; a bare value becomes "(value)"
        const text = v.item.startsWith('(') ? v.item : `(${v.item})`;
        const p = new Parser({ text: `x.x in ${text}`, loc: () => v.loc });
        const parsed = p.parse();
        const right = parsed.kind === 'binary' ? parsed.right : { kind: 'list' as const, items: [], pos };
        return { kind: 'binary', left: fieldOperand(fe.item, fpos), op, right, pos: fpos };
      }
      return { kind: 'binary', left: fieldOperand(fe.item, fpos), op, right: itemToValue(quoteItem(v.item), pos), pos: fpos };
    });
    const first = conj[0] as Expr;
    alts.push(conj.length === 1 ? first : { kind: 'and', children: conj, pos: first.pos });
  }
  if (alts.length === 0) return undefined;
  return alts.length === 1 ? alts[0] : { kind: 'or', children: alts, pos: (alts[0] as Expr).pos };
}

/**
 * Compiles everything collected. Errors and warnings are appended to the arrays given; returns
 * undefined when this added an error. `failedMacros`: macros that already failed (the collector's
 * and this stage's), whose "undefined macro" errors are not repeated at their users.
 */
export function compileCollection(
  col: Collection,
  opts: CompileOptions,
  errors: LoadMessage[],
  warnings: LoadMessage[],
  failedMacros: Set<string>,
): Ruleset | undefined {
  const push = (arr: LoadMessage[], loc: Loc, message: string, kind: ItemKind, item: string): void => {
    arr.push({ ...loc, message, kind, item, code: 'VIGIL_E_RULE' });
  };
  const before = errors.length;

  // lists: one level of expansion of earlier lists (index < visibility)
  const listsByIndex = [...col.lists.values()].sort((a, b) => a.index - b.index);
  const lists: ListDef[] = listsByIndex.map((l) => {
    const items: string[] = [];
    for (const it of l.items) {
      const ref = col.lists.get(it);
      if (ref && ref.index < l.visibility) items.push(...ref.items);
      else items.push(it);
    }
    return { name: l.name, items };
  });

  // macros, in index order; each sees the macros with a lower index than its visibility
  const macrosByIndex = [...col.macros.values()].sort((a, b) => a.index - b.index);
  const parsed = new Map<string, Expr>();
  for (const m of macrosByIndex) {
    const src = partsSource(m.parts);
    try {
      parsed.set(m.name, expandLists(parseCondition(src), lists));
    } catch (e) {
      failedMacros.add(m.name);
      if (e instanceof ParseError) push(errors, src.loc(e.off), e.message, 'macro', m.name);
      else throw e;
    }
  }
  const resolved = new Map<string, Expr>();
  for (const m of macrosByIndex) {
    const ast = parsed.get(m.name);
    if (!ast) continue;
    const visible = new Map<string, Expr>();
    for (const o of macrosByIndex) {
      if (o.index < m.visibility) {
        const a = resolved.get(o.name) ?? parsed.get(o.name);
        if (a) visible.set(o.name, a);
      }
    }
    try {
      resolved.set(m.name, resolveMacros(ast, visible));
    } catch (e) {
      failedMacros.add(m.name);
      if (e instanceof ResolveError) {
        const undef = /^Undefined macro '([^']*)'/.exec(e.message)?.[1];
        if (!(undef && failedMacros.has(undef))) push(errors, e.pos.src.loc(e.pos.off), e.message, 'macro', m.name);
      } else throw e;
    }
  }

  // rules, in index order
  const compiled: CompiledRule[] = [];
  const universe = new Set<string>();
  const appendFmt = opts.appendOutput === true ? DEFAULT_APPEND_OUTPUT : typeof opts.appendOutput === 'string' ? opts.appendOutput : '';
  for (const r of [...col.rules.values()].sort((a, b) => a.index - b.index)) {
    if (r.unknownSource) continue;
    let ast: Expr;
    const src = partsSource(r.parts);
    try {
      ast = parseCondition(src);
    } catch (e) {
      if (e instanceof ParseError) {
        push(errors, src.loc(e.off), e.message, 'rule', r.name);
        continue;
      }
      throw e;
    }
    try {
      const exs: Expr[] = [];
      for (const ex of r.exceptions) {
        const x = exceptionExprs(ex);
        if (x) exs.push({ kind: 'not', child: x, pos: x.pos });
      }
      if (exs.length) ast = { kind: 'and', children: [ast, ...exs], pos: ast.pos };
      ast = expandLists(ast, lists);
      ast = resolveMacros(ast, resolved);
    } catch (e) {
      if (e instanceof ItemError) {
        push(errors, e.loc, e.message, 'rule', r.name);
        continue;
      }
      if (e instanceof ResolveError) {
        const undef = /^Undefined macro '([^']*)'/.exec(e.message)?.[1];
        if (!(undef && failedMacros.has(undef))) push(errors, e.pos.src.loc(e.pos.off), e.message, 'rule', r.name);
        continue;
      }
      throw e;
    }
    let output = r.output;
    if (output.includes('%container.info')) {
      push(warnings, r.loc, '%container.info is deprecated and has no effect', 'rule', r.name);
      output = output.replace(/%container\.info/g, '').trim();
    }
    if (appendFmt) output = `${output} ${appendFmt}`;
    let line: OutputFormat;
    try {
      line = compileRuleOutput(output, r.priority, r.outputSrc);
    } catch (e) {
      const m = errMsg(e);
      if (!m) throw e;
      if (m.unknownField && r.skipIfUnknownFilter) {
        push(warnings, m.loc ?? r.loc, m.message, 'rule', r.name);
        continue;
      }
      push(errors, m.loc ?? r.loc, m.message, 'rule', r.name);
      continue;
    }
    let predicate: Predicate;
    try {
      predicate = compileRule(ast);
    } catch (e) {
      const m = errMsg(e);
      if (!m) throw e;
      if (m.unknownField && r.skipIfUnknownFilter) {
        push(warnings, m.loc ?? r.loc, m.message, 'rule', r.name);
        continue;
      }
      push(errors, m.loc ?? r.loc, m.message, 'rule', r.name);
      continue;
    }
    const types = eventTypesOf(ast);
    mentionedTypes(ast, universe);
    if (types.neg && r.warnEvttypes) {
      push(warnings, r.loc, 'Rule matches too many evt.type values. This has a significant performance penalty.', 'rule', r.name);
    }
    compiled.push({
      name: r.name,
      desc: r.desc,
      priority: r.priority,
      tags: r.tags,
      enabled: r.enabled,
      source: 'syscall',
      condition: src.text,
      ast,
      predicate,
      types,
      line,
      capture: r.capture,
      captureDuration: r.captureDuration,
    });
  }
  if (errors.length > before) return undefined;
  return new Ruleset(compiled, { lists: col.lists.size, macros: col.macros.size, universe, requiredEngineVersion: col.requiredEngineVersion }, opts);
}
