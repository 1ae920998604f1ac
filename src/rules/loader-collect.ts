// Rules engine, loading stage 2, the collector (Falco's rule_loader_collector): applies the items
// read from each file (loader-read.ts), in order and across files, to the set of lists, macros and
// rules collected so far, with Falco's semantics: a new definition, a redefinition (keeps its
// place, takes the new content), appends and overrides (append/replace per key), the deprecated
// `append: true` and bare `enabled:` forms, the index/visibility bookkeeping that decides which
// earlier lists and macros an item sees, exception validation, and the required engine and plugin
// versions. It reports errors about items that refer to others (appending to an undefined rule,
// redefining a rule with another source, ...). Nothing is compiled here (loader-compile.ts).
import { ALL_OPS } from './ast.ts';
import { lookupField } from './fields/index.ts';
import { ItemError, itemErrorMessage, warningAt } from './loader-messages.ts';
import type { LoadMessage } from './loader-messages.ts';
import { semver } from './loader-read.ts';
import type {
  CondPart,
  EngineVersionItem,
  ExceptionEntry,
  ExceptionInfo,
  ListItem,
  MacroItem,
  PluginVersionsItem,
  ReadEntry,
  RuleItem,
  Semver,
  Val,
} from './loader-read.ts';
import type { Loc, Priority } from './types.ts';

/** The rules-file format version this engine implements (Falco engine version). */
export const ENGINE_VERSION = '0.57.0';
/** Plugins whose fields Vigil provides built in, with the version it is equivalent to. */
export const BUILTIN_PLUGINS: Record<string, string> = { container: '0.6.0' };
export const KNOWN_SOURCES = new Set(['syscall']);

// ---------------------------------------------------------------------------------------------
// What is collected. `index` is the place of an item (its first definition), `visibility` the
// index of its latest definition or append: it sees the lists and macros whose index is lower.

export interface ListInfo {
  name: string;
  items: string[];
  index: number;
  visibility: number;
  loc: Loc;
}

export interface MacroInfo {
  name: string;
  parts: CondPart[];
  index: number;
  visibility: number;
  loc: Loc;
}

export interface RuleInfo {
  name: string;
  /** Condition parts: the definition, then each appended condition (joined with a blank). */
  parts: CondPart[];
  output: string;
  outputSrc: CondPart['src'] | undefined;
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

export interface Collection {
  lists: Map<string, ListInfo>;
  macros: Map<string, MacroInfo>;
  rules: Map<string, RuleInfo>;
  curIndex: number;
  requiredEngineVersion: string | undefined;
}

/** Where the collector reports; `failedMacros` names the macros with an error (the compiler does
 * not report "undefined macro" for them a second time). */
export interface CollectSink {
  errors: LoadMessage[];
  warnings: LoadMessage[];
  failedMacros: Set<string>;
}

export function emptyCollection(): Collection {
  return { lists: new Map(), macros: new Map(), rules: new Map(), curIndex: 0, requiredEngineVersion: undefined };
}

/** A copy a load can change freely (a failed load leaves the original as it was). */
export function cloneCollection(c: Collection): Collection {
  return {
    lists: new Map([...c.lists].map(([k, v]) => [k, { ...v, items: [...v.items] }])),
    macros: new Map([...c.macros].map(([k, v]) => [k, { ...v, parts: [...v.parts] }])),
    rules: new Map(
      [...c.rules].map(([k, v]) => [
        k,
        { ...v, parts: [...v.parts], tags: [...v.tags], exceptions: v.exceptions.map((e) => ({ ...e, values: [...e.values] })) },
      ]),
    ),
    curIndex: c.curIndex,
    requiredEngineVersion: c.requiredEngineVersion,
  };
}

// ---------------------------------------------------------------------------------------------

function take<T>(v: Val<T>): T {
  if (!v.ok) throw v.error;
  return v.value;
}

function semverLe(a: Semver, b: Semver): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number);
  return true;
}

function sortedTags(tags: Iterable<string>): string[] {
  return [...new Set(tags)].sort();
}

/** A copy of what the reader produced, so that appends to it do not change the reader's items. */
function copyException(ex: ExceptionInfo): ExceptionInfo {
  return { ...ex, values: [...ex.values] };
}

