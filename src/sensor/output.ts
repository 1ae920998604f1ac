// Event printers for `vigil run`: JSON lines (the event format contract) or one text line per
// event in the spirit of sysdig/Falco. Writes go through a bounded buffer: when stdout cannot keep
// up (a slow pipe), events are dropped and counted instead of growing memory or blocking capture.
import type { Writable } from 'node:stream';
import type { VigilEvent, FieldTree } from '../abi/event.ts';

export type OutputFormat = 'json' | 'text';

// The enricher shares one object per process (proc, user, group, container, ...) between all the
// events of that process, so their JSON text is cached by object identity and each event only
// serialises what is its own (evt, thread, fd, fs, policy), with jsonValue below: the same text as
// JSON.stringify (tests/unit/sensor/fast-path.test.ts compares them over recorded and generated
// events), faster on these small flat objects, and with the JSON text of long strings (the
// capability lists of thread.*, paths) memoised.
const jsonCache = new WeakMap<object, string>();
function cachedJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return jsonValue(v) ?? 'null';
  let s = jsonCache.get(v);
  if (s === undefined) {
    s = jsonValue(v)!;
    jsonCache.set(v, s);
  }
  return s;
}
const SHARED = new Set(['proc', 'user', 'group', 'container', 'k8s', 'ns', 'cgroup']);

/**
 * The key texts of the objects serialised so far, as a trie of key sequences: each node holds the
 * text that precedes its value (`"key":`, with the comma when it is not the first key) and the
 * child taken last, so an object of a shape seen before costs one pointer comparison per key (the
 * events' objects come in few shapes: one per kind and outcome). Bounded: past MAX_NODES new
 * sequences are served without being remembered.
 */
class KeyNode {
  last: KeyNode | undefined;
  more: Map<string, KeyNode> | undefined;
  constructor(
    readonly key: string,
    readonly text: string,
  ) {}
}
const ROOT = new KeyNode('', '');
const MAX_NODES = 20000;
let nodes = 0;
function stepKey(node: KeyNode, k: string): KeyNode {
  let c = node.more?.get(k);
  if (c === undefined) {
    c = new KeyNode(k, (node === ROOT ? '' : ',') + JSON.stringify(k) + ':');
    if (nodes >= MAX_NODES) return c;
    nodes++;
    (node.more ??= new Map()).set(k, c);
  }
  node.last = c;
  return c;
}

/** strings at least this long have their JSON text memoised (a node repeats few long strings) */
const LONG = 40;
const longText = new Map<string, string>();

/** JSON text of a string, as JSON.stringify writes it (escapes for quote, backslash, control
 * characters and lone surrogates; everything else as is). */
export function jsonString(s: string): string {
  const n = s.length;
  if (n >= LONG) {
    const hit = longText.get(s);
    if (hit !== undefined) return hit;
  }
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      plain = false;
      break;
    }
  }
  const t = plain ? '"' + s + '"' : JSON.stringify(s);
  if (n >= LONG) {
    if (longText.size >= 8192) longText.clear();
    longText.set(s, t);
  }
  return t;
}

/** JSON text of a value as JSON.stringify(v) writes it; undefined where JSON.stringify gives
 * undefined (undefined, functions, symbols). Plain objects and arrays are walked here; anything
 * else (a class instance, toJSON, a bigint that should throw) goes to JSON.stringify itself (the
 * one difference: a toJSON(key) that reads its key argument is given "" there). */
export function jsonValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return jsonString(v);
    case 'number':
      return Number.isFinite(v) ? '' + v : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ',';
          out += jsonValue(v[i]) ?? 'null';
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return JSON.stringify(v);
      const o = v as Record<string, unknown>;
      if (typeof o.toJSON === 'function') return JSON.stringify(v);
      let out = '{';
      let node = ROOT;
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        const t = jsonValue(o[k]);
        if (t === undefined) continue;
        let c = node.last;
        if (c === undefined || c.key !== k) c = stepKey(node, k);
        node = c;
        out += c.text + t;
      }
      return out + '}';
    }
    default:
      return JSON.stringify(v);
  }
}

/** JSON text of an event, identical to JSON.stringify(ev) (key order preserved). */
export function eventToJson(ev: VigilEvent): string {
  let out = '{';
  let node = ROOT;
  for (const k in ev) {
    const v = (ev as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const t = SHARED.has(k) ? cachedJson(v) : jsonValue(v);
    if (t === undefined) continue;
    let c = node.last;
    if (c === undefined || c.key !== k) c = stepKey(node, k);
    node = c;
    out += c.text + t;
  }
  return out + '}';
}

function fmtTime(ns: string): string {
  const n = BigInt(ns);
  const ms = Number(n / 1_000_000n);
  const d = new Date(ms);
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${d.toISOString().slice(11, 19)}.${frac}`;
}

function argText(arg: FieldTree): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(arg)) {
    if (v === undefined || v === '' || k === 'res') continue;
    parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(' ');
}

export function formatText(ev: VigilEvent): string {
  const e = ev.evt;
  const p = ev.proc;
  const where = ev.container.id === 'host' ? 'host' : `${ev.container.id}${ev.container.name ? ` (${ev.container.name})` : ''}`;
  const fdName = ev.fd?.name !== undefined ? ` fd=${String(ev.fd.name)}` : '';
  const pathName = (ev.fs as FieldTree | undefined)?.path ? ` path=${JSON.stringify((ev.fs as FieldTree).path)}` : '';
  const user = ev.user.name ?? ev.user.uid;
  return `${fmtTime(e.time)} ${e.cpu} ${String(p.name)} (${String(p.pid)}) ${e.type} res=${e.res} ${argText(e.arg)}${fdName}${pathName} user=${String(user)} container=${where}\n`;
}

export class EventPrinter {
  written = 0;
  dropped = 0;

  constructor(
    private readonly out: Writable,
    private readonly format: OutputFormat,
    private readonly maxBuffered = 64 * 1024 * 1024,
  ) {}

  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.out.uncork();
  };

  write(ev: VigilEvent): boolean {
    if (this.out.writableLength > this.maxBuffered) {
      this.dropped++;
      return false;
    }
    // the events of one loader chunk arrive in one synchronous pass: cork the stream for it, so
    // they leave in one writev at the end of the pass instead of one write(2) each (other writers
    // of the same stream, e.g. alerts, are corked with them and keep their order)
    if (!this.corked) {
      this.corked = true;
      this.out.cork();
      process.nextTick(this.uncork);
    }
    this.out.write(this.format === 'json' ? eventToJson(ev) + '\n' : formatText(ev));
    this.written++;
    return true;
  }

  /** Resolves when everything written so far has been flushed. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      if (this.out.writableLength === 0) return resolve();
      this.out.write('', () => resolve());
    });
  }
}
