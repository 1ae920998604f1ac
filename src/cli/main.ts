// CLI entry point: builds the program for this argv (src/cli/program.ts: only the module of the
// command group named on the command line is imported) and runs it; VigilErrors become one line
// on stderr and their exit code.
import { isVigilError } from '../common/errors.ts';
import { buildProgram } from './program.ts';

try {
  const program = await buildProgram(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (err: unknown) {
  if (isVigilError(err)) {
    process.stderr.write(`vigil: ${err.format()}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`vigil: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
