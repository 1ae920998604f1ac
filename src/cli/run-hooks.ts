// The registry of run hooks: the one place where the consumers that join `vigil run` are listed.
// Each call makes fresh instances (their state lives in them), so two sensors never share a hook.
// The order is the order of their options in `vigil run --help`, of plan/start/stop, and of their
// subscriptions on the bus. A new consumer: a factory in its own module (implementing RunHook of
// src/runtime) and one line here.
import type { AnyRunHook } from '../runtime/index.ts';
import type { Sensor } from '../sensor/sensor.ts';
import { createRulesHook } from '../detect/run-hook.ts';
import { createUplinkHook } from '../uplink/run-hook.ts';
import { createPolicyHook } from '../policy/run-hook.ts';

export function createRunHooks(): AnyRunHook<Sensor>[] {
  return [createRulesHook(), createUplinkHook(), createPolicyHook()];
}
