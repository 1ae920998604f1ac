// Rules engine, loader: reads Falco rules files (YAML, via the `yaml` package with node ranges so
// every error names file:line:col), collects lists / macros / rules with Falco's override, append
// and enable semantics and visibility rules, then compiles everything into a Ruleset
// (engine.ts). A load is atomic: on any error nothing from it replaces what was loaded before.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Node as YNode, Pair, Scalar, YAMLMap } from 'yaml';
import { VigilError } from '../common/errors.ts';
import type { CondSource, Expr, FieldRef, ListExpr, Pos, ValueExpr } from './ast.ts';
import { ALL_OPS } from './ast.ts';
import { CompileError, compileRule } from './compile.ts';
import { Ruleset } from './engine.ts';
import type { CompiledRule, RulesetOptions } from './engine.ts';
import { eventTypesOf, mentionedTypes } from './evttypes.ts';
import { lookupField } from './fields/index.ts';
import { compileRuleOutput, DEFAULT_APPEND_OUTPUT } from './output.ts';
import { ParseError, parseCondition, Parser } from './parser.ts';
import { expandLists, itemToValue, resolveMacros, ResolveError } from './resolve.ts';
import type { ListDef } from './resolve.ts';
import { parsePriority } from './types.ts';
import type { Loc, Priority } from './types.ts';

/** The rules-file format version this engine implements (Falco engine version). */
export const ENGINE_VERSION = '0.57.0';
/** Plugins whose fields Vigil provides built in, with the version it is equivalent to. */
export const BUILTIN_PLUGINS: Record<string, string> = { container: '0.6.0' };
export const KNOWN_SOURCES = new Set(['syscall']);

export type ItemKind = 'rule' | 'macro' | 'list' | 'required_engine_version' | 'required_plugin_versions' | 'file';

export interface LoadMessage {
  file: string;
  line: number;
  col: number;
  message: string;
  kind?: ItemKind;
  item?: string;
  code: 'VIGIL_E_RULE' | 'VIGIL_E_YAML';
}

export function formatMessage(m: LoadMessage): string {
  const what = m.item !== undefined && m.kind && m.kind !== 'file' ? ` (${m.kind} ${m.item})` : '';
  return `${m.file}:${m.line}:${m.col}: ${m.message}${what}`;
}

export function toVigilError(m: LoadMessage): VigilError {
  const what = m.item !== undefined && m.kind && m.kind !== 'file' ? ` (${m.kind} ${m.item})` : '';
  return new VigilError(m.code, m.message + what, { where: { file: m.file, line: m.line, col: m.col } });
}

export interface LoadResult {
  ok: boolean;
  errors: LoadMessage[];
  warnings: LoadMessage[];
  /** The ruleset in force after this load (the previous one when the load failed). */
  ruleset: Ruleset;
}

export interface RulesSource {
  name: string;
  content: string;
}

// ---------------------------------------------------------------------------------------------
// Collected items (Falco's rule_loader collector)

interface CondPart {
  text: string;
  src: CondSource;
}

interface Entry {
  isList: boolean;
  item: string;
  items: Entry[];
  loc: Loc;
}

interface ExceptionInfo {
  name: string;
  fields?: Entry;
  comps?: Entry;
  values: Entry[];
  loc: Loc;
}

interface ListInfo {
  name: string;
  items: string[];
  index: number;
  visibility: number;
  loc: Loc;
}

interface MacroInfo {
  name: string;
  parts: CondPart[];
  index: number;
  visibility: number;
  loc: Loc;
}

interface RuleInfo {
  name: string;
  parts: CondPart[];
  output: string;
  outputSrc: CondSource | undefined;
  desc: string;
  priority: Priority;
  tags: string[];
  enabled: boolean;
  source: string;
  exceptions: ExceptionInfo[];
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  capture: boolean;
  captureDuration: number | undefined;
  index: number;
  visibility: number;
  loc: Loc;
  unknownSource: boolean;
}

interface Collector {
  lists: Map<string, ListInfo>;
  macros: Map<string, MacroInfo>;
  rules: Map<string, RuleInfo>;
  curIndex: number;
  requiredEngineVersion: string | undefined;
}

function emptyCollector(): Collector {
  return { lists: new Map(), macros: new Map(), rules: new Map(), curIndex: 0, requiredEngineVersion: undefined };
}

function cloneCollector(c: Collector): Collector {
  return {
    lists: new Map([...c.lists].map(([k, v]) => [k, { ...v, items: [...v.items] }])),
    macros: new Map([...c.macros].map(([k, v]) => [k, { ...v, parts: [...v.parts] }])),
    rules: new Map(
      [...c.rules].map(([k, v]) => [k, { ...v, parts: [...v.parts], tags: [...v.tags], exceptions: v.exceptions.map((e) => ({ ...e, values: [...e.values] })) }]),
    ),
    curIndex: c.curIndex,
    requiredEngineVersion: c.requiredEngineVersion,
  };
}

