// Compact events: process identity by reference. The enricher shares one object per process view
// between all events of that process (proc, user, group, container, k8s, ns, cgroup; see
// Enricher.view in src/sensor/enrich.ts). On the wire and in the store each such object travels
// once, as a process record (wire item kind "r", its id is the record item's own spool sequence),
// and an event (item kind "c") carries the record's id in place of the object:
//   {"evt":{...},"proc":812,"thread":{...},"user":813,...,"fd":{...}}
// Expanding puts the record's JSON text back at the same place, so the expanded text is the full
// Falco-shaped event exactly as it was (key order kept). A record the reader does not have is never
// guessed: the key is left out and named in `unknown_records` (counted by the caller). The thread's
// capability sets (three strings of up to 41 names each, per process view) travel the same way, as
// a "caps" record: "thread":{"tid":7,"caps":814}. And `evt.rawarg`, which repeats `evt.arg` but
// for the values arg renders (flags names against their number), is written as its difference from
// arg: "rawarg":{"$d":{"flags":0}}.
// Pure text functions; no I/O. See docs/backend.md ("Compact events and process records").

/** Top-level keys whose values are shared per process view and travel as records. */
export const SHARED_KEYS: readonly string[] = ['proc', 'user', 'group', 'container', 'k8s', 'ns', 'cgroup'];
const SHARED = new Set(SHARED_KEYS);

/** How old a record still in use may get before the uplink sends it again (the store keeps records
 * at least twice this long before the oldest event it holds; src/store/records.ts). */
export const RECORD_RESEND_MS = 60 * 60 * 1000;

export function isSharedKey(k: string): boolean {
  return SHARED.has(k);
}

/**
 * The compact JSON text of an event: each shared object replaced by the id `ref` gives it (which
 * emits the record first when needed; 0: no record, the object stays in the event); every other
 * value through `stringify`.
 */
export function compactEventJson(
  ev: object,
  ref: (key: string, obj: object) => number,
  stringify: (v: unknown) => string,
  capsRef?: (eff: string, prm: string, inh: string) => number,
): string {
  let out = '{';
  let first = true;
  const o = ev as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (v === undefined) continue;
    let val: string;
    // a reference of 0 (the record could not be queued) leaves the object in the event
    let id: number;
    if (SHARED.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) val = (id = ref(k, v)) > 0 ? String(id) : stringify(v);
    else if (k === 'thread' && capsRef !== undefined && isThreadWithCaps(v))
      val = (id = capsRef(v.cap_effective, v.cap_permitted, v.cap_inheritable)) > 0 ? `{"tid":${v.tid},"caps":${id}}` : stringify(v);
    else if (k === 'evt' && v !== null && typeof v === 'object') val = evtJson(v as Record<string, unknown>, stringify);
    else val = stringify(v);
    out += (first ? '"' : ',"') + k + '":' + val;
    first = false;
  }
  return out + '}';
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The evt object with `rawarg` written as its difference from `arg` when both have the same keys
 * in the same order (they differ only where a value is rendered, as flags: "O_RDONLY" against 0):
 * `"rawarg":{"$d":{"flags":0}}`. Otherwise as it is.
 */
