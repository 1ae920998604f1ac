// Tests of the CLI program assembly (src/cli/program.ts): the static table of top-level commands
// matches what the command modules register (name, help term, description, order), each row loads
// the module that defines its command, and a call imports only what its command needs: `vigil
// --help` no command module, `vigil rules validate` the rules module and not the backend or the
// sensor, `vigil run --help` commander and the option declarations of the core and the run hooks
// (no rules engine, sensor, policy compiler, uplink), `vigil status --help` and `vigil policy
// validate` their own needs. Module loads are recorded by a resolve hook
// (tests/helpers/module-trace.ts). No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Help } from 'commander';
import { buildProgram, commandOf, COMMANDS } from '../../../src/cli/program.ts';
import * as status from '../../../src/cli/commands/status.ts';
import * as rules from '../../../src/cli/commands/rules.ts';
import * as policy from '../../../src/cli/commands/policy.ts';
import * as backend from '../../../src/cli/commands/backend.ts';
import * as selftest from '../../../src/cli/commands/selftest.ts';
import * as run from '../../../src/cli/commands/run.ts';
import { traceModules } from '../../helpers/module-trace.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const help = new Help();
const rows = (p: Command) => p.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() }));

test('the table lists every top-level command the modules register, with their help term and description, in order', () => {
  const eager = new Command();
  for (const mod of [status, rules, policy, backend, selftest, run]) mod.register(eager);
  assert.deepEqual(
    COMMANDS.map(({ name, term, description }) => ({ name, term, description })),
    rows(eager),
  );
});

test('each row loads the module that registers its command', async () => {
  for (const entry of COMMANDS) {
    const p = new Command();
    for (const mod of await entry.load()) mod.register(p);
    assert.ok(
      p.commands.some((c) => c.name() === entry.name),
      `${entry.name}: not registered by its module(s)`,
    );
  }
});

test('commandOf: the first operand, or the one after help; options skipped; unknown names resolve to nothing', () => {
  assert.equal(commandOf(['run', '--help'])?.name, 'run');
  assert.equal(commandOf(['-q', 'rules', 'validate', 'x.yaml'])?.name, 'rules');
  assert.equal(commandOf(['help', 'policy'])?.name, 'policy');
  assert.equal(commandOf(['--help']), undefined);
  assert.equal(commandOf([]), undefined);
  assert.equal(commandOf(['bogus']), undefined);
});

test("without a command, the program has one placeholder per row and the help shows the rows' terms", async () => {
  const p = await buildProgram(['--help']);
  assert.deepEqual(
    p.commands.map((c) => c.name()),
    COMMANDS.map((c) => c.name),
  );
  const text = p.helpInformation();
  for (const c of COMMANDS) assert.match(text, new RegExp(`^  ${c.term.replace(/[[\].]/g, '\\$&')} `, 'm'));
});

test('vigil run --help lists the options the rules, uplink and policy hooks add', async () => {
  const p = await buildProgram(['run', '--help']);
  const opts = p.commands.find((c) => c.name() === 'run')!.options.map((o) => o.long);
  for (const o of ['--rules', '--alerts-only', '--server', '--enroll', '--policy', '--default-posture', '--fail-closed'])
    assert.ok(opts.includes(o), `${o} missing`);
});

/** Runs the CLI from the sources with a resolve hook that logs every module URL it loads. */
function loadedModules(args: string[]): { status: number | null; urls: string[] } {
  const { status, urls } = traceModules(args);
  return { status, urls };
}

const heavy = /\/node_modules\/(@duckdb|pg|fastify|nats|yaml|ajv|@sinclair|pino|ws|node-forge|prom-client)\//;

test('vigil --help imports no command module and no heavy dependency', () => {
  const { status, urls } = loadedModules(['--help']);
  assert.equal(status, 0);
  assert.ok(
    urls.some((u) => u.endsWith('/src/cli/program.ts')),
    'the hook saw the CLI load',
  );
  assert.deepEqual(
    urls.filter((u) => u.includes('/src/cli/commands/') || heavy.test(u)),
    [],
  );
});

