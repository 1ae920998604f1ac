// `vigil run`: starts the sensor on this node and streams events (JSON lines or text) to stdout.
// The core's options live here; the other parts (rules engine, policies, uplink) join as run hooks
// from the registry (src/cli/run-hooks.ts) through the contract of src/runtime: each declares and
// reads its own options, and gets the RunContext (sensor, control socket, bus, logger) at start.
// Alerts and logs reach stdout/stderr through writers subscribed to the bus. At module load this
// declares options only (as do the hooks' modules): the sensor and the run loop
// (src/cli/run-sensor.ts) are imported when the command runs, so `vigil run --help` loads commander
// and the option declarations, nothing else.
import { type Command, Option } from 'commander';
import type { Sensor } from '../../sensor/sensor.ts';
import { DEFAULT_WAKEUP_MS } from '../../kernel/loader.ts';
import { DEFAULT_SOCKET } from '../../common/control-client.ts';
import { VigilError } from '../../common/errors.ts';
import type { CoreRunOptions, AnyRunHook } from '../../runtime/index.ts';
import type { HookOptionValues } from '../run-sensor.ts';
import { createRunHooks } from '../run-hooks.ts';

export type { HookOptionValues };

function intOpt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new VigilError('VIGIL_E_USAGE', `${name} must be a non-negative integer, got "${v}"`, { exitCode: 2 });
    return n;
  };
}

/**
 * Runs the sensor until a signal, --duration, --max-events or the loader's exit; returns the exit
 * code. The run loop (src/cli/run-sensor.ts) and the sensor are imported here, at run time only.
 */
export async function runSensor(core: CoreRunOptions, hookOptions: HookOptionValues = {}, hooks: AnyRunHook<Sensor>[] = createRunHooks()): Promise<number> {
  const { runSensor: run } = await import('../run-sensor.ts');
  return run(core, hookOptions, hooks);
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
  if (typeof o.record === 'string') c.record = o.record;
  if (o.recordFormat === 'ndjson') c.recordFormat = 'ndjson';
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
    .option(
      '--wakeup-ms <ms>',
      'how long events may wait in the kernel ring buffer before they are read: fewer wakeups, less overhead; 0 reads every event at once (lowest latency)',
      intOpt('--wakeup-ms'),
      DEFAULT_WAKEUP_MS,
    )
    .option('-q, --quiet', 'do not print events (alerts, the uplink and the socket still work)')
    .option('--record <file>', 'also write every event to FILE as a recording (compact binary; replay it with `vigil replay FILE`)')
    .addOption(new Option('--record-format <format>', 'format of --record').choices(['vigil', 'ndjson']).default('vigil'));
  const hooks = createRunHooks();
  const valuesOf = declareHookOptions(cmd, hooks);
  cmd.action(async (raw: Record<string, unknown>) => {
    const opts = coreOptions(raw);
    if (opts.argvMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--argv-max must be at most 4096', { exitCode: 2 });
    if (opts.wakeupMs !== undefined && (opts.wakeupMs < 0 || opts.wakeupMs > 1000))
      throw new VigilError('VIGIL_E_USAGE', '--wakeup-ms must be between 0 and 1000', { exitCode: 2 });
    if (opts.envMax > 4096) throw new VigilError('VIGIL_E_USAGE', '--env-max must be at most 4096', { exitCode: 2 });
    if (opts.record === '') throw new VigilError('VIGIL_E_USAGE', '--record needs a file name', { exitCode: 2 });
    const code = await runSensor(opts, valuesOf(raw), hooks);
    process.exit(code);
  });
}
