// Rules engine, field helpers: fast nested getters, nanosecond arithmetic on decimal strings,
// errno names, IP address keys and path helpers (IP/CIDR parsing: src/common/cidr.ts). Used by the per-class field tables in this folder
// (pipeline: event object -> field extractor -> compiled condition / output formatter).
import type { Ev, Value, Extractor } from '../types.ts';
import { ipv4ToInt, ipv6Words } from '../../common/cidr.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const norm = (v: unknown): Value | undefined => (v === undefined || v === null || typeof v === 'object' ? undefined : (v as Value));

/**
 * Raw value at a dotted Falco path. The event is nested (proc.name is ev.proc.name) but some Falco
 * names are both a leaf and a prefix (container.image / container.image.repository, fd.sip /
 * fd.sip.name, proc.exe_ino / proc.exe_ino.ctime): where the nested object is not there, the
 * remainder of the path is looked up as one flattened key (ev.container['image.repository']), and
 * a fully flattened event (ev['proc.name']) works too.
 */
export function rawGetter(path: string): (ev: Ev) => unknown {
  const p = path.split('.');
  const rest: string[] = p.map((_, i) => p.slice(i).join('.'));
  const n = p.length;
  if (n === 2) {
    const [a, b] = p as [string, string];
    return (ev) => {
      const x = ev[a];
      if (isObj(x)) return x[b];
      return x === undefined ? ev[path] : undefined;
    };
  }
  if (n === 3) {
    const [a, b, c] = p as [string, string, string];
    const bc = `${b}.${c}`;
    return (ev) => {
      const x = ev[a];
      if (!isObj(x)) return x === undefined ? ev[path] : undefined;
      const y = x[b];
      if (isObj(y)) return y[c];
      return x[bc];
    };
  }
  return (ev) => {
    let cur: Obj = ev as Obj;
    for (let i = 0; i < n; i++) {
      const v = cur[p[i] as string];
      if (i === n - 1) return v;
      if (isObj(v)) {
        cur = v;
        continue;
      }
      return cur[rest[i] as string];
    }
    return undefined;
  };
}

/** An extractor that reads a plain event path first (the compiler inlines that read). */
export type PathExtractor = Extractor & { path?: string };

/** Extractor for a dotted path, built once; no allocation per call. */
export function getter(path: string): PathExtractor {
  const raw = rawGetter(path);
  const f: PathExtractor = (ev) => norm(raw(ev));
  f.path = path;
  return f;
}

/** Returns the value as a string (numbers/booleans rendered), or undefined. */
export function asStr(get: Extractor): Extractor {
  return (ev) => {
    const v = get(ev);
    return v === undefined || typeof v === 'string' ? v : String(v);
  };
}

/** Returns the value as a number (numeric strings parsed), or undefined. */
export function asNum(get: Extractor): Extractor {
  return (ev) => {
    const v = get(ev);
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === '') return undefined;
      const n = Number(v);
      return Number.isNaN(n) ? undefined : n;
    }
    if (typeof v === 'boolean') return v ? 1 : 0;
    return undefined;
  };
}

export function asBool(get: Extractor): Extractor {
  return (ev) => {
    const v = get(ev);
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    if (typeof v === 'number') return v !== 0;
    return undefined;
  };
}

