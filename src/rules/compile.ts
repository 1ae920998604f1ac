// Rules engine, condition compiler: turns a resolved condition AST (macros and lists already
// expanded, see resolve.ts) into a tree of closures `(event) => boolean`, built once per rule.
// Type checking happens here: each field has a Falco type, each operator accepts some types, and
// literal values are parsed once to the field's type (numbers, booleans, IP addresses, networks,
// globs, regexes). A missing field makes every comparison false (also `!=`); `exists` tests it.
import type { Expr, FieldRef, LiteralArg, Operand, Pos, Rhs, ValueExpr } from './ast.ts';
import { lookupField } from './fields/index.ts';
import { cidrContains, ipv4ToInt, parseCidr, type Cidr } from '../common/cidr.ts';
import { basename as pathBasename, ipKey } from './fields/util.ts';
import { asciiLower, ciIncludes, globToRegExp, MatcherError, parseHexBytes, pathPrefixMatcher, re2ToRegExp } from './matchers.ts';
import type { Ev, Extractor, FieldType, ListExtractor, Value } from './types.ts';

export type Predicate = (ev: Ev) => boolean;

export class CompileError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
    readonly unknownField = false,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

/** A compiled operand: a single-valued extractor, or a list extractor (any-element semantics). */
export interface CompiledOperand {
  name: string;
  type: FieldType;
  get: Extractor;
  list?: ListExtractor;
  /** Plain event path of the value (split), read inline by the fast predicates. */
  path?: string[];
}

const TYPE_NAMES: Record<FieldType, string> = {
  string: 'string',
  path: 'path',
  int: 'number',
  port: 'port',
  bool: 'bool',
  ipaddr: 'IP address',
  ipnet: 'IP network',
  abstime: 'absolute time',
  reltime: 'relative time',
  dynamic: 'dynamic',
};

const STRING_TYPES = new Set<FieldType>(['string', 'path']);
const NUMERIC_TYPES = new Set<FieldType>(['int', 'port', 'reltime', 'abstime']);

const OPS_BY_TYPE = (t: FieldType): ReadonlySet<string> => {
  if (STRING_TYPES.has(t)) {
    return new Set([
      '=',
      '==',
      '!=',
      'contains',
      'icontains',
      'bcontains',
      'startswith',
      'bstartswith',
      'endswith',
      'glob',
      'iglob',
      'regex',
      'in',
      'intersects',
      'pmatch',
      'exists',
    ]);
  }
  if (NUMERIC_TYPES.has(t)) return new Set(['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects', 'exists']);
  if (t === 'dynamic') {
    return new Set([
      '=',
      '==',
      '!=',
      '<',
      '<=',
      '>',
      '>=',
      'contains',
      'icontains',
      'startswith',
      'endswith',
      'glob',
      'iglob',
      'regex',
      'in',
      'intersects',
      'pmatch',
      'exists',
    ]);
  }
  return new Set(['=', '==', '!=', 'in', 'intersects', 'exists']);
};

function fieldLabel(f: FieldRef): string {
  return f.arg === undefined ? f.name : `${f.name}[${f.arg}]`;
}

// ---------------------------------------------------------------------------------------------
// Operands

export function compileField(f: FieldRef): CompiledOperand {
  const r = lookupField(f.name, f.arg);
  if ('error' in r) throw new CompileError(r.error, f.pos, r.error.startsWith('unknown field'));
  const { def, arg } = r;
  const out: CompiledOperand = { name: fieldLabel(f), type: def.type, get: def.build(arg) };
  if (arg === undefined && def.buildList) out.list = def.buildList();
  if (arg === undefined && def.path !== undefined && !out.list) out.path = def.path.split('.');
  return out;
}

function b64decode(s: string): string | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

