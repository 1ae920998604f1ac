// Rules engine, field class `evt`: event-level fields (type, time, result, arguments, open flags).
// Extractors read the event object (docs/event-format.md) and derive what Falco computes
// (evt.res as an errno name, evt.is_open_read from the open flags...).
import { hostname } from 'node:os';
import type { Ev, Extractor, FieldDef, Value } from '../types.ts';
import { field } from './define.ts';
import { absPath, firstOf, getter, nsToDateTime, nsToIso8601, nsToParts, nsToTimeOfDay, nsString, OPEN_TYPES, rawGetter, resString } from './util.ts';

const evType = getter('evt.type');
const evTime = getter('evt.time');
const rawRes = firstOf(getter('evt.rawres'), getter('evt.res'));
const argFlags = getter('evt.arg.flags');
const rawFlags = getter('evt.rawarg.flags');

function timeStr(ev: Ev): string | undefined {
  return nsString(evTime(ev));
}

// several checks of one rule set ask for the open mode of the same event: remember the last one
let lastEv: Ev | undefined;
let lastAccess = 0;

/** Access mode of an open-family event: bit 1 = read, bit 2 = write, 0 = unknown / not an open. */
function openAccess(ev: Ev): number {
  if (ev === lastEv) return lastAccess;
  lastAccess = computeOpenAccess(ev);
  lastEv = ev;
  return lastAccess;
}

function computeOpenAccess(ev: Ev): number {
  const t = evType(ev);
  if (typeof t !== 'string' || !OPEN_TYPES.has(t)) return 0;
  const f = argFlags(ev);
  if (typeof f === 'string' && f !== '') {
    let m = 0;
    if (f.includes('O_RDWR')) m = 3;
    else {
      if (f.includes('O_RDONLY')) m |= 1;
      if (f.includes('O_WRONLY')) m |= 2;
    }
    if (m !== 0) return m;
    // flags rendered without an access mode: O_RDONLY is 0 in Linux, Falco renders it explicitly;
    // absent means read-only
    return 1;
  }
  const r = rawFlags(ev);
  if (typeof r === 'number') {
    const acc = r & 3;
    return acc === 0 ? 1 : acc === 1 ? 2 : 3;
  }
  return 0;
}

function openHasFlag(flag: string, rawBit: number): Extractor {
  return (ev) => {
    const t = evType(ev);
    if (typeof t !== 'string' || !OPEN_TYPES.has(t)) return false;
    const f = argFlags(ev);
    if (typeof f === 'string') return f.includes(flag);
    const r = rawFlags(ev);
    return typeof r === 'number' ? (r & rawBit) !== 0 : false;
  };
}

function renderArg(v: unknown): Value | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return Array.isArray(v) ? v.join(',') : JSON.stringify(v);
  return v as Value;
}

const argObj = rawGetter('evt.arg');
const rawargObj = rawGetter('evt.rawarg');

function argExtractor(arg: string | undefined): Extractor {
  const key = arg ?? '';
  if (/^\d+$/.test(key)) {
    const idx = Number(key);
    return (ev) => {
      const o = argObj(ev);
      if (o === null || typeof o !== 'object') return undefined;
      const keys = Object.keys(o);
      return idx < keys.length ? renderArg((o as Record<string, unknown>)[keys[idx] as string]) : undefined;
    };
  }
  return (ev) => {
    const o = argObj(ev);
    if (o === null || typeof o !== 'object') return undefined;
    return renderArg((o as Record<string, unknown>)[key]);
  };
}

const hostName = hostname();

