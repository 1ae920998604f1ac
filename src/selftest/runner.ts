// Selftest: runs the live scenarios against ONE real sensor in this process. The sensor's hooks
// come from the rules (planForRules, with the in-kernel filters `vigil run --rules` uses); every
// event from a scenario's own processes or containers is evaluated inline with the rules
// (Falco's first-match semantics, append_output on so container and pod fields are in
// output_fields). A scenario passes when its rule fired exactly once from the attack and never
// from the benign twin, with the expected output fields. Also runs any command as a "workload"
// and reports the alerts of its process tree (the benign-workload check).
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { Sensor } from '../sensor/sensor.ts';
import { PlanBuilder } from '../sensor/hooks.ts';
import type { VigilEvent } from '../abi/event.ts';
import { loadRules, planForRules } from '../detect/live.ts';
import { alertToJson, type Alert, type Ruleset } from '../rules/index.ts';
import { cleanupContainers, containerSupport } from './container.ts';
import { ScenarioContext, type Attribution } from './context.ts';
import type { ExpectedFields, Scenario } from './scenarios.ts';

export interface AlertRecord {
  alert: Alert;
  pid: number;
  containerId: string;
}

export interface PhaseResult {
  alerts: AlertRecord[];
  /** events attributed to the phase (capped), for diagnostics */
  events: number;
  error?: string;
}

export interface ScenarioResult {
  rule: string;
  pass: boolean;
  detail: string;
  gap?: string;
  /** alerts of the scenario's rule from the attack / from the benign twin */
  fired: AlertRecord[];
  benignFired: AlertRecord[];
  /** other rules that fired from the scenario's processes (attack and twin) */
  others: string[];
  /** the expected output fields, and how the (first) alert differed from them */
  expected: ExpectedFields;
  mismatches: string[];
  ms: number;
}

export interface SelftestOptions {
  rulesFile: string;
  ringbufMb?: number;
  log?: (line: string) => void;
}

function attributed(ev: VigilEvent, a: Attribution): boolean {
  const cid = (ev.container as { id?: unknown } | undefined)?.id;
  if (typeof cid === 'string' && a.containers.has(cid)) return true;
  const proc = ev.proc as { pid?: unknown; apid?: unknown };
  if (typeof proc.pid === 'number' && a.pids.has(proc.pid)) return true;
  if (Array.isArray(proc.apid)) for (const p of proc.apid) if (a.pids.has(p as number)) return true;
  return false;
}

function commandMissing(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/** Compares output_fields with the expectation; returns the mismatches. */
export function compareFields(actual: Record<string, unknown>, expected: ExpectedFields): string[] {
  const bad: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    const got = k in actual ? actual[k] : undefined;
    if (want instanceof RegExp) {
      if (typeof got !== 'string' || !want.test(got)) bad.push(`${k}=${JSON.stringify(got)} (want ${want})`);
    } else if (got !== want) {
      bad.push(`${k}=${JSON.stringify(got)} (want ${JSON.stringify(want)})`);
    }
  }
  return bad;
}

export class SelftestRunner {
  readonly sensor: Sensor;
  readonly ruleset: Ruleset;
  /** event types the rules need that the sensor cannot capture, and hooks that failed to attach */
  uncapturable: string[] = [];
  failedHooks: { id: string; error: string }[] = [];
  private phase: { own: Attribution; alerts: AlertRecord[]; events: number } | undefined;
  private markers = new Map<number, () => void>();
  private seq = 0;

  private constructor(
    ruleset: Ruleset,
    private readonly opts: SelftestOptions,
  ) {
    this.ruleset = ruleset;
    this.sensor = new Sensor({ ringbufMb: opts.ringbufMb ?? 16 });
  }

  /** Loads the rules and starts the sensor with the hooks they need. */
  static async start(opts: SelftestOptions): Promise<SelftestRunner> {
    // append_output: container and pod fields in every alert's output_fields
    const { ruleset } = loadRules([opts.rulesFile], { appendOutput: true });
    const r = new SelftestRunner(ruleset, opts);
    const plan = new PlanBuilder(4096).needFamilies(['exec']);
    r.uncapturable = planForRules(ruleset, plan);
    r.sensor.onEvent((ev) => r.onEvent(ev));
    await r.sensor.start();
    await r.sensor.applyPlan(plan.build());
    r.failedHooks = r.sensor
      .hooks()
      .filter((h) => h.error)
      .map((h) => ({ id: h.spec.id, error: h.error! }));
    return r;
  }

  private onEvent(ev: VigilEvent): void {
    if (ev.evt.type === 'execve' && this.markers.size) {
      const done = this.markers.get(ev.proc.pid as number);
      if (done) {
        this.markers.delete(ev.proc.pid as number);
        done();
      }
    }
    const ph = this.phase;
    if (!ph || !attributed(ev, ph.own)) return;
    ph.events++;
    if (process.env.VIGIL_SELFTEST_DEBUG) process.stderr.write(`selftest event: ${JSON.stringify(ev)}\n`);
    for (const alert of this.ruleset.evaluate(ev)) {
      ph.alerts.push({ alert, pid: ev.proc.pid as number, containerId: String((ev.container as { id?: unknown }).id ?? '') });
    }
  }

