// Rules engine, condition parser: a hand-written recursive-descent parser for Falco's filter
// language, producing the AST of ast.ts (compiled to closures by compile.ts). Follows the lexical
// rules of libsinsp's filter parser (bare strings, quoted strings with escapes, field arguments,
// operators that need a following blank, `not`/`and`/`or` that need a blank or a parenthesis).
//
// Grammar (EBNF; blank = space | tab | \b | \r | \n):
//
//   condition   = or_expr EOF ;
//   or_expr     = and_expr { "or" ( blank and_expr | "(" embedded ) } ;
//   and_expr    = not_expr { "and" ( blank not_expr | "(" embedded ) } ;
//   not_expr    = { "not" blank+ } ( "not(" embedded | check ) ;      (* each "not" toggles *)
//   embedded    = or_expr ")" ;
//   check       = "(" embedded
//               | operand "exists"
//               | operand num_op num_rhs
//               | operand str_op str_rhs
//               | operand list_op list_rhs
//               | identifier ;                                        (* macro reference *)
//   operand     = field | transformer ;
//   field       = fieldname [ "[" ( quoted | argbare ) "]" ] ;
//   transformer = ( "tolower" | "toupper" | "b64" | "basename" | "len" ) "(" operand ")"
//               | "join" "(" targ "," operand ")"
//               | "concat" "(" targ { "," targ } ")" ;
//   targ        = operand | quoted ;
//   num_op      = "<=" | "<" | ">=" | ">" ;
//   str_op      = "==" | "=" | "!=" | ( "glob" | "iglob" | "contains" | "icontains" | "bcontains"
//               | "startswith" | "bstartswith" | "endswith" | "regex" ) blank ;
//   list_op     = "intersects" | "in" | "pmatch" ;
//   num_rhs     = valref | transformer | hexnum | number ;
//   str_rhs     = valref | transformer | quoted | barestr ;
//   list_rhs    = "(" [ listval { "," listval } ] ")" | valref | transformer | identifier ;
//   listval     = quoted | barestr ;
//   valref      = "val(" field ")" ;
//   fieldname   = /[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+/ ;
//   identifier  = /[a-zA-Z]+[a-zA-Z0-9_]*/ ;
//   barestr     = /[^()"'\s=,]+/ ;   argbare = /[^\]\["'\s]+/ ;
//   number      = /[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?/ ;   hexnum = /0[xX][0-9a-zA-Z]+/ ;
//   quoted      = '"' { char | escape } '"' | "'" { char | escape } "'" ;
//   escape      = "\" ( '"' | "'" | "\" | "/" | "b" | "f" | "n" | "r" | "t" | "x" hex hex ) ;
//
// Depth is capped (default 1000 nested constructs, as Falco's rule compiler sets it).
import type { CondSource, Expr, FieldRef, ListExpr, LiteralArg, Operand, Pos, Rhs, TransformerName, ValueExpr } from './ast.ts';
import { TRANSFORMERS } from './ast.ts';