export const evtFields: FieldDef[] = [
  field('evt.num', 'int', 'event sequence number', () => getter('evt.num')),
  field('evt.time', 'abstime', 'event timestamp (ns since epoch); rendered as time of day in outputs', () => evTime),
  field('evt.rawtime', 'abstime', 'event timestamp as ns since epoch', () => evTime),
  field('evt.rawtime.s', 'int', 'integer part of the event timestamp (seconds)', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToParts(t)[0];
  }),
  field('evt.rawtime.ns', 'int', 'fractional part of the event timestamp (ns)', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToParts(t)[1];
  }),
  field('evt.time.s', 'string', 'event time of day, seconds precision', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToTimeOfDay(t).slice(0, 8);
  }),
  field('evt.time.iso8601', 'string', 'event time in ISO 8601 with ns (UTC)', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToIso8601(t);
  }),
  field('evt.datetime', 'string', 'event date and time (local)', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToDateTime(t);
  }),
  field('evt.datetime.s', 'string', 'event date and time, seconds precision (local)', () => (ev) => {
    const t = timeStr(ev);
    return t === undefined ? undefined : nsToDateTime(t).slice(0, 19);
  }),
  field('evt.type', 'string', 'event (syscall) name, e.g. open', () => evType),
  field('evt.category', 'string', 'event family: process, file, net, priv', () => getter('evt.category')),
  field('evt.dir', 'string', 'event direction; always < (exit) in Vigil', () => firstOf(getter('evt.dir'), () => '<')),
  field('evt.cpu', 'int', 'CPU the event was captured on', () => getter('evt.cpu')),
  field('evt.res', 'string', 'result as a string: SUCCESS, or the errno name (ENOENT...)', () => (ev) => {
    const r = rawRes(ev);
    if (typeof r === 'number') return resString(r);
    return r;
  }),
  field('evt.rawres', 'int', 'result as a number (negative errno on failure)', () => rawRes),
  field('evt.failed', 'bool', 'true if the event returned an error', () =>
    firstOf(getter('evt.failed'), (ev) => {
      const r = rawRes(ev);
      return typeof r === 'number' ? r < 0 : undefined;
    }),
  ),
  field('evt.is_open_read', 'bool', 'true for open events where the path was opened for reading', () => (ev) => (openAccess(ev) & 1) !== 0),
  field('evt.is_open_write', 'bool', 'true for open events where the path was opened for writing', () => (ev) => (openAccess(ev) & 2) !== 0),
  field('evt.is_open_exec', 'bool', 'true for open events that create an executable file (O_CREAT with an x mode bit)', () => (ev) => {
    const t = evType(ev);
    if (typeof t !== 'string' || !OPEN_TYPES.has(t)) return false;
    const f = argFlags(ev);
    if (typeof f !== 'string' || !f.includes('O_CREAT')) return false;
    const m = getter('evt.rawarg.mode')(ev);
    return typeof m === 'number' ? (m & 0o111) !== 0 : false;
  }),
  field('evt.is_open_create', 'bool', 'true for open events with O_CREAT', () => openHasFlag('O_CREAT', 0o100)),
  field('evt.arg', 'string', 'an event argument by name (evt.arg.NAME, evt.arg[NAME]) or position (evt.arg[N]), rendered as text', argExtractor, {
    arg: 'key',
  }),
  field(
    'evt.rawarg',
    'dynamic',
    'an event argument by name, raw (numbers stay numbers)',
    (arg) => {
      const key = arg ?? '';
      return (ev) => {
        const o = rawargObj(ev);
        if (o !== null && typeof o === 'object') {
          const v = renderArg((o as Record<string, unknown>)[key]);
          if (v !== undefined) return v;
        }
        const a = argObj(ev);
        return a !== null && typeof a === 'object' ? renderArg((a as Record<string, unknown>)[key]) : undefined;
      };
    },
    { arg: 'key' },
  ),
  field('evt.args', 'string', 'all event arguments as NAME=VALUE pairs', () => (ev) => {
    const o = argObj(ev);
    if (o === null || typeof o !== 'object') return undefined;
    const parts: string[] = [];
    for (const [k, v] of Object.entries(o)) parts.push(`${k}=${renderArg(v) ?? ''}`);
    return parts.join(' ');
  }),
  field('evt.info', 'string', 'event arguments as text (same as evt.args)', () => (ev) => {
    const o = argObj(ev);
    if (o === null || typeof o !== 'object') return undefined;
    return Object.entries(o)
      .map(([k, v]) => `${k}=${renderArg(v) ?? ''}`)
      .join(' ');
  }),
  field('evt.abspath', 'path', 'absolute path of the file argument (name/path/filename), resolved against the cwd', () => {
    const name = firstOf(getter('evt.arg.name'), getter('evt.arg.path'), getter('evt.arg.filename'), getter('evt.arg.pathname'));
    const cwd = getter('proc.cwd');
    return (ev) => {
      const n = name(ev);
      if (typeof n !== 'string') return undefined;
      const c = cwd(ev);
      return absPath(n, typeof c === 'string' ? c : undefined);
    };
  }),
  field('evt.hostname', 'string', 'host name of the machine the event happened on', () => firstOf(getter('evt.hostname'), () => hostName)),
  field('evt.source', 'string', 'event source: syscall', () => () => 'syscall'),
  field('evt.is_async', 'bool', 'true for asynchronous events (none in Vigil)', () => () => false),
];