/** Falco's validate_exception_info: defaults for comps, operator and field checks. */
function validateException(ex: ExceptionInfo): void {
  const f = ex.fields as ExceptionEntry;
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

function appendExceptions(prev: RuleInfo, exs: ExceptionInfo[]): void {
  for (const ex of exs) {
    const old = prev.exceptions.find((e) => e.name === ex.name);
    if (!old) {
      if (!ex.fields) throw new ItemError('Rule exception must have fields property with a list of fields', ex.loc);
      if (ex.values.length === 0) throw new ItemError('Rule exception must have values property with a list of values', ex.loc);
      const added = copyException(ex);
      if (!prev.unknownSource) validateException(added);
      prev.exceptions.push(added);
    } else {
      if (ex.fields) throw new ItemError('Can not append exception fields to existing exception, only values', ex.loc);
      if (ex.comps) throw new ItemError('Can not append exception comps to existing exception, only values', ex.loc);
      old.values.push(...ex.values);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One item

function collectEngineVersion(col: Collection, it: EngineVersionItem): void {
  if (!semverLe(it.semver, semver(ENGINE_VERSION) as Semver)) {
    throw new ItemError(`Rules require engine version ${it.version}, but engine version is ${ENGINE_VERSION}`, it.versionLoc);
  }
  if (!col.requiredEngineVersion || !semverLe(it.semver, semver(col.requiredEngineVersion) as Semver)) col.requiredEngineVersion = it.version;
}

function collectPluginVersions(it: PluginVersionsItem): void {
  for (const p of it.plugins) {
    const req = take(p);
    const ok = [req, ...req.alternatives].some((q) => {
      const have = BUILTIN_PLUGINS[q.name];
      return have !== undefined && semverLe(semver(q.version) as Semver, semver(have) as Semver);
    });
    if (!ok) {
      throw new ItemError(
        `Plugin '${req.name}' version ${req.version} is required by these rules but is not available (built in: ${Object.entries(BUILTIN_PLUGINS)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`,
        req.loc,
      );
    }
  }
}

function collectList(col: Collection, it: ListItem): void {
  const prev = col.lists.get(it.name);
  if (it.append) {
    if (!prev) throw new ItemError(`List has 'append' key or an append override but no list by that name already exists`, it.loc);
    prev.items.push(...it.items);
    prev.visibility = col.curIndex++;
  } else if (prev) {
    Object.assign(prev, { items: [...it.items], visibility: col.curIndex++, loc: it.loc });
  } else {
    const id = col.curIndex++;
    col.lists.set(it.name, { name: it.name, items: [...it.items], index: id, visibility: id, loc: it.loc });
  }
}

function collectMacro(col: Collection, it: MacroItem): void {
  const prev = col.macros.get(it.name);
  if (it.append) {
    if (!prev) throw new ItemError(`Macro has 'append' key or an append override but no macro by that name already exists`, it.loc);
    prev.parts.push(it.condition);
    prev.visibility = col.curIndex++;
  } else if (prev) {
    Object.assign(prev, { parts: [it.condition], visibility: col.curIndex++, loc: it.loc });
  } else {
    const id = col.curIndex++;
    col.macros.set(it.name, { name: it.name, parts: [it.condition], index: id, visibility: id, loc: it.loc });
  }
}

/** Fields are taken (and their read errors raised) in the order Falco's loader reads them. */
function collectRule(col: Collection, it: RuleItem, sink: CollectSink): void {
  const prev = col.rules.get(it.name);
  const loc = it.loc;
  if (it.form === 'override') {
    if (!prev) throw new ItemError(`Rule has an override but no rule by that name already exists`, loc);
    const { append, replace } = it;
    if (append.size) {
      if (append.has('condition')) prev.parts.push(take(it.condition as Val<CondPart>));
      if (append.has('output')) {
        const o = take(it.output as Val<CondPart>).text.trim();
        if (o) prev.output += ' ' + o;
      }
      if (append.has('desc')) prev.desc += ' ' + take(it.desc as Val<string>);
      if (append.has('tags')) prev.tags = sortedTags([...prev.tags, ...take(it.tags as Val<string[]>)]);
      if (append.has('exceptions')) appendExceptions(prev, take(it.exceptions as Val<ExceptionInfo[]>));
    }
    if (replace.size) {
      if (replace.has('condition')) prev.parts = [take(it.condition as Val<CondPart>)];
      if (replace.has('output')) {
        const o = take(it.output as Val<CondPart>);
        prev.output = o.text.trim();
        prev.outputSrc = o.src;
      }
      if (replace.has('desc')) prev.desc = take(it.desc as Val<string>);
      if (replace.has('tags')) prev.tags = sortedTags(take(it.tags as Val<string[]>));
      if (replace.has('exceptions')) {
        const exs = take(it.exceptions as Val<ExceptionInfo[]>).map(copyException);
        for (const ex of exs) validateException(ex);
        prev.exceptions = exs;
      }
      if (replace.has('priority')) prev.priority = take(it.priority as Val<Priority>);
      if (replace.has('enabled')) prev.enabled = take(it.enabled as Val<boolean>);
      if (replace.has('warn_evttypes')) prev.warnEvttypes = take(it.warnEvttypes as Val<boolean>);
      if (replace.has('skip-if-unknown-filter')) prev.skipIfUnknownFilter = take(it.skipIfUnknownFilter as Val<boolean>);
    }
    prev.visibility = col.curIndex++;
    return;
  }
  if (it.form === 'append') {
    if (!prev) throw new ItemError(`Rule has 'append' key but no rule by that name already exists`, loc);
    if (it.condition) prev.parts.push(take(it.condition));
    if (it.exceptions) appendExceptions(prev, take(it.exceptions));
    prev.visibility = col.curIndex++;
    return;
  }
  if (it.form === 'enable') {
    if (!prev) throw new ItemError("Rule has 'enabled' key but no rule by that name already exists", loc);
    prev.enabled = it.enabled;
    return;
  }
  const cond = take(it.condition);
  const output = take(it.output);
  const desc = take(it.desc);
  const priority = take(it.priority);
  const source = take(it.source);
  const exceptions = take(it.exceptions).map(copyException);
  const unknownSource = !KNOWN_SOURCES.has(source);
  if (prev && prev.source !== source) throw new ItemError('Rule has been re-defined with a different source', loc);
  if (unknownSource) sink.warnings.push(warningAt(loc, `Unknown source ${source}, skipping`, 'rule', it.name));
  else for (const ex of exceptions) validateException(ex);
  const captureDuration = take(it.captureDuration);
  const info: RuleInfo = {
    name: it.name,
    parts: [cond],
    output: output.text.trim(),
    outputSrc: output.src,
    desc,
    priority,
    tags: sortedTags(take(it.tags)),
    enabled: take(it.enabled),
    source,
    exceptions,
    warnEvttypes: take(it.warnEvttypes),
    skipIfUnknownFilter: take(it.skipIfUnknownFilter),
    capture: take(it.capture),
    captureDuration,
    index: 0,
    visibility: 0,
    loc,
    unknownSource,
  };
  const id = col.curIndex++;
  // a redefinition keeps the place of the first definition
  info.index = prev ? prev.index : id;
  info.visibility = id;
  col.rules.set(it.name, info);
}

/**
 * Applies the entries read from one file to `col`, in order: read errors and warnings go to the
 * sink where they stand, each item is collected or, when it cannot be, reported (named after its
 * kind and name); the next item is collected either way.
 */
export function collect(col: Collection, entries: readonly ReadEntry[], sink: CollectSink): void {
  for (const e of entries) {
    if (e.type === 'warning') {
      sink.warnings.push(e.message);
      continue;
    }
    let m: LoadMessage;
    if (e.type === 'error') m = e.message;
    else {
      try {
        if (e.type === 'list') collectList(col, e);
        else if (e.type === 'macro') collectMacro(col, e);
        else if (e.type === 'rule') collectRule(col, e, sink);
        else if (e.type === 'required_engine_version') collectEngineVersion(col, e);
        else collectPluginVersions(e);
        continue;
      } catch (x) {
        if (!(x instanceof ItemError)) throw x;
        if (e.type === 'list' || e.type === 'macro' || e.type === 'rule') {
          x.kind = e.type;
          x.item = e.name;
        }
        m = itemErrorMessage(x);
      }
    }
    if (m.kind === 'macro' && m.item !== undefined) sink.failedMacros.add(m.item);
    sink.errors.push(m);
  }
}