// ---------------------------------------------------------------------------------------------
// YAML helpers

class ItemError extends Error {
  constructor(message: string, readonly loc: Loc, readonly code: LoadMessage['code'] = 'VIGIL_E_RULE') {
    super(message);
  }
}

interface FileCtx {
  file: string;
  text: string;
  lc: LineCounter;
}

function locAt(f: FileCtx, offset: number): Loc {
  const p = f.lc.linePos(offset);
  return { file: f.file, line: p.line || 1, col: p.col || 1 };
}

function nodeLoc(f: FileCtx, n: YNode | null | undefined, fallback?: Loc): Loc {
  const r = n?.range;
  if (r) return locAt(f, r[0]);
  return fallback ?? { file: f.file, line: 1, col: 1 };
}

/**
 * Maps offsets of a scalar's value back to the file: each non-blank character of the value
 * appears in order in the source (block indentation, folding and quote escapes only add blanks
 * or backslashes), so the mapping walks both texts once.
 */
class ScalarSource implements CondSource {
  private map: Int32Array | undefined;
  constructor(private readonly f: FileCtx, private readonly node: Scalar, readonly text: string) {}
  loc(off: number): Loc {
    if (!this.map) this.map = this.build();
    const o = this.map[Math.max(0, Math.min(off, this.text.length))] as number;
    return locAt(this.f, o);
  }
  private build(): Int32Array {
    const r = this.node.range ?? [0, 0, 0];
    const src = this.f.text;
    let p = r[0];
    const end = Math.max(r[1], r[0]);
    const t = this.node.type;
    if (t === 'BLOCK_FOLDED' || t === 'BLOCK_LITERAL') {
      const nl = src.indexOf('\n', p);
      p = nl < 0 ? p : nl + 1;
    } else if (t === 'QUOTE_DOUBLE' || t === 'QUOTE_SINGLE') p++;
    const m = new Int32Array(this.text.length + 1);
    for (let i = 0; i < this.text.length; i++) {
      const ch = this.text[i] as string;
      if (/\s/.test(ch)) {
        while (p < end && /[ \t]/.test(src[p] as string) && src[p] !== ch) p++;
        m[i] = p;
        if (src[p] === ch) p++;
        continue;
      }
      const found = src.indexOf(ch, p);
      if (found >= 0 && found < end + 1) p = found;
      m[i] = p;
      p++;
    }
    m[this.text.length] = Math.min(p, src.length);
    return m;
  }
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

class FixedSource implements CondSource {
  constructor(readonly text: string, private readonly at: Loc) {}
  loc(): Loc {
    return this.at;
  }
}

function scalarText(n: Scalar): string {
  const v = n.value;
  if (typeof v === 'string') return v;
  if (n.type === 'PLAIN' && typeof n.source === 'string') return n.source;
  return v === null || v === undefined ? '' : String(v);
}

const ITEM_KEYS: Record<string, Set<string>> = {
  rule: new Set(['rule', 'condition', 'output', 'desc', 'priority', 'tags', 'enabled', 'source', 'exceptions', 'override', 'append', 'warn_evttypes', 'skip-if-unknown-filter', 'capture', 'capture_duration']),
  macro: new Set(['macro', 'condition', 'append', 'override', 'desc']),
  list: new Set(['list', 'items', 'append', 'override', 'desc']),
  required_engine_version: new Set(['required_engine_version']),
  required_plugin_versions: new Set(['required_plugin_versions']),
};

class ItemReader {
  readonly pairs = new Map<string, Pair<Scalar, YNode | null>>();
  constructor(readonly f: FileCtx, readonly map: YAMLMap, readonly loc: Loc) {
    for (const p of map.items as Pair<unknown, unknown>[]) {
      const k = p.key;
      if (!isScalar(k)) throw new ItemError('mapping keys must be scalars', nodeLoc(f, k as YNode, loc));
      this.pairs.set(String(k.value), p as Pair<Scalar, YNode | null>);
    }
  }
  has(key: string): boolean {
    return this.pairs.has(key);
  }
  node(key: string): YNode | null | undefined {
    return this.pairs.get(key)?.value;
  }
  keyLoc(key: string): Loc {
    return nodeLoc(this.f, this.pairs.get(key)?.key, this.loc);
  }
  valLoc(key: string): Loc {
    const p = this.pairs.get(key);
    return nodeLoc(this.f, p?.value ?? p?.key, this.loc);
  }
  /** Falco's decode_val for strings. */
  str(key: string, optional: true): string | undefined;
  str(key: string, optional?: false): string;
  str(key: string, optional = false): string | undefined {
    if (!this.pairs.has(key)) {
      if (optional) return undefined;
      throw new ItemError(`Item has no mapping for key '${key}'`, this.loc);
    }
    const v = this.node(key);
    if (v === null || v === undefined || (isScalar(v) && v.value === null)) throw new ItemError(`Mapping for key '${key}' is empty`, this.keyLoc(key));
    if (!isScalar(v)) throw new ItemError(`Value for key '${key}' is not a scalar value`, this.valLoc(key));
    const s = scalarText(v);
    if (s === '') throw new ItemError(`Value for key '${key}' must be non-empty`, this.valLoc(key));
    return s;
  }
  scalarNode(key: string): Scalar | undefined {
    const v = this.node(key);
    return isScalar(v) ? v : undefined;
  }
  bool(key: string, optional: true): boolean | undefined;
  bool(key: string, optional?: false): boolean;
  bool(key: string, optional = false): boolean | undefined {
    const s = optional ? this.str(key, true) : this.str(key);
    if (s === undefined) return undefined;
    const l = s.toLowerCase();
    if (['true', 'yes', 'on', 'y'].includes(l)) return true;
    if (['false', 'no', 'off', 'n'].includes(l)) return false;
    throw new ItemError(`Value for key '${key}' is not a boolean: '${s}'`, this.valLoc(key));
  }
  seqOfStrings(key: string): string[] {
    const v = this.node(key);
    if (v === null || v === undefined) return [];
    if (!isSeq(v)) throw new ItemError(`Value for key '${key}' is not a sequence`, this.valLoc(key));
    return v.items.map((it) => {
      if (!isScalar(it)) throw new ItemError(`sequence value of '${key}' is not scalar`, nodeLoc(this.f, it as YNode, this.valLoc(key)));
      return scalarText(it);
    });
  }
  checkKeys(kind: string): void {
    const allowed = ITEM_KEYS[kind] as Set<string>;
    for (const [k] of this.pairs) {
      if (!allowed.has(k)) throw new ItemError(`unknown key '${k}' in ${kind}`, this.keyLoc(k));
    }
  }
  condPart(key: string): CondPart {
    const text = this.str(key);
    const n = this.scalarNode(key) as Scalar;
    return { text, src: new ScalarSource(this.f, n, text) };
  }
}

function semver(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function semverLe(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading (Falco's rule_loader_reader)

interface ReadCtx {
  col: Collector;
  errors: LoadMessage[];
  warnings: LoadMessage[];
  failedMacros: Set<string>;
}

function warn(ctx: ReadCtx, loc: Loc, message: string, kind?: ItemKind, item?: string): void {
  ctx.warnings.push({ ...loc, message, kind, item, code: 'VIGIL_E_RULE' });
}

function readException(f: FileCtx, node: YNode, parentLoc: Loc, append: boolean): ExceptionInfo {
  const loc = nodeLoc(f, node, parentLoc);
  if (!isMap(node)) throw new ItemError('Rule exception must be a mapping', loc);
  const r = new ItemReader(f, node, loc);
  for (const [k] of r.pairs) {
    if (!['name', 'fields', 'comps', 'values'].includes(k)) throw new ItemError(`unknown key '${k}' in exception`, r.keyLoc(k));
  }
  const name = r.str('name');
  const entry = (n: YNode | null | undefined, what: string): Entry => {
    const l = nodeLoc(f, n, loc);
    if (isScalar(n)) {
      const s = scalarText(n);
      if (s === '') throw new ItemError(`Value for '${what}' must be non-empty`, l);
      return { isList: false, item: s, items: [], loc: l };
    }
    if (isSeq(n)) return { isList: true, item: '', items: n.items.map((x) => entry(x as YNode, what)), loc: l };
    throw new ItemError(`Value for '${what}' must be a string or a list`, l);
  };
  const ex: ExceptionInfo = { name, values: [], loc };
  if (r.has('fields')) ex.fields = entry(r.node('fields'), 'fields');
  else if (!append) throw new ItemError(`Item has no mapping for key 'fields'`, loc);
  if (r.has('comps')) ex.comps = entry(r.node('comps'), 'comps');
  if (r.has('values')) {
    const vs = r.node('values');
    if (vs !== null && vs !== undefined) {
      if (!isSeq(vs)) throw new ItemError('Rule exception values must be a sequence', r.valLoc('values'));
      for (const v of vs.items) ex.values.push(entry(v as YNode, 'values'));
    }
  }
  return ex;
}

function readExceptions(f: FileCtx, r: ItemReader, append: boolean): ExceptionInfo[] {
  const n = r.node('exceptions');
  if (n === null || n === undefined) return [];
  if (!isSeq(n)) throw new ItemError('Rule exceptions must be a sequence', r.valLoc('exceptions'));
  const out: ExceptionInfo[] = [];
  for (const it of n.items) {
    const ex = readException(f, it as YNode, r.valLoc('exceptions'), append);
    if (out.some((e) => e.name === ex.name)) throw new ItemError('Exceptions names in the same object must be unique', ex.loc);
    out.push(ex);
  }
  return out;
}

/** Falco's validate_exception_info: defaults for comps, operator and field checks. */
function validateException(ex: ExceptionInfo): void {
  const f = ex.fields as Entry;
  if (f.isList) {
    if (!ex.comps) {
      ex.comps = { isList: true, item: '', items: f.items.map(() => ({ isList: false, item: '=', items: [], loc: ex.loc })), loc: ex.loc };
    }
    if (!ex.comps.isList || ex.comps.items.length !== f.items.length) {
      throw new ItemError('Fields and comps lists must have equal length', ex.comps.loc);
    }
    for (const c of ex.comps.items) {
      if (!ALL_OPS.includes(c.item)) throw new ItemError(`'${c.item}' is not a supported comparison operator`, c.loc);
    }
    for (const fl of f.items) {
      const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(fl.item);
      if (!m || 'error' in lookupField(m[1] as string, m[2])) throw new ItemError(`'${fl.item}' is not a supported filter field`, fl.loc);
    }
  } else {
    if (!ex.comps) ex.comps = { isList: false, item: 'in', items: [], loc: ex.loc };
    if (ex.comps.isList) throw new ItemError('Fields and comps must both be strings', ex.comps.loc);
    if (!['in', 'pmatch', 'intersects'].includes(ex.comps.item)) {
      throw new ItemError('When fields is a single value, comps must be one of (in, pmatch, intersects)', ex.comps.loc);
    }
    const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(f.item);
    if (!m || 'error' in lookupField(m[1] as string, m[2])) throw new ItemError(`'${f.item}' is not a supported filter field`, f.loc);
  }
}

const OVERRIDE_APPEND = new Set(['condition', 'output', 'desc', 'tags', 'exceptions']);
const OVERRIDE_REPLACE = new Set(['condition', 'output', 'desc', 'priority', 'tags', 'exceptions', 'enabled', 'warn_evttypes', 'skip-if-unknown-filter']);

function readOverrides(r: ItemReader, appendable: Set<string>, replaceable: Set<string>): { append: Set<string>; replace: Set<string> } {
  const out = { append: new Set<string>(), replace: new Set<string>() };
  const n = r.node('override');
  if (n === undefined) return out;
  if (!isMap(n)) throw new ItemError("Value for key 'override' must be a mapping", r.valLoc('override'));
  for (const p of n.items as Pair<unknown, unknown>[]) {
    const k = isScalar(p.key) ? String(p.key.value) : '';
    const op = isScalar(p.value) ? String(p.value.value) : '';
    const kl = nodeLoc(r.f, p.key as YNode, r.loc);
    if (op === 'append') {
      if (!appendable.has(k)) throw new ItemError(`Key '${k}' cannot be appended to, use 'replace' instead`, kl);
      out.append.add(k);
    } else if (op === 'replace') {
      if (!replaceable.has(k)) throw new ItemError(`Key '${k}' cannot be replaced`, kl);
      out.replace.add(k);
    } else {
      const allowed = [appendable.has(k) ? 'append' : '', replaceable.has(k) ? 'replace' : ''].filter(Boolean).join(' ');
      throw new ItemError(`Invalid override operation for key '${k}': '${op}'. Allowed values are: ${allowed}`, nodeLoc(r.f, p.value as YNode, kl));
    }
  }
  return out;
}

function sortedTags(tags: Iterable<string>): string[] {
  return [...new Set(tags)].sort();
}

/**
 * Whether a list or macro item appends to the earlier one of its name: the deprecated
 * `append: true` (warned) or `override: {KEY: append}`; both at once is an error.
 */
function appendsTo(ctx: ReadCtx, r: ItemReader, loc: Loc, kind: 'list' | 'macro', name: string, key: 'items' | 'condition'): boolean {
  const appendFlag = r.bool('append', true) ?? false;
  if (appendFlag) warn(ctx, loc, `'append' key is deprecated; use 'override: {${key}: append}'`, kind, name);
  const ov = readOverrides(r, new Set([key]), new Set([key]));
  if (appendFlag && (ov.append.size || ov.replace.size)) throw new ItemError("Keys 'override' and 'append: true' cannot be used together", loc);
  return appendFlag || ov.append.has(key);
}

function readItem(ctx: ReadCtx, f: FileCtx, node: YNode): void {
  const col = ctx.col;
  const loc = nodeLoc(f, node);
  if (!isMap(node)) throw new ItemError('Unexpected element type. Each element should be a yaml associative array.', loc);
  const r = new ItemReader(f, node, loc);

  if (r.has('required_engine_version')) {
    r.checkKeys('required_engine_version');
    const s = r.str('required_engine_version');
    const v = /^\d+$/.test(s) ? `0.${s}.0` : s;
    const sv = semver(v);
    if (!sv) throw new ItemError(`Unable to parse engine version '${s}' as a semver string. Expected "x.y.z" semver format.`, r.valLoc('required_engine_version'));
    if (!semverLe(sv, semver(ENGINE_VERSION) as [number, number, number])) {
      throw new ItemError(`Rules require engine version ${v}, but engine version is ${ENGINE_VERSION}`, r.valLoc('required_engine_version'));
    }
    if (!col.requiredEngineVersion || !semverLe(sv, semver(col.requiredEngineVersion) as [number, number, number])) col.requiredEngineVersion = v;
    return;
  }
  if (r.has('required_plugin_versions')) {
    r.checkKeys('required_plugin_versions');
    const n = r.node('required_plugin_versions');
    if (!isSeq(n)) throw new ItemError('Value of required_plugin_versions must be a sequence', r.valLoc('required_plugin_versions'));
    for (const p of n.items) {
      const pl = nodeLoc(f, p as YNode, loc);
      if (!isMap(p)) throw new ItemError('Plugin version must be a mapping', pl);
      const pr = new ItemReader(f, p, pl);
      for (const [k] of pr.pairs) if (!['name', 'version', 'alternatives'].includes(k)) throw new ItemError(`unknown key '${k}' in plugin requirement`, pr.keyLoc(k));
      const reqs: { name: string; version: string; loc: Loc }[] = [{ name: pr.str('name'), version: pr.str('version'), loc: pl }];
      const alts = pr.node('alternatives');
      if (alts !== undefined && alts !== null) {
        if (!isSeq(alts)) throw new ItemError('Value of plugin version alternatives must be a sequence', pr.valLoc('alternatives'));
        for (const a of alts.items) {
          const al = nodeLoc(f, a as YNode, pl);
          if (!isMap(a)) throw new ItemError('Plugin version alternative must be a mapping', al);
          const ar = new ItemReader(f, a, al);
          reqs.push({ name: ar.str('name'), version: ar.str('version'), loc: al });
        }
      }
      for (const q of reqs) {
        if (!semver(q.version)) throw new ItemError(`Invalid required version '${q.version}' for plugin '${q.name}'`, q.loc);
      }
      const ok = reqs.some((q) => {
        const have = BUILTIN_PLUGINS[q.name];
        return have !== undefined && semverLe(semver(q.version) as [number, number, number], semver(have) as [number, number, number]);
      });
      if (!ok) {
        const q = reqs[0] as { name: string; version: string };
        throw new ItemError(`Plugin '${q.name}' version ${q.version} is required by these rules but is not available (built in: ${Object.entries(BUILTIN_PLUGINS).map(([k, v]) => `${k} ${v}`).join(', ')})`, pl);
      }
    }
    return;
  }
  if (r.has('list')) {
    const name = r.str('list');
    try {
      r.checkKeys('list');
      if (!/^[^()"'\s=,]+$/.test(name)) throw new ItemError(`Invalid list name '${name}': names may not contain blanks, quotes, parentheses, '=' or ','`, r.valLoc('list'));
      if (!r.has('items')) throw new ItemError("Item has no mapping for key 'items'", loc);
      const items = r.seqOfStrings('items');
      const append = appendsTo(ctx, r, loc, 'list', name, 'items');
      const prev = col.lists.get(name);
      if (append) {
        if (!prev) throw new ItemError(`List has 'append' key or an append override but no list by that name already exists`, loc);
        prev.items.push(...items);
        prev.visibility = col.curIndex++;
      } else if (prev) {
        Object.assign(prev, { items, visibility: col.curIndex++, loc });
      } else {
        const id = col.curIndex++;
        col.lists.set(name, { name, items, index: id, visibility: id, loc });
      }
    } catch (e) {
      if (e instanceof ItemError) Object.assign(e, { kind: 'list', item: name });
      throw e;
    }
    return;
  }
  if (r.has('macro')) {
    const name = r.str('macro');
    try {
      r.checkKeys('macro');
      if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name)) throw new ItemError(`Invalid macro name '${name}': must match [a-zA-Z]+[a-zA-Z0-9_]*`, r.valLoc('macro'));
      const part = r.condPart('condition');
      const append = appendsTo(ctx, r, loc, 'macro', name, 'condition');
      const prev = col.macros.get(name);
      if (append) {
        if (!prev) throw new ItemError(`Macro has 'append' key or an append override but no macro by that name already exists`, loc);
        prev.parts.push(part);
        prev.visibility = col.curIndex++;
      } else if (prev) {
        Object.assign(prev, { parts: [part], visibility: col.curIndex++, loc });
      } else {
        const id = col.curIndex++;
        col.macros.set(name, { name, parts: [part], index: id, visibility: id, loc });
      }
    } catch (e) {
      ctx.failedMacros.add(name);
      if (e instanceof ItemError) Object.assign(e, { kind: 'macro', item: name });
      throw e;
    }
    return;
  }
  if (r.has('rule')) {
    const name = r.str('rule');
    try {
      readRule(ctx, f, r, name, loc);
    } catch (e) {
      if (e instanceof ItemError) Object.assign(e, { kind: 'rule', item: name });
      throw e;
    }
    return;
  }
  const first = [...r.pairs.keys()][0] ?? '';
  throw new ItemError(`unknown top-level item '${first}': expected one of rule, macro, list, required_engine_version, required_plugin_versions`, loc);
}

function readRule(ctx: ReadCtx, f: FileCtx, r: ItemReader, name: string, loc: Loc): void {
  const col = ctx.col;
  r.checkKeys('rule');
  const appendFlag = r.bool('append', true) ?? false;
  if (appendFlag) warn(ctx, loc, "'append' key is deprecated; use 'override'", 'rule', name);
  const ov = readOverrides(r, OVERRIDE_APPEND, OVERRIDE_REPLACE);
  const hasOv = ov.append.size > 0 || ov.replace.size > 0;
  if (appendFlag && hasOv) throw new ItemError("Keys 'override' and 'append: true' cannot be used together", loc);
  const prev = col.rules.get(name);

  if (hasOv) {
    const expected = new Set([...OVERRIDE_APPEND, ...OVERRIDE_REPLACE].filter((k) => r.has(k)));
    for (const k of [...ov.append, ...ov.replace]) {
      if (!expected.has(k)) {
        throw new ItemError(`An ${ov.append.has(k) ? 'append' : 'replace'} override for '${k}' was specified but '${k}' is not defined`, loc);
      }
      expected.delete(k);
    }
    for (const k of expected) throw new ItemError(`Unexpected key '${k}': no corresponding entry under 'override' is defined.`, r.keyLoc(k));
    if (!prev) throw new ItemError(`Rule has an override but no rule by that name already exists`, loc);
    if (ov.append.size) {
      if (ov.append.has('condition')) prev.parts.push(r.condPart('condition'));
      if (ov.append.has('output')) {
        const o = r.str('output').trim();
        if (o) prev.output += ' ' + o;
      }
      if (ov.append.has('desc')) prev.desc += ' ' + r.str('desc');
      if (ov.append.has('tags')) prev.tags = sortedTags([...prev.tags, ...r.seqOfStrings('tags')]);
      if (ov.append.has('exceptions')) appendExceptions(prev, readExceptions(f, r, true));
    }
    if (ov.replace.size) {
      if (ov.replace.has('condition')) prev.parts = [r.condPart('condition')];
      if (ov.replace.has('output')) {
        prev.output = r.str('output').trim();
        prev.outputSrc = new ScalarSource(f, r.scalarNode('output') as Scalar, r.str('output'));
      }
      if (ov.replace.has('desc')) prev.desc = r.str('desc');
      if (ov.replace.has('tags')) prev.tags = sortedTags(r.seqOfStrings('tags'));
      if (ov.replace.has('exceptions')) {
        const exs = readExceptions(f, r, true);
        for (const ex of exs) validateException(ex);
        prev.exceptions = exs;
      }
      if (ov.replace.has('priority')) {
        const p = parsePriority(r.str('priority'));
        if (!p) throw new ItemError('Invalid priority', r.valLoc('priority'));
        prev.priority = p;
      }
      if (ov.replace.has('enabled')) prev.enabled = r.bool('enabled');
      if (ov.replace.has('warn_evttypes')) prev.warnEvttypes = r.bool('warn_evttypes');
      if (ov.replace.has('skip-if-unknown-filter')) prev.skipIfUnknownFilter = r.bool('skip-if-unknown-filter');
    }
    prev.visibility = col.curIndex++;
    return;
  }
  if (appendFlag) {
    if (!prev) throw new ItemError(`Rule has 'append' key but no rule by that name already exists`, loc);
    if (r.has('condition')) prev.parts.push(r.condPart('condition'));
    if (r.has('exceptions')) appendExceptions(prev, readExceptions(f, r, true));
    prev.visibility = col.curIndex++;
    return;
  }
  if (!r.has('condition') && !r.has('output') && !r.has('desc') && !r.has('priority')) {
    // bare `enabled:` form: toggles an existing rule
    const enabled = r.bool('enabled');
    warn(ctx, loc, "the bare 'enabled' form is deprecated; use 'override: {enabled: replace}'", 'rule', name);
    if (!prev) throw new ItemError("Rule has 'enabled' key but no rule by that name already exists", loc);
    prev.enabled = enabled;
    return;
  }
  const cond = r.condPart('condition');
  const outputRaw = r.str('output');
  const desc = r.str('desc');
  const priority = parsePriority(r.str('priority'));
  if (!priority) throw new ItemError('Invalid priority', r.valLoc('priority'));
  const source = r.str('source', true) ?? 'syscall';
  const exceptions = readExceptions(f, r, false);
  const unknownSource = !KNOWN_SOURCES.has(source);
  if (prev && prev.source !== source) throw new ItemError('Rule has been re-defined with a different source', loc);
  if (unknownSource) warn(ctx, loc, `Unknown source ${source}, skipping`, 'rule', name);
  else for (const ex of exceptions) validateException(ex);
  let captureDuration: number | undefined;
  const cd = r.str('capture_duration', true);
  if (cd !== undefined) {
    if (!/^\d+$/.test(cd)) throw new ItemError(`Value for key 'capture_duration' must be a number of milliseconds`, r.valLoc('capture_duration'));
    captureDuration = Number(cd);
  }
  const info: RuleInfo = {
    name,
    parts: [cond],
    output: outputRaw.trim(),
    outputSrc: new ScalarSource(f, r.scalarNode('output') as Scalar, outputRaw),
    desc,
    priority,
    tags: sortedTags(r.seqOfStrings('tags')),
    enabled: r.bool('enabled', true) ?? true,
    source,
    exceptions,
    warnEvttypes: r.bool('warn_evttypes', true) ?? true,
    skipIfUnknownFilter: r.bool('skip-if-unknown-filter', true) ?? false,
    capture: r.bool('capture', true) ?? false,
    captureDuration,
    index: 0,
    visibility: 0,
    loc,
    unknownSource,
  };
  const id = col.curIndex++;
  if (prev) {
    info.index = prev.index;
    info.visibility = id;
    col.rules.set(name, info);
  } else {
    info.index = id;
    info.visibility = id;
    col.rules.set(name, info);
  }
}

function appendExceptions(prev: RuleInfo, exs: ExceptionInfo[]): void {
  for (const ex of exs) {
    const old = prev.exceptions.find((e) => e.name === ex.name);
    if (!old) {
      if (!ex.fields) throw new ItemError('Rule exception must have fields property with a list of fields', ex.loc);
      if (ex.values.length === 0) throw new ItemError('Rule exception must have values property with a list of values', ex.loc);
      if (!prev.unknownSource) validateException(ex);
      prev.exceptions.push(ex);
    } else {
      if (ex.fields) throw new ItemError('Can not append exception fields to existing exception, only values', ex.loc);
      if (ex.comps) throw new ItemError('Can not append exception comps to existing exception, only values', ex.loc);
      old.values.push(...ex.values);
    }
  }
}

function readFile(ctx: ReadCtx, src: RulesSource): void {
  const lc = new LineCounter();
  const f: FileCtx = { file: src.name, text: src.content, lc };
  const docs = parseAllDocuments(src.content, { lineCounter: lc, prettyErrors: false });
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const l = locAt(f, e.pos[0]);
        ctx.errors.push({ ...l, message: `malformed YAML: ${e.message.split('\n')[0]}`, kind: 'file', code: 'VIGIL_E_YAML' });
      }
      return;
    }
  }
  for (const doc of docList) {
    const c = doc.contents;
    if (c === null || (isScalar(c) && c.value === null)) continue;
    if (!isSeq(c)) {
      ctx.errors.push({ ...nodeLoc(f, c as YNode), message: 'Rules content is not yaml array of objects', kind: 'file', code: 'VIGIL_E_RULE' });
      return;
    }
    for (const it of c.items) {
      if (it === null || (isScalar(it) && it.value === null)) continue;
      try {
        readItem(ctx, f, it as YNode);
      } catch (e) {
        if (!(e instanceof ItemError)) throw e;
        const x = e as ItemError & { kind?: ItemKind; item?: string };
        ctx.errors.push({ ...e.loc, message: e.message, kind: x.kind, item: x.item, code: e.code });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling (Falco's rule_loader_compiler)

function errMsg(e: unknown): { message: string; loc?: Loc; unknownField: boolean } | undefined {
  if (e instanceof ParseError) return undefined;
  if (e instanceof CompileError) return { message: e.message, loc: e.pos.src.loc(e.pos.off), unknownField: e.unknownField };
  if (e instanceof ResolveError) return { message: e.message, loc: e.pos.src.loc(e.pos.off), unknownField: false };
  return undefined;
}

function parseParts(parts: readonly CondPart[]): Expr {
  const src = parts.length === 1 ? (parts[0] as CondPart).src : new JoinedSource(parts);
  return parseCondition(src);
}

function listValues(e: Entry, pos: Pos): ValueExpr[] {
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
  const fields = ex.fields as Entry;
  const comps = ex.comps as Entry;
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
      const v = tuple.items[k] as Entry;
      const op = (comps.items[k] as Entry).item;
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

export interface CompileOptions extends RulesetOptions {
  /** Append Falco-style extra output (container and pod fields) to every rule's output. */
  appendOutput?: boolean | string;
}

function compileCollector(col: Collector, opts: CompileOptions, errors: LoadMessage[], warnings: LoadMessage[], failedMacros: Set<string>): Ruleset | undefined {
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
    try {
      parsed.set(m.name, expandLists(parseParts(m.parts), lists));
    } catch (e) {
      failedMacros.add(m.name);
      if (e instanceof ParseError) {
        const src = m.parts.length === 1 ? (m.parts[0] as CondPart).src : new JoinedSource(m.parts);
        push(errors, src.loc(e.off), e.message, 'macro', m.name);
      } else throw e;
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
    const src = r.parts.length === 1 ? (r.parts[0] as CondPart).src : new JoinedSource(r.parts);
    try {
      ast = parseParts(r.parts);
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
      warn({ col, errors, warnings, failedMacros }, r.loc, '%container.info is deprecated and has no effect', 'rule', r.name);
      output = output.replace(/%container\.info/g, '').trim();
    }
    if (appendFmt) output = `${output} ${appendFmt}`;
    let line;
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
    let predicate;
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

/**
 * Loads rules files in order, Falco-style: each load adds to what was loaded before (later files
 * can override, append to or disable earlier items) and recompiles the whole set. A failed load
 * changes nothing.
 */
export class RuleLoader {
  private col: Collector = emptyCollector();
  private current: Ruleset;
  private readonly sources: RulesSource[] = [];

  constructor(private readonly opts: CompileOptions = {}) {
    this.current = new Ruleset([], { lists: 0, macros: 0, universe: new Set() }, opts);
  }

  get ruleset(): Ruleset {
    return this.current;
  }

  /** Every source successfully loaded so far, in order (workers replay them). */
  get loadedSources(): readonly RulesSource[] {
    return this.sources;
  }

  /** Loads several sources as one atomic load. */
  load(sources: readonly RulesSource[]): LoadResult {
    const col = cloneCollector(this.col);
    const ctx: ReadCtx = { col, errors: [], warnings: [], failedMacros: new Set() };
    for (const s of sources) readFile(ctx, s);
    let rs: Ruleset | undefined;
    if (ctx.errors.length === 0) rs = compileCollector(col, this.opts, ctx.errors, ctx.warnings, ctx.failedMacros);
    else {
      // still compile to report condition errors of the items that did read
      compileCollector(col, this.opts, ctx.errors, ctx.warnings, ctx.failedMacros);
    }
    if (ctx.errors.length === 0 && rs) {
      this.col = col;
      this.current = rs;
      this.sources.push(...sources);
      return { ok: true, errors: [], warnings: ctx.warnings, ruleset: rs };
    }
    return { ok: false, errors: ctx.errors, warnings: ctx.warnings, ruleset: this.current };
  }

  loadString(content: string, name = '<rules>'): LoadResult {
    return this.load([{ name, content }]);
  }

  /** Reads files from disk (an unreadable file is an error of this load). */
  loadFiles(paths: readonly string[]): LoadResult {
    const sources: RulesSource[] = [];
    const errors: LoadMessage[] = [];
    for (const p of paths) {
      try {
        sources.push({ name: p, content: readFileSync(p, 'utf8') });
      } catch (e) {
        errors.push({ file: p, line: 1, col: 1, message: `cannot read rules file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, kind: 'file', code: 'VIGIL_E_RULE' });
      }
    }
    if (errors.length) return { ok: false, errors, warnings: [], ruleset: this.current };
    return this.load(sources);
  }
}

/** Convenience: loads files into a fresh loader; throws a VigilError for the first error. */
export function loadRulesFiles(paths: readonly string[], opts: CompileOptions = {}): Ruleset {
  const l = new RuleLoader(opts);
  const r = l.loadFiles(paths);
  if (!r.ok) throw toVigilError(r.errors[0] as LoadMessage);
  return r.ruleset;
}
