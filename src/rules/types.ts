// Rules engine, shared types: field types and values, source positions, rule/alert shapes. Every
// other module of src/rules imports its vocabulary from here (pipeline: YAML -> loader -> parser ->
// compiler -> engine -> output).
import type { FieldTree } from '../abi/event.ts';
import type { Priority } from '../common/priorities.ts';

/** An event as the engine sees it (the VigilEvent object, or anything shaped like it). */
export type Ev = FieldTree;

/** Falco field types (subset of ppm_param_type that the engine distinguishes). */
export type FieldType =
  | 'string' // PT_CHARBUF
  | 'path' // PT_FSPATH
  | 'int' // PT_INT64 / INT32 / UINT32 ... (JS number)
  | 'port' // PT_PORT
  | 'bool' // PT_BOOL
  | 'ipaddr' // PT_IPADDR / IPV4ADDR / IPV6ADDR
  | 'ipnet' // PT_IPNET
  | 'abstime' // PT_ABSTIME: ns since epoch (decimal string, may exceed 2^53)
  | 'reltime' // PT_RELTIME: ns (JS number)
  | 'dynamic'; // evt.rawarg.*: numeric when both sides are numbers, string otherwise

export type Value = string | number | boolean;

/** One value, or (for list fields such as proc.aname without index) several. */
export type Extractor = (ev: Ev) => Value | undefined;
export type ListExtractor = (ev: Ev) => readonly Value[] | undefined;

export interface FieldDef {
  name: string;
  type: FieldType;
  desc: string;
  /** 'none': no argument; 'index': [N] numeric required; 'optindex': [N] optional (absent = any
   * ancestor / list); 'key': [KEY] or .KEY required; 'optkey': optional key. */
  arg: 'none' | 'index' | 'optindex' | 'key' | 'optkey';
  /** Builds the extractor once per use site; arg is the text between brackets (or after the dot). */
  build(arg: string | undefined): Extractor;
  /** The plain event path the value is normally read from (fast path for the compiler). */
  path?: string;
  /** For 'optindex' fields used without an index: all values (any-element semantics in filters). */
  buildList?(): ListExtractor;
}

/** A location in a rules file (1-based). */
export interface Loc {
  file: string;
  line: number;
  col: number;
}

// Priorities are shared with the selftest and the store: src/common/priorities.ts
export { PRIORITIES, parsePriority, type Priority } from '../common/priorities.ts';

/** Alert object, shaped like Falco's json_output record. */
export interface Alert {
  hostname: string;
  output: string;
  output_fields: Record<string, Value | null>;
  priority: Priority;
  rule: string;
  source: 'syscall';
  tags: string[];
  time: string;
  uuid: string;
}