function mapStr(op: CompiledOperand, fn: (s: string) => string | undefined, outType: FieldType = 'string'): CompiledOperand {
  const g = op.get;
  const out: CompiledOperand = {
    name: op.name,
    type: outType,
    get: (ev) => {
      const v = g(ev);
      return v === undefined ? undefined : fn(String(v));
    },
  };
  if (op.list) {
    const l = op.list;
    out.list = (ev) => {
      const a = l(ev);
      if (a === undefined) return undefined;
      const res: Value[] = [];
      for (const x of a) {
        const y = fn(String(x));
        if (y !== undefined) res.push(y);
      }
      return res;
    };
  }
  return out;
}

export function compileOperand(o: Operand | LiteralArg): CompiledOperand {
  if (o.kind === 'field') return compileField(o);
  if (o.kind === 'literal') {
    const v = o.value;
    return { name: JSON.stringify(v), type: 'string', get: () => v };
  }
  const args = o.args.map(compileOperand);
  const label = `${o.fn}(${args.map((a) => a.name).join(', ')})`;
  const needString = (a: CompiledOperand): void => {
    if (!STRING_TYPES.has(a.type) && a.type !== 'dynamic') {
      throw new CompileError(`transformer '${o.fn}' requires a string field, '${a.name}' is of type ${TYPE_NAMES[a.type]}`, o.pos);
    }
  };
  let res: CompiledOperand;
  switch (o.fn) {
    case 'tolower':
      needString(args[0] as CompiledOperand);
      res = mapStr(args[0] as CompiledOperand, asciiLower);
      break;
    case 'toupper':
      needString(args[0] as CompiledOperand);
      res = mapStr(args[0] as CompiledOperand, (s) => s.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32)));
      break;
    case 'b64':
      needString(args[0] as CompiledOperand);
      res = mapStr(args[0] as CompiledOperand, b64decode);
      break;
    case 'basename':
      needString(args[0] as CompiledOperand);
      res = mapStr(args[0] as CompiledOperand, pathBasename, 'string');
      break;
    case 'len': {
      const a = args[0] as CompiledOperand;
      if (a.list) {
        const l = a.list;
        res = { name: '', type: 'int', get: (ev) => l(ev)?.length ?? 0 };
      } else {
        needString(a);
        const g = a.get;
        res = {
          name: '',
          type: 'int',
          get: (ev) => {
            const v = g(ev);
            return v === undefined ? undefined : Buffer.byteLength(String(v), 'utf8');
          },
        };
      }
      break;
    }
    case 'join': {
      const [sep, list] = args as [CompiledOperand, CompiledOperand];
      if (sep.list) throw new CompileError('join() first argument (separator) must be a single value, not a list', o.pos);
      if (!list.list) throw new CompileError('join() second argument must be a list', o.pos);
      const sg = sep.get;
      const lg = list.list;
      res = {
        name: '',
        type: 'string',
        get: (ev) => {
          const s = sg(ev);
          const l = lg(ev);
          return s === undefined || l === undefined ? undefined : l.join(String(s));
        },
      };
      break;
    }
    case 'concat': {
      for (const a of args) {
        if (a.list || (!STRING_TYPES.has(a.type) && a.type !== 'dynamic')) throw new CompileError('concat() arguments must be strings', o.pos);
      }
      const gs = args.map((a) => a.get);
      res = {
        name: '',
        type: 'string',
        get: (ev) => {
          let out = '';
          for (const g of gs) {
            const v = g(ev);
            if (v === undefined) return undefined;
            out += String(v);
          }
          return out;
        },
      };
      break;
    }
  }
  res.name = label;
  return res;
}

// ---------------------------------------------------------------------------------------------
// Literal values

