// CLI command: `vigil selftest` runs the live scenario suite (src/selftest): one real sensor with
// the stable Falco rules, each scenario performs a rule's behaviour for real (in runc containers
// where the rule needs one) and its benign twin, and one line per scenario says PASS or FAIL.
// Exit status 0 only if every selected scenario passed. `--workload CMD` instead runs CMD under
// the sensor and lists every alert from its process tree (benign-workload check).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VigilError } from '../../common/errors.ts';
import { PRIORITIES, alertToJson, parsePriority } from '../../rules/index.ts';
import { SCENARIOS, selectScenarios } from '../../selftest/scenarios.ts';
// the runner (the sensor, the rules engine) is imported when scenarios run, not for --help or --list
import type { ScenarioResult } from '../../selftest/runner.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');

/** The stable Falco rules next to the checkout (../shared/falco/falco_rules.yaml), if present. */
export function defaultRulesFile(): string | undefined {
  const p = path.resolve(repoRoot, '..', 'shared', 'falco', 'falco_rules.yaml');
  return existsSync(p) ? p : undefined;
}

interface SelftestOpts {
  rules?: string;
  only?: string[];
  json?: boolean;
  list?: boolean;
  workload?: string;
  minPriority: string;
}

function line(r: ScenarioResult): string {
  return `${r.pass ? 'PASS' : 'FAIL'}  ${r.rule.padEnd(58)} ${r.detail}  (${(r.ms / 1000).toFixed(1)}s)`;
}

function jsonLine(r: ScenarioResult): string {
  const head = JSON.stringify({ rule: r.rule, pass: r.pass, detail: r.detail, ...(r.gap ? { gap: r.gap } : {}) });
  const tail = JSON.stringify({ fired: r.fired.length, benign_fired: r.benignFired.length, also_fired: r.others, ms: r.ms });
  // the alert as Falco's json_output line, spliced in unparsed (evt.time is a 64-bit integer)
  const alert = r.fired[0] ? alertToJson(r.fired[0].alert) : 'null';
  return `${head.slice(0, -1)},"alert":${alert},${tail.slice(1)}`;
}

async function selftest(opts: SelftestOpts): Promise<number> {
  if (opts.list) {
    for (const s of selectScenarios(opts.only))
      process.stdout.write(`${s.rule}${s.needsContainer ? '  [container]' : ''}${s.gap ? `  [known gap: ${s.gap}]` : ''}\n`);
    return 0;
  }
  const rulesFile = opts.rules ?? defaultRulesFile();
  if (!rulesFile) throw new VigilError('VIGIL_E_USAGE', 'no rules file: pass --rules FILE (the stable Falco rules, falco_rules.yaml)', { exitCode: 2 });
  if (process.getuid?.() !== 0) throw new VigilError('VIGIL_E_NOT_ROOT', undefined, { exitCode: 2 });
  const scenarios = selectScenarios(opts.only);
  if (!opts.workload && !scenarios.length)
    throw new VigilError('VIGIL_E_USAGE', `no scenario matches ${opts.only?.join(', ')} (see vigil selftest --list)`, { exitCode: 2 });
  const { SelftestRunner } = await import('../../selftest/runner.ts');
  const runner = await SelftestRunner.start({ rulesFile });
  const stop = () => void runner.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (runner.failedHooks.length && !opts.json) {
      process.stderr.write(`vigil selftest: hooks not available on this kernel: ${runner.failedHooks.map((h) => h.id).join(', ')}\n`);
    }
    if (opts.workload) {
      const minPriority = parsePriority(opts.minPriority);
      const min = minPriority === undefined ? -1 : PRIORITIES.indexOf(minPriority);
      if (min < 0) throw new VigilError('VIGIL_E_USAGE', `--min-priority: unknown priority "${opts.minPriority}"`, { exitCode: 2 });
      const w = await runner.workload(opts.workload, { onOutput: (s) => process.stderr.write(s) });
      const shown = w.alerts.filter((a) => PRIORITIES.indexOf(a.alert.priority) <= min);
      for (const a of shown)
        process.stdout.write(opts.json ? alertToJson(a.alert) + '\n' : `${a.alert.priority.toUpperCase()}  ${a.alert.rule}  ${a.alert.output}\n`);
      process.stderr.write(
        `vigil selftest: workload exited ${w.code}; ${w.events} events from its processes; ${shown.length} alert(s) of ${opts.minPriority} or higher (${w.alerts.length} in all)\n`,
      );
      return w.code === 0 ? 0 : 1;
    }
    let failed = 0;
    for (const s of scenarios) {
      const r = await runner.run(s);
      if (!r.pass) failed++;
      process.stdout.write((opts.json ? jsonLine(r) : line(r)) + '\n');
    }
    if (!opts.json) process.stdout.write(`${scenarios.length - failed}/${scenarios.length} scenarios passed\n`);
    return failed ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await runner.stop();
  }
}

export function register(program: Command): void {
  program
    .command('selftest')
    .description(
      'trigger each stable Falco rule for real on this node (containers where needed) and check that exactly it fires, and not for a benign twin (root)',
    )
    .option('--rules <file>', 'rules file (default: ../shared/falco/falco_rules.yaml next to the checkout)')
    .option('--only <name...>', 'run only the scenarios whose rule name contains one of these (case-insensitive)')
    .option('--json', 'one JSON object per scenario (or per alert with --workload)')
    .option('--list', `list the ${SCENARIOS.length} scenarios and exit`)
    .option('--workload <command>', 'instead of the scenarios: run this shell command under the sensor and print the alerts of its process tree')
    .option('--min-priority <priority>', 'with --workload: lowest priority shown', 'Warning')
    .action(async (opts: SelftestOpts) => {
      const code = await selftest(opts);
      process.exit(code);
    });
}
