// Rules engine, evaluation: a Ruleset holds the compiled rules (closures built once by the
// loader), indexed by event type so an event is only checked against the rules that can match
// it. `evaluate` is the synchronous single-threaded evaluator (tests, replay --workers 1, the
// per-worker evaluator of parallel.ts); `eventTypes` tells the sensor which hooks are needed.
import type { Expr } from './ast.ts';
import type { Predicate } from './compile.ts';
import { typeSetHas } from './evttypes.ts';
import type { TypeSet } from './evttypes.ts';
import { alertToJson, buildAlert } from './output.ts';
import type { AlertContext, OutputFormat } from './output.ts';
import type { Alert, Ev, Priority } from './types.ts';
import { PRIORITIES } from './types.ts';
import { buildPlan } from './plan.ts';
import type { Plan } from './plan.ts';
import { EVENT_TYPES } from '../abi/kinds.gen.ts';

export interface CompiledRule {
  name: string;
  desc: string;
  priority: Priority;
  tags: readonly string[];
  enabled: boolean;
  source: 'syscall';
  /** The condition text as written (appended parts joined), without exceptions. */
  condition: string;
  /** Resolved AST: macros and lists expanded, exceptions added. */
  ast: Expr;
  predicate: Predicate;
  types: TypeSet;
  line: OutputFormat;
  capture: boolean;
  captureDuration: number | undefined;
}

export interface RulesetOptions {
  /** Falco's rule_matching: 'first' (default) stops at the first matching rule, 'all' reports every one. */
  ruleMatching?: 'first' | 'all';
  /** Minimum priority to report (Falco's `priority` option), e.g. 'Warning'. Default: Debug (all). */
  minPriority?: Priority;
  hostname?: string;
  uuid?: () => string;
}

/** The event types Vigil's sensor can emit (docs/event-format.md), from the kind table
 * (src/abi/kinds-table.ts, generated into src/abi/kinds.gen.ts). */
export const VIGIL_EVENT_TYPES: readonly string[] = EVENT_TYPES;

export interface RulesetInfo {
  lists: number;
  macros: number;
  universe: Set<string>;
  requiredEngineVersion?: string | undefined;
}

export class Ruleset {
  readonly rules: readonly CompiledRule[];
  readonly listCount: number;
  readonly macroCount: number;
  readonly requiredEngineVersion: string | undefined;
  private readonly universe: string[];
  private readonly byType = new Map<string, CompiledRule[]>();
  /** Fused per-type evaluation plans (plan.ts), built on first use of a type. */
  private readonly plans = new Map<string, Plan<CompiledRule>>();
  private readonly scratch: number[] = [];
  private active: CompiledRule[] = [];
  private readonly matchAllRules: boolean;
  private readonly ctx: AlertContext;
  private readonly minRank: number;

  constructor(rules: CompiledRule[], info: RulesetInfo, opts: RulesetOptions = {}) {
    this.rules = rules;
    this.listCount = info.lists;
    this.macroCount = info.macros;
    this.requiredEngineVersion = info.requiredEngineVersion;
    this.universe = [...new Set([...VIGIL_EVENT_TYPES, ...info.universe])].sort();
    this.matchAllRules = opts.ruleMatching === 'all';
    this.minRank = PRIORITIES.indexOf(opts.minPriority ?? 'Debug');
    this.ctx = { hostname: opts.hostname, uuid: opts.uuid };
    this.reindex();
  }

  private reindex(): void {
    this.active = this.rules.filter((r) => r.enabled && PRIORITIES.indexOf(r.priority) <= this.minRank);
    this.byType.clear();
    this.plans.clear();
    for (const t of this.universe)
      this.byType.set(
        t,
        this.active.filter((r) => typeSetHas(r.types, t)),
      );
  }

