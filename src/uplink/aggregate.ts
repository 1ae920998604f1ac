// Sensor-side aggregation for insights: the events the uplink does not ship raw (`--ship`) are
// counted per (workload, operation, resource) key by an Aggregator (src/insights/aggregate.ts) and
// flushed as aggregate items (wire kind 'g') every `intervalMs` (default 5 s), when the key table is
// full (early flush: nothing is dropped here) and on stop. Items go through the same bounded spool
// as events, so they are persisted, resent and stored exactly once like them; a row the spool
// refuses is counted (`droppedRows`). The server merges them with the aggregates of the raw events
// it stores, so the insights are those of shipping every event.
import { Aggregator } from '../insights/aggregate.ts';
import type { AggRow } from '../insights/aggregate.ts';
import { DEFAULT_AGG_INTERVAL_MS, DEFAULT_AGG_MAX_KEYS } from './ship.ts';

export interface AggregateSink {
  /** Queues rows; returns how many it refused. */
  pushAggregates(rows: readonly AggRow[]): number;
}

export interface UplinkAggregatorCounters {
  /** events counted */
  events: number;
  /** keys waiting for the next flush */
  keys: number;
  /** flushes (timer, full table, stop) that sent rows */
  flushes: number;
  /** flushes forced by a full key table */
  earlyFlushes: number;
  /** rows handed to the uplink */
  rows: number;
  /** rows the spool refused (counted as drops) */
  droppedRows: number;
}

export class UplinkAggregator {
  private readonly agg: Aggregator;
  private timer: NodeJS.Timeout | undefined;
  private readonly c = { flushes: 0, earlyFlushes: 0, rows: 0, droppedRows: 0 };

  constructor(
    private readonly sink: AggregateSink,
    hostname: string | null,
    opts: { intervalMs?: number; maxKeys?: number } = {},
  ) {
    this.agg = new Aggregator(hostname, opts.maxKeys ?? DEFAULT_AGG_MAX_KEYS);
    const ms = opts.intervalMs ?? DEFAULT_AGG_INTERVAL_MS;
    if (ms > 0) {
      this.timer = setInterval(() => this.flush(), ms);
      this.timer.unref();
    }
  }

  /** Counts one event (synchronous; a full table is flushed first, so the event is never lost). */
  add(ev: Record<string, unknown>): void {
    if (this.agg.add(ev)) return;
    this.c.earlyFlushes++;
    this.flush();
    this.agg.add(ev);
  }

  /** Sends what was counted so far. */
  flush(): void {
    if (this.agg.size === 0) return;
    const rows = this.agg.take();
    this.c.flushes++;
    this.c.rows += rows.length;
    this.c.droppedRows += this.sink.pushAggregates(rows);
  }

  /** Final flush; stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  counters(): UplinkAggregatorCounters {
    const s = this.agg.stats();
    return { events: s.events, keys: s.keys, ...this.c };
  }
}
