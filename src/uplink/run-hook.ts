// Joins the uplink to `vigil run`: with --server (first start, with --enroll TOKEN) or an already
// enrolled --data dir, every event and alert of the sensor is pushed to the backend through the
// bounded on-disk spool (redacted first; capture never waits on the network), and the sensor's
// kernel and user-space drop counters travel with it. The sensor opens no network port: the
// WebSocket is outbound only.
import type { Command } from 'commander';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { SensorUplink } from './uplink.ts';
import type { RunHook, RunOptions } from '../cli/commands/run.ts';
import type { Sensor } from '../sensor/sensor.ts';
import type { ControlServer } from '../sensor/control.ts';
import { VigilError } from '../common/errors.ts';

export const DEFAULT_SENSOR_DIR = '/var/lib/vigil/sensor';

interface UplinkRunOptions extends RunOptions {
  server?: string;
  ca?: string;
  enroll?: string;
  data?: string;
  spoolMaxBytes?: number;
}

let uplink: SensorUplink | undefined;
let timer: NodeJS.Timeout | undefined;

export const uplinkRunHook: RunHook = {
  options(cmd: Command) {
    cmd
      .option('--server <url>', 'backend to report to (https://HOST:PORT); outbound WebSocket with mutual TLS')
      .option('--ca <file>', "the backend's CA certificate (DIR/ca.pem of the server), for the first enrollment")
      .option('--enroll <token>', 'one-time enrollment token (first start only)')
      .option('--data <dir>', 'sensor state: credentials and the spool', DEFAULT_SENSOR_DIR)
      .option('--spool-max-bytes <n>', 'bound of the on-disk spool; when full the oldest unacknowledged data is dropped and counted', (v: string) => Number(v), 256 * 1024 * 1024);
  },
  async start(o: RunOptions, sensor: Sensor, control: ControlServer | undefined) {
    const opts = o as UplinkRunOptions;
    const dir = opts.data ?? DEFAULT_SENSOR_DIR;
    const enrolled = existsSync(path.join(dir, 'sensor.json'));
    if (!opts.server && !enrolled) return; // not reporting anywhere
    if (!enrolled && !opts.enroll) throw new VigilError('VIGIL_E_CONFIG', `sensor in ${dir} is not enrolled: pass --enroll TOKEN (vigil server token create) with --server`, { exitCode: 2 });
    const up = new SensorUplink({ dir, server: opts.server, token: opts.enroll, caFile: opts.ca, spoolMaxBytes: opts.spoolMaxBytes });
    await up.start();
    uplink = up;
    sensor.onEvent((ev) => {
      if (!up.push(ev)) sensor.countDrop();
    });
    sensor.on('alert', (a: object) => up.pushAlert(a));
    timer = setInterval(() => {
      const s = sensor.status();
      up.setDrops({ kernel: s.kernel.ringbufDrops, user: s.userspace.dropped });
    }, 1000);
    timer.unref();
    control?.register('uplink.status', () => up.counters());
  },
  async stop() {
    if (timer) clearInterval(timer);
    if (!uplink) return;
    await uplink.drain(3000).catch(() => {});
    await uplink.close();
    uplink = undefined;
  },
};
