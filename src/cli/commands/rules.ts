// CLI commands of the rules group: `vigil rules validate`, `vigil rules list` and `vigil replay`
// (evaluate a recorded event stream, NDJSON or the binary recording of `vigil run --record`, against
// Falco rules files). Thin wrappers over the rules engine in src/rules and the recording readers
// in src/wire/recording.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { VigilError } from '../../common/errors.ts';
import { formatMessage, replay, RuleLoader } from '../../rules/index.ts';
import type { CompileOptions, LoadResult } from '../../rules/index.ts';
import { readerOf, sniffInput } from '../../wire/recording/index.ts';

function loadAll(files: string[], appendOutput = false): LoadResult {
  const loader = new RuleLoader({ appendOutput });
  return loader.loadFiles(files);
}

/** `vigil rules list | head`: a closed stdout ends the command quietly. */
function quietEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new VigilError('VIGIL_E_USAGE', `--workers must be a positive integer, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  const rules = program.command('rules').description('Falco-compatible detection rules');

  rules
    .command('validate')
    .description('check rules files (loaded in order, as Falco does); prints a summary or one line per error')
    .argument('<files...>', 'rules files (YAML)')
    .option('-v, --verbose', 'also print warnings')
    .action((files: string[], o: { verbose?: boolean }) => {
      const r = loadAll(files);
      if (o.verbose) for (const w of r.warnings) process.stdout.write(`warning: ${formatMessage(w)}\n`);
      if (!r.ok) {
        for (const e of r.errors) process.stdout.write(formatMessage(e) + '\n');
        process.exitCode = 1;
        return;
      }
      const rs = r.ruleset;
      const enabled = rs.rules.filter((x) => x.enabled).length;
      process.stdout.write(
        `OK: ${rs.rules.length} rules (${enabled} enabled), ${rs.macroCount} macros, ${rs.listCount} lists in ${files.length} file(s); ${r.warnings.length} warning(s)\n`,
      );
    });

  rules
    .command('list')
    .description('list the rules defined by rules files: name, priority, tags, enabled')
    .argument('<files...>', 'rules files (YAML)')
    .option('--json', 'print a JSON array')
    .action((files: string[], o: { json?: boolean }) => {
      quietEpipe();
      const r = loadAll(files);
      if (!r.ok) {
        for (const e of r.errors) process.stderr.write(formatMessage(e) + '\n');
        process.exitCode = 1;
        return;
      }
      const rs = r.ruleset;
      if (o.json) {
        const types = new Map<string, string[]>();
        for (const [t, names] of rs.eventTypes()) for (const n of names) types.set(n, [...(types.get(n) ?? []), t]);
        const out = rs.rules.map((x) => ({
          name: x.name,
          priority: x.priority,
          tags: x.tags,
          enabled: x.enabled,
          source: x.source,
          desc: x.desc,
          event_types: x.types.neg ? (x.types.set.size ? { except: [...x.types.set].sort() } : 'all') : [...x.types.set].sort(),
        }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      for (const x of rs.rules) {
        process.stdout.write(`${x.name}\t${x.priority}\t${x.tags.join(',')}\t${x.enabled ? 'enabled' : 'disabled'}\n`);
      }
    });

  program
    .command('replay')
    .description('evaluate a recording (`vigil run --record FILE` or `--output json`) against rules files; prints alerts as JSON lines')
    .argument('<file>', 'recorded events: a binary recording or one JSON object per line, told apart by the first bytes (- for stdin)')
    .requiredOption('--rules <files...>', 'rules files, loaded in order')
    .option('--workers <n>', 'threads evaluating events: this one and n - 1 worker threads (1 = single-threaded)', positiveInt, availableParallelism())
    .option('--append-output', 'append container and pod fields to every alert (Falco append_output)')
    .option('--rule-matching <mode>', "'first' (Falco's default) or 'all'", 'first')
    .option('--stats', 'print event/alert counts and throughput to stderr')
    .action(async (file: string, o: { rules: string[]; workers: number; appendOutput?: boolean; ruleMatching: string; stats?: boolean }) => {
      if (o.ruleMatching !== 'first' && o.ruleMatching !== 'all') {
        throw new VigilError('VIGIL_E_USAGE', `--rule-matching must be 'first' or 'all'`);
      }
      quietEpipe();
      const compile: CompileOptions = { appendOutput: !!o.appendOutput, ruleMatching: o.ruleMatching };
      const loader = new RuleLoader(compile);
      const check = loader.loadFiles(o.rules);
      if (!check.ok) {
        for (const e of check.errors) process.stderr.write(formatMessage(e) + '\n');
        process.exitCode = 1;
        return;
      }
      const sources = loader.loadedSources;
      // a binary recording is read as decoded objects; NDJSON keeps the line replay
      const input = await sniffInput(file === '-' ? process.stdin : file);
      const stats = await replay(input.format === 'ndjson' ? input.input : readerOf(input), sources, {
        workers: o.workers,
        ...compile,
        ruleset: check.ruleset,
        onAlert: (json) => process.stdout.write(json + '\n'),
      });
      if (o.stats) {
        process.stderr.write(
          `replay: ${stats.events} events, ${stats.alerts} alerts, ${stats.badLines} unparsable lines, ${stats.seconds.toFixed(3)} s, ` +
            `${Math.round(stats.events / Math.max(stats.seconds, 1e-9))} events/s, ${o.workers} worker(s)\n`,
        );
      }
    });
}
