// Rules engine, field definition helper: wraps a raw extractor with the coercion its Falco type
// needs (numbers for numeric fields, strings for string fields...). The per-class tables (evt.ts,
// proc.ts, ...) use it; the registry (index.ts) collects them for the compiler and formatter.
import type { Extractor, FieldDef, FieldType, ListExtractor } from '../types.ts';
import { asBool, asNum, asStr, nsString } from './util.ts';
import type { PathExtractor } from './util.ts';

export function coerce(type: FieldType, get: Extractor): Extractor {
  switch (type) {
    case 'string':
    case 'path':
    case 'ipaddr':
    case 'ipnet':
      return asStr(get);
    case 'int':
    case 'port':
    case 'reltime':
      return asNum(get);
    case 'bool':
      return asBool(get);
    case 'abstime':
      return (ev) => nsString(get(ev));
    case 'dynamic':
      return get;
  }
}

export interface FieldOpts {
  arg?: FieldDef['arg'];
  list?: () => ListExtractor;
}

/** Declares a field; `build` receives the argument (index or key) when the field takes one. */
export function field(name: string, type: FieldType, desc: string, build: (arg: string | undefined) => Extractor, opts: FieldOpts = {}): FieldDef {
  const def: FieldDef = {
    name,
    type,
    desc,
    arg: opts.arg ?? 'none',
    build: (arg) => coerce(type, build(arg)),
  };
  if (opts.list) def.buildList = opts.list;
  if (def.arg === 'none') {
    // the plain event path the value is normally read from: the compiler reads it inline and
    // calls the full extractor only when that read does not give a value of the right type
    const path = (build(undefined) as PathExtractor).path;
    if (path !== undefined && type !== 'abstime' && type !== 'dynamic') def.path = path;
  }
  return def;
}
