// Rules engine, loading stage 1, the reader (Falco's rule_loader_reader): turns the YAML text of
// one rules file into a list of items (lists, macros, rules in their four forms, required engine
// and plugin versions, exceptions) with their positions (file:line:col, and for conditions and
// outputs a map from every character back to the file), plus the errors and warnings found while
// reading, in file order. It checks what one item alone can tell (schema keys, value types, names,
// override keys, version syntax); it knows nothing of other items or files (loader-collect.ts).
//
// A field that does not decode is kept as a `Val` carrying its error instead of failing the item:
// the collector raises it at the point where Falco's loader reads that field, so an item with
// several problems (say an override of an undefined rule with an empty condition) reports the same
// first error as Falco does.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Node as YNode, Pair, Scalar, YAMLMap } from 'yaml';
import type { CondSource } from './ast.ts';
import { ItemError, itemErrorMessage, warningAt } from './loader-messages.ts';
import type { ItemKind, LoadMessage } from './loader-messages.ts';
import { parsePriority } from './types.ts';
import type { Loc, Priority } from './types.ts';

export interface RulesSource {
  name: string;
  content: string;
}

// ---------------------------------------------------------------------------------------------
// Items

/** A field value, or the error reading it (raised by the collector when it uses the field). */
export type Val<T> = { ok: true; value: T } | { ok: false; error: ItemError };

/** A condition or output text with the map from its offsets to the file. */
export interface CondPart {
  text: string;
  src: CondSource;
}

/** One `fields`, `comps` or `values` entry of an exception: a string or a (nested) list. */
export interface ExceptionEntry {
  isList: boolean;
  item: string;
  items: ExceptionEntry[];
  loc: Loc;
}

export interface ExceptionInfo {
  name: string;
  fields?: ExceptionEntry;
  comps?: ExceptionEntry;
  values: ExceptionEntry[];
  loc: Loc;
}

export interface ListItem {
  type: 'list';
  name: string;
  items: string[];
  /** `append: true` or `override: {items: append}`. */
  append: boolean;
  loc: Loc;
}

export interface MacroItem {
  type: 'macro';
  name: string;
  condition: CondPart;
  /** `append: true` or `override: {condition: append}`. */
  append: boolean;
  loc: Loc;
}

interface RuleBase {
  type: 'rule';
  name: string;
  loc: Loc;
}

/** A full rule definition (or redefinition); absent optional keys hold their defaults. */
export interface RuleDefinition extends RuleBase {
  form: 'define';
  condition: Val<CondPart>;
  output: Val<CondPart>;
  desc: Val<string>;
  priority: Val<Priority>;
  source: Val<string>;
  exceptions: Val<ExceptionInfo[]>;
  captureDuration: Val<number | undefined>;
  /** As written (the collector sorts and dedups). */
  tags: Val<string[]>;
  enabled: Val<boolean>;
  warnEvttypes: Val<boolean>;
  skipIfUnknownFilter: Val<boolean>;
  capture: Val<boolean>;
}

export type OverrideKey = 'condition' | 'output' | 'desc' | 'tags' | 'exceptions' | 'priority' | 'enabled' | 'warn_evttypes' | 'skip-if-unknown-filter';

/** `override: {KEY: append|replace, ...}`: exactly the keys named there are present. */
export interface RuleOverride extends RuleBase {
  form: 'override';
  append: ReadonlySet<OverrideKey>;
  replace: ReadonlySet<OverrideKey>;
  condition?: Val<CondPart>;
  output?: Val<CondPart>;
  desc?: Val<string>;
  tags?: Val<string[]>;
  exceptions?: Val<ExceptionInfo[]>;
  priority?: Val<Priority>;
  enabled?: Val<boolean>;
  warnEvttypes?: Val<boolean>;
  skipIfUnknownFilter?: Val<boolean>;
}

/** The deprecated `append: true` form: appends a condition part and/or exceptions. */
export interface RuleAppend extends RuleBase {
  form: 'append';
  condition?: Val<CondPart>;
  exceptions?: Val<ExceptionInfo[]>;
}

