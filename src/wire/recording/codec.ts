// The binary event recording ("vigil" format, docs/recording.md): a compact, exact codec for
// streams of events (FieldTrees). A file is a header (magic + format version) and a sequence of
// self-contained blocks; each block carries its events as tagged values with interned strings,
// interned object shapes (key lists) and interned records (the objects the enricher shares between
// the events of one process: proc, user, group, container, k8s, ns, cgroup), all reset per block,
// so any block decodes on its own and a damaged block loses only itself. Exact by construction:
// JSON.stringify of a decoded event equals JSON.stringify of the event that was encoded, byte for
// byte. Malformed input throws a RecordingError naming the source, the byte offset and what was
// expected. Imports only abi and common (wire layer).
import { crc32 } from 'node:zlib';
import type { FieldTree } from '../../abi/event.ts';
import { VigilError } from '../../common/errors.ts';

/** First 8 bytes of a recording (0x89 and the line feed catch text-mode transfers, as in PNG). */
export const MAGIC = Buffer.from([0x89, 0x56, 0x47, 0x4c, 0x52, 0x45, 0x43, 0x0a]); // \x89VGLREC\n
export const FORMAT_VERSION = 1;
/** magic (8) + u32 LE version */
export const HEADER_SIZE = 12;
/** u32 LE payload length, u32 LE event count, u32 LE CRC-32 of the payload */
export const BLOCK_HEADER_SIZE = 12;
/** A block payload larger than this is refused (a corrupt length must not allocate gigabytes). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/** Nesting deeper than this is refused (a crafted file must not overflow the stack). */
export const MAX_DEPTH = 64;
/** The event keys whose object values are encoded as records (shared by the events of a process). */
export const RECORD_KEYS: readonly string[] = ['proc', 'user', 'group', 'container', 'k8s', 'ns', 'cgroup'];

// value tags (one byte); 0x80..0xff: the unsigned integer (tag - 0x80), 0..127
const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_INT = 3; // zigzag varint, |n| < 2^52
const T_F64 = 4; // float64 LE (also -0, fractions, large numbers)
const T_STR = 5; // varint byte length + UTF-8; appended to the string table
const T_STR_REF = 6; // varint index into the string table
const T_STR16 = 7; // varint code-unit count + UTF-16LE (strings that UTF-8 cannot keep: lone surrogates); appended
const T_DEC = 8; // decimal string of digits as varint high part + varint low 9 digits; appended
const T_DEC_DELTA = 9; // decimal string = previous decimal in the same shape slot + zigzag varint; appended
const T_ARR = 10; // varint count + values
const T_OBJ_NEW = 11; // varint key count + keys (string values) + values; appended to the shape table
const T_OBJ = 12; // varint shape index + values
const T_REC_NEW = 13; // an object value (T_OBJ / T_OBJ_NEW); appended to the record table
const T_REC_REF = 14; // varint index into the record table
const T_BIGINT = 15; // a bigint (exact-JSON parsers make them): string value of its digits
const SMALL = 0x80;

/** A malformed recording: where (source, byte offset) and what was expected. */
export class RecordingError extends VigilError {
  constructor(
    readonly source: string,
    readonly offset: number,
    readonly expected: string,
    got?: string,
  ) {
    super('VIGIL_E_RECORDING', `byte offset ${offset}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`, { where: { file: source } });
  }
}

/** The recording header as bytes. */
export function fileHeader(): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  return b;
}

/** Checks a file header; throws a RecordingError at the offset of the first wrong byte. */
export function checkHeader(buf: Uint8Array, source: string): void {
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= buf.length) throw new RecordingError(source, i, 'the recording magic \\x89VGLREC\\n', 'end of file');
    if (buf[i] !== MAGIC[i]) throw new RecordingError(source, i, 'the recording magic \\x89VGLREC\\n', `byte 0x${buf[i]!.toString(16)}`);
  }
  if (buf.length < HEADER_SIZE) throw new RecordingError(source, buf.length, 'the 4-byte format version', 'end of file');
  const v = (buf[8]! | (buf[9]! << 8) | (buf[10]! << 16)) + buf[11]! * 0x1000000;
  if (v !== FORMAT_VERSION) throw new RecordingError(source, 8, `format version ${FORMAT_VERSION}`, `version ${v}`);
}

