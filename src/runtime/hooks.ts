// The hooks of one running sensor with their options bound: the lifecycle the core of `vigil run`
// (and a test) drives: sensor options, kind selection, plan, start, stop. Holds no state beyond
// the instances it was given.
import { VigilError } from '../common/errors.ts';
import type { PlanBuilder } from '../sensor/hooks.ts';
import { hookContext, type AnyRunHook, type HookSensorOptions, type RunContext, type SensorHandle } from './context.ts';

interface Bound<S extends SensorHandle> {
  hook: AnyRunHook<S>;
  options: unknown;
}

export class HookSet<S extends SensorHandle = SensorHandle> {
  readonly #bound: Bound<S>[];

  /**
   * `raw(hook)`: the parsed values of the options that hook declared (only those). A hook absent
   * from the command line gets `{}` and its defaults.
   */
  constructor(hooks: readonly AnyRunHook<S>[], raw: (hook: AnyRunHook<S>) => Readonly<Record<string, unknown>> = () => ({})) {
    const names = new Set<string>();
    for (const h of hooks) {
      if (names.has(h.name)) throw new VigilError('VIGIL_E_INTERNAL', `run hook ${h.name} registered twice`);
      names.add(h.name);
    }
    this.#bound = hooks.map((hook) => ({ hook, options: hook.parseOptions(raw(hook)) }));
  }

  get hooks(): AnyRunHook<S>[] {
    return this.#bound.map((b) => b.hook);
  }

  /** What the hooks ask of the sensor (a flag is on when any hook asks for it). */
  sensorOptions(): HookSensorOptions {
    const out: HookSensorOptions = {};
    for (const { hook, options } of this.#bound) {
      const o = hook.sensorOptions?.(options);
      if (o?.failClosedExec) out.failClosedExec = true;
    }
    return out;
  }

  /** Whether some hook chooses the kinds it needs (then the default families shrink to exec). */
  selectsKinds(): boolean {
    return this.#bound.some(({ hook, options }) => hook.selectsKinds?.(options) ?? false);
  }

  /** Whether raw events are printed (every hook agrees). */
  printsEvents(): boolean {
    return this.#bound.every(({ hook, options }) => hook.printsEvents?.(options) ?? true);
  }

  async plan(plan: PlanBuilder): Promise<void> {
    for (const { hook, options } of this.#bound) await hook.plan?.(options, plan);
  }

  async start(ctx: RunContext<S>): Promise<void> {
    for (const { hook, options } of this.#bound) await hook.start?.(hookContext(ctx, hook, options));
  }

  /** Stops every hook in order; the first error is thrown after all were asked to stop. */
  async stop(): Promise<void> {
    let first: { e: unknown } | undefined;
    for (const { hook } of this.#bound) {
      try {
        await hook.stop?.();
      } catch (e) {
        first ??= { e };
      }
    }
    if (first) throw first.e;
  }
}