  /**
   * Waits until the sensor has delivered everything before now: runs a marker process and waits
   * for its exec event (the kernel ring buffer is ordered), then a short settle.
   */
  async sync(settleMs = 150): Promise<void> {
    await new Promise<void>((resolve) => {
      const child = spawn('/bin/sh', ['-c', ':', `vigil-selftest-sync-${++this.seq}`], { stdio: 'ignore' });
      const t = setTimeout(() => {
        if (child.pid !== undefined) this.markers.delete(child.pid);
        resolve();
      }, 5000);
      if (child.pid !== undefined)
        this.markers.set(child.pid, () => {
          clearTimeout(t);
          resolve();
        });
    });
    await new Promise((r) => setTimeout(r, settleMs));
  }

  /** Runs one phase (attack or twin) in its own context; collects the attributed alerts. */
  private async phaseRun(fn: (ctx: ScenarioContext) => Promise<void>, ctx: ScenarioContext): Promise<PhaseResult> {
    const ph = { own: ctx.owned, alerts: [] as AlertRecord[], events: 0 };
    this.phase = ph;
    let error: string | undefined;
    try {
      await fn(ctx);
    } catch (e) {
      error = (e as Error).message;
    }
    await this.sync();
    this.phase = undefined;
    ctx.cleanup();
    const out: PhaseResult = { alerts: ph.alerts, events: ph.events };
    if (error) out.error = error;
    return out;
  }

  /** Why a scenario cannot run here, if it cannot. */
  prerequisite(s: Scenario): string | undefined {
    if (!this.ruleset.rules.some((r) => r.name === s.rule && r.enabled)) return `rule "${s.rule}" is not loaded (or disabled) from ${this.opts.rulesFile}`;
    if (s.needsContainer) {
      const why = containerSupport();
      if (why) return `needs containers: ${why}`;
    }
    for (const c of s.needs ?? []) if (commandMissing(c)) return `needs ${c} (not installed)`;
    return undefined;
  }

  async run(s: Scenario): Promise<ScenarioResult> {
    const t0 = Date.now();
    const base = {
      rule: s.rule,
      fired: [] as AlertRecord[],
      benignFired: [] as AlertRecord[],
      others: [] as string[],
      expected: {},
      mismatches: [] as string[],
      ...(s.gap ? { gap: s.gap } : {}),
    };
    const missing = this.prerequisite(s);
    if (missing) return { ...base, pass: false, detail: missing, ms: Date.now() - t0 };
    const tag = randomBytes(4).toString('hex');
    const ctx = new ScenarioContext(tag);
    const attack = await this.phaseRun((c) => s.run(c), ctx);
    const expected = attack.error ? {} : s.expect(ctx);
    const twinCtx = new ScenarioContext(randomBytes(4).toString('hex'));
    const benign = await this.phaseRun((c) => s.benign(c), twinCtx);
    const fired = attack.alerts.filter((a) => a.alert.rule === s.rule);
    const benignFired = benign.alerts.filter((a) => a.alert.rule === s.rule);
    const others = [...new Set([...attack.alerts, ...benign.alerts].map((a) => a.alert.rule).filter((r) => r !== s.rule))];
    const problems: string[] = [];
    if (attack.error) problems.push(`behaviour failed: ${attack.error}`);
    if (benign.error) problems.push(`benign twin failed: ${benign.error}`);
    if (fired.length !== 1) problems.push(`fired ${fired.length} times from the scenario (want 1; ${attack.events} events from its processes)`);
    const mismatches = fired.length >= 1 && !attack.error ? compareFields(fired[0]!.alert.output_fields, expected) : [];
    if (mismatches.length) problems.push(`output fields: ${mismatches.join(', ')}`);
    if (benignFired.length) problems.push(`benign twin fired it ${benignFired.length} times: ${benignFired[0]!.alert.output}`);
    const pass = problems.length === 0;
    let detail = pass ? `fired once (${fired[0]!.alert.priority}); twin silent` : problems.join('; ');
    if (others.length) detail += ` [also fired: ${others.join(', ')}]`;
    if (!pass && s.gap) detail += ` [known gap: ${s.gap}]`;
    return { ...base, pass, detail, fired, benignFired, others, expected, mismatches, ms: Date.now() - t0 };
  }

  /**
   * Runs a shell command under the sensor; returns every alert from its process tree (the
   * benign-workload check: a build or a test run should raise nothing of Warning or higher).
   */
  async workload(
    command: string,
    opts: { cwd?: string; timeoutMs?: number; onOutput?: (s: string) => void } = {},
  ): Promise<{ code: number; alerts: AlertRecord[]; events: number }> {
    const own: Attribution = { pids: new Set(), containers: new Set() };
    const ph = { own, alerts: [] as AlertRecord[], events: 0 };
    this.phase = ph;
    const code = await new Promise<number>((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid !== undefined) own.pids.add(child.pid);
      child.stdout.on('data', (d: Buffer) => opts.onOutput?.(d.toString()));
      child.stderr.on('data', (d: Buffer) => opts.onOutput?.(d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
      child.on('close', (c) => {
        clearTimeout(t);
        resolve(c ?? 1);
      });
    });
    await this.sync();
    this.phase = undefined;
    return { code, alerts: ph.alerts, events: ph.events };
  }

  async stop(): Promise<void> {
    cleanupContainers();
    await this.sensor.stop();
  }
}

export { alertToJson };
