// The recording interface: one writer and one reader over the formats an event recording can
// have, chosen on read by sniffing the file's first bytes. Formats: 'ndjson' (one event per line,
// what `vigil run --output json` prints) and 'vigil' (the binary codec of codec.ts,
// docs/recording.md). A third format (Falco's .scap) plugs in as another case of sniffFormat, a
// reader and, if wanted, a writer. Writers are bounded: when the sink cannot keep up, events are
// dropped and counted, never buffered without limit. Imports only abi and common (wire layer).
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import type { FieldTree } from '../../abi/event.ts';
import { VigilError } from '../../common/errors.ts';
import { BlockEncoder, endMarker, fileHeader, MAGIC, RecordingDecoder } from './codec.ts';

export { decodeRecording, encodeRecording, FORMAT_VERSION, MAGIC, RecordingDecoder, RecordingError } from './codec.ts';

export type RecordingFormat = 'ndjson' | 'vigil';
export const RECORDING_FORMATS: readonly RecordingFormat[] = ['ndjson', 'vigil'];

/** The format of a recording from its first bytes (at least 8 unless the file is shorter). */
export function sniffFormat(head: Uint8Array): RecordingFormat {
  if (head.length > 0 && head[0] === MAGIC[0]) return 'vigil'; // 0x89 never starts a JSON text
  return 'ndjson';
}

export interface WriterStats {
  written: number;
  dropped: number;
  /** bytes handed to the sink (header, blocks, end marker) */
  bytes: number;
}

export interface RecordingWriter {
  readonly format: RecordingFormat;
  readonly stats: WriterStats;
  /** Appends one event; false when it was dropped (the sink is behind by more than maxBuffered). */
  write(ev: FieldTree): boolean;
  /** Hands what is buffered to the sink (the binary writer closes its open block). */
  flush(): void;
  /** Flushes, writes the end marker where the format has one, ends the sink and waits for it. */
  close(): Promise<void>;
  /** The sink failed (a write error): every later event is dropped. */
  readonly error: Error | undefined;
  fail(e: Error): void;
}

export interface WriterOptions {
  /** a block is closed once it holds this many bytes (vigil format; default 1 MiB) */
  blockBytes?: number;
  /** events are dropped while the sink holds more than this (default 64 MiB) */
  maxBuffered?: number;
}

class VigilWriter implements RecordingWriter {
  readonly format = 'vigil';
  readonly stats: WriterStats = { written: 0, dropped: 0, bytes: 0 };
  error: Error | undefined;
  private readonly enc = new BlockEncoder();
  private readonly blockBytes: number;
  private readonly maxBuffered: number;
  private closed = false;

  constructor(
    private readonly out: Writable,
    opts: WriterOptions,
  ) {
    this.blockBytes = opts.blockBytes ?? 1024 * 1024;
    this.maxBuffered = opts.maxBuffered ?? 64 * 1024 * 1024;
    this.put(fileHeader());
  }

  private put(b: Buffer): void {
    this.stats.bytes += b.length;
    this.out.write(b);
  }

  write(ev: FieldTree): boolean {
    if (this.closed || this.error || this.out.writableLength > this.maxBuffered) {
      this.stats.dropped++;
      return false;
    }
    this.enc.add(ev);
    this.stats.written++;
    if (this.enc.size >= this.blockBytes) this.put(this.enc.takeBlock()!);
    return true;
  }

  flush(): void {
    const b = this.enc.takeBlock();
    if (b && !this.error) this.put(b);
  }

  fail(e: Error): void {
    this.error ??= e;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.error) this.flush();
    this.closed = true;
    if (this.error) return;
    this.put(endMarker());
    await endStream(this.out);
  }
}

class NdjsonWriter implements RecordingWriter {
  readonly format = 'ndjson';
  readonly stats: WriterStats = { written: 0, dropped: 0, bytes: 0 };
  error: Error | undefined;
  private readonly maxBuffered: number;
  private closed = false;

  constructor(
    private readonly out: Writable,
    opts: WriterOptions,
  ) {
    this.maxBuffered = opts.maxBuffered ?? 64 * 1024 * 1024;
  }

  write(ev: FieldTree): boolean {
    if (this.closed || this.error || this.out.writableLength > this.maxBuffered) {
      this.stats.dropped++;
      return false;
    }
    const line = JSON.stringify(ev) + '\n';
    this.stats.bytes += Buffer.byteLength(line);
    this.out.write(line);
    this.stats.written++;
    return true;
  }

  flush(): void {}

