// Kernel-side filter derivation: from the loaded rules, works out for each event type a cheap
// predicate that EVERY rule matching that type implies (only successful calls, only writes, only
// containers, the path must start or end with one of a set of strings), so that the kernel can
// drop the events no rule could match before they cost a ring-buffer slot. The derivation is
// conservative: a fact is kept only when it is implied by every rule of the type, an OR keeps
// only what all its branches imply, and a NOT implies nothing. `admits()` is the exact user-space
// mirror of the kernel's decision (bpf/file.bpf.c), used by the equivalence test.
import type { Expr, Operand, Rhs } from '../rules/ast.ts';
import type { Ruleset } from '../rules/engine.ts';
import { KC } from '../sensor/abi.ts';
import { KIND_BY_NAME } from '../sensor/kinds.ts';

/** Max bytes of a prefix/suffix the kernel compares (longer patterns are shortened: a superset). */
export const PFX_MAX = 64;
export const SFX_MAX = 32;
/** Paths at least this long are always passed (the kernel scans this much for `//`, `/./`, `/../`). */
export const SCAN_MAX = 256;

export interface PathFact {
  prefixes: Set<string>;
  suffixes: Set<string>;
}

export interface Facts {
  success?: boolean;
  openWrite?: boolean;
  container?: boolean;
  path?: PathFact;
}

export interface KindFilter {
  flags: number;
  prefixes: string[];
  suffixes: string[];
  /** which rules forced what (for vigil status / docs) */
  why: string[];
}

const PATH_KINDS = new Set(['open', 'openat', 'openat2']);

function fieldName(o: Operand): string | undefined {
  return o.kind === 'field' && o.arg === undefined ? o.name : undefined;
}

function values(r: Rhs): string[] | undefined {
  if (r.kind === 'value') return [r.value];
  if (r.kind === 'list') return r.items.map((i) => i.value);
  return undefined;
}

