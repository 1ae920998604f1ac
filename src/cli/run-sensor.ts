// The run loop of `vigil run` (and of `vigil up`'s local sensor): starts the sensor with the plan
// its options and the run hooks ask for, wires the bus (event printer, alert and log writers, the
// hooks' subscriptions), serves the control socket, and stops everything on a signal, at the end of
// --duration or --max-events, or when the loader exits. With --record it also writes the recording
// (record-events.ts). Imported by src/cli/commands/run.ts only when the command runs (not for
// `vigil run --help`).

import { VigilError } from '../common/errors.ts';
import { type AnyRunHook, busLogger, type CoreRunOptions, createRunContext, HookSet, printAlerts, printLogs, withControl } from '../runtime/index.ts';
import { ControlServer } from '../sensor/control.ts';
import { type EventFamily, PlanBuilder, parseFamilies } from '../sensor/hooks.ts';
import { sensorMetrics } from '../sensor/metrics.ts';
import { EventPrinter } from '../sensor/output.ts';
import { Sensor } from '../sensor/sensor.ts';

/** Each hook's raw option values, by hook name (a hook absent here runs with its defaults). */
export type HookOptionValues = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export async function runSensor(core: CoreRunOptions, hookOptions: HookOptionValues, hooks: AnyRunHook<Sensor>[]): Promise<number> {
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
  // the recording opens before the sensor starts (a bad path fails early) and sees every event
  const recorder = core.record ? await (await import('./record-events.ts')).startRecorder(base, core.record, core.recordFormat ?? 'vigil') : undefined;
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
    control.register('status', () => sensor.freshStatus());
    control.metricsText = () => sensorMetrics(sensor.status());
    await control.listen();
  }
  recorder?.serve(control);
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
  await recorder?.close();
  return code;
}
