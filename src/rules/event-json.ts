// Rules engine, event line parser for recordings: a block of NDJSON lines (`vigil run --output
// json`) into event objects. Each line gets what JSON.parse gives it, exactly, but the members
// whose text repeats from event to event (the process, its thread, user, group, container,
// namespaces: ~80 % of a line, looked up together as one run; the fd and evt's argument objects,
// repeated whenever the same call is made again) are parsed once per distinct text and the parsed
// object is reused for every later event with the identical text. The engine only reads events
// (no field extractor writes into them; its one memo is keyed by the event object itself, new for
// every line), so sharing these sub-objects between events is safe; the live sensor shares them
// the same way (src/sensor/enrich.ts).
import { isAscii } from 'node:buffer';
import type { Ev } from './types.ts';

/** Top-level members cached by their text and looked up together as a run: per process, thread, user, container or namespace. */
const RUN_KEYS = new Set(['proc', 'thread', 'user', 'group', 'container', 'k8s', 'ns', 'cgroup']);
/** Members cached by their text on their own: the fd, and evt's argument objects (see `evt`). */
const CACHED = new Set([...RUN_KEYS, 'fd', 'arg', 'rawarg']);

/** Distinct texts kept per member before the cache starts over (bounds memory, ~3 KB each). */
const MAX_ENTRIES = 16384;
/** Runs of cached members kept (all fingerprints together) before that cache starts over. */
const MAX_RUNS = 4096;
/** Runs kept per fingerprint (the same process with different threads or credentials). */
const RUNS_PER_PRINT = 8;
/** Characters of a run's start that make its fingerprint. */
const RUN_PRINT = 64;
/** Bytes decoded at a time by parseBlock. */
const PIECE = 64 << 10;

/**
 * A run of consecutive cached members as one text, `"proc":{...},"thread":{...},...`, with the
 * parsed member values: one lookup and one comparison for most of an event.
 */
interface Run {
  text: string;
  bytes: Buffer | undefined;
  members: [string, unknown][];
}

interface Entry {
  /** The member's text (an independent copy, so it does not pin the chunk it was read from). */
  text: string;
  /** The same as bytes when it was read from an ASCII block and is long (compared with one memcmp). */
  bytes: Buffer | undefined;
  value: unknown;
}

