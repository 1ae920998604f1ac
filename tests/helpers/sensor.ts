// Test helper: a real sensor (real loader, real eBPF programs) running inside the test process,
// collecting every event, with waitFor() to await an event matching a predicate.
import { Sensor } from '../../src/sensor/sensor.ts';
import { PlanBuilder, type EventFamily } from '../../src/sensor/hooks.ts';
import type { VigilEvent } from '../../src/abi/event.ts';

export interface TestSensor {
  sensor: Sensor;
  events: VigilEvent[];
  /**
   * Forgets nothing but makes waitFor() and collect() look only at events from now on: pids are
   * reused (pid_max is 32768 on CI) and the sensor sees every process on the host, so a predicate
   * on a pid could otherwise match an earlier process's event.
   */
  mark(): void;
  waitFor(pred: (e: VigilEvent) => boolean, timeoutMs?: number, what?: string): Promise<VigilEvent>;
  /** all events matching, after waiting `settleMs` for stragglers */
  collect(pred: (e: VigilEvent) => boolean, settleMs?: number): Promise<VigilEvent[]>;
  stop(): Promise<void>;
}

export async function startSensor(
  families: EventFamily[],
  opts: { ringbufMb?: number; argvMax?: number; keep?: (e: VigilEvent) => boolean } = {},
): Promise<TestSensor> {
  const sensor = new Sensor({ ringbufMb: opts.ringbufMb ?? 16 });
  const events: VigilEvent[] = [];
  const waiters: { pred: (e: VigilEvent) => boolean; resolve: (e: VigilEvent) => void }[] = [];
  sensor.onEvent((e) => {
    if (opts.keep && !opts.keep(e)) return;
    events.push(e);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(e)) {
        waiters[i]!.resolve(e);
        waiters.splice(i, 1);
      }
    }
  });
  let floor = 0;
  await sensor.start();
  await sensor.applyPlan(new PlanBuilder(opts.argvMax ?? 4096).needFamilies(families).build());
  return {
    sensor,
    events,
    mark() {
      floor = events.length;
    },
    waitFor(pred, timeoutMs = 10000, what = 'event') {
      let found: VigilEvent | undefined;
      for (let i = floor; i < events.length && !found; i++) if (pred(events[i]!)) found = events[i];
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
      });
    },
    async collect(pred, settleMs = 300) {
      await new Promise((r) => setTimeout(r, settleMs));
      return events.slice(floor).filter(pred);
    },
    stop: () => sensor.stop(),
  };
}

/** Runs a command to completion; resolves with its pid and exit code. */
export async function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ pid: number; code: number; stdout: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ pid: c.pid!, code: code ?? -1, stdout: out }));
  });
}
