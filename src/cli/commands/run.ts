// `vigil run`: starts the sensor on this node and streams events (JSON lines or text) to stdout.
// Other parts hook in through `runHooks` (rules engine, policies, uplink) so this file stays the
// place where command-line options become a running sensor.
import { Command, Option } from 'commander';
import { Sensor } from '../../sensor/sensor.ts';
import { DEFAULT_WAKEUP_MS } from '../../sensor/loader-client.ts';
import { PlanBuilder, parseFamilies, type EventFamily } from '../../sensor/hooks.ts';
import { EventPrinter, type OutputFormat } from '../../sensor/output.ts';
import { ControlServer, DEFAULT_SOCKET } from '../../sensor/control.ts';
import { sensorMetrics } from '../../sensor/metrics.ts';
import { VigilError } from '../../common/errors.ts';
import { uplinkRunHook } from '../../uplink/run-hook.ts';
import { rulesRunHook } from '../../detect/live.ts';

export interface RunOptions {
  output: OutputFormat;
  events?: string;
  duration?: number;
  maxEvents?: number;
  argvMax: number;
  /** --capture-env: environment of every exec (else only when a rule reads proc.env) */
  captureEnv?: boolean;
  envMax: number;
  socket: string | false;
  ringbufMb: number;
  wakeupMs?: number;
  /** do not print events (vigil up, or when only alerts or the uplink matter) */
  quiet?: boolean;
  [k: string]: unknown;
}

/** Extension points for the other parts (rules, policy, uplink) to join `vigil run`. */
export interface RunHook {
  /** add options to the run command */
  options?(cmd: Command): void;
  /** add hooks/kinds to the plan; return false if the printer should not print events */
  plan?(opts: RunOptions, plan: PlanBuilder, families: EventFamily[]): Promise<void> | void;
  /** called once the sensor runs */
  start?(opts: RunOptions, sensor: Sensor, control: ControlServer | undefined): Promise<void> | void;
  /** whether raw events are printed (e.g. false with --alerts-only) */
  printsEvents?(opts: RunOptions): boolean;
  stop?(): Promise<void> | void;
}

export const runHooks: RunHook[] = [rulesRunHook, uplinkRunHook];

function intOpt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new VigilError('VIGIL_E_USAGE', `${name} must be a non-negative integer, got "${v}"`, { exitCode: 2 });
    return n;
  };
}

export async function runSensor(opts: RunOptions): Promise<number> {
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  // signals stop the run from the very start (a SIGINT during start-up still exits cleanly)
  const onSignal = () => finish(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let families: EventFamily[];
  try {
    // with rules and no explicit --events, the rules alone decide which syscalls are hooked
    // (the process lifecycle hooks always stay: the process table needs them)
    families = opts.events === undefined && Array.isArray(opts.rules) && opts.rules.length ? ['exec'] : parseFamilies(opts.events);
  } catch (e) {
    throw new VigilError('VIGIL_E_USAGE', (e as Error).message, { exitCode: 2 });
  }
  const sensor = new Sensor({ ringbufMb: opts.ringbufMb, wakeupMs: opts.wakeupMs, failClosedExec: opts.failClosed === true });
  const plan = new PlanBuilder(opts.argvMax, opts.envMax).needFamilies(families);
  if (opts.captureEnv) plan.needEnv('--capture-env');
  for (const h of runHooks) await h.plan?.(opts, plan, families);
  const printEvents = !opts.quiet && runHooks.every((h) => h.printsEvents?.(opts) ?? true);
  const printer = new EventPrinter(process.stdout, opts.output);
  let seen = 0;
  sensor.onEvent((ev) => {
    if (printEvents && !printer.write(ev)) sensor.countDrop();
    seen++;
    if (opts.maxEvents && seen >= opts.maxEvents) finish(0);
  });
  await sensor.start();
  await sensor.applyPlan(plan.build());
  const failed = sensor.hooks().filter((h) => h.error);
  if (failed.length) {
    const names = failed.map((h) => h.spec.id.replace(/^\w+:/, '')).join(', ');
    process.stderr.write(`vigil: ${failed.length} hook(s) not available on this kernel: ${names} (reasons in 'vigil status')\n`);
  }

  let control: ControlServer | undefined;
  if (opts.socket) {
    control = new ControlServer(opts.socket);
    control.register('status', () => sensor.status());
    control.metricsText = () => sensorMetrics(sensor.status());
    await control.listen();
  }
  for (const h of runHooks) await h.start?.(opts, sensor, control);

  if (opts.duration) setTimeout(() => finish(0), opts.duration * 1000).unref();
  void sensor.loader.exited.then((code) => finish(code === 0 ? 0 : 1));

  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await sensor.stop();
  for (const h of runHooks) await h.stop?.();
  await control?.close();
  await printer.flush();
  return code;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run the sensor on this node and stream events to stdout')
    .addOption(new Option('-o, --output <format>', 'event output format').choices(['json', 'text']).default('json'))
    .option('-e, --events <families>', 'event families to capture: exec,file,net,priv,fd,caps or all (default exec,file,net,priv,caps)')
    .option('-d, --duration <seconds>', 'stop after this many seconds', intOpt('--duration'))
    .option('-n, --max-events <n>', 'stop after printing this many events', intOpt('--max-events'))
    .option('--argv-max <bytes>', 'argv bytes captured per exec (max 4096)', intOpt('--argv-max'), 4096)
    .option('--capture-env', 'capture the environment of every exec (proc.env, credentials redacted); on by itself when a loaded rule reads proc.env')
    .option('--env-max <bytes>', 'environment bytes captured per exec (max 4096)', intOpt('--env-max'), 4096)
    .option('--socket <path>', 'local control socket for vigil status and metrics', DEFAULT_SOCKET)
    .option('--no-socket', 'do not open the local control socket')
    .option('--ringbuf-mb <mb>', 'kernel ring buffer size in MiB (power of two)', intOpt('--ringbuf-mb'), 16)
    .option('--wakeup-ms <ms>', 'how long events may wait in the kernel ring buffer before they are read: fewer wakeups, less overhead; 0 reads every event at once (lowest latency)', intOpt('--wakeup-ms'), DEFAULT_WAKEUP_MS)
    .option('-q, --quiet', 'do not print events (alerts, the uplink and the socket still work)');
  for (const h of runHooks) h.options?.(cmd);
  cmd.action(async (opts: RunOptions) => {
    if (opts.argvMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--argv-max must be at most 4096', { exitCode: 2 });
    if (opts.wakeupMs !== undefined && (opts.wakeupMs < 0 || opts.wakeupMs > 1000)) throw new VigilError('VIGIL_E_USAGE', '--wakeup-ms must be between 0 and 1000', { exitCode: 2 });
    if (opts.envMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--env-max must be at most 4096', { exitCode: 2 });
    const code = await runSensor(opts);
    process.exit(code);
  });
}
