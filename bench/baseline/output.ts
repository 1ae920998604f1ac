// FROZEN BASELINE for bench/decode-throughput.ts: src/sensor/output.ts as of d23a1e5 (before issue 10's fast
// pipeline), imports rewritten to point into src/. Not used by the product; kept so the bench can measure old
// against new in the same run.
// Event printers for `vigil run`: JSON lines (the event format contract) or one text line per
// event in the spirit of sysdig/Falco. Writes go through a bounded buffer: when stdout cannot keep
// up (a slow pipe), events are dropped and counted instead of growing memory or blocking capture.
import type { Writable } from 'node:stream';
import type { VigilEvent, FieldTree } from '../../src/abi/event.ts';

export type OutputFormat = 'json' | 'text';

// The enricher shares one object per process (proc, user, group, container, ...) between all the
// events of that process, so their JSON text is cached by object identity and each event only
// stringifies what is its own (evt, thread, fd, fs, policy).
const jsonCache = new WeakMap<object, string>();
function cachedJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  let s = jsonCache.get(v);
  if (s === undefined) {
    s = JSON.stringify(v);
    jsonCache.set(v, s);
  }
  return s;
}
const SHARED = new Set(['proc', 'user', 'group', 'container', 'k8s', 'ns', 'cgroup']);

/** JSON text of an event, identical to JSON.stringify(ev) (key order preserved). */
export function eventToJson(ev: VigilEvent): string {
  let out = '{';
  let first = true;
  for (const k in ev) {
    const v = (ev as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out += (first ? '"' : ',"') + k + '":' + (SHARED.has(k) ? cachedJson(v) : JSON.stringify(v));
    first = false;
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

  write(ev: VigilEvent): boolean {
    if (this.out.writableLength > this.maxBuffered) {
      this.dropped++;
      return false;
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