function globPrefix(g: string): string | undefined {
  const i = g.search(/[*?[\\]/);
  const lit = i < 0 ? g : g.slice(0, i);
  return lit.startsWith('/') && lit.length > 1 ? lit : undefined;
}

function pathFact(prefixes: string[], suffixes: string[]): PathFact {
  return { prefixes: new Set(prefixes.map((p) => p.slice(0, PFX_MAX))), suffixes: new Set(suffixes.map((s) => s.slice(-SFX_MAX))) };
}

/** Facts implied by one comparison. */
function leaf(e: Extract<Expr, { kind: 'binary' }>): Facts {
  const f = fieldName(e.left);
  if (!f) return {};
  const vs = values(e.right);
  const op = e.op;
  if (!vs) return {};
  if ((f === 'evt.rawres' || f === 'fd.num' || f === 'evt.res') && op === '>=' && vs.length === 1 && Number(vs[0]) >= 0) return { success: true };
  if (f === 'evt.res' && (op === '=' || op === '==') && vs[0] === 'SUCCESS') return { success: true };
  if (f === 'evt.is_open_write' && (op === '=' || op === '==') && vs[0] === 'true') return { openWrite: true };
  if (f === 'container.id' && op === '!=' && vs[0] === 'host') return { container: true };
  // every raw path containing '..' is undecidable in the kernel and passes: an empty set suffices
  if (f === 'fd.nameraw' && op === 'contains' && vs.length === 1 && vs[0]!.includes('..')) return { path: pathFact([], []) };
  if (f === 'fd.name') {
    if (op === 'startswith' || op === '=' || op === '==' || op === 'in' || op === 'pmatch') {
      if (vs.every((v) => v.startsWith('/'))) return { path: pathFact(vs, []) };
    }
    if (op === 'endswith' && vs.every((v) => v.length > 0)) return { path: pathFact([], vs) };
    if (op === 'glob' && vs.length === 1) {
      const p = globPrefix(vs[0]!);
      if (p) return { path: pathFact([p], []) };
    }
  }
  if (f === 'fd.directory' && (op === '=' || op === '==' || op === 'in') && vs.every((v) => v.startsWith('/'))) {
    // a directory opened itself has fd.directory == fd.name: the prefix without a trailing slash covers both
    return { path: pathFact(vs.map((v) => v.replace(/\/+$/, '') || '/'), []) };
  }
  if (f === 'fd.filename' && (op === '=' || op === '==' || op === 'in') && vs.every((v) => v.length > 0 && !v.includes('/'))) {
    return { path: pathFact([], vs.map((v) => `/${v}`)) };
  }
  return {};
}

function pathSize(p: PathFact): number {
  return p.prefixes.size + p.suffixes.size;
}

function and(children: Facts[]): Facts {
  const out: Facts = {};
  for (const c of children) {
    if (c.success) out.success = true;
    if (c.openWrite) out.openWrite = true;
    if (c.container) out.container = true;
    // any implied path fact is sound; keep the narrowest
    if (c.path && (!out.path || pathSize(c.path) < pathSize(out.path))) out.path = c.path;
  }
  return out;
}

function or(children: Facts[]): Facts {
  if (!children.length) return {};
  const out: Facts = {};
  if (children.every((c) => c.success)) out.success = true;
  if (children.every((c) => c.openWrite)) out.openWrite = true;
  if (children.every((c) => c.container)) out.container = true;
  if (children.every((c) => c.path)) {
    const p = pathFact([], []);
    for (const c of children) {
      for (const x of c.path!.prefixes) p.prefixes.add(x);
      for (const x of c.path!.suffixes) p.suffixes.add(x);
    }
    out.path = p;
  }
  return out;
}

/** Facts an expression implies (sound, not complete). */
export function implied(e: Expr): Facts {
  switch (e.kind) {
    case 'and':
      return and(e.children.map(implied));
    case 'or':
      return or(e.children.map(implied));
    case 'binary':
      return leaf(e);
    default:
      return {}; // not, macro (unexpanded), unary, const
  }
}

/** Derives the per-kind kernel filter from the rules; kinds missing from the result need no filter. */
export function deriveKernelFilter(ruleset: Ruleset): Map<string, KindFilter> {
  const out = new Map<string, KindFilter>();
  for (const [type, names] of ruleset.eventTypes()) {
    if (!KIND_BY_NAME.has(type)) continue;
    const rules = ruleset.rules.filter((r) => r.enabled && names.includes(r.name));
    const facts = or(rules.map((r) => implied(r.ast)));
    const kf: KindFilter = { flags: 0, prefixes: [], suffixes: [], why: [] };
    const info = KIND_BY_NAME.get(type)!;
    // process kinds feed the process table: never filtered
    if (info.family === 'process') continue;
    if (facts.success) {
      kf.flags |= KC.ONLY_SUCCESS;
      kf.why.push('every rule needs a successful call');
    }
    if (facts.container && info.family !== 'fd') {
      kf.flags |= KC.ONLY_CONTAINERS;
      kf.why.push('every rule needs a container');
    }
    if (PATH_KINDS.has(type)) {
      if (facts.openWrite) {
        kf.flags |= KC.ONLY_WRITE;
        kf.why.push('every rule needs an open for writing');
      }
      if (facts.path) {
        kf.flags |= KC.PREFIX_FILTER;
        kf.prefixes = [...facts.path.prefixes].sort();
        kf.suffixes = [...facts.path.suffixes].sort();
        kf.why.push(`every rule needs a path in ${kf.prefixes.length} prefixes / ${kf.suffixes.length} suffixes (or one the kernel cannot decide)`);
      }
    }
    if (kf.flags) out.set(type, kf);
  }
  return out;
}

/**
 * True when the kernel cannot decide on a raw path and must pass it: relative, at least SCAN_MAX
 * bytes, or containing `//`, `/.` or `..` (so normalisation could change it, and every path a
 * rule matches with `fd.nameraw contains "../"` passes).
 */
export function pathUndecidable(raw: string): boolean {
  if (!raw.startsWith('/')) return true;
  if (Buffer.byteLength(raw) >= SCAN_MAX) return true;
  return raw.includes('//') || raw.includes('/.') || raw.includes('..');
}

/** User-space mirror of the kernel decision for one event (raw fields as the kernel sees them). */
export function admits(kf: KindFilter | undefined, ev: { evt: { res: number; rawarg?: Record<string, unknown> }; container: { id: string }; fd?: Record<string, unknown> }): boolean {
  if (!kf) return true;
  if (kf.flags & KC.ONLY_SUCCESS && ev.evt.res < 0) return false;
  if (kf.flags & KC.ONLY_CONTAINERS && ev.container.id === 'host') return false;
  if (kf.flags & KC.ONLY_WRITE) {
    const fl = Number(ev.evt.rawarg?.flags ?? 0);
    if (!((fl & 3) || (fl & 0o1100))) return false;
  }
  if (kf.flags & KC.PREFIX_FILTER) {
    const raw = String(ev.fd?.nameraw ?? ev.evt.rawarg?.name ?? '');
    if (pathUndecidable(raw)) return true;
    for (const p of kf.prefixes) if (raw.startsWith(p)) return true;
    for (const s of kf.suffixes) if (raw.endsWith(s)) return true;
    return false;
  }
  return true;
}
