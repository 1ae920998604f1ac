// Live detection: joins the Falco rules engine to `vigil run` (the run hook made by
// createRulesHook()). The loaded rules decide which kernel hooks are attached (each rule's event
// types, with the rule named as the reason in `vigil status`), every event of the bus is
// evaluated, and each alert is published once on the bus as an AlertMessage (an object; the
// stdout printer and the uplink serialise it, once). With --workers N > 1 the events are sharded
// by process across worker threads (ParallelEvaluator), flushed every few milliseconds so alerts
// stay live; with 1 worker they are evaluated inline.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { RuleLoader, formatMessage, ParallelEvaluator, type Ruleset, type RulesSource } from '../rules/index.ts';
import { VigilError } from '../common/errors.ts';
import type { PlanBuilder } from '../sensor/hooks.ts';
import { deriveKernelFilter, type KindFilter } from './kernel-filter.ts';
import type { VigilEvent } from '../abi/event.ts';
import type { Ev } from '../rules/types.ts';
import type { Expr, LiteralArg, Operand } from '../rules/ast.ts';
import { AlertMessage, type RunHook } from '../runtime/index.ts';

export interface RulesRunOptions {
  rules?: string[];
  alertsOnly?: boolean;
  workers?: number;
  appendOutput?: boolean;
  kernelFilter?: boolean;
}

export interface DetectionStats {
  rulesLoaded: number;
  evaluated: number;
  alerts: number;
  alertsByRule: Record<string, number>;
  workers: number;
  /** event types the rules need that this sensor cannot capture */
  uncapturable: string[];
}

