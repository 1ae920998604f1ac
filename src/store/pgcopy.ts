// PostgreSQL bulk load: `COPY table (columns) FROM STDIN` in the text format, sent through a pg
// client as a custom query (pg runs any object with `submit` and the protocol handlers): the COPY
// statement, then the rows as CopyData messages and CopyDone. Resolves with the rows COPY stored;
// rejects with PostgreSQL's error (the whole COPY is then undone, nothing half-applied). The text
// format escapes backslash, newline, carriage return and tab; \N is NULL.
import type pg from 'pg';

/** Bytes of COPY text per CopyData message. */
const CHUNK_BYTES = 256 * 1024;

/** The subset of pg's Connection the copy needs. */
interface Conn {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
}

// NUL cannot be stored in a PostgreSQL text value (an abstract unix socket's name starts with one):
// it is left out, as the JSON document's \u0000 escapes are
const ESC = /[\\\n\r\t\0]/;
const ESC_G = /[\\\n\r\t\0]/g;
const ESC_MAP: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '' };

/** One value in COPY text form (null -> \N; booleans t/f; numbers and bigints in decimal). */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  switch (typeof v) {
    case 'string':
      return ESC.test(v) ? v.replace(ESC_G, (c) => ESC_MAP[c]!) : v;
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 't' : 'f';
    default:
      throw new TypeError(`COPY value of type ${typeof v}`);
  }
}

/** Rows (objects) -> COPY text in chunks of about CHUNK_BYTES, columns in `cols` order. */
export function copyText(rows: readonly Record<string, unknown>[], cols: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  let parts: string[] = [];
  let len = 0;
  const last = cols.length - 1;
  for (const row of rows) {
    for (let k = 0; k <= last; k++) {
      const s = copyValue(row[cols[k]!]);
      parts.push(k === last ? s + '\n' : s + '\t');
      len += s.length + 1;
    }
    if (len >= CHUNK_BYTES) {
      out.push(Buffer.from(parts.join(''), 'utf8'));
      parts = [];
      len = 0;
    }
  }
  if (parts.length) out.push(Buffer.from(parts.join(''), 'utf8'));
  return out;
}

class CopyIn {
  callback?: (err: Error | null, n?: number) => void;
  private rows = 0;
  private done = false;
  constructor(
    private readonly text: string,
    private readonly chunks: Buffer[],
  ) {}
  submit(connection: Conn): void {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: Conn): void {
    for (const c of this.chunks) connection.sendCopyFromChunk(c);
    connection.endCopyFrom();
  }
  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? '');
    this.rows = m ? Number(m[1]) : 0;
  }
  handleReadyForQuery(): void {
    this.finish(null);
  }
  handleError(err: Error): void {
    this.finish(err);
  }
  handleEmptyQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  private finish(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.callback?.(err, this.rows);
  }
}

/** Runs `COPY table (cols) FROM STDIN` with `rows` on the client (inside the caller's transaction);
 * returns the number of rows stored. */
export function copyRows(c: pg.PoolClient | pg.Client, table: string, cols: readonly string[], rows: readonly Record<string, unknown>[]): Promise<number> {
  const q = new CopyIn(`COPY ${table} (${cols.join(', ')}) FROM STDIN`, copyText(rows, cols));
  return new Promise((resolve, reject) => {
    q.callback = (err, n) => (err ? reject(err) : resolve(n ?? 0));
    (c as unknown as { query(q: CopyIn): unknown }).query(q);
  });
}