/**
 * A node of the encoder's key trie: the path from the root spells a key list. Looking a shape up
 * walks an object's keys through it (no key array, no joined signature per object). A node whose
 * `gen` is the open block's has been written in that block as shape `id`.
 */
interface ShapeNode {
  next: Map<string, ShapeNode> | undefined;
  /** the key list ending here (set once an object with exactly these keys was seen) */
  keys: string[] | undefined;
  gen: number;
  id: number;
  /** index of this shape's first key among all shape slots of the block (decimal delta registers) */
  slot: number;
}
/** The trie is dropped and rebuilt when it grows past this many nodes (unbounded key variety). */
const MAX_TRIE_NODES = 200_000;
const newNode = (): ShapeNode => ({ next: undefined, keys: undefined, gen: -1, id: 0, slot: 0 });

const MAX_INT = 2 ** 52;

/**
 * Encodes events into blocks. Not thread-safe, not async: `add` appends one event to the open
 * block, `takeBlock` closes it and returns its bytes (header included). Records are recognised by
 * object identity, and, on an identity miss, by content (their JSON text), so streams that do not
 * share objects (parsed ndjson, a rebuilt process view) still store each record once per block.
 */
export class BlockEncoder {
  private buf: Buffer;
  private pos = BLOCK_HEADER_SIZE;
  private count = 0;
  private strings = new Map<string, number>();
  private root = newNode();
  private trieNodes = 0;
  private gen = 0;
  private shapeCount = 0;
  private slots = 0;
  private decHi: number[] = [];
  private decLo: number[] = [];
  private recById = new Map<object, number>();
  private recByText = new Map<string, number>();
  private records = 0;

