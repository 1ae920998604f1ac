// Rules engine, parallel evaluator: shards events across worker_threads by proc.pid (so a
// process's state and the order of its alerts stay in one worker), collects the alerts and hands
// them back in the global order of the input events. The synchronous evaluator is Ruleset.evaluate
// (engine.ts); this is the multi-core path used by replay and the sensor. Replay hands over whole
// blocks of NDJSON lines instead (pushChunk): each block goes to the least busy worker, which
// decodes, parses and evaluates it; the engine keeps no state between events, so any worker may
// take any event, and the alerts still come out in input order (blocks are ordered rounds).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VigilError } from '../common/errors.ts';
import type { CompileOptions, RulesSource } from './loader.ts';
import type { Ev } from './types.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.ts';

export interface ParallelOptions extends CompileOptions {
  /** Number of workers; default os.availableParallelism(). */
  workers?: number;
  /** Events per dispatch round (all workers together). */
  batchSize?: number;
  /** Rounds in flight before push() waits (back-pressure). */
  maxInflight?: number;
}

/** Cheap shard key: proc.pid read from the JSON text without parsing the whole line. */
export function pidOfLine(line: string): number {
  const p = line.indexOf('"proc":{');
  if (p >= 0) {
    const q = line.indexOf('"pid":', p);
    if (q >= 0) {
      let n = 0;
      let i = q + 6;
      while (line.charCodeAt(i) === 32) i++;
      for (; i < line.length; i++) {
        const c = line.charCodeAt(i);
        if (c < 48 || c > 57) break;
        n = n * 10 + (c - 48);
      }
      return n;
    }
  }
  return 0;
}

function pidOfEvent(ev: Ev): number {
  const p = (ev.proc as Record<string, unknown> | undefined)?.pid;
  return typeof p === 'number' ? p : 0;
}

