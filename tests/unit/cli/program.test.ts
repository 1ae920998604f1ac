// Tests of the CLI program assembly (src/cli/program.ts): the static table of top-level commands
// matches what the command modules register (name, help term, description, order), each row loads
// the module that defines its command, and a call imports only its command's module: `vigil --help`
// none, `vigil rules validate` the rules module and not the backend or the sensor. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Command, Help } from 'commander';
import { buildProgram, commandOf, COMMANDS } from '../../../src/cli/program.ts';
import * as status from '../../../src/cli/commands/status.ts';
import * as rules from '../../../src/cli/commands/rules.ts';
import * as policy from '../../../src/cli/commands/policy.ts';
import * as backend from '../../../src/cli/commands/backend.ts';
import * as selftest from '../../../src/cli/commands/selftest.ts';
import * as run from '../../../src/cli/commands/run.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const help = new Help();
const rows = (p: Command) => p.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() }));

test('the table lists every top-level command the modules register, with their help term and description, in order', () => {
  const eager = new Command();
  for (const mod of [status, rules, policy, backend, selftest, run]) mod.register(eager);
  assert.deepEqual(COMMANDS.map(({ name, term, description }) => ({ name, term, description })), rows(eager));
});

test('each row loads the module that registers its command', async () => {
  for (const entry of COMMANDS) {
    const p = new Command();
    for (const mod of await entry.load()) mod.register(p);
    assert.ok(p.commands.some((c) => c.name() === entry.name), `${entry.name}: not registered by its module(s)`);
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

test('without a command, the program has one placeholder per row and the help shows the rows\' terms', async () => {
  const p = await buildProgram(['--help']);
  assert.deepEqual(p.commands.map((c) => c.name()), COMMANDS.map((c) => c.name));
  const text = p.helpInformation();
  for (const c of COMMANDS) assert.match(text, new RegExp(`^  ${c.term.replace(/[[\].]/g, '\\$&')} `, 'm'));
});

test('vigil run --help lists the options the rules, uplink and policy hooks add', async () => {
  const p = await buildProgram(['run', '--help']);
  const opts = p.commands.find((c) => c.name() === 'run')!.options.map((o) => o.long);
  for (const o of ['--rules', '--alerts-only', '--server', '--enroll', '--policy', '--default-posture', '--fail-closed']) assert.ok(opts.includes(o), `${o} missing`);
});

/** Runs the CLI from the sources with a resolve hook that logs every module URL it loads. */
function loadedModules(args: string[]): { status: number | null; urls: string[] } {
  const hook = `import { writeSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'LOADED ' + r.url + '\\n'); return r; }`;
  const reg = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(reg)}`, path.join(repoRoot, 'src/cli/main.ts'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  const urls = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
  return { status: r.status, urls };
}

const heavy = /\/node_modules\/(@duckdb|pg|fastify|nats|yaml|ajv|@sinclair|pino|ws|node-forge|prom-client)\//;

test('vigil --help imports no command module and no heavy dependency', () => {
  const { status, urls } = loadedModules(['--help']);
  assert.equal(status, 0);
  assert.ok(urls.some((u) => u.endsWith('/src/cli/program.ts')), 'the hook saw the CLI load');
  assert.deepEqual(urls.filter((u) => u.includes('/src/cli/commands/') || heavy.test(u)), []);
});

test('vigil rules validate imports the rules module, not the backend, the sensor or the server dependencies', () => {
  const { status, urls } = loadedModules(['rules', 'validate', path.join(repoRoot, '..', 'shared', 'falco', 'falco_rules.yaml')]);
  assert.equal(status, 0);
  assert.deepEqual(urls.filter((u) => u.includes('/src/cli/commands/')).map((u) => path.basename(u)), ['rules.ts']);
  assert.deepEqual(urls.filter((u) => /\/src\/(sensor|server|store|transport|policy)\//.test(u) || /\/node_modules\/(@duckdb|pg|fastify|nats|pino|node-forge)\//.test(u)), []);
});
