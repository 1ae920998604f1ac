// Rules engine, replay input: turns a recording (a file path or a stream such as stdin) into
// chunks for the evaluators. An NDJSON recording (`vigil run --output json`) is read in large
// blocks cut at line boundaries (no per-line work here: the evaluator, or the worker thread a block
// is transferred to, decodes, splits and parses it: EventLineParser.parseBlock). Another
// recording format is one more branch of `openInput` yielding its own chunk kind (event objects).
import { closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { VigilError } from '../common/errors.ts';
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
    const source = typeof this.input === 'string' ? await fileSource(this.input) : streamSource(this.input);
    try {
      let buf = this.take(this.chunkBytes);
      let used = 0;
      for (;;) {
        const n = await source.fill(buf, used);
        if (n === 0) break;
        used += n;
        if (used < buf.length) continue;
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
      if (used > 0) yield { kind: 'lines', buf, bytes: used };
    } finally {
      await source.close();
    }
  }
}

/** Bytes into buf[at, buf.length): how many (0 at the end). */
interface ByteSource {
  fill(buf: Buffer, at: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A file read straight into the blocks, synchronously: a read from the page cache takes less time
 * than handing it to the thread pool and waiting for the answer (on a loaded machine, much less).
 */
async function fileSource(file: string): Promise<ByteSource> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new VigilError('VIGIL_E_IO', `cannot read the recording ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return {
    fill: async (buf, at) => readSync(fd, buf, at, buf.length - at, null),
    close: async () => closeSync(fd),
  };
}

/** A stream (stdin): its chunks copied into the blocks. */
function streamSource(stream: Readable): ByteSource {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let pending: Buffer | undefined;
  let off = 0;
  return {
    fill: async (buf, at) => {
      while (pending === undefined || off >= pending.length) {
        const r = await it.next();
        if (r.done) return 0;
        pending = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
        off = 0;
      }
      const n = pending.copy(buf, at, off, Math.min(pending.length, off + buf.length - at));
      off += n;
      return n;
    },
    close: async () => {
      await it.return?.();
    },
  };
}