/** A copy of a string that shares no memory with its source (slices keep their parent alive). */
function detach(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

/**
 * Fingerprint of text[v, e): every character of a short text (an fd, an argument object: texts
 * that differ in a few characters), else the length, the characters right after the opening brace
 * (the process's pid, the thread's tid) and 32 characters spread over the text. Equal texts have
 * equal fingerprints; a hit is always confirmed by comparing the whole text.
 */
function fingerprint(text: string, v: number, e: number): number {
  const len = e - v;
  let h = len;
  if (len <= 512) {
    for (let k = v; k < e; k++) h = (Math.imul(h, 31) + text.charCodeAt(k)) | 0;
    return h;
  }
  for (let k = 1; k < 24; k++) h = (Math.imul(h, 31) + text.charCodeAt(v + k)) | 0;
  for (let k = 0; k < 32; k++) h = (Math.imul(h, 31) + text.charCodeAt(v + ((k * len) >> 5))) | 0;
  return h;
}

export class EventLineParser {
  private readonly caches = new Map<string, Map<number, Entry>>();
  private readonly runs = new Map<number, Run[]>();
  private runCount = 0;
  /** Runs of members taken whole from the cache; members taken from the cache and parsed. */
  runHits = 0;
  hits = 0;
  misses = 0;

  constructor() {
    for (const k of CACHED) this.caches.set(k, new Map());
  }

  /**
   * Parses a block of whole lines, buf[0, bytes), split as readline (crlfDelay Infinity) splits
   * them: at \n, \r\n and a lone \r; a last line without a line break counts. Blank lines are
   * skipped; `onEvent` gets each event in order; returns the number of lines that are not JSON.
   * Pure ASCII (the usual case) is decoded as Latin-1, identical to UTF-8 then and much cheaper.
   */
  parseBlock(buf: Buffer, bytes: number, onEvent: (ev: Ev) => void): number {
    const all = buf.subarray(0, bytes);
    let bad = 0;
    // decoded in pieces of ~64 KB cut after a line break: small strings are cheap to allocate
    // and to collect, a block-sized one is not
    for (let off = 0; off < bytes; ) {
      let stop = Math.min(bytes, off + PIECE);
      if (stop < bytes) {
        const nl = all.lastIndexOf(10, stop - 1);
        stop = nl >= off ? nl + 1 : all.indexOf(10, stop) + 1 || bytes;
      }
      bad += this.parsePiece(all.subarray(off, stop), onEvent);
      off = stop;
    }
    return bad;
  }

  private parsePiece(sub: Buffer, onEvent: (ev: Ev) => void): number {
    const ascii = isAscii(sub);
    const text = sub.toString(ascii ? 'latin1' : 'utf8');
    let bad = 0;
    if (text.indexOf('\r') >= 0) {
      for (const line of text.split(/\r\n|\n|\r/)) {
        if (line.trim() === '') continue;
        let ev: Ev;
        try {
          ev = this.parse(line);
        } catch {
          bad++;
          continue;
        }
        onEvent(ev);
      }
      return bad;
    }
    const n = text.length;
    const b = ascii ? sub : undefined;
    for (let i = 0; i < n; ) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      const s = i;
      i = j + 1;
      if (text.charCodeAt(s) !== 123 && text.slice(s, j).trim() === '') continue;
      let ev: Ev;
      try {
        ev = this.parseRange(text, s, j, b);
      } catch {
        bad++;
        continue;
      }
      onEvent(ev);
    }
    return bad;
  }

  /** The value JSON.parse(line) returns; throws what it throws. */
  parse(line: string): Ev {
    return this.parseRange(line, 0, line.length, undefined);
  }

  /**
   * The value JSON.parse(text.slice(start, end)) returns, and throws what it throws. `bytes`, when
   * given, holds the same characters as bytes at the same offsets (an ASCII block): cached members
   * are then compared with one memcmp. A line that is not a flat object of object members without
   * whitespace (the recording format) goes to JSON.parse whole.
   */
  parseRange(text: string, start: number, end: number, bytes: Buffer | undefined): Ev {
    if (end - start < 3 || text.charCodeAt(start) !== 123 || text.charCodeAt(end - 1) !== 125 || text.charCodeAt(start + 1) !== 34)
      return JSON.parse(text.slice(start, end)) as Ev;
    const out: Record<string, unknown> = {};
    if (!this.members(text, start + 1, end, bytes, out, false)) return JSON.parse(text.slice(start, end)) as Ev;
    return out as Ev;
  }

  /**
   * Parses the members of the object whose text ends at `end` (exclusive; its closing brace is at
   * end - 1), from the member name's opening quote at i, into `out`: each member's value an
   * object. False when the text is not that (the caller parses it whole instead). Runs of the
   * per-process members are looked up whole at the top level only.
   */
  private members(text: string, i: number, end: number, bytes: Buffer | undefined, out: Record<string, unknown>, nested: boolean): boolean {
    // the run of cached members being parsed one by one: where it starts, what it holds
    let runAt = -1;
    let run: [string, unknown][] = [];
    for (;;) {
      // i is at the opening quote of a member name
      if (text.charCodeAt(i) !== 34) return false;
      const q = text.indexOf('"', i + 1);
      if (q < 0 || q >= end || text.charCodeAt(q + 1) !== 58 || text.charCodeAt(q + 2) !== 123) return false;
      const key = text.slice(i + 1, q);
      if (key.indexOf('\\') >= 0 || key === '__proto__') return false;
      const v = q + 2;
      const cache = this.caches.get(key);
      const runKey = !nested && RUN_KEYS.has(key);
      if (runKey && runAt < 0) {
        // a run of cached members starts here: most often the whole run is known
        const r = this.lookupRun(text, i, end, bytes);
        if (r !== undefined) {
          this.runHits++;
          const ms = r.members;
          for (let k = 0; k < ms.length; k++) {
            const m = ms[k] as [string, unknown];
            out[m[0]] = m[1];
          }
          const after = i + r.text.length;
          if (after === end - 1) return true;
          i = after + 1;
          continue;
        }
        runAt = i;
        run = [];
      } else if (!runKey && runAt >= 0) {
        this.storeRun(text, runAt, i - 1, run, bytes);
        runAt = -1;
      }
      // The member's value is an object: it ends at a '}' followed by ',"' (the next member) or
      // by the object's closing '}'. '},"' also ends nested objects (and can end a string value),
      // so each candidate end is confirmed: by the cache (the identical text parsed before as one
      // complete value) or by parsing the candidate text (which fails unless it is one complete
      // value, i.e. unless the candidate is the brace matching the one at v; it is only tried
      // when the braces before it balance, counted without regard to strings: a cheap filter
      // that spares most failing parses).
      let from = v;
      let depth = 0;
      let stop: number;
      let value: unknown;
      for (;;) {
        let c = text.indexOf('},"', from);
        const last = c < 0 || c + 2 >= end;
        if (last) c = end - 2;
        const e = c + 1;
        if (cache !== undefined) {
          const hit = lookup(cache, text, v, e, bytes);
          if (hit !== undefined) {
            this.hits++;
            value = hit.value;
            stop = e;
            break;
          }
        }
        depth += count(text, '{', from, e) - count(text, '}', from, e);
        if (depth === 0 || last) {
          const got = text.charCodeAt(e - 1) !== 125 ? FAIL : key === 'evt' && !nested ? this.evt(text, v, e, bytes) : tryParse(text.slice(v, e));
          if (got !== FAIL) {
            if (cache !== undefined) {
              this.misses++;
              if (cache.size >= MAX_ENTRIES) cache.clear();
              const t = text.slice(v, e);
              const b = bytes === undefined || e - v <= 512 ? undefined : Buffer.from(bytes.subarray(v, e));
              cache.set(fingerprint(text, v, e), { text: detach(t), bytes: b, value: got });
            }
            value = got;
            stop = e;
            break;
          }
          if (last) return false;
        }
        from = e;
      }
      out[key] = value;
      if (runAt >= 0) run.push([key, value]);
      if (stop === end - 1) {
        if (runAt >= 0) this.storeRun(text, runAt, stop, run, bytes);
        return true;
      }
      i = stop + 1;
    }
  }

  /**
   * The event's own member, text[v, e): what is unique to the event (number, time, cpu, result)
   * comes first and is parsed; its argument objects (`"arg":{...},"rawarg":{...}`, repeated
   * whenever the same call is made again) are taken from their caches. FAIL if text[v, e) is not
   * one JSON value.
   */
  private evt(text: string, v: number, e: number, bytes: Buffer | undefined): unknown {
    const m = text.indexOf(',"arg":{', v);
    if (m < 0 || m >= e) return tryParse(text.slice(v, e));
    // the head as an object of its own: it parses only if the split is at the top level of evt
    const head = tryParse(text.slice(v, m) + '}');
    if (head === null || typeof head !== 'object' || Array.isArray(head) || !this.members(text, m + 1, e, bytes, head as Record<string, unknown>, true))
      return tryParse(text.slice(v, e));
    return head;
  }

  /**
   * A known run of members that text[i, ...) starts with, followed by the next member (',') or
   * by the closing brace of the line.
   */
  private lookupRun(text: string, i: number, end: number, bytes: Buffer | undefined): Run | undefined {
    const list = this.runs.get(runPrint(text, i, end - i));
    if (list === undefined) return undefined;
    for (let k = 0; k < list.length; k++) {
      const r = list[k] as Run;
      const len = r.text.length;
      const after = i + len;
      if (after > end - 1 || (after !== end - 1 && (text.charCodeAt(after) !== 44 || text.charCodeAt(after + 1) !== 34))) continue;
      const same = bytes !== undefined && r.bytes !== undefined ? bytes.compare(r.bytes, 0, len, i, after) === 0 : text.slice(i, after) === r.text;
      if (same) {
        if (k > 0) {
          // most recently used first
          list.splice(k, 1);
          list.unshift(r);
        }
        return r;
      }
    }
    return undefined;
  }

  /** Remembers the members parsed from text[a, b) (whole members, consecutive, all cached kinds). */
  private storeRun(text: string, a: number, b: number, members: [string, unknown][], bytes: Buffer | undefined): void {
    if (this.runCount >= MAX_RUNS) {
      this.runs.clear();
      this.runCount = 0;
    }
    const print = runPrint(text, a, b - a);
    let list = this.runs.get(print);
    if (list === undefined) this.runs.set(print, (list = []));
    if (list.length >= RUNS_PER_PRINT) {
      list.pop();
      this.runCount--;
    }
    list.unshift({ text: detach(text.slice(a, b)), bytes: bytes === undefined ? undefined : Buffer.from(bytes.subarray(a, b)), members });
    this.runCount++;
  }
}

