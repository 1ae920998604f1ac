// Rules engine, replay input: turns a recording (a file path or a stream such as stdin) into
// chunks for the evaluators. An NDJSON recording (`vigil run --output json`) is read in large
// blocks cut at line boundaries (no per-line work here: the evaluator, or the worker thread a block
// is transferred to, decodes, splits and parses it: EventLineParser.parseBlock). Another
// recording format is one more branch of `openInput` yielding its own chunk kind (event objects).
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Ev } from './types.ts';

/** What an input yields, in recording order. */
export type InputChunk =
  /** Whole NDJSON lines, UTF-8: `buf[0, bytes)`; `buf` owns its ArrayBuffer (it can be transferred). */
  | { kind: 'lines'; buf: Buffer; bytes: number }
  /** Decoded event objects (for formats that are not line-based). */
  | { kind: 'events'; events: Ev[] };

export interface ReplayInput {
  chunks(): AsyncIterable<InputChunk>;
  /** Hands a `lines` chunk's buffer back for reuse once it has been evaluated. */
  release(ab: ArrayBuffer): void;
}

/** Default block size: ~600 events of a typical recording; large enough to make per-block costs vanish. */
export const CHUNK_BYTES = 2 << 20;

/** Opens a recording. Only NDJSON exists so far; the branch for another format goes here. */
export function openInput(input: string | Readable, chunkBytes = CHUNK_BYTES): ReplayInput {
  return new NdjsonInput(input, chunkBytes);
}

class NdjsonInput implements ReplayInput {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    private readonly input: string | Readable,
    private readonly chunkBytes: number,
  ) {}

  release(ab: ArrayBuffer): void {
    if (ab.byteLength === this.chunkBytes && this.free.length < 64) this.free.push(ab);
  }

  private take(min: number): Buffer {
    if (min <= this.chunkBytes) {
      const ab = this.free.pop();
      if (ab !== undefined) return Buffer.from(ab);
      return Buffer.allocUnsafeSlow(this.chunkBytes);
    }
    return Buffer.allocUnsafeSlow(min);
  }

  async *chunks(): AsyncGenerator<InputChunk> {
    const stream = typeof this.input === 'string' ? createReadStream(this.input, { highWaterMark: 1 << 20 }) : this.input;
    let buf = this.take(this.chunkBytes);
    let used = 0;
    for await (const data of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) {
        const n = Math.min(bytes.length - off, buf.length - used);
        bytes.copy(buf, used, off, off + n);
        used += n;
        off += n;
        if (used < buf.length) break;
        // the block is full: hand out its whole lines, keep the partial last one
        const cut = buf.lastIndexOf(10, used - 1) + 1;
        if (cut === 0) {
          // one line longer than the block: grow it
          const big = this.take(buf.length * 2);
          buf.copy(big, 0, 0, used);
          this.release(buf.buffer as ArrayBuffer);
          buf = big;
          continue;
        }
        const next = this.take(used - cut);
        buf.copy(next, 0, cut, used);
        yield { kind: 'lines', buf, bytes: cut };
        buf = next;
        used -= cut;
      }
    }
    if (used > 0) yield { kind: 'lines', buf, bytes: used };
  }
}
