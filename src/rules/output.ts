// Rules engine, outputs: compiles a rule's output format (%field, %field[arg], %evt.arg.NAME,
// %toupper(field)... ; a leading * means "print <NA> for missing values" as in Falco) once at load
// time, and renders alerts shaped like Falco's json_output records (uuid, time, rule, priority,
// output, output_fields, source, tags, hostname) plus their JSON / text serialisations.
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { FieldRef, Operand } from './ast.ts';
import { TRANSFORMERS } from './ast.ts';
import { CompileError, compileOperand } from './compile.ts';
import type { CompiledOperand } from './compile.ts';
import { nsString, nsToRfc3339, nsToTimeOfDay } from './fields/util.ts';
import { stringSource } from './parser.ts';
import type { Alert, Ev, Priority, Value } from './types.ts';

type Token = { lit: string } | { key: string; op: CompiledOperand; timeOfDay: boolean };

export interface OutputFormat {
  readonly text: string;
  readonly tokens: readonly Token[];
  /** false when the format started with '*': missing values print as <NA>. */
  readonly requireAll: boolean;
  /** Field keys as written (e.g. "proc.aname[2]") in order of first appearance. */
  readonly keys: readonly string[];
}

const RE_NAME = /[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)*/y;
const RE_ARG = /\[([^\]]*)\]/y;

/** Compiles an output format. `loc` maps an offset of the format text for error messages. */
export function compileFormat(fmt: string, src = stringSource(fmt, '<output>')): OutputFormat {
  let text = fmt;
  let start = 0;
  let requireAll = true;
  if (text.startsWith('*')) {
    requireAll = false;
    start = 1;
  }
  const tokens: Token[] = [];
  const keys: string[] = [];
  let lit = '';
  const pushField = (key: string, op: CompiledOperand, timeOfDay: boolean): void => {
    if (lit) tokens.push({ lit });
    lit = '';
    tokens.push({ key, op, timeOfDay });
    if (!keys.includes(key)) keys.push(key);
  };
  let i = start;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    const at = i;
    i++;
    // transformer: %toupper(proc.name)
    const tr = TRANSFORMERS.find((t) => text.startsWith(t + '(', i));
    if (tr) {
      const close = text.indexOf(')', i);
      if (close < 0) throw new CompileError(`invalid formatting token: unterminated '${tr}('`, { src, off: at });
      const inner = text.slice(i + tr.length + 1, close).trim();
      const parts = inner.split(',').map((s) => s.trim());
      const args: Operand[] = parts.map((p) => {
        const m = /^([a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)+)(?:\[([^\]]*)\])?$/.exec(p);
        if (!m) throw new CompileError(`invalid formatting token: '${p}' is not a field`, { src, off: at });
        const f: FieldRef = { kind: 'field', name: m[1] as string, arg: m[2], pos: { src, off: at } };
        return f;
      });
      const op = compileOperand({ kind: 'transform', fn: tr, args, pos: { src, off: at } });
      pushField(text.slice(at + 1, close + 1), op, false);
      i = close + 1;
      continue;
    }
    RE_NAME.lastIndex = i;
    const m = RE_NAME.exec(text);
    if (!m) {
      lit += '%';
      continue;
    }
    let name = m[0];
    // longest prefix that is a field: "%proc.name.foo" is proc.name then ".foo"
    let resolved: CompiledOperand | undefined;
    let arg: string | undefined;
    let end = i + name.length;
    for (;;) {
      RE_ARG.lastIndex = end;
      const am = RE_ARG.exec(text);
      arg = am ? am[1] : undefined;
      try {
        resolved = compileOperand({ kind: 'field', name, arg, pos: { src, off: at } });
        if (am) end += am[0].length;
        break;
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        const dot = name.lastIndexOf('.');
        if (dot <= 0 || !name.slice(0, dot).includes('.') || !e.unknownField) {
          if (e.unknownField) throw new CompileError(`invalid formatting token %${m[0]}: unknown field '${m[0]}'`, { src, off: at }, true);
          throw e;
        }
        name = name.slice(0, dot);
        end = i + name.length;
      }
    }
    pushField(arg === undefined ? name : `${name}[${arg}]`, resolved, name === 'evt.time' && arg === undefined);
    i = end;
  }
  if (lit) tokens.push({ lit });
  text = fmt;
  return { text, tokens, requireAll, keys };
}

function renderText(v: Value | undefined, timeOfDay: boolean): string | undefined {
  if (v === undefined) return undefined;
  if (timeOfDay && typeof v === 'string') return nsToTimeOfDay(v);
  return typeof v === 'string' ? v : String(v);
}

/** Renders a format; undefined when a value is missing and the format requires all values. */
export function renderFormat(f: OutputFormat, ev: Ev): string | undefined {
  let out = '';
  for (const t of f.tokens) {
    if ('lit' in t) {
      out += t.lit;
      continue;
    }
    const s = renderText(t.op.get(ev), t.timeOfDay);
    if (s === undefined) {
      if (f.requireAll) return undefined;
      out += '<NA>';
    } else out += s;
  }
  return out;
}

