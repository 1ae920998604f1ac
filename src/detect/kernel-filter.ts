// Kernel-side filter derivation: from the loaded rules, works out for each event type a cheap
// predicate that EVERY rule matching that type implies (only successful calls, only writes, only
// containers, the path must start or end with one of a set of strings, the destination port must
// be one of a set or the process in a container), so that the kernel can drop the events no rule
// could match before they cost a ring-buffer slot. Facts are derived per event type: a branch that
// needs another evt.type, or that contradicts itself on fd.l4proto, can never match this type; a
// type every rule of which can never match needs no hook at all (e.g. the stable rules' `outbound`
// lists sendto/sendmsg, but the only rule using it also needs TCP, which `outbound` excludes for
// them). The derivation is conservative: a fact is kept only when every rule of the type implies
// it, an OR keeps only what all its (possible) branches imply, and a NOT implies nothing.
// `admits()` is the exact user-space mirror of the kernel's decision (bpf/file.bpf.c,
// bpf/net.bpf.c, bpf/vigil.bpf.h), used by the equivalence test.
import type { Expr, Operand, Rhs } from '../rules/ast.ts';
import type { Ruleset } from '../rules/engine.ts';
import { KC, PF } from '../abi/layout.ts';
import { KIND_BY_NAME } from '../sensor/kinds.ts';

/** Max bytes of a prefix/suffix the kernel compares (longer patterns are shortened: a superset). */
export const PFX_MAX = PF.PFX;
export const SFX_MAX = PF.SFX;
/** Paths at least this long are always passed (the kernel scans this much for `//`, `/./`, `/../`). */
export const SCAN_MAX = PF.SCAN;
/** Prefixes (and suffixes) of one event type the kernel filter takes: the three open kinds share
 * the path_pfx and path_sfx maps (4,096 entries each); more, and the type's paths go unfiltered. */
export const PATTERNS_MAX = 1024;

export interface PathFact {
  prefixes: Set<string>;
  suffixes: Set<string>;
}

export interface Facts {
  /** this branch can never match the event type it was derived for */
  never?: boolean;
  success?: boolean;
  openWrite?: boolean;
  container?: boolean;
  path?: PathFact;
  /** the destination port is one of these (connect, sendto, sendmsg) */
  ports?: Set<number>;
  /** fd.l4proto must equal / must differ from */
  l4eq?: string;
  l4ne?: Set<string>;
}

export interface KindFilter {
  flags: number;
  prefixes: string[];
  suffixes: string[];
  /** destination ports admitted (KC.PORT_FILTER) */
  ports: number[];
  /** no loaded rule can ever match this type: its hook is not needed */
  skip?: boolean;
  /** which rules forced what (for vigil status / docs) */
  why: string[];
}

const PATH_KINDS = new Set(['open', 'openat', 'openat2']);
/** kinds whose destination port the kernel reads from the address the process passed */
const PORT_KINDS = new Set(['connect', 'sendto', 'sendmsg']);

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

/** Facts implied by one comparison, for events of type `type`. */
function leaf(e: Extract<Expr, { kind: 'binary' }>, type: string): Facts {
  const f = fieldName(e.left);
  if (!f) return {};
  const vs = values(e.right);
  const op = e.op;
  if (!vs) return {};
  if (f === 'evt.type') {
    if ((op === '=' || op === '==' || op === 'in') && !vs.includes(type)) return { never: true };
    if (op === '!=' && vs.length === 1 && vs[0] === type) return { never: true };
    return {};
  }
  if (f === 'fd.l4proto' && vs.length === 1) {
    if (op === '=' || op === '==') return { l4eq: vs[0]! };
    if (op === '!=') return { l4ne: new Set(vs) };
  }
  if ((f === 'fd.sport' || f === 'fd.rport') && PORT_KINDS.has(type) && (op === '=' || op === '==' || op === 'in')) {
    const ports = vs.map(Number);
    if (ports.every((n) => Number.isInteger(n) && n >= 0 && n <= 65535)) return { ports: new Set(ports) };
  }
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
    return {
      path: pathFact(
        vs.map((v) => v.replace(/\/+$/, '') || '/'),
        [],
      ),
    };
  }
  if (f === 'fd.filename' && (op === '=' || op === '==' || op === 'in') && vs.every((v) => v.length > 0 && !v.includes('/'))) {
    return {
      path: pathFact(
        [],
        vs.map((v) => `/${v}`),
      ),
    };
  }
  return {};
}

function pathSize(p: PathFact): number {
  return p.prefixes.size + p.suffixes.size;
}

function and(children: Facts[]): Facts {
  const out: Facts = {};
  for (const c of children) {
    if (c.never) return { never: true };
    if (c.success) out.success = true;
    if (c.openWrite) out.openWrite = true;
    if (c.container) out.container = true;
    // any implied path or port fact is sound; keep the narrowest
    if (c.path && (!out.path || pathSize(c.path) < pathSize(out.path))) out.path = c.path;
    if (c.ports && (!out.ports || c.ports.size < out.ports.size)) out.ports = c.ports;
    if (c.l4eq !== undefined) {
      if (out.l4eq !== undefined && out.l4eq !== c.l4eq) return { never: true };
      out.l4eq = c.l4eq;
    }
    if (c.l4ne) out.l4ne = new Set([...(out.l4ne ?? []), ...c.l4ne]);
    if (out.l4eq !== undefined && out.l4ne?.has(out.l4eq)) return { never: true };
  }
  return out;
}

