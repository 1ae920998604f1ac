// Rules engine, condition AST: what the parser (parser.ts) produces and the compiler (compile.ts)
// turns into closures. Every node carries its position (offset into its condition text plus the
// text's source, which maps the offset back to file:line:col for error messages).
import type { Loc } from './types.ts';

/** The text a condition was parsed from, able to map offsets to file positions. */
export interface CondSource {
  readonly text: string;
  loc(off: number): Loc;
}

export interface Pos {
  src: CondSource;
  off: number;
}

export interface FieldRef {
  kind: 'field';
  name: string;
  arg: string | undefined;
  pos: Pos;
}

export const TRANSFORMERS = ['tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat'] as const;
export type TransformerName = (typeof TRANSFORMERS)[number];

export interface LiteralArg {
  kind: 'literal';
  value: string;
  pos: Pos;
}

export interface TransformExpr {
  kind: 'transform';
  fn: TransformerName;
  args: (Operand | LiteralArg)[];
  pos: Pos;
}

export type Operand = FieldRef | TransformExpr;

export interface ValueExpr {
  kind: 'value';
  value: string;
  quoted: boolean;
  pos: Pos;
}

export interface ListExpr {
  kind: 'list';
  items: ValueExpr[];
  /** `in NAME` without parentheses: NAME must be a list. */
  bareName?: boolean;
  pos: Pos;
}

/** `val(field)` on the right-hand side: compare with another field of the same event. */
export interface ValRef {
  kind: 'val';
  field: FieldRef;
  pos: Pos;
}

export type Rhs = ValueExpr | ListExpr | ValRef | TransformExpr;

export type Expr =
  | { kind: 'and'; children: Expr[]; pos: Pos }
  | { kind: 'or'; children: Expr[]; pos: Pos }
  | { kind: 'not'; child: Expr; pos: Pos }
  | { kind: 'macro'; name: string; pos: Pos }
  | { kind: 'unary'; left: Operand; op: 'exists'; pos: Pos }
  | { kind: 'binary'; left: Operand; op: string; right: Rhs; pos: Pos }
  | { kind: 'const'; value: boolean; pos: Pos };

export const UNARY_OPS = ['exists'] as const;
export const NUM_OPS = ['<=', '<', '>=', '>'] as const;
export const STR_OPS = ['==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex'] as const;
export const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;
export const ALL_OPS: readonly string[] = [...UNARY_OPS, ...NUM_OPS, ...STR_OPS, ...LIST_OPS];

/** Re-renders an expression as condition text (for messages and debugging). */
export function exprToString(e: Expr): string {
  const op = (o: Operand | LiteralArg): string => {
    if (o.kind === 'field') return o.arg === undefined ? o.name : `${o.name}[${o.arg}]`;
    if (o.kind === 'literal') return JSON.stringify(o.value);
    return `${o.fn}(${o.args.map(op).join(', ')})`;
  };
  const val = (v: ValueExpr): string => (v.quoted || /[\s(),="']/.test(v.value) || v.value === '' ? JSON.stringify(v.value) : v.value);
  switch (e.kind) {
    case 'and':
      return `(${e.children.map(exprToString).join(' and ')})`;
    case 'or':
      return `(${e.children.map(exprToString).join(' or ')})`;
    case 'not':
      return `not ${exprToString(e.child)}`;
    case 'macro':
      return e.name;
    case 'const':
      return e.value ? '(always true)' : '(always false)';
    case 'unary':
      return `${op(e.left)} exists`;
    case 'binary': {
      const r = e.right;
      let rs: string;
      if (r.kind === 'value') rs = val(r);
      else if (r.kind === 'list') rs = `(${r.items.map(val).join(', ')})`;
      else if (r.kind === 'val') rs = `val(${op(r.field)})`;
      else rs = op(r);
      return `${op(e.left)} ${e.op} ${rs}`;
    }
  }
}