const RAW_KEYS = Symbol('rawKeys');
type Fields = Record<string, Value | null> & { [RAW_KEYS]?: string[] };

function jsonValue(v: Value | undefined): Value | null {
  if (v === undefined) return null;
  return v;
}

/** Field values for output_fields: numbers stay numbers, missing values are null. */
export function fieldValues(f: OutputFormat, ev: Ev, into: Fields = {}): Fields {
  for (const t of f.tokens) {
    if ('lit' in t) continue;
    const v = t.op.get(ev);
    into[t.key] = jsonValue(v);
    if (t.op.type === 'abstime' && v !== undefined && nsString(v) !== undefined) {
      if (!into[RAW_KEYS]) Object.defineProperty(into, RAW_KEYS, { value: [], enumerable: false });
      (into[RAW_KEYS] as string[]).push(t.key);
    }
  }
  return into;
}

export interface AlertContext {
  hostname?: string;
  /** Deterministic uuids for tests; default crypto.randomUUID. */
  uuid?: () => string;
}

export const DEFAULT_APPEND_OUTPUT =
  'container_id=%container.id container_name=%container.name container_image_repository=%container.image.repository container_image_tag=%container.image.tag k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name';

export interface RuleOutputInfo {
  name: string;
  priority: Priority;
  tags: readonly string[];
  /** Compiled "*%evt.time: <Priority> <output>" (Falco's full line). */
  line: OutputFormat;
}

/** Compiles a rule's full output line the way Falco builds it. */
export function compileRuleOutput(output: string, priority: Priority, src?: Parameters<typeof compileFormat>[1]): OutputFormat {
  const msg = output.startsWith('*') ? output.slice(1) : output;
  const prefix = `*%evt.time: ${priority} `;
  const full = compileFormat(prefix + msg, src ? shiftSource(src, prefix.length) : undefined);
  return full;
}

function shiftSource(src: NonNullable<Parameters<typeof compileFormat>[1]>, by: number): NonNullable<Parameters<typeof compileFormat>[1]> {
  return { text: src.text, loc: (off: number) => src.loc(Math.max(0, off - by)) };
}

const defaultHost = osHostname();

export function buildAlert(rule: RuleOutputInfo, ev: Ev, ctx: AlertContext = {}): Alert {
  // the output line and output_fields in one pass: each field is extracted once
  const f = rule.line;
  const tokens = f.tokens;
  const output_fields: Fields = {};
  let raw: string[] | undefined;
  let out = '';
  let missing = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if ('lit' in t) {
      out += t.lit;
      continue;
    }
    const v = t.op.get(ev);
    output_fields[t.key] = v === undefined ? null : v;
    if (t.op.type === 'abstime' && v !== undefined && nsString(v) !== undefined) (raw ??= []).push(t.key);
    if (missing) continue;
    const s = renderText(v, t.timeOfDay);
    if (s !== undefined) out += s;
    else if (f.requireAll) missing = true;
    else out += '<NA>';
  }
  if (raw !== undefined) Object.defineProperty(output_fields, RAW_KEYS, { value: raw, enumerable: false });
  const t = nsString((ev.evt as Record<string, unknown> | undefined)?.time) ?? '0';
  return {
    hostname: ctx.hostname ?? defaultHost,
    output: missing ? '' : out,
    output_fields,
    priority: rule.priority,
    rule: rule.name,
    source: 'syscall',
    tags: [...rule.tags],
    time: nsToRfc3339(t),
    uuid: (ctx.uuid ?? randomUUID)(),
  };
}

/** JSON texts of output_fields keys (a bounded cache: keys are field names). */
const keyJson = new Map<string, string>();

function jsonKey(k: string): string {
  let j = keyJson.get(k);
  if (j === undefined) {
    j = JSON.stringify(k);
    if (keyJson.size < 4096) keyJson.set(k, j);
  }
  return j;
}

function jsonScalar(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v ?? null);
}

function sortedObject(o: Fields): string {
  const raw = o[RAW_KEYS];
  const keys = Object.keys(o).sort();
  let s = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = o[k];
    if (i > 0) s += ',';
    s += jsonKey(k) + ':' + (raw !== undefined && typeof v === 'string' && raw.includes(k) ? v : jsonScalar(v));
  }
  return s + '}';
}

/** One JSON line, keys in Falco's (alphabetical) order; ns timestamps printed as integers. */
export function alertToJson(a: Alert): string {
  return (
    `{"hostname":${JSON.stringify(a.hostname)},"output":${JSON.stringify(a.output)},` +
    `"output_fields":${sortedObject(a.output_fields as Fields)},"priority":${JSON.stringify(a.priority)},` +
    `"rule":${JSON.stringify(a.rule)},"source":${JSON.stringify(a.source)},"tags":${JSON.stringify(a.tags)},` +
    `"time":${JSON.stringify(a.time)},"uuid":${JSON.stringify(a.uuid)}}`
  );
}

/** Falco's text output line (the same text as the "output" field). */
export function alertToText(a: Alert): string {
  return a.output;
}
