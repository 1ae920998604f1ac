// Joins the uplink to `vigil run` (the run hook made by createUplinkHook()): with --server (first
// start, with --enroll TOKEN) or an already enrolled --data dir, every alert and the events that
// --ship selects (default all; src/uplink/ship.ts) are pushed to the backend through the bounded
// on-disk spool (redacted first; capture never waits on the network); the events not shipped raw
// are counted per insight key and flushed as aggregate items every --agg-interval
// (src/uplink/aggregate.ts); the sensor's kernel and user-space drop counters travel with them. The
// sensor opens no network port: the WebSocket is outbound only. This module stays light (options
// only at module load, so `vigil run --help` does not load ws or node-forge): the uplink
// (src/uplink/uplink.ts) is imported in start(), and only when the sensor reports somewhere.
import type { Command } from 'commander';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { SensorUplink } from './uplink.ts';
import type { RunHook } from '../runtime/index.ts';
import { VigilError } from '../common/errors.ts';
import { DEFAULT_AGG_INTERVAL_MS, DEFAULT_AGG_MAX_KEYS, parseShip, shipsAll } from './ship.ts';
import type { UplinkAggregator } from './aggregate.ts';

function nonNegInt(flag: string, v: string, min = 0): number {
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v)))
    throw new VigilError('VIGIL_E_USAGE', `${flag}: expected an integer >= ${min}, got ${JSON.stringify(v)}`, { exitCode: 2 });
  return Number(v);
}

export const DEFAULT_SENSOR_DIR = '/var/lib/vigil/sensor';

export interface UplinkRunOptions {
  server?: string;
  ca?: string;
  enroll?: string;
  data: string;
  spoolMaxBytes?: number;
  /** which raw events to ship (alerts always): 'all' (default) or a list, see src/uplink/ship.ts */
  ship?: string;
  /** flush interval of the insight aggregates of the events not shipped raw (ms; 0: no aggregation) */
  aggInterval?: number;
  /** bound of the aggregate key table (a full table is flushed early) */
  aggMaxKeys?: number;
}

function uplinkOptions(raw: Readonly<Record<string, unknown>>): UplinkRunOptions {
  const o: UplinkRunOptions = { data: typeof raw.data === 'string' ? raw.data : DEFAULT_SENSOR_DIR };
  if (typeof raw.server === 'string') o.server = raw.server;
  if (typeof raw.ca === 'string') o.ca = raw.ca;
  if (typeof raw.enroll === 'string') o.enroll = raw.enroll;
  if (typeof raw.spoolMaxBytes === 'number') o.spoolMaxBytes = raw.spoolMaxBytes;
  if (typeof raw.ship === 'string') o.ship = raw.ship;
  if (typeof raw.aggInterval === 'number') o.aggInterval = raw.aggInterval;
  if (typeof raw.aggMaxKeys === 'number') o.aggMaxKeys = raw.aggMaxKeys;
  return o;
}

/** The uplink run hook: one instance per running sensor (its uplink and timer live here). */
export function createUplinkHook(): RunHook<UplinkRunOptions> & { readonly uplink: SensorUplink | undefined } {
  let uplink: SensorUplink | undefined;
  let timer: NodeJS.Timeout | undefined;
  let aggregator: UplinkAggregator | undefined;
  return {
    name: 'uplink',
    get uplink() {
      return uplink;
    },
    declareOptions(cmd: Command) {
      cmd
        .option('--server <url>', 'backend to report to (https://HOST:PORT); outbound WebSocket with mutual TLS')
        .option('--ca <file>', "the backend's CA certificate (DIR/ca.pem of the server), for the first enrollment")
        .option('--enroll <token>', 'one-time enrollment token (first start only)')
        .option('--data <dir>', 'sensor state: credentials and the spool', DEFAULT_SENSOR_DIR)
        .option(
          '--spool-max-bytes <n>',
          'bound of the on-disk spool; when full the oldest unacknowledged data is dropped and counted',
          (v: string) => Number(v),
          256 * 1024 * 1024,
        )
        .option(
          '--ship <events>',
          'raw events sent to the backend besides alerts: all, or a list of exec, policy, process, file, net, priv (none: alerts only)',
          'all',
        )
        .option(
          '--agg-interval <ms>',
          `events not shipped raw are counted per (workload, operation, resource) and sent every <ms> (0: not at all; default ${DEFAULT_AGG_INTERVAL_MS})`,
          (v: string) => nonNegInt('--agg-interval', v),
        )
        .option(
          '--agg-max-keys <n>',
          `bound of the aggregate table between flushes, a full table is sent early (default ${DEFAULT_AGG_MAX_KEYS})`,
          (v: string) => nonNegInt('--agg-max-keys', v, 16),
        );
    },
    parseOptions: uplinkOptions,
    async start(ctx) {
      const opts = ctx.options;
      const ship = parseShip(opts.ship ?? 'all'); // a bad value is an error even when not reporting
      const dir = opts.data;
      const enrolled = existsSync(path.join(dir, 'sensor.json'));
      if (!opts.server && !enrolled) return; // not reporting anywhere
      if (!enrolled && !opts.enroll)
        throw new VigilError('VIGIL_E_CONFIG', `sensor in ${dir} is not enrolled: pass --enroll TOKEN (vigil server token create) with --server`, {
          exitCode: 2,
        });
      const [{ SensorUplink }, { UplinkAggregator }] = await Promise.all([import('./uplink.ts'), import('./aggregate.ts')]);
      const up = new SensorUplink({ dir, server: opts.server, token: opts.enroll, caFile: opts.ca, spoolMaxBytes: opts.spoolMaxBytes });
      await up.start();
      uplink = up;
      const sensor = ctx.sensor;
      // events not shipped raw feed the insight aggregates (with --ship all there are none)
      const aggMs = opts.aggInterval ?? DEFAULT_AGG_INTERVAL_MS;
      const agg =
        aggMs > 0 && !shipsAll(opts.ship ?? 'all')
          ? new UplinkAggregator(up, up.hostname, { intervalMs: aggMs, maxKeys: opts.aggMaxKeys ?? DEFAULT_AGG_MAX_KEYS })
          : undefined;
      aggregator = agg;
      ctx.bus.subscribe('event', (ev) => {
        if (ship(ev)) {
          if (!up.push(ev)) sensor.countDrop();
        } else agg?.add(ev);
      });
      ctx.bus.subscribe('alert', (m) => up.pushAlertLine(m.json(), m.alert));
      timer = setInterval(() => {
        const s = sensor.status();
        up.setDrops({ kernel: s.kernel.ringbufDrops, user: s.userspace.dropped });
      }, 1000);
      timer.unref();
      ctx.control?.register('uplink.status', () => (agg ? { ...up.counters(), aggregates: agg.counters() } : up.counters()));
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      aggregator?.stop(); // the last aggregates go into the spool before the drain
      aggregator = undefined;
      if (!uplink) return;
      await uplink.drain(3000).catch(() => {});
      await uplink.close();
      uplink = undefined;
    },
  };
}
