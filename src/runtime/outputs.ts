// Writers of bus messages to the terminal: alert lines to stdout (each alert's one serialisation)
// and log records to stderr as `vigil: <message>` lines. The core of `vigil run` subscribes them;
// other writers (the uplink) subscribe the same way.
import type { Writable } from 'node:stream';
import type { Bus, LogLevel } from './bus.ts';

/** Prints every alert as its JSON line. Returns the unsubscribe function. */
export function printAlerts(bus: Bus, out: Writable): () => void {
  return bus.subscribe('alert', (m) => {
    out.write(m.json() + '\n');
  });
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Prints log records at or above `min` as `vigil: <msg>` lines. Returns the unsubscribe function. */
export function printLogs(bus: Bus, out: Writable, min: LogLevel = 'info'): () => void {
  const floor = RANK[min];
  return bus.subscribe('log', (r) => {
    if (RANK[r.level] >= floor) out.write(`vigil: ${r.msg}\n`);
  });
}
