// Tests of replay: a small recorded NDJSON stream evaluated with the synchronous evaluator
// (--workers 1) and with worker threads sharded by proc.pid gives the same alerts in the same
// order; also through the CLI (`vigil replay`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { RuleLoader, replay, ParallelEvaluator } from '../../../src/rules/index.ts';
import { repoRoot } from '../../helpers/kernel.ts';
import { INCUBATING, STABLE, containerEvent, event } from '../../helpers/rules.ts';

function recording(): string {
  const evs = [];
  for (let i = 0; i < 300; i++) {
    const pid = 1000 + (i % 7);
    const n = i + 1;
    const time = String(1700000000000000000n + BigInt(n) * 1000n);
    if (i % 10 === 0) {
      evs.push(
        event({
          evt: { num: n, time, type: 'openat', arg: { name: '/etc/shadow', flags: 'O_RDONLY' }, res: 3, rawres: 3 },
          proc: { pid, name: `cat${i}`, cmdline: `cat${i} /etc/shadow` },
          fd: { num: 3, type: 'file', typechar: 'f', name: '/etc/shadow' },
        }),
      );
    } else if (i % 10 === 3) {
      evs.push(
        containerEvent({
          evt: { num: n, time, type: 'execve' },
          proc: { pid, name: 'bash', tty: 34817, pname: 'containerd-shim', aname: ['containerd-shim'] },
        }),
      );
    } else if (i % 10 === 5) {
      evs.push(event({ evt: { num: n, time, type: 'ptrace', arg: { request: 'PTRACE_ATTACH', pid: 1 } }, proc: { pid, name: `dbg${i}` } }));
    } else {
      evs.push(
        event({
          evt: { num: n, time, type: 'openat', arg: { name: '/tmp/x', flags: 'O_RDONLY' } },
          proc: { pid, name: 'ls' },
          fd: { num: 3, type: 'file', typechar: 'f', name: '/tmp/x' },
        }),
      );
    }
  }
  return evs.map((e) => JSON.stringify(e)).join('\n') + '\n{not json\n\n';
}

const strip = (l: string): string => l.replace(/"uuid":"[^"]*"/, '"uuid":""');

test('replay with 1 and 2 workers: identical alerts, in input order', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replay-'));
  const file = path.join(dir, 'events.ndjson');
  writeFileSync(file, recording());
  const loader = new RuleLoader();
  assert.equal(loader.loadFiles([STABLE, INCUBATING]).ok, true);
  const run = async (workers: number): Promise<{ lines: string[]; events: number; bad: number }> => {
    const lines: string[] = [];
    const st = await replay(file, loader.loadedSources, { workers, onAlert: (l: string) => lines.push(l), batchSize: 16 } as never);
    return { lines, events: st.events, bad: st.badLines };
  };
  const one = await run(1);
  const two = await run(2);
  assert.equal(one.events, 300);
  assert.equal(one.bad, 1);
  assert.equal(two.events, 300);
  assert.equal(two.bad, 1);
  assert.equal(one.lines.length, 90); // 30 shadow reads + 30 terminal shells + 30 ptrace attaches
  assert.deepEqual(two.lines.map(strip), one.lines.map(strip));
  const rules = one.lines.map((l) => (JSON.parse(l) as { rule: string }).rule);
  assert.deepEqual(rules.slice(0, 3), ['Read sensitive file untrusted', 'Terminal shell in container', 'PTRACE attached to process']);
  // alert order follows the input (evt.time increases)
  const times = one.lines.map((l) => BigInt((/"evt.time":(\d+)/.exec(l) as RegExpExecArray)[1] as string));
  assert.ok(times.every((t, i) => i === 0 || t > (times[i - 1] as bigint)));
});

test('ParallelEvaluator: per-process order is kept and events can be pushed as objects', async () => {
  const loader = new RuleLoader();
  loader.loadFiles([STABLE]);
  const pe = await ParallelEvaluator.create(loader.loadedSources, { workers: 3, batchSize: 5 });
  try {
    const got: string[] = [];
    pe.setAlertHandler((json) => got.push(json));
    for (let i = 0; i < 40; i++) {
      await pe.push(event({ evt: { num: i, type: 'ptrace', arg: { request: 'PTRACE_ATTACH' } }, proc: { pid: 10 + (i % 4), name: `p${i}` } }));
    }
    await pe.flush();
    assert.equal(got.length, 40);
    assert.deepEqual(
      got.map((j) => (JSON.parse(j) as { output_fields: Record<string, string> }).output_fields['proc.name']),
      Array.from({ length: 40 }, (_, i) => `p${i}`),
    );
  } finally {
    await pe.close();
  }
});

test('ParallelEvaluator.create rejects with the load errors', async () => {
  await assert.rejects(
    ParallelEvaluator.create([{ name: 'bad.yaml', content: '- rule: r\n  desc: d\n  output: o\n  priority: INFO\n' }], { workers: 1 }),
    /bad\.yaml:1:3: Item has no mapping for key 'condition'/,
  );
});

test('CLI: vigil replay prints the same alert lines with --workers 1 and --workers 2', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replay-cli-'));
  const file = path.join(dir, 'events.ndjson');
  writeFileSync(file, recording());
  const vigil = path.join(repoRoot, 'bin', 'vigil');
  const a = execFileSync(vigil, ['replay', file, '--rules', STABLE, INCUBATING, '--workers', '1'], { encoding: 'utf8' }).trim().split('\n');
  const b = execFileSync(vigil, ['replay', file, '--rules', STABLE, INCUBATING, '--workers', '2', '--append-output'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(a.length, 90);
  assert.equal(b.length, 90);
  const noAppend = b.map((l) => JSON.parse(l) as { rule: string; output: string; output_fields: Record<string, unknown> });
  assert.deepEqual(
    noAppend.map((x) => x.rule),
    a.map((l) => (JSON.parse(l) as { rule: string }).rule),
  );
  assert.ok(noAppend.every((x) => 'container.id' in x.output_fields && x.output.includes(' container_id=')));
  assert.ok(readFileSync(file, 'utf8').length > 0);
});
