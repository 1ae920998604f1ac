// CLI entry point: builds the commander program from one module per command group. Each module
// under ./commands exports `register(program)`; adding a command group means adding a line here.
import { Command } from 'commander';
import { isVigilError } from '../common/errors.ts';
import * as run from './commands/run.ts';
import * as status from './commands/status.ts';
import * as rules from './commands/rules.ts';
import * as policy from './commands/policy.ts';
import * as backend from './commands/backend.ts';
import * as selftest from './commands/selftest.ts';

const program = new Command();
program
  .name('vigil')
  .description('Vigil: eBPF runtime security and observability for Linux hosts and Kubernetes')
  .version('0.1.0')
  .showHelpAfterError();

// the run hooks (rules, uplink, policy) come from src/cli/run-hooks.ts, not from this order
for (const mod of [status, rules, policy, backend, selftest, run]) mod.register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isVigilError(err)) {
    process.stderr.write(`vigil: ${err.format()}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`vigil: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