  constructor(initialBytes = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 1024));
  }

  /** events in the open block */
  get events(): number {
    return this.count;
  }
  /** bytes of the open block, header included */
  get size(): number {
    return this.pos;
  }

  add(ev: FieldTree): void {
    const start = this.pos;
    try {
      this.encodeEvent(ev);
    } catch (e) {
      this.pos = start; // an unencodable event (a cycle, a function) leaves the block as it was
      throw e;
    }
    this.count++;
  }

  /** Closes the open block: its bytes (header + payload), or undefined when it holds no event. */
  takeBlock(): Buffer | undefined {
    if (this.count === 0) return undefined;
    const b = this.buf;
    const len = this.pos - BLOCK_HEADER_SIZE;
    b.writeUInt32LE(len, 0);
    b.writeUInt32LE(this.count, 4);
    b.writeUInt32LE(crc32(b.subarray(BLOCK_HEADER_SIZE, this.pos)), 8);
    const out = Buffer.from(b.subarray(0, this.pos));
    this.reset();
    return out;
  }

  private reset(): void {
    this.pos = BLOCK_HEADER_SIZE;
    this.count = 0;
    this.strings.clear();
    this.gen++;
    this.shapeCount = 0;
    this.slots = 0;
    this.decHi.length = 0;
    this.decLo.length = 0;
    this.recById = new Map();
    this.recByText.clear();
    this.records = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** unsigned varint, n < 2^53 */
  private uv(n: number): void {
    this.ensure(8);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.pos++] = n;
  }

  private encodeEvent(ev: FieldTree): void {
    const shape = this.shape(ev);
    const keys = shape.keys!;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = ev[k]!;
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && RECORD_KEYS.includes(k)) this.record(v);
      else this.value(v, shape.slot + i, 1);
    }
  }

  private record(v: FieldTree): void {
    let id = this.recById.get(v);
    if (id === undefined) {
      const text = contentKey(v);
      id = text === undefined ? undefined : this.recByText.get(text);
      if (id === undefined) {
        this.byte(T_REC_NEW);
        this.value(v, -1, 1);
        id = this.records++;
        if (text !== undefined) this.recByText.set(text, id);
        this.recById.set(v, id);
        return;
      }
      this.recById.set(v, id);
    }
    this.byte(T_REC_REF);
    this.uv(id);
  }

  /** Writes the shape of an object (new in the block: inline with its keys; else its index). */
  private shape(o: Record<string, unknown>): ShapeNode {
    let node = this.root;
    for (const k in o) {
      const x = o[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol' || !Object.hasOwn(o, k)) continue;
      let next = node.next?.get(k);
      if (next === undefined) {
        if (++this.trieNodes > MAX_TRIE_NODES) return this.shapeFresh(o);
        next = newNode();
        (node.next ??= new Map()).set(k, next);
      }
      node = next;
    }
    node.keys ??= keysOf(o);
    if (node.gen === this.gen) {
      this.byte(T_OBJ);
      this.uv(node.id);
      return node;
    }
    node.gen = this.gen;
    node.id = this.shapeCount++;
    node.slot = this.slots;
    const keys = node.keys;
    this.slots += keys.length;
    this.byte(T_OBJ_NEW);
    this.uv(keys.length);
    for (const k of keys) this.string(k, -1);
    return node;
  }

  /** The trie grew too large: start a new one (shapes already written get new ids, which is valid). */
  private shapeFresh(o: Record<string, unknown>): ShapeNode {
    this.root = newNode();
    this.trieNodes = 0;
    return this.shape(o);
  }

  private value(v: unknown, slot: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new VigilError('VIGIL_E_INTERNAL', `recording: an event nests deeper than ${MAX_DEPTH} levels`);
    switch (typeof v) {
      case 'string':
        this.string(v, slot);
        return;
      case 'number':
        this.number(v);
        return;
      case 'boolean':
        this.byte(v ? T_TRUE : T_FALSE);
        return;
      case 'bigint':
        this.byte(T_BIGINT);
        this.string(v.toString(), -1);
        return;
      case 'object': {
        if (v === null) {
          this.byte(T_NULL);
          return;
        }
        if (Array.isArray(v)) {
          this.byte(T_ARR);
          this.uv(v.length);
          for (let i = 0; i < v.length; i++) {
            const x: unknown = v[i];
            // JSON writes undefined (and functions) in arrays as null
            if (x === undefined || typeof x === 'function' || typeof x === 'symbol') this.byte(T_NULL);
            else this.value(x, -1, depth + 1);
          }
          return;
        }
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
          this.value((v as { toJSON(): unknown }).toJSON(), slot, depth);
          return;
        }
        const o = v as Record<string, unknown>;
        const s = this.shape(o);
        const keys = s.keys!;
        for (let i = 0; i < keys.length; i++) this.value(o[keys[i]!], s.slot + i, depth + 1);
        return;
      }
      default:
        throw new VigilError('VIGIL_E_INTERNAL', `recording: cannot encode a value of type ${typeof v}`);
    }
  }

  private number(n: number): void {
    if (Number.isInteger(n) && n > -MAX_INT && n < MAX_INT && !(n === 0 && 1 / n < 0)) {
      if (n >= 0 && n < 0x80) {
        this.byte(SMALL + n);
        return;
      }
      this.byte(T_INT);
      this.uv(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    this.byte(T_F64);
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  private string(s: string, slot: number): void {
    const idx = this.strings.get(s);
    if (idx !== undefined) {
      this.byte(T_STR_REF);
      this.uv(idx);
      return;
    }
    this.strings.set(s, this.strings.size);
    if (isDecimal(s)) {
      this.decimal(s, slot);
      return;
    }
    this.ensure(8 + s.length * 3);
    const b = this.buf;
    // ASCII fast path: length then the bytes
    const lenPos = this.pos + 1;
    let ascii = s.length < 0x80;
    if (ascii) {
      let p = lenPos + 1;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        b[p++] = c;
      }
      if (ascii) {
        b[this.pos] = T_STR;
        b[lenPos] = s.length;
        this.pos = p;
        return;
      }
    }
    if (!(s as WellFormed).isWellFormed()) {
      this.byte(T_STR16);
      this.uv(s.length);
      this.ensure(s.length * 2);
      for (let i = 0; i < s.length; i++) {
        this.buf.writeUInt16LE(s.charCodeAt(i), this.pos);
        this.pos += 2;
      }
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.byte(T_STR);
    this.uv(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private decimal(s: string, slot: number): void {
    const cut = s.length - 9;
    const hi = cut > 0 ? Number(s.slice(0, cut)) : 0;
    const lo = cut > 0 ? Number(s.slice(cut)) : Number(s);
    if (slot >= 0) {
      const ph = this.decHi[slot];
      if (ph !== undefined) {
        const d = (hi - ph) * 1e9 + (lo - this.decLo[slot]!);
        if (d > -MAX_INT && d < MAX_INT) {
          this.decHi[slot] = hi;
          this.decLo[slot] = lo;
          this.byte(T_DEC_DELTA);
          this.uv(d >= 0 ? d * 2 : -d * 2 - 1);
          return;
        }
      }
      this.decHi[slot] = hi;
      this.decLo[slot] = lo;
    }
    this.byte(T_DEC);
    this.uv(hi);
    this.uv(lo);
  }
}

/** The keys JSON.stringify writes for an object: own enumerable keys with a value it can write. */
function keysOf(o: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k in o) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol' || !Object.hasOwn(o, k)) continue;
    keys.push(k);
  }
  return keys;
}

/** The JSON text of a record (its identity by content), undefined when it has none (a bigint). */
function contentKey(v: FieldTree): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

/**
 * A string the decimal encoding keeps exactly: digits only, no leading zero (but "0"), at most 24
 * digits (the high part stays below 2^53).
 */
function isDecimal(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 24) return false;
  const c0 = s.charCodeAt(0);
  if (c0 < 48 || c0 > 57 || (c0 === 48 && n > 1)) return false;
  for (let i = 1; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function decimalText(hi: number, lo: number): string {
  if (hi === 0) return String(lo);
  const l = String(lo);
  return String(hi) + (l.length === 9 ? l : '000000000'.slice(l.length) + l);
}

/** String.prototype.isWellFormed (Node 20; lib es2024 in TypeScript) */
type WellFormed = string & { isWellFormed(): boolean };
/** Buffer's unchecked slicers (public on Buffer.prototype, absent from @types/node). */
type SliceBuffer = Buffer & { utf8Slice(start: number, end: number): string; ucs2Slice(start: number, end: number): string };

interface DecShape {
  keys: string[];
  slot: number;
  proto: boolean;
  /** builds the object with one literal (fast properties, no transitions); undefined: generic */
  make: MakeObject | undefined;
  /** the same for an event (its record keys may hold records) */
  makeTop: MakeObject | undefined;
}

type MakeObject = (d: BlockDecoder, slot: number, depth: number) => FieldTree;

/**
 * Object builders by key list, compiled once and shared by all blocks and decoders: a function
 * returning an object literal with the shape's keys in order, each value read from the decoder.
 * Keys enter the source only as JSON string literals (never as code); `__proto__` is a computed
 * key there, so it stays an own property as in JSON.parse. Bounded: cleared when full.
 */
const builders = new Map<string, MakeObject>();
const MAX_BUILDERS = 4096;
/** Shapes with more keys than this are built generically (a literal that large buys nothing). */
const MAX_BUILDER_KEYS = 128;

function builderOf(keys: string[], top: boolean): MakeObject | undefined {
  if (keys.length > MAX_BUILDER_KEYS) return undefined;
  const sig = (top ? 'T' : 'N') + JSON.stringify(keys);
  let f = builders.get(sig);
  if (f === undefined) {
    const call = top ? 'd.field(s + ' : 'd.value(s + ';
    const props = keys.map((k, i) => `${k === '__proto__' ? '["__proto__"]' : JSON.stringify(k)}: ${call}${i}, depth)`);
    f = new Function('d', 's', 'depth', `return {${props.join(', ')}};`) as MakeObject;
    if (builders.size >= MAX_BUILDERS) builders.clear();
    builders.set(sig, f);
  }
  return f;
}

/**
 * Decodes one block payload. `base`: the payload's byte offset in its source (for errors). The
 * returned events share their record objects (a process's proc, user, ... objects) as the encoder
 * saw them shared; events are read-only.
 */
export class BlockDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private base = 0;
  private source = '';
  private strings: string[] = [];
  private shapes: DecShape[] = [];
  private slots = 0;
  private decHi: number[] = [];
  private decLo: number[] = [];
  private records: FieldTree[] = [];

  private count_ = 0;
  private done_ = 0;

  /** Decodes a whole block payload into `out`. */
  decode(buf: Buffer, start: number, end: number, count: number, base: number, source: string, out: FieldTree[]): void {
    this.begin(buf, start, end, count, base, source);
    this.next(count, out);
  }

  /** Starts a block payload of `count` events at buf[start, end); `base`: the payload's offset in the source. */
  begin(buf: Buffer, start: number, end: number, count: number, base: number, source: string): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.base = base - start;
    this.source = source;
    this.strings.length = 0;
    this.shapes.length = 0;
    this.slots = 0;
    this.decHi.length = 0;
    this.decLo.length = 0;
    this.records.length = 0;
    this.count_ = count;
    this.done_ = 0;
  }

  /** True while the block begun last has events left. */
  get open(): boolean {
    return this.done_ < this.count_;
  }

  /** Decodes up to `max` more events of the block into `out`; returns how many. */
  next(max: number, out: FieldTree[]): number {
    const count = this.count_;
    const stop = Math.min(count, this.done_ + max);
    const first = this.done_;
    for (let i = first; i < stop; i++) {
      const at = this.pos;
      const t = this.tag();
      if (t !== T_OBJ && t !== T_OBJ_NEW) this.fail(at, `event ${i + 1} of ${count} of the block (an object)`, `tag ${t}`);
      out.push(this.object(t, 0, true));
      this.done_ = i + 1;
    }
    if (this.done_ === count) {
      if (this.pos !== this.end) this.fail(this.pos, `the end of the block after ${count} events`, `${this.end - this.pos} more bytes`);
      this.buf = Buffer.alloc(0); // do not keep the caller's buffer alive
    }
    return stop - first;
  }

  private fail(at: number, expected: string, got?: string): never {
    throw new RecordingError(this.source, this.base + at, expected, got);
  }

  private tag(): number {
    if (this.pos >= this.end) this.fail(this.pos, 'a value', 'the end of the block');
    return this.buf[this.pos++]!;
  }

  private uv(): number {
    const b = this.buf;
    let p = this.pos;
    let c = p < this.end ? b[p++]! : this.fail(p, 'a varint', 'the end of the block');
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let n = c & 0x7f;
    let mul = 0x80;
    for (let i = 1; ; i++) {
      if (p >= this.end) this.fail(p, 'the rest of a varint', 'the end of the block');
      c = b[p++]!;
      n += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 0x80;
      if (i >= 7) this.fail(this.pos, 'a varint of at most 8 bytes');
    }
    this.pos = p;
    return n;
  }

  private zz(): number {
    const u = this.uv();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  private count(what: string): number {
    const at = this.pos;
    const n = this.uv();
    // every element takes at least one byte: a larger count is corruption, not a reason to allocate
    if (n > this.end - this.pos) this.fail(at, `${what} within the block (${this.end - this.pos} bytes left)`, String(n));
    return n;
  }

  /** One value (public for the compiled object builders). */
  value(slot: number, depth: number): unknown {
    const at = this.pos;
    const t = this.tag();
    if (t >= SMALL) return t - SMALL;
    switch (t) {
      case T_STR:
      case T_STR_REF:
      case T_STR16:
        return this.stringOf(t, at);
      case T_DEC:
      case T_DEC_DELTA:
        return this.decimal(t, slot, at);
      case T_OBJ:
      case T_OBJ_NEW:
        if (depth >= MAX_DEPTH) this.fail(at, `nesting of at most ${MAX_DEPTH} levels`);
        return this.object(t, depth + 1, false);
      case T_ARR: {
        if (depth >= MAX_DEPTH) this.fail(at, `nesting of at most ${MAX_DEPTH} levels`);
        const n = this.count('an array length');
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.value(-1, depth + 1);
        return a;
      }
      case T_INT:
        return this.zz();
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NULL:
        return null;
      case T_F64: {
        if (this.pos + 8 > this.end) this.fail(this.pos, 'an 8-byte float', 'the end of the block');
        const f = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return f;
      }
      case T_BIGINT: {
        const st = this.pos;
        const s = this.stringOf(this.tag(), st);
        if (!/^-?\d+$/.test(s)) this.fail(st, 'the digits of a bigint', JSON.stringify(s.slice(0, 40)));
        return BigInt(s);
      }
      default:
        return this.fail(at, 'a value tag', `tag ${t}`);
    }
  }

  private stringOf(t: number, at: number): string {
    if (t === T_STR_REF) {
      const i = this.uv();
      const s = this.strings[i];
      if (s === undefined) this.fail(at, `a string index below ${this.strings.length}`, String(i));
      return s;
    }
    if (t === T_STR) {
      const n = this.count('a string length');
      const p = this.pos;
      const s = (this.buf as SliceBuffer).utf8Slice(p, p + n);
      this.pos = p + n;
      this.strings.push(s);
      return s;
    }
    if (t === T_STR16) {
      const n = this.uv();
      if (n * 2 > this.end - this.pos) this.fail(at, 'a UTF-16 string within the block', `${n} code units`);
      const p = this.pos;
      const s = (this.buf as SliceBuffer).ucs2Slice(p, p + n * 2);
      this.pos = p + n * 2;
      this.strings.push(s);
      return s;
    }
    if (t === T_DEC || t === T_DEC_DELTA) return this.decimal(t, -1, at);
    return this.fail(at, 'a string', `tag ${t}`);
  }

  private decimal(t: number, slot: number, at: number): string {
    let hi: number;
    let lo: number;
    if (t === T_DEC) {
      hi = this.uv();
      lo = this.uv();
      if (lo >= 1e9 || hi >= 1e15) this.fail(at, 'a decimal of at most 24 digits');
    } else {
      const ph = slot >= 0 ? this.decHi[slot] : undefined;
      if (ph === undefined) this.fail(at, 'a decimal delta after a decimal in the same field');
      const d = this.zz();
      // exact in doubles: d % 1e9 is exact, and d - r is a whole multiple of 1e9
      const r = d % 1e9;
      let h = ph + (d - r) / 1e9;
      let l = this.decLo[slot]! + r;
      if (l < 0) {
        l += 1e9;
        h -= 1;
      } else if (l >= 1e9) {
        l -= 1e9;
        h += 1;
      }
      if (h < 0 || h >= 1e15) this.fail(at, 'a decimal delta that keeps the value within 0 and 24 digits');
      hi = h;
      lo = l;
    }
    if (slot >= 0) {
      this.decHi[slot] = hi;
      this.decLo[slot] = lo;
    }
    const s = decimalText(hi, lo);
    this.strings.push(s);
    return s;
  }

  private shapeOf(t: number): DecShape {
    if (t === T_OBJ) {
      const at = this.pos;
      const i = this.uv();
      const s = this.shapes[i];
      if (s === undefined) this.fail(at, `a shape index below ${this.shapes.length}`, String(i));
      return s;
    }
    const n = this.count('a key count');
    const keys = new Array<string>(n);
    let proto = false;
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const k = this.stringOf(this.tag(), at);
      if (k === '__proto__') proto = true;
      keys[i] = k;
    }
    const s: DecShape = { keys, slot: this.slots, proto, make: undefined, makeTop: undefined };
    this.slots += n;
    this.shapes.push(s);
    return s;
  }

  /** A value of an event's own key: a record reference or definition, or any value. */
  field(slot: number, depth: number): unknown {
    const t = this.pos < this.end ? this.buf[this.pos] : -1;
    return t === T_REC_REF || t === T_REC_NEW ? this.record() : this.value(slot, depth);
  }

  private object(t: number, depth: number, top: boolean): FieldTree {
    const s = this.shapeOf(t);
    const make = top ? (s.makeTop ??= builderOf(s.keys, true)) : (s.make ??= builderOf(s.keys, false));
    if (make !== undefined) return make(this, s.slot, depth);
    const keys = s.keys;
    const o: FieldTree = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      let v: unknown;
      if (top && this.pos < this.end && (this.buf[this.pos] === T_REC_REF || this.buf[this.pos] === T_REC_NEW)) v = this.record();
      else v = this.value(s.slot + i, depth);
      if (s.proto && k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      else o[k] = v as FieldTree[string];
    }
    return o;
  }

  private record(): FieldTree {
    const at = this.pos;
    const t = this.buf[this.pos++]!;
    if (t === T_REC_REF) {
      const i = this.uv();
      const r = this.records[i];
      if (r === undefined) this.fail(at, `a record defined earlier in the block (index below ${this.records.length})`, `record ${i}`);
      return r;
    }
    const ot = this.tag();
    if (ot !== T_OBJ && ot !== T_OBJ_NEW) this.fail(this.pos - 1, 'the object of a record', `tag ${ot}`);
    const r = this.object(ot, 1, false);
    this.records.push(r);
    return r;
  }
}

/** The end marker: an empty block (length 0, 0 events, CRC 0) written by a writer that closed. */
export function endMarker(): Buffer {
  return Buffer.alloc(BLOCK_HEADER_SIZE);
}

/**
 * Reads a recording pushed in chunks of any size: checks the header, then decodes each block once
 * it is complete. `push` returns the events of the blocks it completed (in order); `end` checks
 * that the file ended cleanly (its end marker, nothing cut). Every error names the source and the
 * byte offset; the events of the blocks before the damage have been returned by then.
 */
export class RecordingDecoder {
  /** bytes of the source before `pending` */
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  /** read position in `pending` */
  private p = 0;
  private headerDone = false;
  private ended = false;
  private readonly blocks = new BlockDecoder();
  events = 0;
  blockCount = 0;

  constructor(readonly source: string) {}

  /** Adds bytes and decodes every event they complete into `out` (returned). */
  push(chunk: Buffer, out: FieldTree[] = []): FieldTree[] {
    this.append(chunk);
    this.read(out, Number.POSITIVE_INFINITY);
    return out;
  }

  /** Adds bytes without decoding (then `read` in batches of the size you want). */
  append(chunk: Buffer): void {
    if (!this.blocks.open && this.p === this.pending.length) {
      this.offset += this.p;
      this.pending = chunk;
      this.p = 0;
    } else {
      // the open block's decoder keeps positions into `pending`: a concatenation keeps them
      this.pending = Buffer.concat([this.pending, chunk]);
    }
  }

  /** Decodes up to `max` events from the bytes appended so far into `out`; returns how many. */
  read(out: FieldTree[], max: number): number {
    let n = 0;
    while (n < max) {
      if (this.blocks.open) {
        const k = this.blocks.next(max - n, out);
        n += k;
        this.events += k;
        continue;
      }
      if (!this.step()) break;
    }
    // drop what was consumed (never under an open block: its decoder points into `pending`)
    if (!this.blocks.open && this.p > 0) {
      this.offset += this.p;
      this.pending = this.p === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(this.p);
      this.p = 0;
    }
    return n;
  }

  /** Reads the header or the next block header and begins that block; false when more bytes are needed. */
  private step(): boolean {
    const b = this.pending;
    let p = this.p;
    if (!this.headerDone) {
      if (b.length < HEADER_SIZE) {
        // a wrong magic is reported as soon as it shows
        for (let i = 0; i < Math.min(b.length, MAGIC.length); i++)
          if (b[i] !== MAGIC[i]) throw new RecordingError(this.source, i, 'the recording magic \\x89VGLREC\\n', `byte 0x${b[i]!.toString(16)}`);
        return false;
      }
      checkHeader(b, this.source);
      this.headerDone = true;
      this.p = HEADER_SIZE;
      return true;
    }
    if (b.length - p < BLOCK_HEADER_SIZE) return false;
    const at = this.offset + p;
    if (this.ended) throw new RecordingError(this.source, at, 'the end of the file after the end marker', `${b.length - p} more bytes`);
    const len = b.readUInt32LE(p);
    const count = b.readUInt32LE(p + 4);
    const crc = b.readUInt32LE(p + 8);
    if (len === 0) {
      if (count !== 0 || crc !== 0)
        throw new RecordingError(
          this.source,
          at,
          'a block header (an empty block is the end marker: 0 events, CRC 0)',
          `${count} events, CRC 0x${crc.toString(16)}`,
        );
      this.ended = true;
      this.p = p + BLOCK_HEADER_SIZE;
      return true;
    }
    if (len > MAX_BLOCK_BYTES) throw new RecordingError(this.source, at, `a block length of at most ${MAX_BLOCK_BYTES} bytes`, String(len));
    if (count === 0 || count > len) throw new RecordingError(this.source, at + 4, `an event count between 1 and the block length ${len}`, String(count));
    if (b.length - p - BLOCK_HEADER_SIZE < len) return false;
    const start = p + BLOCK_HEADER_SIZE;
    const got = crc32(b.subarray(start, start + len));
    if (got !== crc)
      throw new RecordingError(
        this.source,
        at + 8,
        `the block's CRC-32 0x${crc.toString(16)} (block of ${len} bytes at offset ${at})`,
        `0x${got.toString(16)}`,
      );
    p = start + len;
    this.p = p;
    this.blockCount++;
    this.blocks.begin(b, start, start + len, count, this.offset + start, this.source);
    return true;
  }

  /** The input ended: throws unless the file ended with its end marker and nothing after it. */
  end(): void {
    const left = this.pending.length - this.p;
    if (this.blocks.open) throw new VigilError('VIGIL_E_INTERNAL', 'RecordingDecoder.end() with events left to read');
    if (!this.headerDone) throw new RecordingError(this.source, left, 'a recording header of 12 bytes', `end of file after ${left} bytes`);
    if (left > 0) {
      const want = left >= BLOCK_HEADER_SIZE ? `a block of ${this.pending.readUInt32LE(this.p)} bytes after its header` : 'a 12-byte block header';
      throw new RecordingError(this.source, this.offset + this.p, want, `end of file after ${left} bytes (the file is cut)`);
    }
    if (!this.ended)
      throw new RecordingError(this.source, this.offset + this.p, 'the end marker (the writer did not close the recording: the file is cut)', 'end of file');
  }
}

/** Decodes a whole recording held in memory (its events; throws as RecordingDecoder does). */
export function decodeRecording(buf: Buffer, source = '<buffer>'): FieldTree[] {
  const d = new RecordingDecoder(source);
  const out = d.push(buf);
  d.end();
  return out;
}

/** Encodes events as a whole recording in memory (header, blocks of about blockBytes, end marker). */
export function encodeRecording(events: Iterable<FieldTree>, blockBytes = 1024 * 1024): Buffer {
  const parts: Buffer[] = [fileHeader()];
  const enc = new BlockEncoder();
  for (const ev of events) {
    enc.add(ev);
    if (enc.size >= blockBytes) parts.push(enc.takeBlock()!);
  }
  const last = enc.takeBlock();
  if (last) parts.push(last);
  parts.push(endMarker());
  return Buffer.concat(parts);
}
