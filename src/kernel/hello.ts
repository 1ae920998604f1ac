// The loader's hello line: the one parser of the text the loader sends first (VGL_K_HELLO,
// native/loader.c): space-separated key=value fields, e.g.
//   abi=2 ncpu=2 lsm=0 fanotify=1 pid=42 boot_offset_ns=1700000000000000000 host_mntns=4026531841
//   enforce=1 enforce_error=- wakeup_ms=5
// A value may contain spaces (enforce_error is a sentence): a word without `=` continues the value
// before it. Unknown keys are kept in `fields` (a newer loader may add some); a line that does not
// start with key=value, or a missing or non-numeric abi, is an error naming the byte offset and
// what was expected.
import { VigilError } from '../common/errors.ts';

export interface Hello {
  /** the loader's event ABI (VGL_ABI_VERSION it was built with) */
  abi: number;
  ncpu: number;
  /** BPF-LSM programs loaded */
  lsm: boolean;
  /** the fanotify enforcer started */
  fanotify: boolean;
  /** the loader's pid */
  pid: number;
  /** CLOCK_REALTIME - CLOCK_BOOTTIME at start, ns (added to event timestamps) */
  bootOffsetNs: bigint;
  /** mount namespace inode of the host (0: unknown) */
  hostMntns: number;
  /** the network enforcement object loaded */
  enforce: boolean;
  /** why it did not load (absent when it did) */
  enforceError?: string;
  /** ring-buffer drain period, ms */
  wakeupMs: number;
  /** every field as sent */
  fields: Record<string, string>;
  /** the line as sent */
  text: string;
}

function bad(text: string, offset: number, expected: string): VigilError {
  return new VigilError('VIGIL_E_LOADER_ABI', `loader hello, offset ${offset}: expected ${expected} in ${JSON.stringify(text)}`, {
    exitCode: 2,
    where: 'loader',
  });
}

/** Parses the hello line; throws VIGIL_E_LOADER_ABI (exit code 2) on a malformed line. */
export function parseHello(text: string): Hello {
  const fields: Record<string, string> = {};
  const offsets: Record<string, number> = {};
  const re = /\S+/g;
  let last: string | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const eq = m[0].indexOf('=');
    if (eq < 0 && last !== undefined) {
      fields[last] += ` ${m[0]}`;
      continue;
    }
    if (eq <= 0) throw bad(text, m.index, 'key=value');
    const key = m[0].slice(0, eq);
    last = key;
    if (!/^[a-z][a-z0-9_]*$/.test(key)) throw bad(text, m.index, 'a lower-case key');
    fields[key] = m[0].slice(eq + 1);
    offsets[key] = m.index + eq + 1;
  }
  const int = (key: string, dflt?: number): number => {
    const v = fields[key];
    if (v === undefined) {
      if (dflt === undefined) throw bad(text, text.length, `${key}=<integer>`);
      return dflt;
    }
    if (!/^-?\d+$/.test(v)) throw bad(text, offsets[key]!, `an integer for ${key}`);
    return Number(v);
  };
  const flag = (key: string): boolean => int(key, 0) !== 0;
  const off = fields.boot_offset_ns;
  if (off !== undefined && !/^-?\d+$/.test(off)) throw bad(text, offsets.boot_offset_ns!, 'an integer for boot_offset_ns');
  const h: Hello = {
    abi: int('abi'),
    ncpu: int('ncpu', 0),
    lsm: flag('lsm'),
    fanotify: flag('fanotify'),
    pid: int('pid', 0),
    bootOffsetNs: off === undefined ? 0n : BigInt(off),
    hostMntns: int('host_mntns', 0),
    enforce: flag('enforce'),
    wakeupMs: int('wakeup_ms', 0),
    fields,
    text,
  };
  const err = fields.enforce_error;
  if (!h.enforce && err !== undefined && err !== '-' && err !== '') h.enforceError = err;
  return h;
}

/** parseHello for text that may not be a hello line (e.g. a status from an older sensor): undefined instead of an error. */
export function tryParseHello(text: string | undefined): Hello | undefined {
  if (!text) return undefined;
  try {
    return parseHello(text);
  } catch {
    return undefined;
  }
}