function parseNumber(v: string): number | undefined {
  const s = v.trim();
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) {
    const neg = s.startsWith('-');
    const n = parseInt(s.replace(/^[+-]/, ''), 16);
    return neg ? -n : n;
  }
  if (/^[+-]?[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  return undefined;
}

/** Canonical decimal for absolute times (may exceed 2^53): digits without leading zeros. */
function canonDec(s: string): string | undefined {
  if (!/^\+?[0-9]+$/.test(s)) return undefined;
  const d = s.replace(/^\+?0*/, '');
  return d === '' ? '0' : d;
}

function cmpDec(a: string, b: string): number {
  const x = a.length > 1 && a.charCodeAt(0) === 48 ? a.replace(/^0+/, '') || '0' : a;
  if (x.length !== b.length) return x.length < b.length ? -1 : 1;
  return x < b ? -1 : x > b ? 1 : 0;
}

type Pred1 = (v: Value) => boolean;

function literalError(v: ValueExpr, what: string, field: string): CompileError {
  return new CompileError(`'${v.value}' is not a valid ${what} for field '${field}'`, v.pos);
}

/** Builds the single-value predicate of `field OP literal(s)` for a field type. */
function valuePredicate(op: string, type: FieldType, vals: ValueExpr[], field: string): Pred1 {
  const first = vals[0] as ValueExpr;
  const isList = op === 'in' || op === 'intersects' || op === 'pmatch';
  if (STRING_TYPES.has(type)) {
    const s = first?.value ?? '';
    switch (op) {
      case '=':
      case '==':
        return (v) => v === s;
      case '!=':
        return (v) => v !== s;
      case 'contains':
        return (v) => (v as string).includes(s);
      case 'icontains': {
        const l = asciiLower(s);
        return (v) => ciIncludes(v as string, l);
      }
      case 'startswith':
        return (v) => (v as string).startsWith(s);
      case 'endswith':
        return (v) => (v as string).endsWith(s);
      case 'bcontains':
      case 'bstartswith': {
        let bytes: Buffer;
        try {
          bytes = parseHexBytes(s);
        } catch (e) {
          throw new CompileError((e as Error).message, first.pos);
        }
        return op === 'bcontains'
          ? (v) => Buffer.from(v as string, 'utf8').includes(bytes)
          : (v) => {
              const b = Buffer.from(v as string, 'utf8');
              return b.length >= bytes.length && b.subarray(0, bytes.length).equals(bytes);
            };
      }
      case 'glob':
      case 'iglob': {
        const re = globToRegExp(s, op === 'iglob');
        return (v) => re.test(v as string);
      }
      case 'regex': {
        let re: RegExp;
        try {
          re = re2ToRegExp(s);
        } catch (e) {
          throw new CompileError(`invalid regular expression '${s}': ${(e as Error).message}`, first.pos);
        }
        return (v) => re.test(v as string);
      }
      case 'pmatch': {
        const m = pathPrefixMatcher(vals.map((x) => x.value));
        return (v) => m(v as string);
      }
      case 'in':
      case 'intersects': {
        if (vals.length === 1) return (v) => v === s;
        const set = new Set(vals.map((x) => x.value));
        return (v) => set.has(v as string);
      }
    }
  }
  if (type === 'abstime') {
    const decs = vals.map((x) => {
      const d = canonDec(x.value);
      if (d === undefined) throw literalError(x, 'number', field);
      return d;
    });
    const d = decs[0] as string;
    switch (op) {
      case '=':
      case '==':
        return (v) => cmpDec(v as string, d) === 0;
      case '!=':
        return (v) => cmpDec(v as string, d) !== 0;
      case '<':
        return (v) => cmpDec(v as string, d) < 0;
      case '<=':
        return (v) => cmpDec(v as string, d) <= 0;
      case '>':
        return (v) => cmpDec(v as string, d) > 0;
      case '>=':
        return (v) => cmpDec(v as string, d) >= 0;
      default:
        return (v) => decs.some((x) => cmpDec(v as string, x) === 0);
    }
  }
  if (NUMERIC_TYPES.has(type)) {
    const nums = vals.map((x) => {
      const n = parseNumber(x.value);
      if (n === undefined) throw literalError(x, 'number', field);
      return n;
    });
    const n = nums[0] as number;
    switch (op) {
      case '=':
      case '==':
        return (v) => v === n;
      case '!=':
        return (v) => v !== n;
      case '<':
        return (v) => (v as number) < n;
      case '<=':
        return (v) => (v as number) <= n;
      case '>':
        return (v) => (v as number) > n;
      case '>=':
        return (v) => (v as number) >= n;
      default: {
        const set = new Set(nums);
        return (v) => set.has(v as number);
      }
    }
  }
  if (type === 'bool') {
    const bs = vals.map((x) => {
      if (x.value === 'true') return true;
      if (x.value === 'false') return false;
      throw literalError(x, 'boolean (true or false)', field);
    });
    const b = bs[0] as boolean;
    if (op === '!=') return (v) => v !== b;
    if (isList) return (v) => bs.includes(v as boolean);
    return (v) => v === b;
  }
  if (type === 'ipaddr') {
    const keys = vals.map((x) => {
      const k = ipKey(x.value);
      if (k === undefined) throw literalError(x, 'IP address', field);
      return k;
    });
    const set = new Set(keys);
    // IPv4 literals compare as numbers (no string building per event)
    if (keys.every((k) => k.startsWith('v4:'))) {
      const nums = new Set(keys.map((k) => Number(k.slice(3))));
      const has = (v: Value): boolean => {
        const n = ipv4ToInt(v as string);
        return n >= 0 ? nums.has(n) : set.has(ipKey(v as string) ?? '');
      };
      return op === '!=' ? (v) => !has(v) : has;
    }
    if (op === '!=') return (v) => !set.has(ipKey(v as string) ?? '');
    return (v) => set.has(ipKey(v as string) ?? '');
  }
  if (type === 'ipnet') {
    const nets: Cidr[] = vals.map((x) => {
      const c = parseCidr(x.value);
      if (c === undefined) throw literalError(x, 'network (CIDR)', field);
      return c;
    });
    const v4nets = nets.filter((c) => c.v4 !== undefined).map((c) => c.v4 as { net: number; mask: number });
    const anyNet = (v: Value): boolean => {
      // an IPv4 value is parsed once for all networks (cidrContains would parse it per network)
      const ip = ipv4ToInt(v as string);
      if (ip >= 0) {
        for (let i = 0; i < v4nets.length; i++) {
          const c = v4nets[i] as { net: number; mask: number };
          if ((ip & c.mask) >>> 0 === c.net) return true;
        }
        return false;
      }
      for (const c of nets) if (cidrContains(c, v as string)) return true;
      return false;
    };
    return op === '!=' ? (v) => !anyNet(v) : anyNet;
  }
  // dynamic (evt.rawarg.*): numeric comparison when both sides are numbers, string otherwise
  const strPred = valuePredicate(op === '<' || op === '<=' || op === '>' || op === '>=' ? '=' : op, 'string', vals, field);
  const nums = vals.map((x) => parseNumber(x.value));
  const allNum = nums.every((x) => x !== undefined);
  const numPred = allNum ? valuePredicate(op, 'int', vals, field) : undefined;
  return (v) => {
    if (typeof v === 'number' && numPred) return numPred(v);
    if (op === '<' || op === '<=' || op === '>' || op === '>=') return false;
    return strPred(String(v));
  };
}

/** Runtime comparison of two extracted values (val(field) and transformers on the RHS). */
function dynamicCompare(op: string, type: FieldType, pos: Pos): (a: Value, b: Value) => boolean {
  const numeric = NUMERIC_TYPES.has(type) && type !== 'abstime';
  const N = (x: Value): number => (typeof x === 'number' ? x : Number(x));
  switch (op) {
    case '=':
    case '==':
    case 'in':
    case 'intersects':
      return numeric ? (a, b) => N(a) === N(b) : (a, b) => String(a) === String(b);
    case '!=':
      return numeric ? (a, b) => N(a) !== N(b) : (a, b) => String(a) !== String(b);
    case '<':
      return type === 'abstime' ? (a, b) => cmpDec(String(a), String(b)) < 0 : (a, b) => N(a) < N(b);
    case '<=':
      return type === 'abstime' ? (a, b) => cmpDec(String(a), String(b)) <= 0 : (a, b) => N(a) <= N(b);
    case '>':
      return type === 'abstime' ? (a, b) => cmpDec(String(a), String(b)) > 0 : (a, b) => N(a) > N(b);
    case '>=':
      return type === 'abstime' ? (a, b) => cmpDec(String(a), String(b)) >= 0 : (a, b) => N(a) >= N(b);
    case 'contains':
      return (a, b) => String(a).includes(String(b));
    case 'icontains':
      return (a, b) => ciIncludes(String(a), asciiLower(String(b)));
    case 'startswith':
      return (a, b) => String(a).startsWith(String(b));
    case 'endswith':
      return (a, b) => String(a).endsWith(String(b));
    case 'pmatch':
      return (a, b) => pathPrefixMatcher([String(b)])(String(a));
    default:
      throw new CompileError(`operator '${op}' cannot be used with a field on the right-hand side`, pos);
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

function anyOf(list: ListExtractor, pred: Pred1): Predicate {
  return (ev) => {
    const a = list(ev);
    if (a === undefined) return false;
    for (let i = 0; i < a.length; i++) if (pred(a[i] as Value)) return true;
    return false;
  };
}

const JS_TYPE: Partial<Record<FieldType, string>> = {
  string: 'string',
  path: 'string',
  ipaddr: 'string',
  ipnet: 'string',
  int: 'number',
  port: 'number',
  reltime: 'number',
  bool: 'boolean',
};

type Obj = Record<string, unknown>;

/** JS text reading a 2- or 3-level plain event path into `v` (undefined when a level is missing). */
function pathReadCode(p: readonly string[]): string {
  const [a, b, c] = p as [string, string, string | undefined];
  const acc = (k: string): string => `[${JSON.stringify(k)}]`;
  return c === undefined
    ? `const x = ev${acc(a)}; let v = x == null ? undefined : x${acc(b)};`
    : `const x = ev${acc(a)}; let v; if (x != null) { const y = x${acc(b)}; v = y == null || typeof y !== 'object' ? undefined : y${acc(c)}; }`;
}

/** The inline form of a comparison as JS text over `v` and a constant `k`, when it has one
 * (string equality, contains, startswith, endswith, set membership; number comparisons). */
function inlineTest(op: string, isStr: boolean, isNum: boolean, vals: ValueExpr[]): { test?: string; k: unknown } {
  let k: unknown = vals[0]?.value ?? '';
  if (isStr) {
    switch (op) {
      case '=':
      case '==':
        return { test: 'v === k', k };
      case '!=':
        return { test: 'v !== k', k };
      case 'contains':
        return { test: 'v.includes(k)', k };
      case 'startswith':
        return { test: 'v.startsWith(k)', k };
      case 'endswith':
        return { test: 'v.endsWith(k)', k };
      case 'in':
      case 'intersects':
        return { test: 'k.has(v)', k: new Set(vals.map((x) => x.value)) };
      default:
        return { k };
    }
  }
  if (isNum && ['=', '==', '!=', '<', '<=', '>', '>='].includes(op)) {
    k = parseNumber((vals[0] as ValueExpr).value);
    if (k !== undefined) return { test: `v ${op === '=' || op === '==' ? '===' : op === '!=' ? '!==' : op} k`, k };
  }
  return { k };
}

/**
 * Fused "read field + compare" closures for the common case of a field read from a plain
 * 2- or 3-level event path: one closure call per check instead of a chain of small closures.
 * When the inline read gives no value of the right type, the field's full extractor (flattened
 * keys, derivations, coercion) is used.
 */
function fastPredicate(left: CompiledOperand, op: string, vals: ValueExpr[], pred: Pred1): Predicate | undefined {
  const p = left.path;
  const jt = JS_TYPE[left.type];
  if (p === undefined || jt === undefined || (p.length !== 2 && p.length !== 3)) return undefined;
  const slow = left.get;
  // Each check gets its own generated function (constants bound as parameters), so the property
  // reads have their own inline caches instead of sharing one megamorphic site across all checks.
  const readCode = pathReadCode(p);
  const inl = inlineTest(op, left.type === 'string' || left.type === 'path', jt === 'number', vals);
  const test = inl.test ?? 'pred(v)';
  const k = inl.k;
  const body = `return function check(ev) { ${readCode} if (typeof v !== ${JSON.stringify(jt)}) { v = slow(ev); if (v === undefined) return false; } return ${test}; };`;
  return new Function('slow', 'pred', 'k', body)(slow, pred, k) as Predicate;
}

/**
 * The pieces of a fused "read field + compare" check, for callers that generate code (plan.ts):
 * the field's value is `read` (the plain path read inline when it has the right JS type, else the
 * full extractor; undefined when missing) and the check is `value !== undefined && test`, where
 * `test` is JS text over `v` (the value), `k` (a constant) and `pred` (the generic predicate).
 * Same semantics as the closure compileExpr builds. Undefined when the check has no fast form.
 */
export interface FastLeaf {
  /** Identifies the value read (same key, same value for a given event). */
  fieldKey: string;
  /** Source of a function `(ev) => value | undefined` to be bound to `slow`. */
  readCode: string;
  slow: Extractor;
  test: string;
  k: unknown;
  pred: Pred1;
}

export function fastLeaf(e: Expr): FastLeaf | undefined {
  if (e.kind !== 'binary' || e.left.kind !== 'field') return undefined;
  const r = e.right;
  if (r.kind !== 'value' && r.kind !== 'list') return undefined;
  const left = compileField(e.left);
  checkOp(left, e.op, e.pos);
  const p = left.path;
  const jt = JS_TYPE[left.type];
  if (left.list || p === undefined || jt === undefined || (p.length !== 2 && p.length !== 3)) return undefined;
  if (r.kind === 'list' && (r.bareName || (e.op !== 'in' && e.op !== 'intersects' && e.op !== 'pmatch'))) return undefined;
  const vals = r.kind === 'list' ? r.items : [r];
  if (vals.length === 0) return undefined;
  const pred = valuePredicate(e.op, left.type, vals, left.name);
  const readCode = `return function read(ev) { ${pathReadCode(p)} return typeof v === ${JSON.stringify(jt)} ? v : slow(ev); };`;
  const { test, k } = inlineTest(e.op, left.type === 'string' || left.type === 'path', jt === 'number', vals);
  return { fieldKey: `${left.name}:${jt}`, readCode, slow: left.get, test: test ?? 'pred(v)', k, pred };
}

function checkOp(left: CompiledOperand, op: string, pos: Pos): void {
  if (!OPS_BY_TYPE(left.type).has(op)) {
    throw new CompileError(`operator '${op}' is not supported by field '${left.name}' of type ${TYPE_NAMES[left.type]}`, pos);
  }
}

function compileBinary(e: Extract<Expr, { kind: 'binary' }>): Predicate {
  const left = compileOperand(e.left);
  checkOp(left, e.op, e.pos);
  const r: Rhs = e.right;
  if (r.kind === 'val' || r.kind === 'transform') {
    const right = r.kind === 'val' ? compileField(r.field) : compileOperand(r);
    const cmp = dynamicCompare(e.op, left.type, e.pos);
    const rg = right.get;
    if (left.list) {
      const l = left.list;
      return (ev) => {
        const b = rg(ev);
        if (b === undefined) return false;
        const a = l(ev);
        if (a === undefined) return false;
        for (const x of a) if (cmp(x, b)) return true;
        return false;
      };
    }
    const lg = left.get;
    return (ev) => {
      const a = lg(ev);
      if (a === undefined) return false;
      const b = rg(ev);
      return b !== undefined && cmp(a, b);
    };
  }
  let vals: ValueExpr[];
  if (r.kind === 'list') {
    if (e.op !== 'in' && e.op !== 'intersects' && e.op !== 'pmatch') {
      throw new CompileError(`operator '${e.op}' does not take a list`, r.pos);
    }
    if (r.bareName) throw new CompileError(`'${r.items[0]?.value}' is not a list; expected a list in parentheses`, r.pos);
    vals = r.items;
  } else {
    vals = [r];
  }
  if (vals.length === 0) return () => false;
  const pred = valuePredicate(e.op, left.type, vals, left.name);
  if (left.list) return anyOf(left.list, pred);
  const fast = fastPredicate(left, e.op, vals, pred);
  if (fast) return fast;
  const g = left.get;
  return (ev) => {
    const v = g(ev);
    return v !== undefined && pred(v);
  };
}

export function compileExpr(e: Expr): Predicate {
  switch (e.kind) {
    case 'const': {
      const v = e.value;
      return () => v;
    }
    case 'macro':
      throw new CompileError(`Undefined macro '${e.name}' used in filter.`, e.pos);
    case 'not': {
      const c = compileExpr(e.child);
      return (ev) => !c(ev);
    }
    case 'and': {
      const cs = e.children.map(compileExpr);
      if (cs.length === 2) {
        const [a, b] = cs as [Predicate, Predicate];
        return (ev) => a(ev) && b(ev);
      }
      if (cs.length === 3) {
        const [a, b, c] = cs as [Predicate, Predicate, Predicate];
        return (ev) => a(ev) && b(ev) && c(ev);
      }
      return (ev) => {
        for (let i = 0; i < cs.length; i++) if (!(cs[i] as Predicate)(ev)) return false;
        return true;
      };
    }
    case 'or': {
      const cs = e.children.map(compileExpr);
      if (cs.length === 2) {
        const [a, b] = cs as [Predicate, Predicate];
        return (ev) => a(ev) || b(ev);
      }
      if (cs.length === 3) {
        const [a, b, c] = cs as [Predicate, Predicate, Predicate];
        return (ev) => a(ev) || b(ev) || c(ev);
      }
      return (ev) => {
        for (let i = 0; i < cs.length; i++) if ((cs[i] as Predicate)(ev)) return true;
        return false;
      };
    }
    case 'unary': {
      const left = compileOperand(e.left);
      if (left.list) {
        const l = left.list;
        return (ev) => {
          const a = l(ev);
          return a !== undefined && a.length > 0;
        };
      }
      const g = left.get;
      const p = left.path;
      if (p !== undefined && p.length === 2) {
        const [a, b] = p as [string, string];
        return (ev) => {
          const x = ev[a] as Obj | undefined;
          const v = x == null ? undefined : x[b];
          return v !== undefined && v !== null && typeof v !== 'object' ? true : g(ev) !== undefined;
        };
      }
      return (ev) => g(ev) !== undefined;
    }
    case 'binary':
      return compileBinary(e);
  }
}

export { MatcherError };

/**
 * Compiles a whole rule condition: the and/or/not structure becomes one generated function whose
 * leaves call the per-check closures from compileExpr. Every leaf call site is then its own
 * (monomorphic) site, which lets V8 inline the checks into the rule. Same semantics as
 * compileExpr (which it falls back to for very large conditions).
 */
export function compileRule(e: Expr): Predicate {
  const leaves: Predicate[] = [];
  let nodes = 0;
  const gen = (x: Expr): string => {
    if (++nodes > 5000) throw new RangeError('too large');
    switch (x.kind) {
      case 'and':
        return '(' + x.children.map(gen).join(' && ') + ')';
      case 'or':
        return '(' + x.children.map(gen).join(' || ') + ')';
      case 'not':
        return '!' + gen(x.child);
      case 'const':
        return x.value ? 'true' : 'false';
      default:
        leaves.push(compileExpr(x));
        return `l${leaves.length - 1}(ev)`;
    }
  };
  let body: string;
  try {
    body = gen(e);
  } catch (err) {
    if (err instanceof RangeError) return compileExpr(e);
    throw err;
  }
  const names = leaves.map((_, i) => `l${i}`);
  return new Function(...names, `return function rule(ev) { return ${body}; };`)(...leaves) as Predicate;
}
