// CLI program assembly: a static table of the top-level commands (name, help term, description,
// module) and the program for one argv, built from the named group's module alone, so a call
// imports only what its command needs and `vigil --help` imports no command module at all. The
// modules under ./commands each export `register(program)`. Adding a command: a row here
// (tests/unit/cli/program.test.ts checks the rows against what the modules register).
import { Command, Help } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

/** One top-level command: its name, its term and description in `vigil --help`, and its module(s). */
export interface CommandEntry {
  name: string;
  term: string;
  description: string;
  load(): Promise<CommandModule[]>;
}

const backend = () => import('./commands/backend.ts');
const policy = () => import('./commands/policy.ts');
const rules = () => import('./commands/rules.ts');
const run = () => import('./commands/run.ts');

/** In the order of `vigil --help`. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'status',
    term: 'status [options]',
    description: 'show the counters of a running sensor (events by type, drops, hooks, process table)',
    load: async () => [await import('./commands/status.ts')],
  },
  { name: 'rules', term: 'rules', description: 'Falco-compatible detection rules', load: async () => [await rules()] },
  {
    name: 'replay',
    term: 'replay [options] <file>',
    description: 'evaluate a recording (`vigil run --record FILE` or `--output json`) against rules files; prints alerts as JSON lines',
    load: async () => [await rules()],
  },
  {
    name: 'policy',
    term: 'policy',
    description: 'KubeArmor-style security policies (VigilPolicy, KubeArmorPolicy, KubeArmorHostPolicy)',
    load: async () => [await policy()],
  },
  {
    name: 'server',
    term: 'server [options]',
    description: 'run the Vigil backend (HTTPS API + sensor stream); subcommands manage its credentials',
    load: async () => [await backend()],
  },
  {
    name: 'up',
    term: 'up [options]',
    description: 'all-in-one: a backend with the embedded store and a local sensor enrolled to it; Ctrl-C stops both',
    load: async () => [await backend()],
  },
  {
    name: 'events',
    term: 'events [options] [filters...]',
    description: 'query stored events; filters are Falco fields: vigil events evt.type=execve proc.name=cat',
    load: async () => [await backend()],
  },
  { name: 'alerts', term: 'alerts [options]', description: 'query alerts', load: async () => [await backend()] },
  {
    name: 'insights',
    term: 'insights [options] [workload]',
    description: 'runtime insights: workloads, or one workload in detail',
    load: async () => [await backend()],
  },
  { name: 'sensors', term: 'sensors [options]', description: 'list enrolled sensors', load: async () => [await backend()] },
  {
    name: 'selftest',
    term: 'selftest [options]',
    description:
      'trigger each stable Falco rule for real on this node (containers where needed) and check that exactly it fires, and not for a benign twin (root)',
    load: async () => [await import('./commands/selftest.ts')],
  },
  { name: 'run', term: 'run [options]', description: 'run the sensor on this node and stream events to stdout', load: async () => [await run()] },
];

/** The command group an argv (after node and script) names: its first operand, or the one after `help`. */
export function commandOf(args: readonly string[]): CommandEntry | undefined {
  const ops = args.filter((a) => !a.startsWith('-'));
  const name = ops[0] === 'help' ? ops[1] : ops[0];
  return COMMANDS.find((c) => c.name === name);
}

export function newProgram(): Command {
  return new Command()
    .name('vigil')
    .description('Vigil: eBPF runtime security and observability for Linux hosts and Kubernetes')
    .version('0.1.0')
    .showHelpAfterError();
}

/**
 * The program for these args: the named group's real commands, or (no group, an unknown one,
 * --help, --version) one placeholder per table row, which is all the top-level help and the
 * unknown-command suggestions need.
 */
export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = newProgram();
  const entry = commandOf(args);
  if (entry) {
    for (const mod of await entry.load()) mod.register(program);
    return program;
  }
  const terms = new Map<Command, string>();
  for (const c of COMMANDS) terms.set(program.command(c.name).description(c.description), c.term);
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}