test('vigil rules validate imports the rules module, not the backend, the sensor or the server dependencies', () => {
  const { status, urls } = loadedModules(['rules', 'validate', path.join(repoRoot, '..', 'shared', 'falco', 'falco_rules.yaml')]);
  assert.equal(status, 0);
  assert.deepEqual(
    urls.filter((u) => u.includes('/src/cli/commands/')).map((u) => path.basename(u)),
    ['rules.ts'],
  );
  assert.deepEqual(
    urls.filter((u) => /\/src\/(sensor|server|store|transport|policy)\//.test(u) || /\/node_modules\/(@duckdb|pg|fastify|nats|pino|node-forge)\//.test(u)),
    [],
  );
});

// The modules of the run hooks that declare their options; each imports its implementation (the
// rules engine, the uplink, the policy runtime) only in plan()/start().
// the hooks' option declarations, and the --ship parser the uplink's declaration uses (it imports only the error catalogue)
const HOOK_DECLARATIONS = ['src/detect/run-hook.ts', 'src/policy/run-hook.ts', 'src/uplink/run-hook.ts', 'src/uplink/ship.ts'];

test('vigil run --help loads commander and the option declarations only: no rules engine, sensor, policy compiler or uplink', () => {
  const t = traceModules(['run', '--help']);
  assert.equal(t.status, 0);
  assert.match(t.stdout, /--rules <file\.\.\.>/);
  assert.match(t.stdout, /--policy <file\.\.\.>/);
  assert.match(t.stdout, /--server <url>/);
  assert.deepEqual(t.packages, ['commander']);
  // none of: ajv, ws, node-forge, pino, typebox, yaml, @duckdb, pg, and no src module of the rules
  // compiler, the sensor, the runtime, the store, the server, the policy compiler or the uplink
  assert.deepEqual(
    t.files.filter((f) => /^src\/(rules|sensor|runtime|store|server|wire|insights|selftest)\//.test(f)),
    [],
  );
  assert.deepEqual(
    t.files.filter((f) => /^src\/(detect|policy|uplink)\//.test(f)),
    HOOK_DECLARATIONS,
  );
  assert.deepEqual(
    t.files.filter((f) => f.startsWith('src/cli/')),
    ['src/cli/commands/run.ts', 'src/cli/main.ts', 'src/cli/program.ts', 'src/cli/run-hooks.ts'],
  );
});

test('vigil status --help loads its command module and the control-socket client, nothing heavy', () => {
  const t = traceModules(['status', '--help']);
  assert.equal(t.status, 0);
  assert.match(t.stdout, /^Usage: vigil status \[options\]/);
  assert.deepEqual(t.packages, ['commander']);
  assert.deepEqual(
    t.files.filter((f) => f.startsWith('src/cli/commands/')),
    ['src/cli/commands/status.ts'],
  );
  assert.deepEqual(
    t.files.filter((f) => /^src\/(rules|sensor|runtime|store|server|policy|detect|uplink)\//.test(f)),
    [],
  );
});

test('vigil policy validate loads the policy schema and validator (typebox, ajv, yaml), not the compiler, the kernel layer or the sensor', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-policy-trace-'));
  const file = path.join(dir, 'p.yaml');
  writeFileSync(
    file,
    'apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: a}\nspec:\n  selector: {matchLabels: {app: web}}\n  file:\n    matchPaths: [{path: /etc/shadow}]\n  action: Block\n',
  );
  const t = traceModules(['policy', 'validate', file]);
  assert.equal(t.status, 0, t.stdout);
  assert.equal(t.stderr, `${file}: ok (1 policy)\n`);
  assert.deepEqual(t.packages, ['@sinclair/typebox', 'ajv', 'commander', 'yaml']);
  assert.deepEqual(
    t.files.filter((f) => f.startsWith('src/policy/')),
    ['src/policy/control-client.ts', 'src/policy/schema.ts', 'src/policy/validate.ts'],
  );
  assert.deepEqual(
    t.files.filter((f) => /^src\/(rules|sensor|runtime|kernel|store|server|detect|uplink)\//.test(f)),
    [],
  );
});