function evtJson(evt: Record<string, unknown>, stringify: (v: unknown) => string): string {
  const arg = evt.arg;
  const raw = evt.rawarg;
  if (!isPlain(arg) || !isPlain(raw)) return stringify(evt);
  let n = 0;
  const ak: string[] = [];
  for (const k in arg) if (arg[k] !== undefined) ak.push(k);
  let d = '';
  for (const k in raw) {
    const rv = raw[k];
    if (rv === undefined) continue;
    if (ak[n++] !== k) return stringify(evt);
    const av = arg[k];
    if (rv === av && (typeof rv !== 'number' || !Object.is(rv, -0))) continue;
    d += `${d ? ',' : ''}${JSON.stringify(k)}:${stringify(rv)}`;
  }
  if (n !== ak.length) return stringify(evt);
  let out = '{';
  let first = true;
  for (const k in evt) {
    const v = evt[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${k === 'rawarg' ? `{"$d":{${d}}}` : stringify(v)}`;
    first = false;
  }
  return `${out}}`;
}

/** The evt text with a `rawarg` difference (`{"$d":{…}}`) expanded back from `arg`; unchanged otherwise. */
function expandEvtText(text: string): string {
  if (text.indexOf('"$d"') < 0) return text;
  const m = topLevelMembers(text);
  if (!m) return text;
  const arg = m.find(([k]) => k === 'arg')?.[1];
  const rawIdx = m.findIndex(([k]) => k === 'rawarg');
  if (arg === undefined || rawIdx < 0) return text;
  const rm = topLevelMembers(m[rawIdx]![1]);
  if (rm?.length !== 1 || rm[0]![0] !== '$d') return text;
  const diff = new Map(topLevelMembers(rm[0]![1]) ?? []);
  const am = topLevelMembers(arg);
  if (!am) return text;
  // keys as written (topLevelMembers gives them still escaped)
  m[rawIdx] = ['rawarg', `{${am.map(([k, v]) => `"${k}":${diff.get(k) ?? v}`).join(',')}}`];
  return `{${m.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
}

/** The evt object with a `rawarg` difference expanded back from `arg` (a copy; the input as it is otherwise). */
function expandEvtObject(evt: unknown): unknown {
  if (!isPlain(evt) || !isPlain(evt.rawarg) || !isPlain(evt.arg)) return evt;
  const d = evt.rawarg.$d;
  if (!isPlain(d) || Object.keys(evt.rawarg).length !== 1) return evt;
  const raw: Record<string, unknown> = {};
  for (const k in evt.arg) raw[k] = k in d ? d[k] : evt.arg[k];
  return { ...evt, rawarg: raw };
}

/** `proc.cmdline` as the enricher builds it from the process's name and args. */
export function deriveCmdline(name: string, args: string): string {
  return args ? `${name} ${args}` : name;
}

function memberString(m: [string, string][], k: string): string | undefined {
  const t = m.find(([x]) => x === k)?.[1];
  if (t === undefined || t.charCodeAt(0) !== 0x22) return undefined;
  try {
    return JSON.parse(t) as string;
  } catch {
    return undefined;
  }
}

/**
 * The record text of a process object (its JSON text, redacted as it is sent) with `cmdline` written
 * as null where it is exactly `name args` of the record's own name and args (it repeats args:
 * a quarter of a process record); deriveRecordText puts it back. Unchanged otherwise.
 */
export function procRecordJson(text: string): string {
  const m = topLevelMembers(text);
  if (!m) return text;
  const i = m.findIndex(([k]) => k === 'cmdline');
  if (i < 0) return text;
  const name = memberString(m, 'name');
  const args = memberString(m, 'args');
  const cmd = memberString(m, 'cmdline');
  if (name === undefined || args === undefined || cmd === undefined || deriveCmdline(name, args) !== cmd) return text;
  m[i] = ['cmdline', 'null'];
  return `{${m.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
}

/** A record text with a derived `cmdline` (null, see procRecordJson) put back; unchanged otherwise. */
export function deriveRecordText(text: string): string {
  if (text.indexOf('"cmdline"') < 0) return text;
  const m = topLevelMembers(text);
  if (!m) return text;
  const i = m.findIndex(([k, v]) => k === 'cmdline' && v === 'null');
  if (i < 0) return text;
  const name = memberString(m, 'name');
  const args = memberString(m, 'args');
  if (name === undefined || args === undefined) return text;
  m[i] = ['cmdline', JSON.stringify(deriveCmdline(name, args))];
  return `{${m.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
}

/** The same on a parsed record (in place). */
export function deriveRecordObject(o: Record<string, unknown>): Record<string, unknown> {
  if (o.cmdline === null && typeof o.name === 'string' && typeof o.args === 'string') o.cmdline = deriveCmdline(o.name, o.args);
  return o;
}

interface ThreadWithCaps {
  tid: number;
  cap_effective: string;
  cap_permitted: string;
  cap_inheritable: string;
}

/** The enricher's thread object, exactly: {tid, cap_effective, cap_permitted, cap_inheritable}. */
function isThreadWithCaps(v: unknown): v is ThreadWithCaps {
  if (v === null || typeof v !== 'object') return false;
  const t = v as Record<string, unknown>;
  let i = 0;
  for (const k in t) {
    if (k !== THREAD_KEYS[i++]) return false;
  }
  return (
    i === 4 &&
    Number.isSafeInteger(t.tid) &&
    typeof t.cap_effective === 'string' &&
    typeof t.cap_permitted === 'string' &&
    typeof t.cap_inheritable === 'string'
  );
}
const THREAD_KEYS = ['tid', 'cap_effective', 'cap_permitted', 'cap_inheritable'];

/** The record text of a thread's capability sets (record kind "caps"). */
export function capsRecordJson(eff: string, prm: string, inh: string, stringify: (v: unknown) => string): string {
  return `{"cap_effective":${stringify(eff)},"cap_permitted":${stringify(prm)},"cap_inheritable":${stringify(inh)}}`;
}

/** [tid, caps record id] of a compact thread value text (`{"tid":7,"caps":12}`, any spacing), else undefined. */
function compactThread(text: string): [string, number] | undefined {
  if (text.indexOf('"caps"') < 0) return undefined;
  const m = topLevelMembers(text);
  if (m?.length !== 2) return undefined;
  const tid = m.find(([k]) => k === 'tid')?.[1];
  const caps = m.find(([k]) => k === 'caps')?.[1];
  if (tid === undefined || caps === undefined || !REF.test(caps) || !/^\d+$/.test(tid)) return undefined;
  return [tid, Number(caps)];
}

/**
 * The top-level members of a JSON object text as [key, value text] pairs, in order; tolerant of
 * whitespace (PostgreSQL's jsonb text puts a space after each colon and comma). null when the
 * text is not an object of that shape. Keys are returned as written between the quotes (the keys
 * Vigil writes hold no escapes).
 */
export function topLevelMembers(text: string): [string, string][] | null {
  const n = text.length;
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return null;
  i = skipWs(text, i + 1);
  const out: [string, string][] = [];
  if (text.charCodeAt(i) === 0x7d) return skipWs(text, i + 1) === n ? out : null;
  while (i < n) {
    if (text.charCodeAt(i) !== 0x22) return null;
    const kEnd = stringEnd(text, i);
    if (kEnd < 0) return null;
    const key = text.slice(i + 1, kEnd);
    i = skipWs(text, kEnd + 1);
    if (text.charCodeAt(i) !== 0x3a) return null;
    i = skipWs(text, i + 1);
    const vEnd = valueEnd(text, i);
    if (vEnd < 0) return null;
    out.push([key, text.slice(i, vEnd)]);
    i = skipWs(text, vEnd);
    const c = text.charCodeAt(i);
    if (c === 0x2c) {
      i = skipWs(text, i + 1);
      continue;
    }
    if (c === 0x7d) return skipWs(text, i + 1) === n ? out : null;
    return null;
  }
  return null;
}

function skipWs(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index of the closing quote of the string starting at i, or -1. */
function stringEnd(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j;
  }
  return -1;
}

/** Index just past the JSON value starting at i, or -1. */
function valueEnd(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) {
    const e = stringEnd(t, i);
    return e < 0 ? -1 : e + 1;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const d = t.charCodeAt(j);
      if (d === 0x22) {
        j = stringEnd(t, j);
        if (j < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // number, true, false, null
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j > i ? j : -1;
}

const REF = /^\d+$/;

/** The record ids a compact event text references, per shared key (empty for a full event). */
export function recordRefs(text: string): { key: string; id: number }[] {
  const m = topLevelMembers(text);
  if (!m) return [];
  const out: { key: string; id: number }[] = [];
  for (const [k, v] of m) {
    if (SHARED.has(k) && REF.test(v)) out.push({ key: k, id: Number(v) });
    else if (k === 'thread') {
      const th = compactThread(v);
      if (th) out.push({ key: 'thread.caps', id: th[1] });
    }
  }
  return out;
}

/**
 * The full event text of a compact event text: every record reference replaced by the record's
 * JSON text from `record(id)`. A reference `record` does not know is left out and listed in
 * `"unknown_records":{"proc":812}` (the caller counts `missing`). A text that is already a full
 * event comes back unchanged.
 */
export function expandEventJson(text: string, record: (id: number) => string | undefined): { json: string; missing: number } {
  const m = topLevelMembers(text);
  if (!m) return { json: text, missing: 0 };
  let any = false;
  for (const [k, v] of m) if ((SHARED.has(k) && REF.test(v)) || (k === 'thread' && compactThread(v)) || (k === 'evt' && v.indexOf('"$d"') >= 0)) any = true;
  if (!any) return { json: text, missing: 0 };
  let out = '{';
  let first = true;
  let unknown = '';
  let missing = 0;
  for (const [k, v] of m) {
    let val = v;
    if (k === 'evt') val = expandEvtText(v);
    else if (k === 'thread') {
      const th = compactThread(v);
      if (th) {
        const r = record(th[1]);
        const inner = r === undefined ? undefined : r.trim().slice(1, -1).trim();
        if (inner === undefined) {
          missing++;
          unknown += `${unknown ? ',' : ''}"thread.caps":${th[1]}`;
          val = `{"tid":${th[0]}}`;
        } else val = inner === '' ? `{"tid":${th[0]}}` : `{"tid":${th[0]},${inner}}`;
      }
    } else if (SHARED.has(k) && REF.test(v)) {
      const r = record(Number(v));
      if (r === undefined) {
        missing++;
        unknown += `${unknown ? ',' : ''}"${k}":${v}`;
        continue;
      }
      val = r;
    }
    out += `${first ? '"' : ',"'}${k}":${val}`;
    first = false;
  }
  if (unknown) out += `${first ? '"' : ',"'}unknown_records":{${unknown}}`;
  return { json: `${out}}`, missing };
}

/**
 * The full event object of a compact event object (the store's column extraction reads it): a
 * shallow copy with each numeric reference replaced by the record's object; unknown references
 * are left out.
 */
export function expandEventObject(doc: Record<string, unknown>, record: (id: number) => Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in doc) {
    const v = doc[k];
    if (SHARED.has(k) && typeof v === 'number') {
      const r = record(v);
      if (r !== undefined) out[k] = r;
    } else if (k === 'evt') out[k] = expandEvtObject(v);
    else if (k === 'thread' && v !== null && typeof v === 'object' && typeof (v as { caps?: unknown }).caps === 'number') {
      const t = v as { tid?: unknown; caps: number };
      out[k] = { tid: t.tid, ...record(t.caps) };
    } else out[k] = v;
  }
  return out;
}

/** The document of a process record item: `{"t":"<ns>","k":"proc","v":{...}}` (`v` already JSON text;
 * `t` the time of the event it is sent with, "0" when that has none). recordItemError checks it. */
export function recordItemJson(time: unknown, key: string, valueJson: string): string {
  return `{"t":${JSON.stringify(typeof time === 'string' ? time : '0')},"k":"${key}","v":${valueJson}}`;
}

const RECORD_KINDS = new Set([...SHARED_KEYS, 'caps']);
const DECIMAL = /^\d{1,20}$/;

/** What is wrong with a process record item's document (`{"t":"<ns>","k":"proc","v":{...}}`), or null. */
export function recordItemError(d: Record<string, unknown>): string | null {
  if (typeof d.t !== 'string' || !DECIMAL.test(d.t)) return 'record "t" must be a decimal string of ns';
  if (typeof d.k !== 'string' || !RECORD_KINDS.has(d.k)) return `record "k" must be one of ${[...RECORD_KINDS].join(', ')}`;
  if (d.v === null || typeof d.v !== 'object' || Array.isArray(d.v)) return 'record "v" must be an object';
  return null;
}

/** What is wrong with a compact event item's document, or null: each reference (a shared key's number,
 * thread.caps) must name an earlier item of the sensor (a record precedes the events naming it). */
export function compactItemError(d: Record<string, unknown>, seq: number): string | null {
  if (d.evt === null || typeof d.evt !== 'object' || Array.isArray(d.evt)) return 'compact event needs an "evt" object';
  for (const k of SHARED_KEYS) {
    const v = d[k];
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v > 0 && v < seq)) return `"${k}" must name an earlier record (a seq below ${seq}), got ${v}`;
  }
  const th = d.thread as { caps?: unknown } | undefined;
  if (th !== null && typeof th === 'object' && 'caps' in th) {
    const c = th.caps;
    if (!(typeof c === 'number' && Number.isSafeInteger(c) && c > 0 && c < seq))
      return `"thread.caps" must name an earlier record (a seq below ${seq}), got ${JSON.stringify(c)}`;
  }
  return null;
}
