// Rules engine, replay: evaluates a recording made with `vigil run --output json` (one event per
// line) against rules files and writes alerts as JSON lines, on one thread (the synchronous
// evaluator) or on this thread and worker threads (parallel.ts: blocks of whole lines are
// transferred to the workers, which decode, parse and evaluate them); both give the same alerts
// in the same order.
// The recording is read through replay-input.ts (one branch per recording format).
import type { Readable } from 'node:stream';
import { VigilError } from '../common/errors.ts';
import { EventLineParser } from './event-json.ts';
import { formatMessage, RuleLoader } from './loader.ts';
import type { CompileOptions, RulesSource } from './loader.ts';
import { alertToJson } from './output.ts';
import { ParallelEvaluator } from './parallel.ts';
import { type EventBatches, isEventBatches, replayBatches } from './replay-batches.ts';
import type { LocalEvaluator } from './parallel.ts';
import { openInput } from './replay-input.ts';
import type { Ev } from './types.ts';
import type { Ruleset } from './engine.ts';

export interface ReplayOptions extends CompileOptions {
  workers?: number;
  /** Called for each alert JSON line, in input order. */
  onAlert: (json: string) => void;
  /** Bytes per block read from the recording (tests use small blocks). */
  chunkBytes?: number;
  /** The rules already loaded from `sources` with these options (spares loading them again). */
  ruleset?: Ruleset;
  /** With workers: this thread evaluates blocks too while the workers are busy (default true). */
  evaluateHere?: boolean;
}

export interface ReplayStats {
  events: number;
  alerts: number;
  badLines: number;
  seconds: number;
  /** Blocks of lines evaluated on this thread and by worker threads. */
  blocksHere: number;
  blocksWorkers: number;
}

function loadRules(sources: readonly RulesSource[], opts: CompileOptions): Ruleset {
  const res = new RuleLoader(opts).load(sources);
  if (!res.ok) throw new VigilError('VIGIL_E_RULE', res.errors.map(formatMessage).join('\n'));
  return res.ruleset;
}

/**
 * Replays a recording: NDJSON lines (a path or a stream) or a binary recording's decoded event
 * batches (replay-batches.ts). With `workers` N > 1 the events are evaluated on N threads: this one and
 * N - 1 worker threads (blocks of lines go to a worker with room, else they are evaluated here, which
 * also covers the time the workers take to load the rules).
 */
export async function replay(input: string | Readable | EventBatches, sources: readonly RulesSource[], opts: ReplayOptions): Promise<ReplayStats> {
  if (isEventBatches(input)) return { ...(await replayBatches(input, sources, opts)), blocksHere: 0, blocksWorkers: 0 };
  const t0 = process.hrtime.bigint();
  const workers = opts.workers ?? 1;
  const src = openInput(input, opts.chunkBytes);
  // worker threads start loading the rules while this thread loads them too
  const pe = workers > 1 ? ParallelEvaluator.spawn(sources, { ...opts, workers: workers - 1 }) : undefined;
  try {
    const rs = opts.ruleset ?? loadRules(sources, opts);
    const parser = new EventLineParser();
    let alerts = 0;
    let blocks = 0;
    if (pe === undefined) {
      let events = 0;
      let bad = 0;
      const evaluate = (ev: Ev): void => {
        events++;
        const out = rs.evaluate(ev);
        for (let j = 0; j < out.length; j++) {
          alerts++;
          opts.onAlert(alertToJson(out[j]!));
        }
      };
      for await (const chunk of src.chunks()) {
        if (chunk.kind === 'events') {
          for (const ev of chunk.events) evaluate(ev);
          continue;
        }
        bad += parser.parseBlock(chunk.buf, chunk.bytes, evaluate);
        blocks++;
        src.release(chunk.buf.buffer as ArrayBuffer);
      }
      return { events, alerts, badLines: bad, seconds: Number(process.hrtime.bigint() - t0) / 1e9, blocksHere: blocks, blocksWorkers: 0 };
    }
    pe.setAlertHandler((json) => {
      alerts++;
      opts.onAlert(json);
    });
    const local: LocalEvaluator = (buf, bytes) => {
      blocks++;
      const found: [number, string][] = [];
      let events = 0;
      const badLines = parser.parseBlock(buf, bytes, (ev) => {
        const out = rs.evaluate(ev);
        for (let j = 0; j < out.length; j++) found.push([events, alertToJson(out[j]!)]);
        events++;
      });
      return { alerts: found, events, badLines };
    };
    const release = (ab: ArrayBuffer): void => src.release(ab);
    let sent = 0;
    for await (const chunk of src.chunks()) {
      if (chunk.kind === 'events') {
        for (const ev of chunk.events) {
          const p = pe.push(ev);
          if (p) await p;
        }
        continue;
      }
      const p = pe.pushChunk(chunk.buf, chunk.bytes, release, opts.evaluateHere === false ? undefined : local);
      sent++;
      // the workers' answers (ready, results) are events of this loop: let them in between blocks
      if (p) await p;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await pe.flush();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // the workers asked for must have started even when this thread did all the work (a short
    // recording): a worker that cannot load (its entry missing from a build, a rules error in it)
    // is an error, not something a small file hides
    await pe.allReady;
    return { events: pe.events - pe.badLines, alerts, badLines: pe.badLines, seconds, blocksHere: blocks, blocksWorkers: sent - blocks };
  } finally {
    await pe?.close();
  }
}
