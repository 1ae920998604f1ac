// CLI commands of the policy group: `vigil policy validate FILE...` (offline), `schema` (prints the
// published JSON Schema), and `apply FILE`, `delete NAME`, `list`, which talk to the running
// sensor over its local control socket (src/policy/control-client.ts), and `status` (which enforcer
// serves each kind of policy). The policy run hook of `vigil run` (--policy, --default-posture,
// --fail-closed; src/policy/run-hook.ts) is listed in the run-hook registry (src/cli/run-hooks.ts).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VigilError } from '../../common/errors.ts';
import { DEFAULT_SOCKET, sendRequest, type PolicyReply } from '../../policy/control-client.ts';
import { publishedSchema } from '../../policy/schema.ts';
import { formatIssue, parsePolicyFile } from '../../policy/validate.ts';

function printReply(r: PolicyReply): void {
  for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  if (!r.ok) {
    for (const e of r.errors ?? ['the sensor refused the request']) process.stderr.write(`${e}\n`);
    process.exitCode = 1;
  }
}

export function register(program: Command): void {
  const policy = program.command('policy').description('KubeArmor-style security policies (VigilPolicy, KubeArmorPolicy, KubeArmorHostPolicy)');

  policy
    .command('validate')
    .description('check policy files offline; prints file:line:col: message per problem')
    .argument('<file...>', 'policy YAML files (several documents per file allowed)')
    .action((files: string[]) => {
      let bad = 0;
      for (const f of files) {
        const r = parsePolicyFile(f);
        for (const e of r.errors) process.stdout.write(`${formatIssue(e)}\n`);
        if (r.errors.length) bad++;
        else process.stderr.write(`${f}: ok (${r.policies.length} polic${r.policies.length === 1 ? 'y' : 'ies'})\n`);
      }
      if (bad) process.exitCode = 1;
    });

  policy
    .command('schema')
    .description('print the JSON Schema of policy documents')
    .action(() => {
      process.stdout.write(`${JSON.stringify(publishedSchema(), null, 2)}\n`);
    });

  policy
    .command('apply')
    .description('validate a policy file and make it active in the running sensor (all documents or none)')
    .argument('<file>', 'policy YAML file')
    .option('--socket <path>', 'sensor control socket', DEFAULT_SOCKET)
    .action(async (file: string, opts: { socket: string }) => {
      const local = parsePolicyFile(file);
      if (local.errors.length) {
        for (const e of local.errors) process.stdout.write(`${formatIssue(e)}\n`);
        process.exitCode = 1;
        return;
      }
      let yaml: string;
      try {
        yaml = readFileSync(file, 'utf8');
      } catch (e) {
        throw new VigilError('VIGIL_E_USAGE', `cannot read ${file}: ${(e as Error).message}`);
      }
      const r = await sendRequest({ op: 'policy.apply', yaml, file }, opts.socket);
      printReply(r);
      if (r.ok) process.stdout.write(`applied: ${((r.applied as string[] | undefined) ?? []).join(', ')}\n`);
    });

  policy
    .command('delete')
    .description('remove an active policy by name (or namespace/name)')
    .argument('<name>')
    .option('--socket <path>', 'sensor control socket', DEFAULT_SOCKET)
    .action(async (name: string, opts: { socket: string }) => {
      const r = await sendRequest({ op: 'policy.delete', name }, opts.socket);
      printReply(r);
      if (r.ok) process.stdout.write(`deleted: ${((r.deleted as string[] | undefined) ?? []).join(', ')}\n`);
    });

  policy
    .command('list')
    .description('list the active policies and the workloads they select')
    .option('--socket <path>', 'sensor control socket', DEFAULT_SOCKET)
    .option('--json', 'print the raw reply')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const r = await sendRequest({ op: 'policy.list' }, opts.socket);
      printReply(r);
      if (!r.ok) return;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r.policies ?? [], null, 2)}\n`);
        return;
      }
      const rows = (r.policies as Array<{ name: string; namespace?: string; kind: string; action: string; workloads: string[] }> | undefined) ?? [];
      process.stdout.write(`${'NAME'.padEnd(32)} ${'KIND'.padEnd(20)} ${'ACTION'.padEnd(7)} WORKLOADS\n`);
      for (const p of rows) {
        const n = p.namespace ? `${p.namespace}/${p.name}` : p.name;
        process.stdout.write(`${n.padEnd(32)} ${p.kind.padEnd(20)} ${p.action.padEnd(7)} ${p.workloads.join(',') || '-'}\n`);
      }
    });

  policy
    .command('status')
    .description('show which enforcer serves each kind of policy, the active scopes and decision counters')
    .option('--socket <path>', 'sensor control socket', DEFAULT_SOCKET)
    .option('--json', 'print the raw reply')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const r = await sendRequest({ op: 'policy.status' }, opts.socket);
      printReply(r);
      if (!r.ok) return;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const enf = (r.enforcers ?? {}) as Record<string, { enforcer: string; available: boolean; reason?: string; scopes?: number }>;
      process.stdout.write(`default posture: ${String(r.defaultPosture)}   policies: ${String(r.policies)}\n`);
      process.stdout.write(`${'KIND'.padEnd(14)} ${'ENFORCER'.padEnd(11)} ${'AVAILABLE'.padEnd(9)} DETAIL\n`);
      for (const [k, e] of Object.entries(enf)) {
        const detail = e.available ? (e.scopes !== undefined ? `${e.scopes} scope(s)` : '') : (e.reason ?? '');
        process.stdout.write(`${k.padEnd(14)} ${e.enforcer.padEnd(11)} ${(e.available ? 'yes' : 'no').padEnd(9)} ${detail}\n`);
      }
    });
}