export class ParseError extends Error {
  constructor(
    message: string,
    readonly off: number,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

const RE_FIELDNAME = /[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const RE_IDENT = /[a-zA-Z]+[a-zA-Z0-9_]*/y;
const RE_BARESTR = /[^()"'\s=,]+/y;
const RE_ARGBARE = /[^\][\s"']+/y;
const RE_NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y;
const RE_HEXNUM = /0[xX][0-9a-zA-Z]+/y;
const RE_NOTBLANK = /not[ \t\b\r\n]+/y;

const NUM_OPS = ['<=', '<', '>=', '>'];
const SYM_STR_OPS = ['==', '=', '!='];
const WORD_STR_OPS = ['glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex'];
const LIST_OPS = ['intersects', 'in', 'pmatch'];

const isBlank = (c: number): boolean => c === 32 || c === 9 || c === 8 || c === 13 || c === 10;

/** Unescapes the body of a quoted string (without the quotes). */
export function unescapeQuoted(body: string, off = 0): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case '"':
      case "'":
      case '\\':
      case '/':
        out += n;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new ParseError('invalid \\x escape in quoted string', off + i);
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case undefined:
        throw new ParseError('unterminated escape in quoted string', off + i);
      default:
        // unknown escape: kept verbatim (backslash included), like a literal
        out += '\\' + n;
    }
  }
  return out;
}

export interface ParseOptions {
  maxDepth?: number;
}

export class Parser {
  private i = 0;
  private depth = 0;
  private readonly s: string;
  private readonly maxDepth: number;
  private lastToken = '';

  constructor(
    private readonly src: CondSource,
    opts: ParseOptions = {},
  ) {
    this.s = src.text;
    this.maxDepth = opts.maxDepth ?? 1000;
  }

  parse(): Expr {
    if (this.s.trim() === '') throw new ParseError('condition is empty', 0);
    this.i = 0;
    this.depth = 0;
    const e = this.orExpr();
    this.blank();
    if (this.i !== this.s.length) {
      throw this.err(this.lastToken ? `unexpected token after '${this.lastToken}', expecting 'or', 'and'` : "unexpected token, expecting 'or', 'and'");
    }
    return e;
  }

  // ---- helpers
  private pos(off = this.i): Pos {
    return { src: this.src, off };
  }
  private err(msg: string, off = this.i): ParseError {
    return new ParseError(msg, off);
  }
  private enter(): void {
    if (++this.depth >= this.maxDepth) throw this.err(`exceeded max depth limit of ${this.maxDepth}`);
  }
  private leave(): void {
    this.depth--;
  }
  private blank(): boolean {
    const start = this.i;
    while (this.i < this.s.length && isBlank(this.s.charCodeAt(this.i))) this.i++;
    return this.i > start;
  }
  private str(tok: string): boolean {
    if (this.s.startsWith(tok, this.i)) {
      this.i += tok.length;
      this.lastToken = tok;
      return true;
    }
    return false;
  }
  private rgx(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m || m.index !== this.i) return undefined;
    this.i += m[0].length;
    this.lastToken = m[0];
    return m[0];
  }
  /** A word operator: the word followed by a blank (not consumed). */
  private word(w: string): boolean {
    if (!this.s.startsWith(w, this.i)) return false;
    const c = this.s.charCodeAt(this.i + w.length);
    if (!isBlank(c)) return false;
    this.i += w.length;
    this.lastToken = w;
    return true;
  }

  // ---- grammar
  private orExpr(): Expr {
    this.enter();
    const pos = this.pos();
    this.blank();
    const children: Expr[] = [this.andExpr()];
    this.blank();
    while (this.keyword('or')) {
      let child: Expr;
      if (!this.blank()) {
        if (this.str('(')) child = this.embedded();
        else throw this.err("expected blank or '(' after 'or'");
      } else child = this.andExpr();
      children.push(child);
      this.blank();
    }
    this.leave();
    return children.length > 1 ? { kind: 'or', children, pos } : (children[0] as Expr);
  }

  /** `and` / `or` keyword: must not be the prefix of a longer identifier-like token. */
  private keyword(k: string): boolean {
    if (!this.s.startsWith(k, this.i)) return false;
    const c = this.s.charCodeAt(this.i + k.length);
    if (!((isBlank(c) || c === 40) /* ( */)) {
      // e.g. "orx": not a keyword; report like Falco
      if (this.i + k.length < this.s.length) return false;
    }
    this.i += k.length;
    this.lastToken = k;
    return true;
  }

  private andExpr(): Expr {
    this.enter();
    const pos = this.pos();
    this.blank();
    const children: Expr[] = [this.notExpr()];
    this.blank();
    while (this.keyword('and')) {
      let child: Expr;
      if (!this.blank()) {
        if (this.str('(')) child = this.embedded();
        else throw this.err("expected blank or '(' after 'and'");
      } else child = this.notExpr();
      children.push(child);
      this.blank();
    }
    this.leave();
    return children.length > 1 ? { kind: 'and', children, pos } : (children[0] as Expr);
  }

  private notExpr(): Expr {
    this.enter();
    const pos = this.pos();
    this.blank();
    let neg = false;
    while (this.rgx(RE_NOTBLANK) !== undefined) neg = !neg;
    let child: Expr;
    if (this.str('not(')) {
      neg = !neg;
      child = this.embedded();
    } else child = this.check();
    this.leave();
    return neg ? { kind: 'not', child, pos } : child;
  }

  private embedded(): Expr {
    this.enter();
    this.blank();
    const e = this.orExpr();
    this.blank();
    if (!this.str(')')) throw this.err("expected a ')' token");
    this.leave();
    return e;
  }

  private check(): Expr {
    this.enter();
    this.blank();
    const pos = this.pos();
    if (this.str('(')) {
      const e = this.embedded();
      this.leave();
      return e;
    }
    const left = this.tryOperand();
    if (left) {
      const e = this.condition(left, pos);
      this.leave();
      return e;
    }
    const id = this.rgx(RE_IDENT);
    if (id !== undefined) {
      this.leave();
      return { kind: 'macro', name: id, pos };
    }
    throw this.err("expected a '(' token, a field check, or an identifier");
  }

  private transformerStart(): TransformerName | undefined {
    for (const t of TRANSFORMERS) {
      if (this.s.startsWith(t + '(', this.i)) {
        this.i += t.length + 1;
        this.lastToken = t + '(';
        return t;
      }
    }
    return undefined;
  }

  private tryOperand(): Operand | undefined {
    const pos = this.pos();
    const t = this.transformerStart();
    if (t) return this.transformerRest(t, pos);
    const name = this.rgx(RE_FIELDNAME);
    if (name === undefined) return undefined;
    return this.fieldRest(name, pos);
  }

  private fieldRest(name: string, pos: Pos): FieldRef {
    let arg: string | undefined;
    if (this.str('[')) {
      const q = this.quoted();
      if (q !== undefined) arg = q;
      else {
        arg = this.rgx(RE_ARGBARE);
        if (arg === undefined) throw this.err('expected a valid field argument: a quoted string or a bare string');
      }
      if (!this.str(']')) throw this.err("expected a ']' token");
    }
    return { kind: 'field', name, arg, pos };
  }

  private transformerRest(fn: TransformerName, pos: Pos): Operand {
    this.enter();
    const args: (Operand | LiteralArg)[] = [];
    const multi = fn === 'join' || fn === 'concat';
    for (;;) {
      this.blank();
      const apos = this.pos();
      const op = this.tryOperand();
      if (op) args.push(op);
      else if (multi) {
        const q = this.quoted();
        if (q === undefined) throw this.err(`expected a field, a transformer or a quoted string as argument of '${fn}'`);
        args.push({ kind: 'literal', value: q, pos: apos });
      } else {
        throw this.err(`expected a field or a nested valid transformer: ${TRANSFORMERS.map((x) => `'${x}'`).join(', ')}`);
      }
      this.blank();
      if (multi && this.str(',')) continue;
      break;
    }
    if (!this.str(')')) throw this.err("expected a ')' token closing the transformer");
    if (fn === 'join' && args.length !== 2) throw this.err('join() requires exactly 2 arguments: separator and list', pos.off);
    if (fn === 'concat' && args.length < 2) throw this.err('concat() requires at least 2 arguments', pos.off);
    this.leave();
    return { kind: 'transform', fn, args, pos };
  }

  private condition(left: Operand, pos: Pos): Expr {
    this.enter();
    this.blank();
    const opPos = this.i;
    try {
      if (this.s.startsWith('exists', this.i)) {
        const c = this.s.charCodeAt(this.i + 6);
        if (Number.isNaN(c) || isBlank(c) || c === 41 /* ) */) {
          this.i += 6;
          this.lastToken = 'exists';
          return { kind: 'unary', left, op: 'exists', pos };
        }
      }
      for (const op of NUM_OPS) {
        if (this.str(op)) return { kind: 'binary', left, op, right: this.numRhs(op), pos };
      }
      for (const op of SYM_STR_OPS) {
        if (this.str(op)) return { kind: 'binary', left, op, right: this.strRhs(), pos };
      }
      for (const op of WORD_STR_OPS) {
        if (this.word(op)) return { kind: 'binary', left, op, right: this.strRhs(), pos };
      }
      for (const op of LIST_OPS) {
        if (this.str(op)) return { kind: 'binary', left, op, right: this.listRhs(), pos };
      }
    } finally {
      this.leave();
    }
    const bad = /^[^\s()"']+/.exec(this.s.slice(opPos))?.[0];
    throw this.err(
      `${bad ? `unknown operator '${bad}': ` : ''}expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'`,
      opPos,
    );
  }

  private tryValOrTransformer(): Rhs | undefined {
    this.blank();
    const pos = this.pos();
    if (this.str('val(')) {
      this.blank();
      const fpos = this.pos();
      const name = this.rgx(RE_FIELDNAME);
      if (name === undefined) throw this.err("expected a field within 'val' transformer");
      const field = this.fieldRest(name, fpos);
      this.blank();
      if (!this.str(')')) throw this.err("expected a ')' token closing the transformer");
      return { kind: 'val', field, pos };
    }
    const t = this.transformerStart();
    if (t) return this.transformerRest(t, pos) as Rhs;
    return undefined;
  }

  private numRhs(op: string): Rhs {
    this.blank();
    const r = this.tryValOrTransformer();
    if (r) return r;
    const pos = this.pos();
    const v = this.rgx(RE_HEXNUM) ?? this.rgx(RE_NUMBER);
    if (v !== undefined) return { kind: 'value', value: v, quoted: false, pos };
    const got = /^("[^"]*"|'[^']*'|[^\s()]+)/.exec(this.s.slice(this.i))?.[0];
    throw this.err(
      `operator '${op}' compares numbers: expected a number value or a field with a valid transformer${got ? `, got ${got.startsWith('"') || got.startsWith("'") ? got : `'${got}'`}` : ''}`,
    );
  }

  private quoted(): string | undefined {
    const q = this.s[this.i];
    if (q !== '"' && q !== "'") return undefined;
    const start = this.i;
    let j = this.i + 1;
    while (j < this.s.length) {
      const c = this.s[j];
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (c === q) {
        const body = this.s.slice(start + 1, j);
        this.i = j + 1;
        this.lastToken = this.s.slice(start, j + 1);
        return unescapeQuoted(body, start + 1);
      }
      j++;
    }
    throw this.err('unterminated quoted string', start);
  }

  private strValue(): ValueExpr | undefined {
    const pos = this.pos();
    const q = this.quoted();
    if (q !== undefined) return { kind: 'value', value: q, quoted: true, pos };
    const b = this.rgx(RE_BARESTR);
    if (b !== undefined) return { kind: 'value', value: b, quoted: false, pos };
    return undefined;
  }

  private strRhs(): Rhs {
    this.blank();
    const r = this.tryValOrTransformer();
    if (r) return r;
    const v = this.strValue();
    if (v) return v;
    throw this.err('expected a string value or a field with a valid transformer');
  }

  private listRhs(): Rhs {
    this.blank();
    const pos = this.pos();
    if (this.str('(')) {
      const items: ValueExpr[] = [];
      this.blank();
      const first = this.strValue();
      if (first) {
        items.push(first);
        this.blank();
        while (this.str(',')) {
          this.blank();
          const v = this.strValue();
          if (!v) throw this.err('expected a string value');
          items.push(v);
          this.blank();
        }
      }
      if (!this.str(')')) throw this.err("expected a ')' token");
      const l: ListExpr = { kind: 'list', items, pos };
      return l;
    }
    const r = this.tryValOrTransformer();
    if (r) return r;
    const id = this.rgx(RE_IDENT);
    if (id !== undefined) return { kind: 'list', items: [{ kind: 'value', value: id, quoted: false, pos }], bareName: true, pos };
    throw this.err('expected a list, an identifier, or a field with a valid transformer');
  }
}

/** A condition source for text that is not in a file (tests, ad-hoc filters). */
export function stringSource(text: string, file = '<condition>', line = 1, col = 1): CondSource {
  return {
    text,
    loc(off: number) {
      let l = line;
      let c = col;
      for (let k = 0; k < off && k < text.length; k++) {
        if (text[k] === '\n') {
          l++;
          c = 1;
        } else c++;
      }
      return { file, line: l, col: c };
    },
  };
}

export function parseCondition(src: CondSource, opts?: ParseOptions): Expr {
  return new Parser(src, opts).parse();
}
