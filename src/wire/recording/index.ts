// The recording interface: one writer and one reader over the formats an event recording can
// have, chosen on read by sniffing the file's first bytes. Formats: 'ndjson' (one event per line,
// what `vigil run --output json` prints) and 'vigil' (the binary codec of codec.ts,
// docs/recording.md). A third format (Falco's .scap) plugs in as another case of sniffFormat, a
// reader and, if wanted, a writer. Writers are bounded: when the sink cannot keep up, events are
// dropped and counted, never buffered without limit. Imports only abi and common (wire layer).
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
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
    if (this.closed || this.out.writableLength > this.maxBuffered) {
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
    if (b) this.put(b);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.put(endMarker());
    await endStream(this.out);
  }
}

class NdjsonWriter implements RecordingWriter {
  readonly format = 'ndjson';
  readonly stats: WriterStats = { written: 0, dropped: 0, bytes: 0 };
  private readonly maxBuffered: number;
  private closed = false;

  constructor(
    private readonly out: Writable,
    opts: WriterOptions,
  ) {
    this.maxBuffered = opts.maxBuffered ?? 64 * 1024 * 1024;
  }

  write(ev: FieldTree): boolean {
    if (this.closed || this.out.writableLength > this.maxBuffered) {
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await endStream(this.out);
  }
}

function endStream(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
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
  return createRecordingWriter(out, format, opts);
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

/** Reads the first bytes of a file or stream and says which format it holds; a stream gets them back. */
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
  const head = await peek(input, MAGIC.length);
  return { format: sniffFormat(head), input, source: '<stdin>' };
}

/** The first `n` bytes of a stream (fewer at its end), pushed back so the stream still yields them. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  for (;;) {
    const c = stream.read() as Buffer | string | null;
    if (c !== null) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      chunks.push(b);
      len += b.length;
      if (len >= n) break;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    if (stream.errored) throw stream.errored;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('error', done);
        resolve();
      };
      stream.on('readable', done);
      stream.on('end', done);
      stream.on('error', done);
    });
    if (stream.errored) throw stream.errored;
  }
  const all = Buffer.concat(chunks);
  if (all.length) stream.unshift(all);
  return all;
}

/** A reader of a recording in either format (sniffed). `batchSize`: events per ndjson batch. */
export async function openRecording(input: string | Readable, opts: { batchSize?: number } = {}): Promise<RecordingReader> {
  const s = await sniffInput(input);
  return readerOf(s, opts.batchSize ?? 1024);
}

/** The reader of an input whose format is known. */
export function readerOf(s: SniffedInput, batchSize = 1024): RecordingReader {
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
          const evs = d.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
          if (evs.length) {
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
