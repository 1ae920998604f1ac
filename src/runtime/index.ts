// The run-time contract (public API): RunContext, the typed bus, RunHook and the hook lifecycle.
// Hooks (detect/, uplink/, policy/) import this; the CLI assembles hook instances into a
// registry (src/cli/run-hooks.ts) and drives them (src/cli/commands/run.ts).
export { Bus } from './bus.ts';
export type { BusTopics, Topic, Subscriber, PolicyDecision, LogRecord, LogLevel } from './bus.ts';
export { AlertMessage, alertCodec } from './alert.ts';
export { busLogger, createRunContext, hookContext, withControl } from './context.ts';
export type {
  ControlHandler,
  ControlRegistry,
  CoreRunOptions,
  EventSource,
  HookContext,
  HookSensorOptions,
  Logger,
  RunContext,
  RunContextInit,
  RunHook,
  AnyRunHook,
  SensorHandle,
  SensorStatusView,
} from './context.ts';
export { HookSet } from './hooks.ts';
export { printAlerts, printLogs } from './outputs.ts';
