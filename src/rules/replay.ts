// Rules engine, replay: evaluates a recording made with `vigil run --output json` (one event per
// line) against rules files and writes alerts as JSON lines, on one thread (the synchronous
// evaluator) or sharded across worker threads (parallel.ts); both give the same alerts in the
// same order.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { VigilError } from '../common/errors.ts';
import { formatMessage, RuleLoader } from './loader.ts';
import type { CompileOptions, RulesSource } from './loader.ts';
import { alertToJson } from './output.ts';
import { ParallelEvaluator } from './parallel.ts';
import { type EventBatches, isEventBatches, replayBatches } from './replay-batches.ts';
import type { Ev } from './types.ts';

export interface ReplayOptions extends CompileOptions {
  workers?: number;
  /** Called for each alert JSON line, in input order. */
  onAlert: (json: string) => void;
}

export interface ReplayStats {
  events: number;
  alerts: number;
  badLines: number;
  seconds: number;
}

export async function replay(input: string | Readable | EventBatches, sources: readonly RulesSource[], opts: ReplayOptions): Promise<ReplayStats> {
  if (isEventBatches(input)) return replayBatches(input, sources, opts);
  // the line reader is created only once the evaluator is ready: lines read before iteration
  // starts would be lost
  const lines = () => createInterface({ input: typeof input === 'string' ? createReadStream(input, { encoding: 'utf8' }) : input, crlfDelay: Infinity });
  const t0 = process.hrtime.bigint();
  const workers = opts.workers ?? 1;
  let alerts = 0;
  if (workers <= 1) {
    const loader = new RuleLoader(opts);
    const res = loader.load(sources);
    if (!res.ok) throw new VigilError('VIGIL_E_RULE', res.errors.map(formatMessage).join('\n'));
    const rs = res.ruleset;
    let events = 0;
    let bad = 0;
    for await (const line of lines()) {
      if (line.trim() === '') continue;
      let ev: Ev;
      try {
        ev = JSON.parse(line) as Ev;
      } catch {
        bad++;
        continue;
      }
      events++;
      for (const a of rs.evaluate(ev)) {
        alerts++;
        opts.onAlert(alertToJson(a));
      }
    }
    return { events, alerts, badLines: bad, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }
  const pe = await ParallelEvaluator.create(sources, { ...opts, workers });
  try {
    pe.setAlertHandler((json) => {
      alerts++;
      opts.onAlert(json);
    });
    for await (const line of lines()) {
      if (line.trim() === '') continue;
      const p = pe.pushLine(line);
      if (p) await p;
    }
    await pe.flush();
    return { events: pe.events - pe.badLines, alerts, badLines: pe.badLines, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  } finally {
    await pe.close();
  }
}
