// `vigil run --record` live (root, BTF, the built loader, ../shared/falco): the sensor runs with the
// stable rules and records every event in the binary format while this test reads /etc/shadow;
// then `vigil replay` of that recording fires exactly the alerts of the live run (rule and output
// fields, as multisets: the live run may evaluate on workers), the triggered alert among them. The
// same recording also holds JSON-exact events: every event decodes and `vigil status` counted no
// recording drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { needKernel, sharedDir, spawnVigilRun, vigilBin, waitForStatusSocket } from '../helpers/kernel.ts';
import { decodeRecording } from '../../src/wire/recording/index.ts';

const pexec = promisify(execFile);
const STABLE = path.join(sharedDir, 'falco', 'falco_rules.yaml');

interface AlertLine {
  rule: string;
  output_fields: Record<string, unknown>;
}

/** The alerts of a stream of lines as sorted `rule output_fields` keys (other lines are ignored). */
function alertKeys(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const a = JSON.parse(line) as Partial<AlertLine>;
    if (typeof a.rule === 'string' && a.output_fields) out.push(`${a.rule} ${JSON.stringify(a.output_fields)}`);
  }
  return out.sort();
}

test('vigil run --record with the stable rules: vigil replay of the binary recording fires exactly the live alerts', { timeout: 180_000 }, async (t) => {
  if (!needKernel(t)) return;
  if (!existsSync(STABLE)) return t.skip(`no stable rules at ${STABLE} (../shared)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-rec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = path.join(dir, 'live.vgl');
  const sock = path.join(dir, 's.sock');
  const run = spawnVigilRun(['--rules', STABLE, '--record', rec, '-q', '--socket', sock]);
  let code: number | null | undefined;
  void run.exited.then((c) => (code = c));
  try {
    await waitForStatusSocket(sock, 60_000, () => (code === undefined ? undefined : `exit ${code}: ${run.err()}`));
    const tag = randomBytes(4).toString('hex');
    // Read sensitive file untrusted: a copy of cat under a name of its own is no trusted reader
    const cat = path.join(dir, `cat-${tag}`);
    copyFileSync('/bin/cat', cat);
    chmodSync(cat, 0o755);
    await pexec(cat, ['/etc/shadow']);
    const end = Date.now() + 15_000;
    while (!run.out().includes(tag)) {
      if (Date.now() > end) throw new Error(`no alert naming ${tag} after 15 s; stderr: ${run.err()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout: statusText } = await pexec(vigilBin, ['status', '--json', '--socket', sock]);
    const status = JSON.parse(statusText) as { userspace: { dropped: number } };
    assert.equal(status.userspace.dropped, 0, 'no event dropped (printer off, recording on)');
  } finally {
    run.child.kill('SIGINT');
    await run.exited;
  }
  assert.equal(code, 0, run.err());
  const live = alertKeys(run.out());
  assert.ok(
    live.some((k) => k.startsWith('Read sensitive file untrusted ') && k.includes('/etc/shadow') && k.includes('"proc.name":"cat-')),
    `the shadow read alert is among the ${live.length} live alerts`,
  );

  const file = readFileSync(rec);
  const events = decodeRecording(file, rec);
  assert.ok(events.length > 0);
  // every decoded event is a complete VigilEvent
  for (const ev of events) assert.equal(typeof (ev.evt as { time?: unknown }).time, 'string');

  const { stdout, stderr } = await pexec(vigilBin, ['replay', rec, '--rules', STABLE, '--workers', '1', '--stats'], { maxBuffer: 256 * 1024 * 1024 });
  assert.match(stderr, new RegExp(`^replay: ${events.length} events, ${live.length} alerts`));
  assert.deepEqual(alertKeys(stdout), live);
});