/** Fingerprint of the first RUN_PRINT characters at text[i] (fewer when `avail` is smaller). */
function runPrint(text: string, i: number, avail: number): number {
  const n = Math.min(avail, RUN_PRINT);
  let h = n;
  for (let k = 0; k < n; k++) h = (Math.imul(h, 31) + text.charCodeAt(i + k)) | 0;
  return h;
}

/** The cache entry whose text is exactly text[v, e), if any. */
function lookup(cache: Map<number, Entry>, text: string, v: number, e: number, bytes: Buffer | undefined): Entry | undefined {
  const hit = cache.get(fingerprint(text, v, e));
  if (hit === undefined || hit.text.length !== e - v) return undefined;
  // a long text is compared as bytes (one memcmp), a short one as a string (no native call)
  if (bytes !== undefined && hit.bytes !== undefined) return bytes.compare(hit.bytes, 0, e - v, v, e) === 0 ? hit : undefined;
  return text.slice(v, e) === hit.text ? hit : undefined;
}

/** Occurrences of the character `ch` in line[from, to). */
function count(text: string, c: string, from: number, to: number): number {
  let k = 0;
  for (let i = text.indexOf(c, from); i >= 0 && i < to; i = text.indexOf(c, i + 1)) k++;
  return k;
}

const FAIL: unique symbol = Symbol('not one JSON value');

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return FAIL;
  }
}
