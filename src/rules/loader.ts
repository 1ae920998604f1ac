// Rules engine, loader: loads Falco rules files in three stages, each in its own module:
//   loader-read.ts     reader: YAML text of one file -> items with positions (file:line:col)
//   loader-collect.ts  collector: items of every file, in order -> lists, macros, rules, with
//                      Falco's override / append / enable semantics and visibility rules
//   loader-compile.ts  compiler: collected items -> Ruleset (engine.ts)
// and reports what goes wrong as located messages (loader-messages.ts). This module holds the
// loader's state across loads and is the API the rest of Vigil uses. A load is atomic: on any
// error nothing from it replaces what was loaded before.
import { readFileSync } from 'node:fs';
import { cloneCollection, collect, emptyCollection } from './loader-collect.ts';
import type { CollectSink, Collection } from './loader-collect.ts';
import { compileCollection } from './loader-compile.ts';
import type { CompileOptions } from './loader-compile.ts';
import { toVigilError } from './loader-messages.ts';
import type { LoadMessage } from './loader-messages.ts';
import { readRules } from './loader-read.ts';
import type { RulesSource } from './loader-read.ts';
import { Ruleset } from './engine.ts';

export { BUILTIN_PLUGINS, ENGINE_VERSION, KNOWN_SOURCES } from './loader-collect.ts';
export type { CompileOptions } from './loader-compile.ts';
export { formatMessage, toVigilError } from './loader-messages.ts';
export type { ItemKind, LoadMessage } from './loader-messages.ts';
export type { RulesSource } from './loader-read.ts';

export interface LoadResult {
  ok: boolean;
  errors: LoadMessage[];
  warnings: LoadMessage[];
  /** The ruleset in force after this load (the previous one when the load failed). */
  ruleset: Ruleset;
}

/**
 * Loads rules files in order, Falco-style: each load adds to what was loaded before (later files
 * can override, append to or disable earlier items) and recompiles the whole set. A failed load
 * changes nothing.
 */
export class RuleLoader {
  private col: Collection = emptyCollection();
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
    const col = cloneCollection(this.col);
    const sink: CollectSink = { errors: [], warnings: [], failedMacros: new Set() };
    for (const s of sources) collect(col, readRules(s), sink);
    // compiled even after collection errors, to report the condition errors of the items that did read
    const rs = compileCollection(col, this.opts, sink.errors, sink.warnings, sink.failedMacros);
    if (sink.errors.length === 0 && rs) {
      this.col = col;
      this.current = rs;
      this.sources.push(...sources);
      return { ok: true, errors: [], warnings: sink.warnings, ruleset: rs };
    }
    return { ok: false, errors: sink.errors, warnings: sink.warnings, ruleset: this.current };
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
        errors.push({
          file: p,
          line: 1,
          col: 1,
          message: `cannot read rules file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          kind: 'file',
          code: 'VIGIL_E_RULE',
        });
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
