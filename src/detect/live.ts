// Live detection, the implementation behind the rules run hook (src/detect/run-hook.ts, which
// imports this module only when `vigil run` is given rules): loading rules files all or nothing,
// the kernel hooks the loaded rules need (each rule's event types, with the rule named as the
// reason in `vigil status`), and the LiveDetector that evaluates every event of the bus and hands
// each alert on once as an AlertMessage (an object; the stdout printer and the uplink serialise
// it, once). With N > 1 workers the events are sharded by process across worker threads
// (ParallelEvaluator), flushed every few milliseconds so alerts stay live; with 1 worker they are
// evaluated inline.
import { readFileSync } from 'node:fs';
import { RuleLoader, formatMessage, ParallelEvaluator, type Ruleset, type RulesSource } from '../rules/index.ts';
import { VigilError } from '../common/errors.ts';
import type { PlanBuilder } from '../sensor/hooks.ts';
import { deriveKernelFilter, type KindFilter } from './kernel-filter.ts';
import type { VigilEvent } from '../abi/event.ts';
import type { Ev } from '../rules/types.ts';
import type { Expr, LiteralArg, Operand } from '../rules/ast.ts';
import { AlertMessage } from '../runtime/index.ts';

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
      throw new VigilError('VIGIL_E_RULE', `cannot read rules file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        where: { file: f, line: 1, col: 1 },
      });
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
  return ruleset.rules
    .filter((r) => r.enabled && (inExpr(r.ast) || r.line.keys.some((k) => [...fields].some((f) => k === f || k.startsWith(`${f}[`) || k.includes(`(${f}`)))))
    .map((r) => r.name);
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
      this.evaluator = await ParallelEvaluator.create(this.sources, {
        workers: this.workers,
        batchSize: 256,
        ...(this.appendOutput ? { appendOutput: true } : {}),
      });
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
