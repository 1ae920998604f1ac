// The run-time contract of `vigil run`: what a part that consumes the sensor's stream (a "run
// hook": rules, policy, uplink, and the consumers to come) is given and what it implements.
// - SensorHandle: the narrow view of the sensor a hook may rely on (event source + status + drop
//   counter). The real Sensor satisfies it; a test feeds a fake one with events, no kernel needed.
//   A hook that needs more of the sensor says so through its type parameter S.
// - RunContext: one running sensor: its handle, its control socket (if any), its bus, a logger and
//   the typed options of the core. Everything a hook holds lives in its instance, never in module
//   state, so two RunContexts (two sensors) in one process share nothing.
// - RunHook: declares its own command-line options, reads only its own (parsed) options, may add
//   kernel hooks to the plan, and runs between start and stop with a HookContext.
import type { Command } from 'commander';
import type { PlanBuilder } from '../sensor/hooks.ts';
import type { OutputFormat } from '../sensor/output.ts';
import type { VigilEvent } from '../abi/event.ts';
import { Bus, type LogLevel, type Topic } from './bus.ts';

/** Where events come from. */
export interface EventSource {
  onEvent(fn: (ev: VigilEvent) => void): void;
}

/** The part of the sensor status hooks read. */
export interface SensorStatusView {
  kernel: { ringbufDrops: number };
  userspace: { dropped: number };
}

/** The narrow sensor every hook may use: its events, its status, its user-space drop counter. */
export interface SensorHandle extends EventSource {
  status(): SensorStatusView;
  /** count events a consumer could not take (its bounded queue was full) */
  countDrop(n?: number): void;
}

export type ControlHandler = (req: Record<string, unknown>) => Promise<unknown> | unknown;

/** The local control socket, as hooks see it: a place to register operations. */
export interface ControlRegistry {
  register(op: string, fn: ControlHandler): void;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Options of the core of `vigil run` (the sensor and the event printer), typed: no hook's options. */
export interface CoreRunOptions {
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
  /** --record FILE: also write every event to FILE as a recording (src/wire/recording) */
  record?: string;
  /** --record-format: 'vigil' (binary, the default) or 'ndjson' */
  recordFormat?: 'vigil' | 'ndjson';
}

/** One running sensor. */
export interface RunContext<S extends SensorHandle = SensorHandle> {
  readonly sensor: S;
  readonly control: ControlRegistry | undefined;
  readonly bus: Bus;
  readonly log: Logger;
  readonly core: Readonly<CoreRunOptions>;
}

/** What a hook's start() gets: the context, its own typed options, a logger named after it. */
export interface HookContext<O, S extends SensorHandle = SensorHandle> extends RunContext<S> {
  readonly options: O;
}

/** What a hook asks of the sensor before it starts (merged over all hooks). */
export interface HookSensorOptions {
  /** the loader denies execs the fanotify enforcer cannot decide */
  failClosedExec?: boolean;
}

/**
 * A consumer joining `vigil run`. One instance per running sensor (hooks are made by factories,
 * e.g. createRulesHook()); its state lives in the instance. O: its own options; S: the sensor
 * view it needs (SensorHandle unless it needs the full Sensor).
 */
export interface RunHook<O = unknown, S extends SensorHandle = SensorHandle> {
  /** short name: the source of its log records, the key of its options in `runSensor` */
  readonly name: string;
  /** declares its command-line options on the run command */
  declareOptions?(cmd: Command): void;
  /** its typed options from the parsed values of the options it declared (and only those) */
  parseOptions(raw: Readonly<Record<string, unknown>>): O;
  /** what it needs from the sensor at start-up */
  sensorOptions?(opts: O): HookSensorOptions;
  /** true: this hook chooses the event kinds it needs, so without --events only exec is hooked */
  selectsKinds?(opts: O): boolean;
  /** adds kernel hooks/kinds to the plan; throws (VigilError) on bad input before the sensor starts */
  plan?(opts: O, plan: PlanBuilder): Promise<void> | void;
  /** whether raw events are printed (e.g. false with --alerts-only) */
  printsEvents?(opts: O): boolean;
  /** called once the sensor runs */
  start?(ctx: HookContext<O, S>): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * A hook of any options type, for registries (each hook is checked against its own options where
 * it is defined; a list holds hooks of different option types).
 */
// biome-ignore lint/suspicious/noExplicitAny: existential option type of a heterogeneous list
export type AnyRunHook<S extends SensorHandle = SensorHandle> = RunHook<any, S>;

/** A logger whose records go to the bus's 'log' topic (built only when someone listens). */
export function busLogger(bus: Bus, source: string): Logger {
  const at = (level: LogLevel) => (msg: string) => {
    if (bus.has('log')) bus.publish('log', { level, source, msg });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface RunContextInit<S extends SensorHandle> {
  sensor: S;
  core: CoreRunOptions;
  control?: ControlRegistry | undefined;
  /** a subscriber threw (default: counted by the bus only) */
  onBusError?: (topic: Topic, err: unknown) => void;
}

/** A context for one sensor: a new bus, fed with the sensor's events. */
export function createRunContext<S extends SensorHandle>(init: RunContextInit<S>): RunContext<S> {
  const bus = new Bus(init.onBusError);
  init.sensor.onEvent((ev) => bus.publish('event', ev));
  return { sensor: init.sensor, control: init.control, bus, log: busLogger(bus, 'core'), core: init.core };
}

/** A context with a control socket added (it opens after the sensor started). */
export function withControl<S extends SensorHandle>(ctx: RunContext<S>, control: ControlRegistry | undefined): RunContext<S> {
  return { ...ctx, control };
}

/** The context one hook sees: its options and a logger under its name. */
export function hookContext<O, S extends SensorHandle>(ctx: RunContext<S>, hook: RunHook<O, S>, options: O): HookContext<O, S> {
  return { sensor: ctx.sensor, control: ctx.control, bus: ctx.bus, core: ctx.core, log: busLogger(ctx.bus, hook.name), options };
}
