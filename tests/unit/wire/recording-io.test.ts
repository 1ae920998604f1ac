// Tests of the recording interface (src/wire/recording/index.ts): writers of both formats onto
// files, readers chosen by sniffing the first bytes (file and stream, the stream keeps the sniffed
// bytes), the bounded writer dropping and counting when its sink is behind, a cut binary file
// read to the events before the cut then a located error; and `vigil replay` (src/rules replay)
// of a binary recording firing exactly the alerts of the NDJSON replay of the same events, on
// one worker and on two, in process and through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { FieldTree } from '../../../src/abi/event.ts';
import { RuleLoader, replay } from '../../../src/rules/index.ts';
import { createRecordingWriter, openRecording, openRecordingWriter, readerOf, RecordingError, sniffInput } from '../../../src/wire/recording/index.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';
import { repoRoot } from '../../helpers/kernel.ts';
import { INCUBATING, STABLE, containerEvent, event } from '../../helpers/rules.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'vigil-rec-'));

async function readAll(input: string | Readable): Promise<{ format: string; events: FieldTree[]; bad: number }> {
  const r = await openRecording(input, { batchSize: 7 });
  const events: FieldTree[] = [];
  for await (const b of r) events.push(...b);
  return { format: r.format, events, bad: r.stats.badLines };
}

function realEvents(): FieldTree[] {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  return core.events;
}

test('both writers onto files, read back through the sniffing reader: the same JSON lines', async () => {
  const evs = realEvents();
  const dir = tmp();
  for (const format of ['vigil', 'ndjson'] as const) {
    const file = path.join(dir, `rec.${format}`);
    const w = await openRecordingWriter(file, format, { blockBytes: 3000 });
    for (const e of evs) assert.equal(w.write(e), true);
    await w.close();
    assert.deepEqual(w.stats, { written: evs.length, dropped: 0, bytes: readFileSync(file).length });
    const got = await readAll(file);
    assert.equal(got.format, format);
    assert.deepEqual(
      got.events.map((e) => JSON.stringify(e)),
      evs.map((e) => JSON.stringify(e)),
    );
  }
  // the NDJSON file is what `vigil run --output json` prints, line for line
  assert.equal(readFileSync(path.join(dir, 'rec.ndjson'), 'utf8'), evs.map((e) => JSON.stringify(e) + '\n').join(''));
});

test('a stream is sniffed and keeps its first bytes (binary and NDJSON, delivered in small chunks)', async () => {
  const evs = realEvents().slice(0, 10);
  const bin = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    sink.on('end', () => resolve(Buffer.concat(chunks)));
    const w = createRecordingWriter(sink, 'vigil');
    for (const e of evs) w.write(e);
    void w.close();
  });
  const pieces = (b: Buffer) => Readable.from(Array.from({ length: Math.ceil(b.length / 3) }, (_, i) => b.subarray(i * 3, i * 3 + 3)));
  const a = await readAll(pieces(bin));
  assert.equal(a.format, 'vigil');
  assert.deepEqual(
    a.events.map((e) => JSON.stringify(e)),
    evs.map((e) => JSON.stringify(e)),
  );
  const text = Buffer.from(evs.map((e) => JSON.stringify(e)).join('\n') + '\n{bad\n');
  const b = await readAll(pieces(text));
  assert.equal(b.format, 'ndjson');
  assert.equal(b.events.length, 10);
  assert.equal(b.bad, 1);
  // an empty stream is an (empty) NDJSON stream
  assert.deepEqual(await readAll(Readable.from([])), { format: 'ndjson', events: [], bad: 0 });
});

test('a cut binary file: the events of the complete blocks, then a RecordingError naming the file and offset', async () => {
  const evs = realEvents();
  const dir = tmp();
  const file = path.join(dir, 'cut.vgl');
  const w = await openRecordingWriter(file, 'vigil', { blockBytes: 2000 });
  for (const e of evs) w.write(e);
  await w.close();
  const whole = readFileSync(file);
  writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.7)));
  const r = await openRecording(file);
  const got: FieldTree[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of r) got.push(...b);
    })(),
    (e: unknown) =>
      e instanceof RecordingError && e.source === file && /^.*cut\.vgl: byte offset \d+: expected a block of \d+ bytes after its header/.test(e.format()),
  );
  assert.ok(got.length > 0 && got.length < evs.length, `${got.length} of ${evs.length}`);
  assert.deepEqual(
    got.map((e) => JSON.stringify(e)),
    evs.slice(0, got.length).map((e) => JSON.stringify(e)),
  );
});

test('the writer is bounded: while its sink is behind it drops and counts, then writes again', async () => {
  let release: () => void = () => {};
  const slow = new Writable({
    highWaterMark: 1,
    write(_c, _e, cb) {
      release = cb;
    },
  });
  const w = createRecordingWriter(slow, 'ndjson', { maxBuffered: 1000 });
  const ev = { evt: { type: 'openat', pad: 'x'.repeat(600) } };
  assert.equal(w.write(ev), true); // in flight
  assert.equal(w.write(ev), true); // buffered: 600+ bytes
  assert.equal(w.write(ev), false);
  assert.equal(w.write(ev), false);
  assert.deepEqual({ written: w.stats.written, dropped: w.stats.dropped }, { written: 2, dropped: 2 });
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(w.write(ev), true);
  assert.equal(w.stats.written, 3);
});