// The worker entry sits next to this file: worker.js in the compiled output (dist/, what bin/vigil
// runs), worker.ts when running from the sources under tsx (tests, benchmarks). TypeScript loader
// hooks passed through execArgv are not applied to worker threads on Node 20, so a .ts worker
// registers tsx itself before importing its entry.
const compiled = !import.meta.url.endsWith('.ts');
const workerEntry = new URL(compiled ? './worker.js' : './worker.ts', import.meta.url);
const tsxApi = pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href;
const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(workerEntry.href)}); }).catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }); })`;

function startWorker(init: WorkerInit): Worker {
  return compiled ? new Worker(workerEntry, { workerData: init }) : new Worker(bootstrap, { eval: true, workerData: init });
}

/**
 * Evaluates a block of NDJSON lines on the calling thread (replay's main thread, while the
 * workers are busy or still loading the rules): alerts tagged with their event's index in the block.
 */
export type LocalEvaluator = (buf: Buffer, bytes: number) => { alerts: [number, string][]; events: number; badLines: number };

/** Rounds that may wait for emission when the calling thread evaluates blocks too (pushChunk). */
const LOCAL_AHEAD = 64;

interface Round {
  pending: number;
  /** A block of lines (pushChunk): its worker, and the events it held once evaluated. */
  chunk?: { worker: number; events: number; release: ((ab: ArrayBuffer) => void) | undefined };
  /** Global sequence numbers of each worker's events in this round (alerts carry the index). */
  seqs: (number[] | undefined)[];
  alerts: [number, string][];
}

/** One worker's share of the round being filled. */
class Batch {
  /** The queued lines, UTF-8, back to back (a recycled buffer, transferred to the worker). */
  buf: Buffer | undefined;
  bytes = 0;
  /** Per queued event: the line's length in UTF-16 units, or -1 for an event object (from `objs`). */
  lens: number[] = [];
  objs: Ev[] = [];
  seqs: number[] = [];
}

export class ParallelEvaluator {
  readonly workers: number;
  private readonly pool: Worker[] = [];
  private readonly batchSize: number;
  private readonly maxInflight: number;
  private batches: Batch[] = [];
  private buffered = 0;
  private seq = 0;
  private round = 0;
  private nextEmit = 0;
  private readonly rounds = new Map<number, Round>();
  private waiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private failure: Error | undefined;
  private onAlert: (json: string, seq: number) => void = () => {};
  /** Blocks of lines each worker has in flight (pushChunk sends to the least busy). */
  private readonly chunksOut: number[] = [];
  /** Events of the blocks emitted so far: a block's alerts are numbered from there by their event's index. */
  private chunkEvents = 0;
  /** Events evaluated and lines that were not JSON. */
  events = 0;
  badLines = 0;

  private constructor(n: number, opts: ParallelOptions) {
    this.workers = n;
    this.batchSize = Math.max(n, opts.batchSize ?? 4096);
    this.maxInflight = opts.maxInflight ?? 8;
    for (let i = 0; i < n; i++) this.chunksOut.push(0);
    this.resetBatches();
  }

  /** Starts the workers and loads the rules in each; rejects with the load errors. */
  static async create(sources: readonly RulesSource[], opts: ParallelOptions = {}): Promise<ParallelEvaluator> {
    const pe = ParallelEvaluator.spawn(sources, opts);
    await pe.allReady.catch(async (e: unknown) => {
      await pe.close();
      throw e;
    });
    return pe;
  }

  /**
   * Starts the workers without waiting for them to load the rules (replay: the main thread
   * evaluates meanwhile, see pushChunk). A worker that fails to start fails the evaluator: the
   * next push or flush rejects.
   */
  static spawn(sources: readonly RulesSource[], opts: ParallelOptions = {}): ParallelEvaluator {
    const n = Math.max(1, opts.workers ?? availableParallelism());
    const pe = new ParallelEvaluator(n, opts);
    const compile: CompileOptions = {};
    if (opts.appendOutput !== undefined) compile.appendOutput = opts.appendOutput;
    if (opts.ruleMatching !== undefined) compile.ruleMatching = opts.ruleMatching;
    if (opts.minPriority !== undefined) compile.minPriority = opts.minPriority;
    if (opts.hostname !== undefined) compile.hostname = opts.hostname;
    const init: WorkerInit = { sources: [...sources], opts: compile };
    pe.allReady = Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const w = startWorker(init);
            pe.pool[i] = w;
            let ready = false;
            const early = (e: Error): void => {
              reject(e);
              pe.fail(e);
            };
            w.on('message', (m: FromWorker) => {
              if (m.type === 'ready') {
                ready = true;
                pe.ready[i] = true;
                resolve();
              } else if (m.type === 'error') early(new VigilError('VIGIL_E_RULE', m.message));
              else pe.onResult(m, i);
            });
            w.on('error', (e) => {
              if (!ready) early(e);
              else pe.fail(e);
            });
            w.on('exit', (code) => {
              if (!ready) early(new VigilError('VIGIL_E_INTERNAL', `rules worker exited with code ${code}`));
            });
          }),
      ),
    ).then(() => {});
    // a failure before anyone awaits allReady is reported through push/flush
    pe.allReady.catch(() => {});
    return pe;
  }

  /** Settles when every worker has loaded the rules (rejects with the first load error). */
  allReady: Promise<void> = Promise.resolve();
  private readonly ready: boolean[] = [];

  /** Receives alert JSON lines in the global order of the input events. */
  setAlertHandler(cb: (json: string, seq: number) => void): void {
    this.onAlert = cb;
  }

  private resetBatches(): void {
    this.batches = Array.from({ length: this.workers }, () => new Batch());
    this.buffered = 0;
  }

  /** Queues one recorded event (an NDJSON line). Resolves at once unless back-pressure applies. */
  pushLine(line: string): Promise<void> | undefined {
    const b = this.batches[this.workers === 1 ? 0 : pidOfLine(line) % this.workers] as Batch;
    let buf = b.buf;
    const room = line.length * 3; // UTF-8 worst case per UTF-16 unit
    if (buf === undefined || b.bytes + room > buf.length) {
      const nb = this.takeBuffer(b.bytes + room);
      if (buf !== undefined) {
        buf.copy(nb, 0, 0, b.bytes);
        this.giveBuffer(buf.buffer as ArrayBuffer);
      }
      b.buf = buf = nb;
    }
    b.bytes += buf.write(line, b.bytes);
    b.lens.push(line.length);
    b.seqs.push(this.seq++);
    if (++this.buffered >= this.batchSize) return this.dispatch();
    return undefined;
  }

  /**
   * Queues a block of whole NDJSON lines, `buf[0, bytes)` (buf must own its ArrayBuffer: it is
   * transferred to the worker, and handed to `release` when it comes back). Events queued before
   * (push, pushLine) are dispatched first, so the order of the input is kept. Resolves at once
   * unless back-pressure applies.
   */
  pushChunk(buf: Buffer, bytes: number, release?: (ab: ArrayBuffer) => void, local?: LocalEvaluator): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    const before = this.dispatch();
    // the least busy worker; with a local evaluator, only a ready worker with room (one block
    // being evaluated, one queued): otherwise this thread evaluates the block itself
    let w = -1;
    for (let i = 0; i < this.workers; i++) {
      if (local !== undefined && (this.ready[i] !== true || (this.chunksOut[i] as number) >= 2)) continue;
      if (w < 0 || (this.chunksOut[i] as number) < (this.chunksOut[w] as number)) w = i;
    }
    const round = this.round++;
    if (w < 0 && local !== undefined) {
      const r = local(buf, bytes);
      release?.(buf.buffer as ArrayBuffer);
      this.events += r.events + r.badLines;
      this.badLines += r.badLines;
      this.rounds.set(round, { pending: 0, seqs: [], alerts: r.alerts, chunk: { worker: -1, events: r.events, release: undefined } });
      this.emit();
    } else {
      this.chunksOut[w] = (this.chunksOut[w] as number) + 1;
      this.rounds.set(round, { pending: 1, seqs: [], alerts: [], chunk: { worker: w, events: 0, release } });
      const ab = buf.buffer as ArrayBuffer;
      const msg: ToWorker = { type: 'chunk', round, buf: ab, offset: buf.byteOffset, bytes };
      (this.pool[w] as Worker).postMessage(msg, [ab]);
    }
    if (before !== undefined) return before;
    // blocks evaluated here hold no buffer, only their alerts: they may run further ahead of a
    // slow worker than blocks in flight to the workers
    if (this.rounds.size >= (local === undefined ? this.maxInflight : LOCAL_AHEAD)) return new Promise((resolve) => this.waiters.push(resolve));
    return undefined;
  }

  /**
   * Queues one event object (live events). Besides full batches, what is queued is dispatched at
   * the end of the current event-loop turn (setImmediate): a burst of events read from the
   * sensor in one turn goes out as one round, and an alert does not wait for a flush timer.
   */
  push(ev: Ev): Promise<void> | undefined {
    const b = this.batches[this.workers === 1 ? 0 : pidOfEvent(ev) % this.workers] as Batch;
    b.objs.push(ev);
    b.lens.push(-1);
    b.seqs.push(this.seq++);
    if (++this.buffered >= this.batchSize) return this.dispatch();
    if (!this.immediate) {
      this.immediate = true;
      setImmediate(this.dispatchSoon);
    }
    return undefined;
  }

  private immediate = false;
  private readonly dispatchSoon = (): void => {
    this.immediate = false;
    // back-pressure is applied to the pushes that fill a batch; a failure surfaces in flush()
    this.dispatch()?.catch(() => {});
  };

  private readonly freeBuffers: ArrayBuffer[] = [];

  /** A recycled line buffer of at least `min` bytes (buffers go to a worker and come back). */
  private takeBuffer(min: number): Buffer {
    const free = this.freeBuffers;
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i] as ArrayBuffer;
      if (ab.byteLength >= min) {
        free.splice(i, 1);
        return Buffer.from(ab);
      }
    }
    return Buffer.allocUnsafeSlow(Math.max(min * 2, 1 << 18));
  }

  private giveBuffer(ab: ArrayBuffer): void {
    if (this.freeBuffers.length < 4 * this.workers * this.maxInflight) this.freeBuffers.push(ab);
  }

  /**
   * Sends each worker its share of the round as ONE message: the lines as UTF-8 in a buffer that
   * is transferred (not copied) and comes back with the result for reuse, their lengths in a
   * transferred Int32Array, and event objects (structured clone keeps the sub-objects an event
   * shares with others of its process shared within the batch). Sequence numbers stay here.
   */
  private dispatch(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.buffered === 0) return undefined;
    const round = this.round++;
    let pending = 0;
    const seqs: (number[] | undefined)[] = [];
    for (let i = 0; i < this.workers; i++) {
      const b = this.batches[i] as Batch;
      if (b.seqs.length === 0) continue;
      pending++;
      seqs[i] = b.seqs;
      const lens = new Int32Array(b.lens);
      const buf = b.buf === undefined ? null : (b.buf.buffer as ArrayBuffer);
      const msg: ToWorker = { type: 'batch', round, buf, bytes: b.bytes, lens, objs: b.objs };
      (this.pool[i] as Worker).postMessage(msg, buf === null ? [lens.buffer] : [lens.buffer, buf]);
    }
    this.rounds.set(round, { pending, seqs, alerts: [] });
    this.resetBatches();
    if (this.rounds.size >= this.maxInflight) return new Promise((resolve) => this.waiters.push(resolve));
    return undefined;
  }

  private onResult(m: Extract<FromWorker, { type: 'result' }>, worker: number): void {
    const r = this.rounds.get(m.round);
    if (!r) return;
    this.events += m.events;
    this.badLines += m.badLines;
    if (r.chunk !== undefined) {
      // a block of lines: alerts are tagged with the event's index in the block, in order
      this.chunksOut[worker] = (this.chunksOut[worker] as number) - 1;
      r.chunk.events = m.events - m.badLines;
      if (m.buf !== null) r.chunk.release?.(m.buf);
      for (const a of m.alerts) r.alerts.push(a);
    } else {
      if (m.buf !== null) this.giveBuffer(m.buf);
      const seqs = r.seqs[worker] as number[];
      for (const [i, json] of m.alerts) r.alerts.push([seqs[i] as number, json]);
    }
    r.pending--;
    this.emit();
  }

  /** Emits the completed rounds at the head of the order, and wakes who waits for room or the end. */
  private emit(): void {
    for (;;) {
      const head = this.rounds.get(this.nextEmit);
      if (!head || head.pending > 0) break;
      if (head.chunk !== undefined) {
        const base = this.chunkEvents;
        for (const [i, json] of head.alerts) this.onAlert(json, base + i);
        this.chunkEvents += head.chunk.events;
      } else {
        head.alerts.sort((a, b) => a[0] - b[0]);
        for (const [seq, json] of head.alerts) this.onAlert(json, seq);
      }
      this.rounds.delete(this.nextEmit++);
      const w = this.waiters.shift();
      if (w) w();
    }
    if (this.rounds.size < this.maxInflight) {
      const ws = this.waiters.splice(0);
      for (const f of ws) f();
    }
    if (this.rounds.size === 0) {
      const ds = this.drainWaiters.splice(0);
      for (const f of ds) f();
    }
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const f of [...this.waiters.splice(0), ...this.drainWaiters.splice(0)]) f();
  }

  /** Dispatches what is buffered and waits until every queued event has been evaluated. */
  async flush(): Promise<void> {
    await this.dispatch();
    if (this.rounds.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.filter(Boolean).map((w) => w.terminate()));
  }
}
