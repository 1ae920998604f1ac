// Rules engine, string matchers used by compiled conditions: glob (fnmatch semantics, as Falco's
// glob/iglob), RE2-compatible regular expressions (Falco's regex operator: whole-value match),
// path-prefix matching (pmatch), ASCII case-insensitive search (icontains) and hex byte strings
// (bcontains / bstartswith).

export class MatcherError extends Error {}

/** ASCII case-insensitive substring search; `needle` must already be lower-case. No allocation. */
export function ciIncludes(hay: string, needle: string): boolean {
  const n = needle.length;
  const last = hay.length - n;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < n; j++) {
      let c = hay.charCodeAt(i + j);
      if (c >= 65 && c <= 90) c += 32;
      if (c !== needle.charCodeAt(j)) continue outer;
    }
    return true;
  }
  return false;
}

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  word: '\\w',
};

const reEscape = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** fnmatch(3) without flags (so `*` also matches `/`), backslash escapes active. */
export function globToRegExp(glob: string, caseInsensitive: boolean): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\') {
      i++;
      out += i < glob.length ? reEscape(glob[i] as string) : '\\\\';
    } else if (c === '[') {
      // bracket expression; if it does not close, '[' is literal
      let j = i + 1;
      let neg = false;
      if (glob[j] === '!' || glob[j] === '^') {
        neg = true;
        j++;
      }
      let body = '';
      let first = true;
      let closed = false;
      while (j < glob.length) {
        const d = glob[j] as string;
        if (d === ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (d === '[' && glob[j + 1] === ':') {
          const end = glob.indexOf(':]', j + 2);
          const cls = end > 0 ? POSIX_CLASSES[glob.slice(j + 2, end)] : undefined;
          if (cls !== undefined && end > 0) {
            body += cls;
            j = end + 2;
            continue;
          }
        }
        if (d === '\\' && j + 1 < glob.length) {
          body += reEscape(glob[j + 1] as string);
          j += 2;
          continue;
        }
        if (d === '-' && body !== '' && glob[j + 1] !== ']' && j + 1 < glob.length) {
          body += '-';
          j++;
          continue;
        }
        body += reEscape(d);
        j++;
      }
      if (!closed) {
        out += '\\[';
        continue;
      }
      out += `[${neg ? '^' : ''}${body}]`;
      i = j;
    } else out += reEscape(c);
  }
  return new RegExp(`^${out}$`, caseInsensitive ? 'i' : '');
}

/**
 * Translates an RE2 pattern to a JavaScript RegExp matching the whole value (Falco's regex uses
 * RE2 full match). RE2-only syntax is translated ((?P<name>, (?i), [[:alpha:]], \A, \z, \Q..\E);
 * syntax RE2 rejects is rejected here too (backreferences, lookaround, atomic groups, \C).
 */
export function re2ToRegExp(pattern: string): RegExp {
  let flags = '';
  let p = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) {
    for (const f of lead[1] as string) {
      if (f === 'U') throw new MatcherError('the (?U) flag is not supported');
      if (!flags.includes(f)) flags += f;
    }
    p = p.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  let unicode = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined) throw new MatcherError('trailing backslash');
      if (/[1-9]/.test(n) && !inClass) throw new MatcherError('backreferences (\\' + n + ') are not supported by RE2');
      if (n === 'k' && p[i + 2] === '<') throw new MatcherError('named backreferences are not supported by RE2');
      if (n === 'C') throw new MatcherError('\\C is not supported');
      if (n === 'A' && !inClass) {
        out += '^';
        i++;
        continue;
      }
      if (n === 'z' && !inClass) {
        out += '$';
        i++;
        continue;
      }
      if (n === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        const lit = end < 0 ? p.slice(i + 2) : p.slice(i + 2, end);
        out += reEscape(lit);
        i = end < 0 ? p.length : end + 1;
        continue;
      }
      if (n === 'p' || n === 'P') unicode = true;
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const end = p.indexOf(':]', i + 2);
        const name = end > 0 ? p.slice(i + 2, end) : '';
        const neg = name.startsWith('^');
        const cls = POSIX_CLASSES[neg ? name.slice(1) : name];
        if (cls === undefined) throw new MatcherError(`invalid character class [:${name}:]`);
        if (neg) throw new MatcherError('negated POSIX classes are not supported');
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (p[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (p[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const rest = p.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        throw new MatcherError('lookaround assertions are not supported by RE2');
      }
      if (rest.startsWith('>')) throw new MatcherError('atomic groups are not supported by RE2');
      if (rest.startsWith('P=')) throw new MatcherError('named backreferences are not supported by RE2');
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (rest.startsWith(':') || rest.startsWith('<')) {
        out += c;
        continue;
      }
      throw new MatcherError('inline flags are only supported at the start of the pattern');
    }
    out += c;
  }
  if (inClass) throw new MatcherError('missing ]');
  if (unicode) flags += 'u';
  try {
    return new RegExp(`^(?:${out})$`, flags);
  } catch (e) {
    throw new MatcherError((e as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** Falco's pmatch: true if the value is one of the paths or lies under one of them. */
export function pathPrefixMatcher(prefixes: readonly string[]): (v: string) => boolean {
  const norm = prefixes.map((p) => p.replace(/\/+$/, ''));
  if (norm.includes('')) return (v) => v.startsWith('/');
  const exact = new Set(norm);
  return (v) => {
    if (exact.has(v)) return true;
    for (let i = 0; i < norm.length; i++) {
      const p = norm[i] as string;
      if (v.length > p.length && v.charCodeAt(p.length) === 47 && v.startsWith(p)) return true;
    }
    return false;
  };
}

/** Parses a hex byte string ("2f746d70") for bcontains / bstartswith. */
export function parseHexBytes(s: string): Buffer {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new MatcherError(`'${s}' is not a valid hex byte string`);
  return Buffer.from(s, 'hex');
}
