// `vigil run`: starts the sensor on this node and streams events (JSON lines or text) to stdout.
// The core's options live here; the other parts (rules engine, policies, uplink) join as run hooks
// from the registry (src/cli/run-hooks.ts) through the contract of src/runtime: each declares and
// reads its own options, and gets the RunContext (sensor, control socket, bus, logger) at start.
// Alerts and logs reach stdout/stderr through writers subscribed to the bus.
import { type Command, Option } from 'commander';
import { Sensor } from '../../sensor/sensor.ts';
import { DEFAULT_WAKEUP_MS } from '../../kernel/loader.ts';
import { PlanBuilder, parseFamilies, type EventFamily } from '../../sensor/hooks.ts';
import { EventPrinter } from '../../sensor/output.ts';
import { ControlServer, DEFAULT_SOCKET } from '../../sensor/control.ts';
import { sensorMetrics } from '../../sensor/metrics.ts';
import { VigilError } from '../../common/errors.ts';
import { busLogger, createRunContext, HookSet, printAlerts, printLogs, withControl, type CoreRunOptions, type AnyRunHook } from '../../runtime/index.ts';
import { createRunHooks } from '../run-hooks.ts';

/** Each hook's raw option values, by hook name (a hook absent here runs with its defaults). */
export type HookOptionValues = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

function intOpt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new VigilError('VIGIL_E_USAGE', `${name} must be a non-negative integer, got "${v}"`, { exitCode: 2 });
    return n;
  };
}

export async function runSensor(core: CoreRunOptions, hookOptions: HookOptionValues = {}, hooks: AnyRunHook<Sensor>[] = createRunHooks()): Promise<number> {
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  // signals stop the run from the very start (a SIGINT during start-up still exits cleanly)
  const onSignal = () => finish(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const set = new HookSet(hooks, (h) => hookOptions[h.name] ?? {});
  let families: EventFamily[];
  try {
    // when a hook chooses its own kinds (rules) and --events is not given, the hooks alone decide
    // which syscalls are hooked (the process lifecycle hooks always stay: the process table needs them)
    families = core.events === undefined && set.selectsKinds() ? ['exec'] : parseFamilies(core.events);
  } catch (e) {
    throw new VigilError('VIGIL_E_USAGE', (e as Error).message, { exitCode: 2 });
  }
  const sensor = new Sensor({ ringbufMb: core.ringbufMb, wakeupMs: core.wakeupMs, failClosedExec: set.sensorOptions().failClosedExec === true });
  const plan = new PlanBuilder(core.argvMax, core.envMax).needFamilies(families);
  if (core.captureEnv) plan.needEnv('--capture-env');
  await set.plan(plan);
  const printEvents = !core.quiet && set.printsEvents();
  const printer = new EventPrinter(process.stdout, core.output);
  // a throwing subscriber is counted like a throwing event consumer of the sensor
  const base = createRunContext({
    sensor,
    core,
    onBusError: (_topic, e) => {
      sensor.counters.consumerErrors++;
      sensor.emit('consumer-error', e);
    },
  });
  const bus = base.bus;
  printLogs(bus, process.stderr);
  printAlerts(bus, process.stdout);
  const loaderLog = busLogger(bus, 'loader');
  sensor.on('log', (t: string) => loaderLog.debug(t));
  let seen = 0;
  bus.subscribe('event', (ev) => {
    if (printEvents && !printer.write(ev)) sensor.countDrop();
    seen++;
    if (core.maxEvents && seen >= core.maxEvents) finish(0);
  });
  await sensor.start();
  await sensor.applyPlan(plan.build());
  const failed = sensor.hooks().filter((h) => h.error);
  if (failed.length) {
    const names = failed.map((h) => h.spec.id.replace(/^\w+:/, '')).join(', ');
    base.log.warn(`${failed.length} hook(s) not available on this kernel: ${names} (reasons in 'vigil status')`);
  }

  let control: ControlServer | undefined;
  if (core.socket) {
    control = new ControlServer(core.socket);
    control.register('status', () => sensor.status());
    control.metricsText = () => sensorMetrics(sensor.status());
    await control.listen();
  }
  await set.start(withControl(base, control));

  if (core.duration) setTimeout(() => finish(0), core.duration * 1000).unref();
  void sensor.loader.exited.then((code) => finish(code === 0 ? 0 : 1));

  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await sensor.stop();
  await set.stop();
  await control?.close();
  await printer.flush();
  return code;
}

/** The core's typed options out of the parsed command line. */
function coreOptions(o: Record<string, unknown>): CoreRunOptions {
  const c: CoreRunOptions = {
    output: o.output === 'text' ? 'text' : 'json',
    argvMax: o.argvMax as number,
    envMax: o.envMax as number,
    socket: typeof o.socket === 'string' ? o.socket : false,
    ringbufMb: o.ringbufMb as number,
  };
  if (typeof o.events === 'string') c.events = o.events;
  if (typeof o.duration === 'number') c.duration = o.duration;
  if (typeof o.maxEvents === 'number') c.maxEvents = o.maxEvents;
  if (o.captureEnv === true) c.captureEnv = true;
  if (typeof o.wakeupMs === 'number') c.wakeupMs = o.wakeupMs;
  if (o.quiet === true) c.quiet = true;
  return c;
}

/**
 * Lets each hook declare its options on the run command; returns the function that splits the
 * parsed values by hook (each hook gets the values of the options it declared, and only those).
 * An option attribute declared twice (by the core or another hook) is an error.
 */
export function declareHookOptions(cmd: Command, hooks: readonly AnyRunHook<Sensor>[]): (raw: Readonly<Record<string, unknown>>) => HookOptionValues {
  const owned = new Map<string, string[]>();
  const taken = new Set(cmd.options.map((o) => o.attributeName()));
  for (const h of hooks) {
    const before = cmd.options.length;
    h.declareOptions?.(cmd);
    const keys = [...new Set(cmd.options.slice(before).map((o) => o.attributeName()))];
    for (const k of keys) {
      if (taken.has(k)) throw new VigilError('VIGIL_E_INTERNAL', `run hook ${h.name}: option ${k} is declared twice`);
      taken.add(k);
    }
    owned.set(h.name, keys);
  }
  return (raw) => {
    const values: Record<string, Record<string, unknown>> = {};
    for (const [name, keys] of owned) values[name] = Object.fromEntries(keys.filter((k) => k in raw).map((k) => [k, raw[k]]));
    return values;
  };
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
  const hooks = createRunHooks();
  const valuesOf = declareHookOptions(cmd, hooks);
  cmd.action(async (raw: Record<string, unknown>) => {
    const opts = coreOptions(raw);
    if (opts.argvMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--argv-max must be at most 4096', { exitCode: 2 });
    if (opts.wakeupMs !== undefined && (opts.wakeupMs < 0 || opts.wakeupMs > 1000)) throw new VigilError('VIGIL_E_USAGE', '--wakeup-ms must be between 0 and 1000', { exitCode: 2 });
    if (opts.envMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--env-max must be at most 4096', { exitCode: 2 });
    const code = await runSensor(opts, valuesOf(raw), hooks);
    process.exit(code);
  });
}