/** The deprecated bare `enabled:` form (no condition, output, desc or priority). */
export interface RuleEnable extends RuleBase {
  form: 'enable';
  enabled: boolean;
}

export type RuleItem = RuleDefinition | RuleOverride | RuleAppend | RuleEnable;

export interface EngineVersionItem {
  type: 'required_engine_version';
  /** x.y.z (a bare number N is read as 0.N.0). */
  version: string;
  semver: Semver;
  /** Where the version value is. */
  versionLoc: Loc;
  loc: Loc;
}

export interface PluginVersion {
  name: string;
  version: string;
  loc: Loc;
}

export interface PluginRequirement extends PluginVersion {
  alternatives: PluginVersion[];
}

export interface PluginVersionsItem {
  type: 'required_plugin_versions';
  /** In file order; reading stops at the first requirement that does not read (its error last). */
  plugins: Val<PluginRequirement>[];
  loc: Loc;
}

export type Item = ListItem | MacroItem | RuleItem | EngineVersionItem | PluginVersionsItem;

/** What reading a file yields, in file order. */
export type ReadEntry = Item | { type: 'error'; message: LoadMessage } | { type: 'warning'; message: LoadMessage };

export type Semver = [number, number, number];

export function semver(v: string): Semver | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Positions

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
  constructor(
    private readonly f: FileCtx,
    private readonly node: Scalar,
    readonly text: string,
  ) {}
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

// ---------------------------------------------------------------------------------------------
// Decoding the keys of one mapping (Falco's decode_val and friends)

function scalarText(n: Scalar): string {
  const v = n.value;
  if (typeof v === 'string') return v;
  if (n.type === 'PLAIN' && typeof n.source === 'string') return n.source;
  return v === null || v === undefined ? '' : String(v);
}

const ITEM_KEYS: Record<string, Set<string>> = {
  rule: new Set([
    'rule',
    'condition',
    'output',
    'desc',
    'priority',
    'tags',
    'enabled',
    'source',
    'exceptions',
    'override',
    'append',
    'warn_evttypes',
    'skip-if-unknown-filter',
    'capture',
    'capture_duration',
  ]),
  macro: new Set(['macro', 'condition', 'append', 'override', 'desc']),
  list: new Set(['list', 'items', 'append', 'override', 'desc']),
  required_engine_version: new Set(['required_engine_version']),
  required_plugin_versions: new Set(['required_plugin_versions']),
};

