// Exact JSON for 64-bit integers: JSON.parse turns an integer literal beyond 2^53 (an ns time, a
// 64-bit inode or cgroup id in an alert's output_fields) into the nearest double, and writing that
// back changes its digits (1796352333264153154 -> 1796352333264153000). `parseJson` parses such
// text with those integers as bigint, `stringifyJson` writes bigints back as the same bare digits.
// Text without a long integer literal takes JSON.parse (the common, fast case). Imports nothing.

/** True when the text may hold an integer literal JSON.parse cannot keep exactly (16+ digits). */
export function mayHoldBigInt(text: string): boolean {
  return LONG_INT.test(text);
}
// a number literal starts after `:`, `,` or `[` (and whitespace); strings that look like that only
// send the text to the exact parser, which is still correct
const LONG_INT = /[:,[]\s*-?\d{16,}/;

/** JSON.parse, except that integers outside the safe range come back as bigint (exact). */
export function parseJson(text: string): unknown {
  return mayHoldBigInt(text) ? parseExact(text) : JSON.parse(text);
}

/** Like JSON.parse (throws SyntaxError with the offset), integers outside the safe range as bigint. */
export function parseExact(text: string): unknown {
  const p = new ExactParser(text);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.i !== text.length) p.fail('end of input');
  return v;
}

const NUM = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class ExactParser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(expected: string): never {
    const got = this.i < this.s.length ? JSON.stringify(this.s[this.i]) : 'end of input';
    throw new SyntaxError(`JSON at offset ${this.i}: expected ${expected}, got ${got}`);
  }

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.i);
  }

  value(): unknown {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 123) return this.object(); // {
    if (c === 91) return this.array(); // [
    if (c === 34) return this.string(); // "
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (s.startsWith('true', this.i)) return ((this.i += 4), true);
    if (s.startsWith('false', this.i)) return ((this.i += 5), false);
    if (s.startsWith('null', this.i)) return ((this.i += 4), null);
    return this.fail('a JSON value');
  }

  number(): number | bigint {
    NUM.lastIndex = this.i;
    const m = NUM.exec(this.s);
    if (!m) return this.fail('a number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    let j = start + 1;
    let escaped = false;
    for (;;) {
      const c = s.charCodeAt(j);
      if (Number.isNaN(c)) {
        this.i = j;
        return this.fail('the end of a string');
      }
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        j += 2;
        continue;
      }
      if (c < 32) {
        this.i = j;
        return this.fail('no control character in a string');
      }
      j++;
    }
    this.i = j + 1;
    return escaped ? (JSON.parse(s.slice(start, j + 1)) as string) : s.slice(start + 1, j);
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 93) return (this.i++, out);
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 44) this.i++;
      else if (c === 93) return (this.i++, out);
      else this.fail("',' or ']'");
    }
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 125) return (this.i++, out);
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 34) this.fail('a property name');
      const k = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 58) this.fail("':'");
      this.i++;
      this.ws();
      const v = this.value();
      // an own property even for "__proto__", as JSON.parse does
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 44) this.i++;
      else if (c === 125) return (this.i++, out);
      else this.fail("',' or '}'");
    }
  }
}

/** JSON.stringify(v) that writes bigints as bare digits (JSON.stringify throws on them). */
export function stringifyJson(v: unknown): string {
  return containsBigInt(v, 0) ? write(v) : JSON.stringify(v);
}

// JSON.stringify's rules for plain data (objects, arrays, strings, numbers, booleans, null), with
// bigint written as its digits
function write(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      out += (i ? ',' : '') + (x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : write(x));
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + write(x);
    first = false;
  }
  return out + '}';
}

function containsBigInt(v: unknown, depth: number): boolean {
  if (typeof v === 'bigint') return true;
  if (v === null || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (containsBigInt(x, depth + 1)) return true;
    return false;
  }
  for (const k of Object.keys(v)) if (containsBigInt((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}
