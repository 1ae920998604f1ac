// The rules run hook of `vigil run` (createRulesHook(), one instance per sensor): declares and
// parses the rules options (--rules, --alerts-only, --workers, --append-output,
// --no-kernel-filter). This module stays light (no rules engine at module load, so `vigil run
// --help` does not load it): the implementation (src/detect/live.ts: rules loading, the hooks the
// rules need, the LiveDetector) is imported in plan(), and only when rules files are given.

import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { Ruleset, RulesSource } from '../rules/index.ts';
import type { RunHook } from '../runtime/index.ts';
import type { PlanBuilder } from '../sensor/hooks.ts';
import type { LiveDetector } from './live.ts';

export interface RulesRunOptions {
  rules?: string[];
  alertsOnly?: boolean;
  workers?: number;
  appendOutput?: boolean;
  kernelFilter?: boolean;
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
  let live: typeof import('./live.ts') | undefined;
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
    async plan(opts, plan: PlanBuilder) {
      if (!opts.rules?.length) return;
      live = await import('./live.ts');
      const loaded = live.loadRules(opts.rules, { appendOutput: Boolean(opts.appendOutput) });
      ruleset = loaded.ruleset;
      sources = loaded.sources;
      uncapturable = live.planForRules(ruleset, plan, opts.kernelFilter !== false);
    },
    printsEvents: (opts) => !opts.alertsOnly,
    async start(ctx) {
      const opts = ctx.options;
      if (!ruleset || !live) return;
      // live, handing an event to a worker costs more than evaluating it inline (~2 µs vs ~0.75 µs):
      // workers pay off only with cores to spare, so the default keeps one core for capture
      const workers = Math.max(1, opts.workers ?? (availableParallelism() > 2 ? availableParallelism() - 1 : 1));
      const bus = ctx.bus;
      detector = new live.LiveDetector(ruleset, sources, (alert) => bus.publish('alert', alert), workers, Boolean(opts.appendOutput));
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