class MapReader {
  readonly pairs = new Map<string, Pair<Scalar, YNode | null>>();
  constructor(
    readonly f: FileCtx,
    readonly map: YAMLMap,
    readonly loc: Loc,
  ) {
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
  /** A non-empty string with the map of its characters to the file (conditions, outputs). */
  condPart(key: string): CondPart {
    const text = this.str(key);
    const n = this.node(key) as Scalar;
    return { text, src: new ScalarSource(this.f, n, text) };
  }
  priority(key: string): Priority {
    const p = parsePriority(this.str(key));
    if (!p) throw new ItemError('Invalid priority', this.valLoc(key));
    return p;
  }
}

function okVal<T>(value: T): Val<T> {
  return { ok: true, value };
}

function val<T>(read: () => T): Val<T> {
  try {
    return { ok: true, value: read() };
  } catch (e) {
    if (e instanceof ItemError) return { ok: false, error: e };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Exceptions

function readException(f: FileCtx, node: YNode, parentLoc: Loc, append: boolean): ExceptionInfo {
  const loc = nodeLoc(f, node, parentLoc);
  if (!isMap(node)) throw new ItemError('Rule exception must be a mapping', loc);
  const r = new MapReader(f, node, loc);
  for (const [k] of r.pairs) {
    if (!['name', 'fields', 'comps', 'values'].includes(k)) throw new ItemError(`unknown key '${k}' in exception`, r.keyLoc(k));
  }
  const name = r.str('name');
  const entry = (n: YNode | null | undefined, what: string): ExceptionEntry => {
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

/** `append`: the rule appends or overrides (an exception may then omit `fields`). */
function readExceptions(f: FileCtx, r: MapReader, append: boolean): ExceptionInfo[] {
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

// ---------------------------------------------------------------------------------------------
// Overrides

const OVERRIDE_APPEND = new Set<string>(['condition', 'output', 'desc', 'tags', 'exceptions']);
const OVERRIDE_REPLACE = new Set<string>([
  'condition',
  'output',
  'desc',
  'priority',
  'tags',
  'exceptions',
  'enabled',
  'warn_evttypes',
  'skip-if-unknown-filter',
]);

function readOverrides(r: MapReader, appendable: Set<string>, replaceable: Set<string>): { append: Set<string>; replace: Set<string> } {
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

/**
 * Whether a list or macro item appends to the earlier one of its name: the deprecated
 * `append: true` (warned) or `override: {KEY: append}`; both at once is an error.
 */
function appendsTo(out: ReadEntry[], r: MapReader, loc: Loc, kind: 'list' | 'macro', name: string, key: 'items' | 'condition'): boolean {
  const appendFlag = r.bool('append', true) ?? false;
  if (appendFlag) out.push({ type: 'warning', message: warningAt(loc, `'append' key is deprecated; use 'override: {${key}: append}'`, kind, name) });
  const ov = readOverrides(r, new Set([key]), new Set([key]));
  if (appendFlag && (ov.append.size || ov.replace.size)) throw new ItemError("Keys 'override' and 'append: true' cannot be used together", loc);
  return appendFlag || ov.append.has(key);
}

// ---------------------------------------------------------------------------------------------
// Items

/** Runs `read`, naming the item in the ItemError it throws. */
function named<T>(kind: ItemKind, name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ItemError) {
      e.kind = kind;
      e.item = name;
    }
    throw e;
  }
}

function readEngineVersion(r: MapReader, loc: Loc): EngineVersionItem {
  r.checkKeys('required_engine_version');
  const s = r.str('required_engine_version');
  const version = /^\d+$/.test(s) ? `0.${s}.0` : s;
  const sv = semver(version);
  const versionLoc = r.valLoc('required_engine_version');
  if (!sv) throw new ItemError(`Unable to parse engine version '${s}' as a semver string. Expected "x.y.z" semver format.`, versionLoc);
  return { type: 'required_engine_version', version, semver: sv, versionLoc, loc };
}

function readPluginRequirement(f: FileCtx, p: YNode, loc: Loc): PluginRequirement {
  const pl = nodeLoc(f, p, loc);
  if (!isMap(p)) throw new ItemError('Plugin version must be a mapping', pl);
  const pr = new MapReader(f, p, pl);
  for (const [k] of pr.pairs)
    if (!['name', 'version', 'alternatives'].includes(k)) throw new ItemError(`unknown key '${k}' in plugin requirement`, pr.keyLoc(k));
  const req: PluginRequirement = { name: pr.str('name'), version: pr.str('version'), loc: pl, alternatives: [] };
  const alts = pr.node('alternatives');
  if (alts !== undefined && alts !== null) {
    if (!isSeq(alts)) throw new ItemError('Value of plugin version alternatives must be a sequence', pr.valLoc('alternatives'));
    for (const a of alts.items) {
      const al = nodeLoc(f, a as YNode, pl);
      if (!isMap(a)) throw new ItemError('Plugin version alternative must be a mapping', al);
      const ar = new MapReader(f, a, al);
      req.alternatives.push({ name: ar.str('name'), version: ar.str('version'), loc: al });
    }
  }
  for (const q of [req, ...req.alternatives]) {
    if (!semver(q.version)) throw new ItemError(`Invalid required version '${q.version}' for plugin '${q.name}'`, q.loc);
  }
  return req;
}

function readPluginVersions(f: FileCtx, r: MapReader, loc: Loc): PluginVersionsItem {
  r.checkKeys('required_plugin_versions');
  const n = r.node('required_plugin_versions');
  if (!isSeq(n)) throw new ItemError('Value of required_plugin_versions must be a sequence', r.valLoc('required_plugin_versions'));
  const plugins: Val<PluginRequirement>[] = [];
  for (const p of n.items) {
    const v = val(() => readPluginRequirement(f, p as YNode, loc));
    plugins.push(v);
    if (!v.ok) break;
  }
  return { type: 'required_plugin_versions', plugins, loc };
}

function readList(out: ReadEntry[], r: MapReader, name: string, loc: Loc): ListItem {
  r.checkKeys('list');
  if (!/^[^()"'\s=,]+$/.test(name))
    throw new ItemError(`Invalid list name '${name}': names may not contain blanks, quotes, parentheses, '=' or ','`, r.valLoc('list'));
  if (!r.has('items')) throw new ItemError("Item has no mapping for key 'items'", loc);
  const items = r.seqOfStrings('items');
  const append = appendsTo(out, r, loc, 'list', name, 'items');
  return { type: 'list', name, items, append, loc };
}

function readMacro(out: ReadEntry[], r: MapReader, name: string, loc: Loc): MacroItem {
  r.checkKeys('macro');
  if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name)) throw new ItemError(`Invalid macro name '${name}': must match [a-zA-Z]+[a-zA-Z0-9_]*`, r.valLoc('macro'));
  const condition = r.condPart('condition');
  const append = appendsTo(out, r, loc, 'macro', name, 'condition');
  return { type: 'macro', name, condition, append, loc };
}

function readRule(f: FileCtx, out: ReadEntry[], r: MapReader, name: string, loc: Loc): RuleItem {
  r.checkKeys('rule');
  const appendFlag = r.bool('append', true) ?? false;
  if (appendFlag) out.push({ type: 'warning', message: warningAt(loc, "'append' key is deprecated; use 'override'", 'rule', name) });
  const ov = readOverrides(r, OVERRIDE_APPEND, OVERRIDE_REPLACE);
  const hasOv = ov.append.size > 0 || ov.replace.size > 0;
  if (appendFlag && hasOv) throw new ItemError("Keys 'override' and 'append: true' cannot be used together", loc);
  const base = { type: 'rule' as const, name, loc };

  if (hasOv) {
    const expected = new Set([...OVERRIDE_APPEND, ...OVERRIDE_REPLACE].filter((k) => r.has(k)));
    for (const k of [...ov.append, ...ov.replace]) {
      if (!expected.has(k)) {
        throw new ItemError(`An ${ov.append.has(k) ? 'append' : 'replace'} override for '${k}' was specified but '${k}' is not defined`, loc);
      }
      expected.delete(k);
    }
    for (const k of expected) throw new ItemError(`Unexpected key '${k}': no corresponding entry under 'override' is defined.`, r.keyLoc(k));
    // exactly the keys named under `override` are present: read each of them
    const item: RuleOverride = { ...base, form: 'override', append: ov.append as Set<OverrideKey>, replace: ov.replace as Set<OverrideKey> };
    if (r.has('condition')) item.condition = val(() => r.condPart('condition'));
    if (r.has('output')) item.output = val(() => r.condPart('output'));
    if (r.has('desc')) item.desc = val(() => r.str('desc'));
    if (r.has('tags')) item.tags = val(() => r.seqOfStrings('tags'));
    if (r.has('exceptions')) item.exceptions = val(() => readExceptions(f, r, true));
    if (r.has('priority')) item.priority = val(() => r.priority('priority'));
    if (r.has('enabled')) item.enabled = val(() => r.bool('enabled'));
    if (r.has('warn_evttypes')) item.warnEvttypes = val(() => r.bool('warn_evttypes'));
    if (r.has('skip-if-unknown-filter')) item.skipIfUnknownFilter = val(() => r.bool('skip-if-unknown-filter'));
    return item;
  }
  if (appendFlag) {
    const item: RuleAppend = { ...base, form: 'append' };
    if (r.has('condition')) item.condition = val(() => r.condPart('condition'));
    if (r.has('exceptions')) item.exceptions = val(() => readExceptions(f, r, true));
    return item;
  }
  if (!r.has('condition') && !r.has('output') && !r.has('desc') && !r.has('priority')) {
    const enabled = r.bool('enabled');
    out.push({ type: 'warning', message: warningAt(loc, "the bare 'enabled' form is deprecated; use 'override: {enabled: replace}'", 'rule', name) });
    return { ...base, form: 'enable', enabled };
  }
  // absent optional keys take their default without a read
  return {
    ...base,
    form: 'define',
    condition: val(() => r.condPart('condition')),
    output: val(() => r.condPart('output')),
    desc: val(() => r.str('desc')),
    priority: val(() => r.priority('priority')),
    source: r.has('source') ? val(() => r.str('source')) : okVal('syscall'),
    exceptions: r.has('exceptions') ? val(() => readExceptions(f, r, false)) : okVal([]),
    captureDuration: r.has('capture_duration')
      ? val(() => {
          const cd = r.str('capture_duration');
          if (!/^\d+$/.test(cd)) throw new ItemError(`Value for key 'capture_duration' must be a number of milliseconds`, r.valLoc('capture_duration'));
          return Number(cd);
        })
      : okVal(undefined),
    tags: r.has('tags') ? val(() => r.seqOfStrings('tags')) : okVal([]),
    enabled: r.has('enabled') ? val(() => r.bool('enabled')) : okVal(true),
    warnEvttypes: r.has('warn_evttypes') ? val(() => r.bool('warn_evttypes')) : okVal(true),
    skipIfUnknownFilter: r.has('skip-if-unknown-filter') ? val(() => r.bool('skip-if-unknown-filter')) : okVal(false),
    capture: r.has('capture') ? val(() => r.bool('capture')) : okVal(false),
  };
}

function readItem(f: FileCtx, node: YNode, out: ReadEntry[]): Item {
  const loc = nodeLoc(f, node);
  if (!isMap(node)) throw new ItemError('Unexpected element type. Each element should be a yaml associative array.', loc);
  const r = new MapReader(f, node, loc);
  if (r.has('required_engine_version')) return readEngineVersion(r, loc);
  if (r.has('required_plugin_versions')) return readPluginVersions(f, r, loc);
  if (r.has('list')) {
    const name = r.str('list');
    return named('list', name, () => readList(out, r, name, loc));
  }
  if (r.has('macro')) {
    const name = r.str('macro');
    return named('macro', name, () => readMacro(out, r, name, loc));
  }
  if (r.has('rule')) {
    const name = r.str('rule');
    return named('rule', name, () => readRule(f, out, r, name, loc));
  }
  const first = [...r.pairs.keys()][0] ?? '';
  throw new ItemError(`unknown top-level item '${first}': expected one of rule, macro, list, required_engine_version, required_plugin_versions`, loc);
}

/**
 * Reads one rules file. Malformed YAML yields only its errors (code VIGIL_E_YAML); a document
 * that is not a sequence ends the file with an error; an item that does not read yields an error
 * entry in its place and reading goes on with the next item.
 */
export function readRules(src: RulesSource): ReadEntry[] {
  const out: ReadEntry[] = [];
  const lc = new LineCounter();
  const f: FileCtx = { file: src.name, text: src.content, lc };
  const docs = parseAllDocuments(src.content, { lineCounter: lc, prettyErrors: false });
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const l = locAt(f, e.pos[0]);
        out.push({ type: 'error', message: { ...l, message: `malformed YAML: ${e.message.split('\n')[0]}`, kind: 'file', code: 'VIGIL_E_YAML' } });
      }
      return out;
    }
  }
  for (const doc of docList) {
    const c = doc.contents;
    if (c === null || (isScalar(c) && c.value === null)) continue;
    if (!isSeq(c)) {
      out.push({
        type: 'error',
        message: { ...nodeLoc(f, c as YNode), message: 'Rules content is not yaml array of objects', kind: 'file', code: 'VIGIL_E_RULE' },
      });
      return out;
    }
    for (const it of c.items) {
      if (it === null || (isScalar(it) && it.value === null)) continue;
      try {
        const item = readItem(f, it as YNode, out); // its warnings first
        out.push(item);
      } catch (e) {
        if (!(e instanceof ItemError)) throw e;
        out.push({ type: 'error', message: itemErrorMessage(e) });
      }
    }
  }
  return out;
}