  fail(e: Error): void {
    this.error ??= e;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.error) return;
    await endStream(this.out);
  }
}

function endStream(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.errored) return reject(out.errored);
    out.end((e?: Error | null) => (e ? reject(e) : resolve()));
  });
}

/** A writer of `format` onto a stream (the caller owns the stream's errors). */
export function createRecordingWriter(out: Writable, format: RecordingFormat, opts: WriterOptions = {}): RecordingWriter {
  return format === 'vigil' ? new VigilWriter(out, opts) : new NdjsonWriter(out, opts);
}

/** A writer onto a new file (truncated if it exists); resolves once the file is open. */
export async function openRecordingWriter(file: string, format: RecordingFormat, opts: WriterOptions = {}): Promise<RecordingWriter> {
  const out = createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (e) => reject(new VigilError('VIGIL_E_IO', `cannot write the recording ${file}: ${(e as Error).message}`, { cause: e })));
  });
  const w = createRecordingWriter(out, format, opts);
  // a write error (a full disk) stops the recording: later events are dropped and counted
  out.on('error', (e) => w.fail(new VigilError('VIGIL_E_IO', `cannot write the recording ${file}: ${e.message}`, { cause: e })));
  return w;
}

export interface ReaderStats {
  events: number;
  /** ndjson lines that did not parse (skipped and counted) */
  badLines: number;
}

/** Events in batches, in file order. Iteration throws a VigilError (with the offset) on a malformed file, after the batches before the damage. */
export interface RecordingReader extends AsyncIterable<FieldTree[]> {
  readonly format: RecordingFormat;
  readonly source: string;
  readonly stats: ReaderStats;
}

/** An input as a path or a stream, with its format sniffed from its first bytes (restored for the reader). */
export interface SniffedInput {
  format: RecordingFormat;
  input: string | Readable;
  source: string;
}

/** Reads the first bytes of a file or stream and says which format it holds (a stream is replaced by one that yields them again). */
export async function sniffInput(input: string | Readable): Promise<SniffedInput> {
  if (typeof input === 'string') {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(input, 'r');
    } catch (e) {
      throw new VigilError('VIGIL_E_IO', `cannot read the recording ${input}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const head = Buffer.alloc(MAGIC.length);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      return { format: sniffFormat(head.subarray(0, bytesRead)), input, source: input };
    } finally {
      await fh.close();
    }
  }
  const { head, rest } = await peek(input, MAGIC.length);
  return { format: sniffFormat(head), input: rest, source: '<stdin>' };
}

/**
 * Reads at least `n` bytes of a stream (fewer at its end) and returns them with a stream that
 * yields everything again, those bytes first (the original stream is consumed through it).
 */
async function peek(stream: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(b);
    len += b.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* chunks;
    while (!done) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  return { head: Buffer.concat(chunks), rest: Readable.from(all(), { objectMode: false }) };
}

/** A reader of a recording in either format (sniffed). `batchSize`: events per batch (at most). */
export async function openRecording(input: string | Readable, opts: { batchSize?: number } = {}): Promise<RecordingReader> {
  const s = await sniffInput(input);
  return readerOf(s, opts.batchSize ?? 256);
}

/** The reader of an input whose format is known. */
export function readerOf(s: SniffedInput, batchSize = 256): RecordingReader {
  const stream = () => (typeof s.input === 'string' ? createReadStream(s.input, { highWaterMark: 1024 * 1024 }) : s.input);
  const stats: ReaderStats = { events: 0, badLines: 0 };
  if (s.format === 'vigil') {
    return {
      format: 'vigil',
      source: s.source,
      stats,
      async *[Symbol.asyncIterator]() {
        const d = new RecordingDecoder(s.source);
        for await (const chunk of stream()) {
          d.append(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
          // small batches: the events of one batch die young (a whole block at once would outlive
          // the young generation and make the collector's work much larger)
          for (;;) {
            const evs: FieldTree[] = [];
            if (d.read(evs, batchSize) === 0) break;
            stats.events += evs.length;
            yield evs;
          }
        }
        d.end();
      },
    };
  }
  return {
    format: 'ndjson',
    source: s.source,
    stats,
    async *[Symbol.asyncIterator]() {
      let batch: FieldTree[] = [];
      for await (const line of createInterface({ input: stream(), crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        let ev: unknown;
        try {
          ev = JSON.parse(line);
        } catch {
          stats.badLines++;
          continue;
        }
        if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
          stats.badLines++;
          continue;
        }
        batch.push(ev as FieldTree);
        stats.events++;
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length) yield batch;
    },
  };
}