test('a file that cannot be opened: VIGIL_E_IO naming it', async () => {
  await assert.rejects(
    openRecording('/nonexistent/rec.vgl'),
    (e: unknown) => (e as { code?: string }).code === 'VIGIL_E_IO' && /\/nonexistent\/rec\.vgl/.test(String(e)),
  );
  await assert.rejects(openRecordingWriter('/nonexistent/dir/rec.vgl', 'vigil'), (e: unknown) => (e as { code?: string }).code === 'VIGIL_E_IO');
});

// ---- replay ----

/** Events that fire the stable and incubating rules (as tests/unit/rules/replay.test.ts), processes shared by identity. */
function ruleEvents(): FieldTree[] {
  const evs: FieldTree[] = [];
  const procs = new Map<string, FieldTree>();
  for (let i = 0; i < 300; i++) {
    const pid = 1000 + (i % 7);
    const n = i + 1;
    const time = String(1700000000000000000n + BigInt(n) * 1000n);
    let ev: FieldTree;
    if (i % 10 === 0) {
      ev = event({
        evt: { num: n, time, type: 'openat', arg: { name: '/etc/shadow', flags: 'O_RDONLY' }, res: 3, rawres: 3 },
        proc: { pid, name: `cat${i}`, cmdline: `cat${i} /etc/shadow` },
        fd: { num: 3, type: 'file', typechar: 'f', name: '/etc/shadow' },
      });
    } else if (i % 10 === 3) {
      ev = containerEvent({
        evt: { num: n, time, type: 'execve' },
        proc: { pid, name: 'bash', tty: 34817, pname: 'containerd-shim', aname: ['containerd-shim'] },
      });
    } else if (i % 10 === 5) {
      ev = event({ evt: { num: n, time, type: 'ptrace', arg: { request: 'PTRACE_ATTACH', pid: 1 } }, proc: { pid, name: `dbg${i}` } });
    } else {
      ev = event({
        evt: { num: n, time, type: 'openat', arg: { name: '/tmp/x', flags: 'O_RDONLY' } },
        proc: { pid, name: 'ls' },
        fd: { num: 3, type: 'file', typechar: 'f', name: '/tmp/x' },
      });
    }
    // share the process object between the events of one process, as the enricher does
    const key = JSON.stringify(ev.proc);
    const shared = procs.get(key);
    if (shared) ev.proc = shared;
    else procs.set(key, ev.proc as FieldTree);
    evs.push(ev);
  }
  return evs;
}

const strip = (l: string): string => l.replace(/"uuid":"[^"]*"/, '"uuid":""');

test('replay of a binary recording: exactly the alerts of the NDJSON replay, 1 and 2 workers, and through the CLI', async () => {
  const evs = ruleEvents();
  const dir = tmp();
  const nd = path.join(dir, 'events.ndjson');
  const bin = path.join(dir, 'events.vgl');
  writeFileSync(nd, evs.map((e) => JSON.stringify(e) + '\n').join(''));
  const w = await openRecordingWriter(bin, 'vigil', { blockBytes: 4096 });
  for (const e of evs) w.write(e);
  await w.close();
  assert.ok(readFileSync(bin).length * 5 < readFileSync(nd).length);
  const loader = new RuleLoader();
  assert.equal(loader.loadFiles([STABLE, INCUBATING]).ok, true);
  const run = async (input: Parameters<typeof replay>[0], workers: number) => {
    const lines: string[] = [];
    const st = await replay(input, loader.loadedSources, { workers, onAlert: (l) => lines.push(strip(l)) });
    return { lines, events: st.events };
  };
  const ref = await run(nd, 1);
  assert.equal(ref.events, 300);
  assert.equal(ref.lines.length, 90);
  for (const workers of [1, 2]) {
    const s = await sniffInput(bin);
    assert.equal(s.format, 'vigil');
    const got = await run(readerOf(s), workers);
    assert.equal(got.events, 300);
    assert.deepEqual(got.lines, ref.lines, `${workers} worker(s)`);
  }
  const vigil = path.join(repoRoot, 'bin', 'vigil');
  const cli = (file: string, workers: string) =>
    execFileSync(vigil, ['replay', file, '--rules', STABLE, INCUBATING, '--workers', workers], { encoding: 'utf8' }).trim().split('\n').map(strip);
  assert.deepEqual(cli(bin, '1'), ref.lines);
  assert.deepEqual(cli(bin, '2'), ref.lines);
  // stdin, sniffed
  const viaStdin = execFileSync(vigil, ['replay', '-', '--rules', STABLE, INCUBATING, '--workers', '1'], { input: readFileSync(bin), encoding: 'utf8' });
  assert.deepEqual(viaStdin.trim().split('\n').map(strip), ref.lines);
  // a cut recording: the alerts before the cut, then the located error and exit status 1
  const cut = path.join(dir, 'cut.vgl');
  writeFileSync(cut, readFileSync(bin).subarray(0, 9000));
  const r = spawnSync(vigil, ['replay', cut, '--rules', STABLE, INCUBATING, '--workers', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cut\.vgl: byte offset \d+: expected a block of \d+ bytes after its header, got end of file after \d+ bytes \(the file is cut\)/);
  const before = r.stdout.trim().split('\n').map(strip);
  assert.ok(before.length > 0 && before.length < 90, `${before.length} alerts before the cut`);
  assert.deepEqual(before, ref.lines.slice(0, before.length));
});