function or(all: Facts[]): Facts {
  // a branch that can never match adds nothing; if none can, neither can the OR
  const children = all.filter((c) => !c.never);
  if (!children.length) return all.length ? { never: true } : {};
  const out: Facts = {};
  if (children.every((c) => c.ports)) out.ports = new Set(children.flatMap((c) => [...c.ports!]));
  if (children.every((c) => c.l4eq !== undefined && c.l4eq === children[0]!.l4eq)) out.l4eq = children[0]!.l4eq;
  if (children.every((c) => c.l4ne)) out.l4ne = new Set([...children[0]!.l4ne!].filter((x) => children.every((c) => c.l4ne!.has(x))));
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

/** Facts an expression implies for events of type `type` (sound, not complete). */
export function implied(e: Expr, type: string): Facts {
  switch (e.kind) {
    case 'and':
      return and(e.children.map((c) => implied(c, type)));
    case 'or':
      return or(e.children.map((c) => implied(c, type)));
    case 'binary':
      return leaf(e, type);
    case 'const':
      return e.value ? {} : { never: true };
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
    const perRule = rules.map((r) => implied(r.ast, type));
    const facts = or(perRule);
    const kf: KindFilter = { flags: 0, prefixes: [], suffixes: [], ports: [], why: [] };
    const info = KIND_BY_NAME.get(type)!;
    // process kinds feed the process table: never filtered
    if (info.family === 'process') continue;
    if (facts.never) {
      kf.skip = true;
      kf.why.push(`no rule can match ${type} (${rules.map((r) => r.name).join(', ')}: contradictory for this type)`);
      out.set(type, kf);
      continue;
    }
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
        const prefixes = [...facts.path.prefixes].sort();
        const suffixes = [...facts.path.suffixes].sort();
        const sfxLens = new Set(suffixes.map((x) => Math.min(Buffer.byteLength(x), SFX_MAX)));
        if (sfxLens.size > PF.NLENS) {
          kf.why.push(`paths not filtered in the kernel: the suffixes have ${sfxLens.size} distinct lengths, the kernel tries ${PF.NLENS}`);
        } else if (prefixes.length > PATTERNS_MAX || suffixes.length > PATTERNS_MAX) {
          kf.why.push(`paths not filtered in the kernel: ${prefixes.length} prefixes / ${suffixes.length} suffixes, at most ${PATTERNS_MAX} each per type`);
        } else {
          kf.flags |= KC.PREFIX_FILTER;
          kf.prefixes = prefixes;
          kf.suffixes = suffixes;
          kf.why.push(`every rule needs a path in ${kf.prefixes.length} prefixes / ${kf.suffixes.length} suffixes (or one the kernel cannot decide)`);
        }
      }
    }
    if (PORT_KINDS.has(type) && !(kf.flags & KC.ONLY_CONTAINERS)) {
      // per rule: its destination ports, or else it must need a container; a rule with neither
      // leaves the kind unfiltered. The kernel admits a listed port, or (if some rule only needs
      // a container) any call from a container.
      const live = perRule.filter((f) => !f.never);
      if (live.length && live.every((f) => f.ports || f.container)) {
        const ports = new Set<number>();
        let orContainer = false;
        for (const f of live) {
          if (f.ports) for (const p of f.ports) ports.add(p);
          else orContainer = true;
        }
        kf.flags |= KC.PORT_FILTER | (orContainer ? KC.PORT_OR_CONTAINER : 0);
        kf.ports = [...ports].sort((a, b) => a - b);
        kf.why.push(`every rule needs a destination port in {${kf.ports.join(', ')}}${orContainer ? ' or a container' : ''}`);
      }
    }
    if (kf.flags) out.set(type, kf);
  }
  return out;
}

/** The destination port a process passed (evt.arg.addr `ip:port`), as the kernel reads it. */
function destPort(ev: { evt: { arg?: Record<string, unknown> } }): number | undefined {
  const m = /^[0-9a-fA-F:.]+:(\d+)$/.exec(String(ev.evt.arg?.addr ?? ''));
  return m ? Number(m[1]) : undefined;
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
export function admits(
  kf: KindFilter | undefined,
  ev: { evt: { res: number; arg?: Record<string, unknown>; rawarg?: Record<string, unknown> }; container: { id: string }; fd?: Record<string, unknown> },
): boolean {
  if (!kf) return true;
  if (kf.skip) return false;
  if (kf.flags & KC.PORT_FILTER) {
    const port = destPort(ev);
    const ok = (port !== undefined && kf.ports.includes(port)) || (kf.flags & KC.PORT_OR_CONTAINER && ev.container.id !== 'host');
    if (!ok) return false;
  }
  if (kf.flags & KC.ONLY_SUCCESS && ev.evt.res < 0) return false;
  if (kf.flags & KC.ONLY_CONTAINERS && ev.container.id === 'host') return false;
  if (kf.flags & KC.ONLY_WRITE) {
    const fl = Number(ev.evt.rawarg?.flags ?? 0);
    if (!(fl & 3 || fl & 0o1100)) return false;
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
