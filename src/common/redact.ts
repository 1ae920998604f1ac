// Credential redaction: replaces secrets found in free text (argv, environment, paths, URLs, log
// lines) with a marker and keeps the rest of the text. Applied by the sensor uplink to every string
// field of an event or alert before it is spooled (so nothing unredacted leaves the node), and by
// every pino logger of the backend (see createLogger in src/common/log.ts). All patterns are compiled
// once; a cheap prefilter skips the full pass for strings that cannot contain a secret.

export const REDACTED = '***REDACTED***';

// Characters that end a secret value: whitespace, quotes, JSON escapes and common separators.
const V = `[^\\s"'\\\\&;,<>]+`;
// Value of a `--flag value` / `--flag=value` pair: a quoted string or a bare word.
const FLAG_VALUE = `(?:"[^"]*"|'[^']*'|${V})`;
// Key words that name a secret. `pwd` is deliberately absent (PWD is the working directory).
const SECRET_WORD = `(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key|session[_-]?key|client[_-]?secret)`;

interface Rule {
  re: RegExp;
  replace: string | ((substring: string, ...args: string[]) => string);
}

const RULES: Rule[] = [
  // PEM private key blocks (also when newlines were escaped as \n in JSON).
  {
    re: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|(?=(?<!\\)")|$)/g,
    replace: REDACTED,
  },
  // Authorization headers: `Authorization: Bearer xyz`, `authorization=Basic xyz`.
  {
    re: /\b((?:proxy-)?authorization\s*[:=]\s*)(?:(bearer|basic|token|digest|negotiate)\s+)?([^\s"'\\,;]+)/gi,
    replace: (_m, head: string, scheme: string | undefined) => `${head}${scheme ? scheme + ' ' : ''}${REDACTED}`,
  },
  // Bare bearer tokens anywhere (`curl -H "X: Bearer xyz"`).
  { re: /\b(bearer\s+)([A-Za-z0-9\-._~+/]{8,}=*)/gi, replace: `$1${REDACTED}` },
  // URL user info: scheme://user:password@host -> scheme://user:***REDACTED***@host.
  { re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@"'\\]*):([^\s@/"'\\]+)@/gi, replace: `$1$2:${REDACTED}@` },
  // Command-line flags: --password x, --password=x, --db-password x, --token=x, --api-key x.
  {
    re: new RegExp(`(^|[\\s"'])(--?[A-Za-z0-9_-]*${SECRET_WORD}[A-Za-z0-9_-]*)(=|\\s+)${FLAG_VALUE}`, 'gi'),
    replace: (_m, pre: string, flag: string, sep: string) => `${pre}${flag}${sep}${REDACTED}`,
  },
  // key=value / key: value (environment variables, query strings, config fragments):
  // PASSWORD=x, DB_PASSWORD=x, GITHUB_TOKEN=x, ?token=x, "secret": "x" is handled by the JSON walker.
  {
    re: new RegExp(`\\b([A-Za-z0-9_.-]*${SECRET_WORD}[A-Za-z0-9_.-]*|pass|pwd_hash)(\\s*=\\s*|:\\s*)(${V})`, 'gi'),
    replace: (m, key: string, sep: string, value: string) => {
      // `foo: bar` with a colon only counts when the key itself is a secret word (avoid `http:`).
      if (value === REDACTED || value.startsWith('***')) return m;
      return `${key}${sep}${REDACTED}`;
    },
  },
  // JSON text (log lines): "db_password":"x" -> "db_password":"***REDACTED***".
  {
    re: new RegExp(`("[A-Za-z0-9_.-]*${SECRET_WORD}[A-Za-z0-9_.-]*"\\s*:\\s*")((?:[^"\\\\]|\\\\.)+)"`, 'gi'),
    replace: `$1${REDACTED}"`,
  },
  // AWS access key ids.
  { re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  // Long-lived AWS secret after its env name is covered above; GitHub / Slack style tokens:
  { re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,})\b/g, replace: REDACTED },
];

// A string that matches none of these cannot match any rule above.
const PREFILTER = /pass|secret|token|key|cred|auth|bearer|:\/\/[^\s/]*@|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|gh[pousr]_|xox|glpat|pwd_hash/i;

/**
 * False when no string (key or value) inside the JSON text `json` can hold a credential, i.e. when
 * stringifyRedacted of the value it encodes is that same text: every pattern, and every secret key
 * name, contains a prefilter match, and JSON escaping does not hide one.
 */
export function mayHoldSecret(json: string): boolean {
  return PREFILTER.test(json);
}

/** Returns `s` with every recognised credential replaced by the marker. */
export function redactString(s: string): string {
  if (s.length < 6 || !PREFILTER.test(s)) return s;
  let out = s;
  for (const r of RULES) {
    r.re.lastIndex = 0;
    if (r.re.test(out)) {
      r.re.lastIndex = 0;
      out = out.replace(r.re, r.replace as (substring: string, ...args: unknown[]) => string);
    }
  }
  return out;
}

const SECRET_KEY = new RegExp(`^${SECRET_WORD}$|^(?:[A-Za-z0-9_.-]*[_.-])?${SECRET_WORD}$`, 'i');

/**
 * Redacts every string inside a JSON-like value, in place for objects and arrays (the caller owns
 * the value). Keys that themselves name a secret (`{"password": "x"}`, env maps) get the whole
 * value replaced. Returns the (possibly new, for strings) value.
 */
export function redactValue<T>(v: T, depth = 0): T {
  if (typeof v === 'string') return redactString(v) as unknown as T;
  if (v === null || typeof v !== 'object' || depth > 32) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'string') v[i] = redactString(x);
      else if (x !== null && typeof x === 'object') redactValue(x, depth + 1);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'string') {
      o[k] = SECRET_KEY.test(k) && x.length > 0 ? REDACTED : redactString(x);
    } else if (x !== null && typeof x === 'object') {
      redactValue(x, depth + 1);
    }
  }
  return v;
}

/** Redacts a whole serialised line (e.g. a JSON log line) as text. */
export function redactLine(line: string): string {
  return redactString(line);
}

function replacer(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return key !== '' && SECRET_KEY.test(key) && value.length > 0 ? REDACTED : redactString(value);
}

/** JSON.stringify with every string redacted (the input is not modified). */
export function stringifyRedacted(value: unknown): string {
  return JSON.stringify(value, replacer);
}
