// Rules engine, replay of decoded events: what `vigil replay` runs for a recording read by a
// recording reader that yields objects (the binary format of src/wire/recording): on one thread the
// objects go straight to Ruleset.evaluate (no JSON on the way); with workers, each decoded object is
// handed to the parallel evaluator (structured clone to its worker, sharded by pid). Same alerts, same order
// as the line replay of the same events.
import { VigilError } from '../common/errors.ts';
import { formatMessage, RuleLoader } from './loader.ts';
import type { CompileOptions, RulesSource } from './loader.ts';
import { alertToJson } from './output.ts';
import { ParallelEvaluator } from './parallel.ts';
import type { Ruleset } from './engine.ts';
import type { Ev } from './types.ts';

/** Decoded events in batches, in recording order (a RecordingReader of src/wire/recording). */
export type EventBatches = AsyncIterable<readonly Ev[]>;

/** replay.ts's ReplayOptions and ReplayStats (structurally: this module does not import replay.ts) */
interface BatchReplayOptions extends CompileOptions {
  workers?: number;
  /** rules already loaded by the caller (the CLI checks them first) */
  ruleset?: Ruleset;
  onAlert: (json: string) => void;
}
interface BatchReplayStats {
  events: number;
  alerts: number;
  badLines: number;
  seconds: number;
}

export function isEventBatches(x: unknown): x is EventBatches {
  return typeof x === 'object' && x !== null && typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' && !('pipe' in x);
}

export async function replayBatches(input: EventBatches, sources: readonly RulesSource[], opts: BatchReplayOptions): Promise<BatchReplayStats> {
  const t0 = process.hrtime.bigint();
  const workers = opts.workers ?? 1;
  let alerts = 0;
  let events = 0;
  if (workers <= 1) {
    let rs = opts.ruleset;
    if (rs === undefined) {
      const res = new RuleLoader(opts).load(sources);
      if (!res.ok) throw new VigilError('VIGIL_E_RULE', res.errors.map(formatMessage).join('\n'));
      rs = res.ruleset;
    }
    const onAlert = opts.onAlert;
    for await (const batch of input) {
      events += batch.length;
      for (let i = 0; i < batch.length; i++) {
        for (const a of rs.evaluate(batch[i]!)) {
          alerts++;
          onAlert(alertToJson(a));
        }
      }
    }
    return { events, alerts, badLines: 0, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }
  const pe = await ParallelEvaluator.create(sources, { ...opts, workers });
  try {
    pe.setAlertHandler((json) => {
      alerts++;
      opts.onAlert(json);
    });
    for await (const batch of input) {
      for (const ev of batch) {
        // the decoded object itself (structured clone to the worker), not a JSON line: no text on
        // the way, and a 64-bit value decoded as a bigint travels as one
        const p = pe.push(ev);
        if (p) await p;
      }
    }
    await pe.flush();
    return { events: pe.events - pe.badLines, alerts, badLines: pe.badLines, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  } finally {
    await pe.close();
  }
}
