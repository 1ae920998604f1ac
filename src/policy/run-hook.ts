// Policy enforcement inside `vigil run`: the run hook (createPolicyHook(), one instance per
// sensor) that adds the options --policy FILE..., --default-posture audit|block and --fail-closed;
// validates the policy files before the sensor starts (file:line:col, exit non-zero); registers the
// decoders of the enforcement decision kinds; and once the sensor runs, makes the PolicyRuntime
// (src/policy/policy-runtime.ts: the PolicyManager wired to the kernel through the sensor's narrow
// handle, workload discovery, fanotify decisions as events, the policy.* control ops) and
// publishes every decision event of the stream on the bus's 'decision' topic. This module stays
// light (options only at module load, so `vigil run --help` loads neither the policy compiler nor
// the schema validator): the implementation is imported in plan() and start().
import { Option, type Command } from 'commander';
import { VigilError } from '../common/errors.ts';
import type { PolicyDecision, RunHook } from '../runtime/index.ts';
import type { VigilEvent } from '../abi/event.ts';
import type { SensorHandle as RunSensorHandle } from '../runtime/index.ts';
import type { HandleProvider } from '../sensor/handle.ts';
import type { PolicyRunOptions, PolicyRuntime } from './policy-runtime.ts';

export type { PolicyRunOptions };

/** The sensor view the policy hook needs: the run-time handle and the sensor's narrow handle. */
export type PolicySensor = RunSensorHandle & HandleProvider;

function policyOpts(opts: Readonly<Record<string, unknown>>): PolicyRunOptions {
  const o: PolicyRunOptions = {};
  if (Array.isArray(opts.policy)) o.policy = opts.policy as string[];
  if (opts.defaultPosture === 'block' || opts.defaultPosture === 'audit') o.defaultPosture = opts.defaultPosture;
  if (opts.failClosed === true) o.failClosed = true;
  return o;
}

/** The policy run hook: one instance per running sensor (its PolicyRuntime lives here). */
export function createPolicyHook(): RunHook<PolicyRunOptions, PolicySensor> & { readonly runtime: PolicyRuntime | undefined } {
  let runtime: PolicyRuntime | undefined;
  return {
    name: 'policy',
    /** the runtime of this hook's running sensor (tests and status) */
    get runtime() {
      return runtime;
    },
    declareOptions(cmd: Command) {
      cmd
        .option('--policy <file...>', 'policy files to enforce from the start (an invalid file stops vigil run before it starts)')
        .addOption(new Option('--default-posture <posture>', 'what an allow-list does with unlisted accesses').choices(['audit', 'block']).default('audit'))
        .option('--fail-closed', 'deny execs the fanotify enforcer cannot decide (passes --fail-closed-exec to the loader)');
    },

    parseOptions: policyOpts,

    sensorOptions: (po) => (po.failClosed ? { failClosedExec: true } : {}),

    async plan(po) {
      const [net, fanx] = await Promise.all([import('./net-decision.ts'), import('./decision-events.ts')]);
      net.registerNetDecisionKind();
      fanx.registerFanxDecisionKind();
      if (!po.policy?.length) return;
      const { formatIssue, parsePolicyFile } = await import('./validate.ts');
      let bad = 0;
      for (const f of po.policy) {
        const r = parsePolicyFile(f);
        for (const e of r.errors) process.stderr.write(`${formatIssue(e)}\n`);
        if (r.errors.length) bad++;
      }
      if (bad) throw new VigilError('VIGIL_E_POLICY', `${bad} invalid policy file${bad === 1 ? '' : 's'}; the sensor was not started`, { exitCode: 2 });
    },

    async start(ctx) {
      const { sensor, control, bus, options: po } = ctx;
      const { PolicyRuntime } = await import('./policy-runtime.ts');
      runtime = new PolicyRuntime(sensor.handle(), po, (l) => ctx.log.warn(l));
      const rt = runtime;
      rt.sensor.onDecision((json: string) => rt.decisions.onDecision(json));
      bus.subscribe('event', (ev) => {
        rt.onEvent(ev);
        if (ev.policy && bus.has('decision')) bus.publish('decision', decisionOf(ev));
      });
      if (control) rt.register(control);
      rt.checkFailClosed();
      await rt.start(po.policy ?? []);
    },

    stop() {
      runtime?.stop();
      runtime = undefined;
    },
  };
}

/** The bus message of a decision event. */
function decisionOf(ev: VigilEvent): PolicyDecision {
  const policy = ev.policy!;
  return { enforcer: policy.enforcer === 'cgroup-bpf' ? 'cgroup-bpf' : 'fanotify', blocked: ev.evt.res < 0, policy, event: ev };
}
