// Rules engine, worker thread: one shard of the parallel evaluator (parallel.ts). Loads the same
// rules sources as the main thread, then evaluates batches of recorded events (NDJSON lines or
// event objects, all events of a given process go to the same worker) or whole blocks of a
// recording (replay: decoded and split here, readline's line semantics) and returns alert JSON
// lines tagged with the index of the event that raised them.
import { parentPort, workerData } from 'node:worker_threads';
import { EventLineParser } from './event-json.ts';
import { RuleLoader, formatMessage } from './loader.ts';
import type { CompileOptions, RulesSource } from './loader.ts';
import { alertToJson } from './output.ts';
import type { Alert, Ev } from './types.ts';

export interface WorkerInit {
  sources: RulesSource[];
  opts: CompileOptions;
}

/**
 * One worker's share of a round: `buf` holds the lines back to back in UTF-8 (`bytes` used);
 * `lens[i]` is the length (UTF-16 units) of event i's line, or -1 when event i is the next object
 * of `objs`. Alerts come back tagged with i; `buf` is transferred back for reuse.
 */
export type ToWorker =
  | { type: 'batch'; round: number; buf: ArrayBuffer | null; bytes: number; lens: Int32Array; objs: Ev[] }
  /**
   * A block of whole NDJSON lines at buf[offset, offset + bytes); alerts come back tagged with the
   * index of their event among the block's events (blank and unparsable lines not counted), and
   * `events` counts the non-blank lines.
   */
  | { type: 'chunk'; round: number; buf: ArrayBuffer; offset: number; bytes: number };
export type FromWorker =
  | { type: 'ready'; rules: number }
  | { type: 'error'; message: string }
  | { type: 'result'; round: number; alerts: [number, string][]; events: number; badLines: number; buf: ArrayBuffer | null };

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const loader = new RuleLoader(init.opts);
  const res = loader.load(init.sources);
  if (!res.ok) {
    port.postMessage({ type: 'error', message: res.errors.map(formatMessage).join('\n') } satisfies FromWorker);
  } else {
    const rs = res.ruleset;
    port.postMessage({ type: 'ready', rules: rs.rules.length } satisfies FromWorker);
    const parser = new EventLineParser();
    const chunk = (m: Extract<ToWorker, { type: 'chunk' }>): void => {
      const alerts: [number, string][] = [];
      let events = 0;
      const bad = parser.parseBlock(Buffer.from(m.buf, m.offset, m.bytes), m.bytes, (ev) => {
        const out = rs.evaluate(ev);
        for (let j = 0; j < out.length; j++) alerts.push([events, alertToJson(out[j] as Alert)]);
        events++;
      });
      port.postMessage({ type: 'result', round: m.round, alerts, events: events + bad, badLines: bad, buf: m.buf } satisfies FromWorker, [m.buf]);
    };
    port.on('message', (m: ToWorker) => {
      if (m.type === 'chunk') {
        chunk(m);
        return;
      }
      const alerts: [number, string][] = [];
      let bad = 0;
      const { lens, objs } = m;
      // one decode for the whole batch; lines are then sliced out of it (no copy)
      const text = m.buf === null ? '' : Buffer.from(m.buf, 0, m.bytes).toString('utf8');
      const n = lens.length;
      let off = 0;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const len = lens[i] as number;
        let ev: Ev;
        if (len >= 0) {
          const line = text.slice(off, off + len);
          off += len;
          try {
            ev = parser.parse(line);
          } catch {
            bad++;
            continue;
          }
        } else ev = objs[k++] as Ev;
        const out = rs.evaluate(ev);
        for (let j = 0; j < out.length; j++) alerts.push([i, alertToJson(out[j] as Alert)]);
      }
      port.postMessage({ type: 'result', round: m.round, alerts, events: n, badLines: bad, buf: m.buf } satisfies FromWorker, m.buf === null ? [] : [m.buf]);
    });
  }
}