  /** Enables or disables rules by name (or by a predicate on the rule); rebuilds the index. */
  setEnabled(which: string | ((r: CompiledRule) => boolean), enabled: boolean): number {
    let n = 0;
    for (const r of this.rules) {
      if (typeof which === 'string' ? r.name === which : which(r)) {
        r.enabled = enabled;
        n++;
      }
    }
    this.reindex();
    return n;
  }

  /** Rules to check for an event type (cached; unknown types get the rules that match any type). */
  rulesFor(type: string): readonly CompiledRule[] {
    let l = this.byType.get(type);
    if (l === undefined) {
      l = this.active.filter((r) => typeSetHas(r.types, type));
      this.byType.set(type, l);
    }
    return l;
  }

  /**
   * evt.type -> names of the enabled rules that can match it, for every event type known to the
   * engine (Vigil's event types plus every type a rule mentions). Rules without an evt.type
   * constraint appear under every type.
   */
  eventTypes(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const t of this.universe) {
      const names = this.rulesFor(t).map((r) => r.name);
      if (names.length) m.set(t, names);
    }
    return m;
  }

  /** Names of enabled rules with no evt.type constraint (they need every hook). */
  unconstrainedRules(): string[] {
    return this.active.filter((r) => r.types.neg && r.types.set.size === 0).map((r) => r.name);
  }

  /**
   * The fused plan for an event type (plan.ts): the rules of the type with evt.type checks folded
   * and shared sub-expressions evaluated once per event. The key '' (events without a string
   * evt.type) gets a plan without type folding.
   */
  private planFor(type: string): Plan<CompiledRule> {
    let p = this.plans.get(type);
    if (p === undefined) {
      const rules = this.rulesFor(type);
      p = buildPlan(rules, (r) => r.ast, type === '' ? undefined : type) ?? {
        rules,
        fn: (ev, out) => {
          for (let i = 0; i < rules.length; i++) {
            if ((rules[i] as CompiledRule).predicate(ev)) {
              if (out === undefined) return i;
              out.push(i);
            }
          }
          return -1;
        },
        shared: 0,
        leaves: 0,
      };
      this.plans.set(type, p);
    }
    return p;
  }

  /** Plan statistics per event type built so far (rules, shared sub-expressions, leaf checks). */
  planStats(type: string): { rules: number; shared: number; leaves: number } {
    const p = this.planFor(type);
    return { rules: p.rules.length, shared: p.shared, leaves: p.leaves };
  }

  private planOf(ev: Ev): Plan<CompiledRule> {
    const evt = ev.evt as Record<string, unknown> | undefined;
    const type = evt === undefined || evt === null ? undefined : evt.type;
    return this.planFor(typeof type === 'string' ? type : '');
  }

  /** Matching rules for an event (first only, unless ruleMatching is 'all'). Hot path. */
  match(ev: Ev, out: CompiledRule[] = []): CompiledRule[] {
    const p = this.planOf(ev);
    if (!this.matchAllRules) {
      const i = p.fn(ev);
      if (i >= 0) out.push(p.rules[i] as CompiledRule);
      return out;
    }
    const idx = this.scratch;
    idx.length = 0;
    p.fn(ev, idx);
    for (let i = 0; i < idx.length; i++) out.push(p.rules[idx[i] as number] as CompiledRule);
    return out;
  }

  /** First matching rule or undefined; no allocation when nothing matches. */
  matchFirst(ev: Ev): CompiledRule | undefined {
    const p = this.planOf(ev);
    const i = p.fn(ev);
    return i < 0 ? undefined : p.rules[i];
  }

  /** Evaluates one event; returns the alerts (Falco json_output shape). */
  evaluate(ev: Ev): Alert[] {
    if (!this.matchAllRules) {
      const r = this.matchFirst(ev);
      return r === undefined ? [] : [buildAlert(r, ev, this.ctx)];
    }
    return this.match(ev).map((r) => buildAlert(r, ev, this.ctx));
  }

  /** Evaluates one event; returns alert JSON lines. */
  evaluateJson(ev: Ev): string[] {
    return this.evaluate(ev).map(alertToJson);
  }
}