/** First defined of several extractors (keeps the first one's plain path, if any). */
export function firstOf(...gets: Extractor[]): PathExtractor {
  if (gets.length === 2) {
    const [a, b] = gets as [Extractor, Extractor];
    const f: PathExtractor = (ev) => {
      const v = a(ev);
      return v !== undefined ? v : b(ev);
    };
    f.path = (a as PathExtractor).path;
    return f;
  }
  return (ev) => {
    for (let i = 0; i < gets.length; i++) {
      const v = (gets[i] as Extractor)(ev);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** Reads element i of an array at a dotted path. */
export function arrayElem(path: string, i: number): Extractor {
  const raw = rawGetter(path);
  return (ev) => {
    const a = raw(ev);
    if (!Array.isArray(a) || i >= a.length) return undefined;
    const v = a[i];
    return v === undefined || v === null || typeof v === 'object' ? undefined : (v as Value);
  };
}

export function arrayAll(path: string): (ev: Ev) => readonly Value[] | undefined {
  const raw = rawGetter(path);
  return (ev) => {
    const a = raw(ev);
    return Array.isArray(a) ? (a as Value[]) : undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Nanosecond times: events carry ns since epoch as decimal strings (beyond 2^53).

export function nsToParts(v: string | number): [number, number] {
  if (typeof v === 'number') return [Math.floor(v / 1e9), v % 1e9];
  if (v.length <= 9) return [0, Number(v)];
  return [Number(v.slice(0, -9)), Number(v.slice(-9))];
}

/** a - b in nanoseconds (exact below ~104 days, approximate beyond). */
export function nsDiff(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [sa, na] = nsToParts(a);
  const [sb, nb] = nsToParts(b);
  return (sa - sb) * 1e9 + (na - nb);
}

/** Validates a decimal ns string / number; returns the canonical decimal string or undefined. */
export function nsString(v: unknown): string | undefined {
  if (typeof v === 'string') return /^\d+$/.test(v) ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.trunc(v)).toString();
  return undefined;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

// Alerts render two times per event of the same second, over and over: the date part of the
// last second is kept (one entry each; the local-time one also keys on process.env.TZ).
let rfcSec = NaN;
let rfcPrefix = '';
let todSec = NaN;
let todTz: string | undefined;
let todPrefix = '';

/** RFC 3339 UTC with nanoseconds, as Falco's json "time". */
export function nsToRfc3339(ns: string): string {
  const [s, n] = nsToParts(ns);
  if (s !== rfcSec) {
    const d = new Date(s * 1000);
    rfcPrefix =
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
      `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.`;
    rfcSec = s;
  }
  return `${rfcPrefix}${pad(n, 9)}Z`;
}

/** Falco's %evt.time rendering: local time of day with nanoseconds (HH:MM:SS.nnnnnnnnn). */
export function nsToTimeOfDay(ns: string): string {
  const [s, n] = nsToParts(ns);
  const tz = process.env.TZ;
  if (s !== todSec || tz !== todTz) {
    const d = new Date(s * 1000);
    todPrefix = `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.`;
    todSec = s;
    todTz = tz;
  }
  return `${todPrefix}${pad(n, 9)}`;
}

/** Falco's %evt.datetime: YYYY-MM-DD HH:MM:SS.nnnnnnnnn (local time). */
export function nsToDateTime(ns: string): string {
  const [s, n] = nsToParts(ns);
  const d = new Date(s * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)} ${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(n, 9)}`;
}

/** Falco's %evt.time.iso8601: 2024-01-02T03:04:05.123456789+0000 (UTC). */
export function nsToIso8601(ns: string): string {
  return nsToRfc3339(ns).replace(/Z$/, '+0000');
}

// ---------------------------------------------------------------------------------------------
// errno names (Linux, x86-64/arm64 generic numbering), for evt.res.

const ERRNO_NAMES = [
  '',
  'EPERM',
  'ENOENT',
  'ESRCH',
  'EINTR',
  'EIO',
  'ENXIO',
  'E2BIG',
  'ENOEXEC',
  'EBADF',
  'ECHILD',
  'EAGAIN',
  'ENOMEM',
  'EACCES',
  'EFAULT',
  'ENOTBLK',
  'EBUSY',
  'EEXIST',
  'EXDEV',
  'ENODEV',
  'ENOTDIR',
  'EISDIR',
  'EINVAL',
  'ENFILE',
  'EMFILE',
  'ENOTTY',
  'ETXTBSY',
  'EFBIG',
  'ENOSPC',
  'ESPIPE',
  'EROFS',
  'EMLINK',
  'EPIPE',
  'EDOM',
  'ERANGE',
  'EDEADLK',
  'ENAMETOOLONG',
  'ENOLCK',
  'ENOSYS',
  'ENOTEMPTY',
  'ELOOP',
  '',
  'ENOMSG',
  'EIDRM',
  'ECHRNG',
  'EL2NSYNC',
  'EL3HLT',
  'EL3RST',
  'ELNRNG',
  'EUNATCH',
  'ENOCSI',
  'EL2HLT',
  'EBADE',
  'EBADR',
  'EXFULL',
  'ENOANO',
  'EBADRQC',
  'EBADSLT',
  '',
  'EBFONT',
  'ENOSTR',
  'ENODATA',
  'ETIME',
  'ENOSR',
  'ENONET',
  'ENOPKG',
  'EREMOTE',
  'ENOLINK',
  'EADV',
  'ESRMNT',
  'ECOMM',
  'EPROTO',
  'EMULTIHOP',
  'EDOTDOT',
  'EBADMSG',
  'EOVERFLOW',
  'ENOTUNIQ',
  'EBADFD',
  'EREMCHG',
  'ELIBACC',
  'ELIBBAD',
  'ELIBSCN',
  'ELIBMAX',
  'ELIBEXEC',
  'EILSEQ',
  'ERESTART',
  'ESTRPIPE',
  'EUSERS',
  'ENOTSOCK',
  'EDESTADDRREQ',
  'EMSGSIZE',
  'EPROTOTYPE',
  'ENOPROTOOPT',
  'EPROTONOSUPPORT',
  'ESOCKTNOSUPPORT',
  'EOPNOTSUPP',
  'EPFNOSUPPORT',
  'EAFNOSUPPORT',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'ENETDOWN',
  'ENETUNREACH',
  'ENETRESET',
  'ECONNABORTED',
  'ECONNRESET',
  'ENOBUFS',
  'EISCONN',
  'ENOTCONN',
  'ESHUTDOWN',
  'ETOOMANYREFS',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EALREADY',
  'EINPROGRESS',
  'ESTALE',
  'EUCLEAN',
  'ENOTNAM',
  'ENAVAIL',
  'EISNAM',
  'EREMOTEIO',
  'EDQUOT',
  'ENOMEDIUM',
  'EMEDIUMTYPE',
  'ECANCELED',
  'ENOKEY',
  'EKEYEXPIRED',
  'EKEYREVOKED',
  'EKEYREJECTED',
  'EOWNERDEAD',
  'ENOTRECOVERABLE',
  'ERFKILL',
  'EHWPOISON',
];

/** Falco's evt.res: "SUCCESS" for res >= 0, the errno name (e.g. "ENOENT") otherwise. */
export function resString(res: number): string {
  if (res >= 0) return 'SUCCESS';
  const name = ERRNO_NAMES[-res];
  return name ? name : String(res);
}

// ---------------------------------------------------------------------------------------------
// IP addresses. IPv4 as an unsigned 32-bit number; IPv6 as 8 16-bit words.

/** Canonical key for equality of IP addresses ("v4:N" / "v6:w:w:..."), undefined if not an IP. */
export function ipKey(s: string): string | undefined {
  const v4 = ipv4ToInt(s);
  if (v4 >= 0) return `v4:${v4}`;
  const w = ipv6Words(s);
  if (!w) return undefined;
  // IPv4-mapped IPv6 compares equal to the IPv4 address
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `v4:${(w[6] as number) * 65536 + (w[7] as number)}`;
  }
  return `v6:${w.join(':')}`;
}

// ---------------------------------------------------------------------------------------------
// Paths

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return p.slice(0, i);
}

export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** Resolves and normalises a path against a cwd (Falco-style, no symlink resolution). */
export function absPath(p: string, cwd: string | undefined): string {
  let full = p;
  if (!p.startsWith('/')) {
    if (cwd === undefined) return p;
    full = (cwd.endsWith('/') ? cwd : cwd + '/') + p;
  }
  const out: string[] = [];
  for (const seg of full.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

export const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'open_by_handle_at', 'creat']);