/** Loads rules files all or nothing; throws a VigilError listing every error (file:line:col). */
export function loadRules(files: string[], opts: { appendOutput?: boolean } = {}): { ruleset: Ruleset; sources: RulesSource[] } {
  const loader = new RuleLoader(opts.appendOutput ? { appendOutput: true } : {});
  const sources: RulesSource[] = [];
  for (const f of files) {
    try {
      sources.push({ name: f, content: readFileSync(f, 'utf8') });
    } catch (e) {
      throw new VigilError('VIGIL_E_RULE', `cannot read rules file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { where: { file: f, line: 1, col: 1 } });
    }
  }
  const r = loader.load(sources);
  if (!r.ok) throw new VigilError('VIGIL_E_RULE', r.errors.map(formatMessage).join('\n'), { where: 'rules' });
  return { ruleset: r.ruleset, sources };
}

/**
 * Adds to the plan the hooks the rules need, each with the in-kernel filter every rule of its type
 * implies (unless `kernelFilter` is false); returns the event types no hook can capture.
 */
export function planForRules(ruleset: Ruleset, plan: PlanBuilder, kernelFilter = true): string[] {
  const missing: string[] = [];
  const filters = kernelFilter ? deriveKernelFilter(ruleset) : new Map<string, KindFilter>();
  for (const [type, rules] of ruleset.eventTypes()) {
    const reason = `rule "${rules[0]}"${rules.length > 1 ? ` and ${rules.length - 1} more` : ''}`;
    const f = filters.get(type);
    if (f?.skip) continue; // no loaded rule can match this type: no hook
    if (!plan.needKindByName(type, reason, f ? { flags: f.flags, prefixes: f.prefixes, suffixes: f.suffixes, ports: f.ports } : undefined)) missing.push(type);
  }
  const envRules = rulesReading(ruleset, ENV_FIELDS);
  if (envRules.length) plan.needEnv(`rule "${envRules[0]}"${envRules.length > 1 ? ` and ${envRules.length - 1} more` : ''}`);
  return missing;
}

/** Fields whose values come from the captured environment of an exec. */
const ENV_FIELDS = new Set(['proc.env']);

/** Names of the enabled rules whose condition (macros expanded) or output reads one of `fields`. */
export function rulesReading(ruleset: Ruleset, fields: ReadonlySet<string>): string[] {
  const reads = (o: Operand | LiteralArg): boolean => (o.kind === 'field' ? fields.has(o.name) : o.kind === 'transform' ? o.args.some(reads) : false);
  const inExpr = (e: Expr): boolean => {
    switch (e.kind) {
      case 'and':
      case 'or':
        return e.children.some(inExpr);
      case 'not':
        return inExpr(e.child);
      case 'unary':
        return reads(e.left);
      case 'binary':
        return reads(e.left) || (e.right.kind === 'val' ? fields.has(e.right.field.name) : e.right.kind === 'transform' ? reads(e.right) : false);
      default:
        return false;
    }
  };
  return ruleset.rules.filter((r) => r.enabled && (inExpr(r.ast) || r.line.keys.some((k) => [...fields].some((f) => k === f || k.startsWith(`${f}[`) || k.includes(`(${f}`))))).map((r) => r.name);
}

export class LiveDetector {
  stats: DetectionStats;
  private evaluator: ParallelEvaluator | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ruleset: Ruleset,
    private readonly sources: RulesSource[],
    private readonly out: (alert: AlertMessage) => void,
    private readonly workers: number,
    private readonly appendOutput: boolean,
  ) {
    this.stats = { rulesLoaded: ruleset.rules.length, evaluated: 0, alerts: 0, alertsByRule: {}, workers, uncapturable: [] };
  }

  async start(): Promise<void> {
    if (this.workers > 1) {
      this.evaluator = await ParallelEvaluator.create(this.sources, { workers: this.workers, batchSize: 256, ...(this.appendOutput ? { appendOutput: true } : {}) });
      // an alert crosses the thread as its JSON line: parsed once here, the line kept
      this.evaluator.setAlertHandler((json) => this.emit(AlertMessage.fromJson(json)));
      this.flushTimer = setInterval(() => void this.evaluator?.flush().catch(() => {}), 10);
      this.flushTimer.unref();
    }
  }

  private emit(alert: AlertMessage): void {
    this.stats.alerts++;
    const rule = alert.rule;
    this.stats.alertsByRule[rule] = (this.stats.alertsByRule[rule] ?? 0) + 1;
    this.out(alert);
  }

  evaluate(ev: VigilEvent): void {
    this.stats.evaluated++;
    if (this.evaluator) {
      void this.evaluator.push(ev as unknown as Ev);
      return;
    }
    const alerts = this.ruleset.evaluate(ev as unknown as Ev);
    for (let i = 0; i < alerts.length; i++) this.emit(AlertMessage.of(alerts[i]!));
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.evaluator) {
      await this.evaluator.flush();
      await this.evaluator.close();
    }
  }
}

function rulesOptions(raw: Readonly<Record<string, unknown>>): RulesRunOptions {
  const o: RulesRunOptions = {};
  if (Array.isArray(raw.rules)) o.rules = raw.rules.map(String);
  if (raw.alertsOnly === true) o.alertsOnly = true;
  if (typeof raw.workers === 'number') o.workers = raw.workers;
  if (raw.appendOutput === true) o.appendOutput = true;
  if (raw.kernelFilter === false) o.kernelFilter = false;
  return o;
}

/** The rules run hook: one instance per running sensor (its ruleset and detector live here). */
export function createRulesHook(): RunHook<RulesRunOptions> & { readonly detector: LiveDetector | undefined } {
  let ruleset: Ruleset | undefined;
  let sources: RulesSource[] = [];
  let uncapturable: string[] = [];
  let detector: LiveDetector | undefined;
  return {
    name: 'rules',
    get detector() {
      return detector;
    },
    declareOptions(cmd: Command) {
      cmd
        .option('--rules <file...>', 'Falco rules files to evaluate on every event (loaded in order)')
        .option('--alerts-only', 'print alerts only, not events')
        .option('--workers <n>', 'rules evaluation worker threads (default: cores - 1, inline on 2 cores or fewer)', (v: string) => Number(v))
        .option('--append-output', "add container and pod fields to every alert's output (Falco's append_output)")
        .option('--no-kernel-filter', 'pass every event of the hooked syscalls to user space (no in-kernel predicates derived from the rules)');
    },
    parseOptions: rulesOptions,
    // with rules and no explicit --events, the rules alone decide which syscalls are hooked
    selectsKinds: (opts) => Boolean(opts.rules?.length),
    plan(opts, plan: PlanBuilder) {
      if (!opts.rules?.length) return;
      const loaded = loadRules(opts.rules, { appendOutput: Boolean(opts.appendOutput) });
      ruleset = loaded.ruleset;
      sources = loaded.sources;
      uncapturable = planForRules(ruleset, plan, opts.kernelFilter !== false);
    },
    printsEvents: (opts) => !opts.alertsOnly,
    async start(ctx) {
      const opts = ctx.options;
      if (!ruleset) return;
      // live, handing an event to a worker costs more than evaluating it inline (~2 µs vs ~0.75 µs):
      // workers pay off only with cores to spare, so the default keeps one core for capture
      const workers = Math.max(1, opts.workers ?? (availableParallelism() > 2 ? availableParallelism() - 1 : 1));
      const bus = ctx.bus;
      detector = new LiveDetector(ruleset, sources, (alert) => bus.publish('alert', alert), workers, Boolean(opts.appendOutput));
      detector.stats.uncapturable = uncapturable;
      await detector.start();
      const d = detector;
      bus.subscribe('event', (ev) => d.evaluate(ev));
      ctx.control?.register('rules.status', () => d.stats);
    },
    async stop() {
      await detector?.stop();
      detector = undefined;
      ruleset = undefined;
    },
  };
}
