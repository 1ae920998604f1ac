// Tests of the replay input paths: a recording built from the real events of the recorded sensor
// frames (tests/fixtures/frames, decoded and enriched by the sensor core, written by the sensor's
// JSON writer), some of them turned into /etc/shadow reads, container shells and ptrace attaches so
// that the stable and incubating rules fire, plus lines that stress the line splitting and the
// cached parser (CRLF, blank, bad JSON, non-ASCII, pretty-printed, strings holding `},"`, a line
// longer than a block). The previous replay path (readline, JSON.parse, Ruleset.evaluate), the
// block reader on one thread and on 2 and 3 threads give the same alert lines in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { alertToJson, RuleLoader, replay } from '../../../src/rules/index.ts';
import type { Ev, ReplayStats, Ruleset } from '../../../src/rules/index.ts';
import { EventLineParser } from '../../../src/rules/event-json.ts';
import { eventToJson } from '../../../src/sensor/output.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';
import { containerEvent, event, INCUBATING, STABLE } from '../../helpers/rules.ts';

type Tree = Record<string, unknown>;

/** The real events of the recorded workload, as `vigil run --output json` prints them. */
function realEvents(): VigilEvent[] {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  assert.ok(core.events.length >= 40, `recorded events: ${core.events.length}`);
  return core.events;
}

/** Copies the real events `rounds` times: other pids (and so other process members), renumbered, some turned into alerts. */
function recordingLines(rounds: number): string[] {
  const real = realEvents();
  const lines: string[] = [];
  let num = 0;
  for (let r = 0; r < rounds; r++) {
    for (const e of real) {
      const ev = JSON.parse(JSON.stringify(e)) as Tree & { evt: Tree; proc: Tree; thread: Tree; fd?: Tree };
      num++;
      ev.evt.num = num;
      ev.evt.time = String(1796000000000000000n + BigInt(num) * 1000n);
      ev.proc.pid = (ev.proc.pid as number) + (r % 5);
      ev.thread.tid = (ev.thread.tid as number) + (r % 5);
      if (ev.evt.type === 'openat' && ev.fd !== undefined && (ev.fd.num as number) >= 0 && num % 3 === 0) {
        // a real open, now of /etc/shadow: "Read sensitive file untrusted"
        (ev.evt.arg as Tree).name = '/etc/shadow';
        ev.fd.name = '/etc/shadow';
        ev.fd.typechar = 'f';
        ev.fd.type = 'file';
      }
      lines.push(eventToJson(ev as unknown as VigilEvent));
    }
    const n = ++num;
    const time = String(1796000000000000000n + BigInt(n) * 1000n);
    if (r % 3 === 0) {
      lines.push(
        JSON.stringify(
          containerEvent({
            evt: { num: n, time, type: 'execve' },
            proc: { pid: 30000 + r, name: 'bash', tty: 34817, pname: 'containerd-shim', aname: ['containerd-shim'] },
          }),
        ),
      );
    } else
      lines.push(
        JSON.stringify(event({ evt: { num: n, time, type: 'ptrace', arg: { request: 'PTRACE_ATTACH', pid: 1 } }, proc: { pid: 31000 + r, name: `dbg${r}` } })),
      );
  }
  return lines;
}

/** Lines that the line splitting and the parser must take exactly as readline and JSON.parse do. */
function oddLines(base: string): string[] {
  const ev = JSON.parse(base) as Tree & { evt: Tree; proc: Tree; fd: Tree };
  const withName = (name: string, cmd: string): string => {
    const e = JSON.parse(base) as Tree & { evt: Tree; proc: Tree; fd: Tree };
    e.fd.name = name;
    (e.evt.arg as Tree).name = name;
    e.proc.cmdline = cmd;
    return JSON.stringify(e);
  };
  return [
    '',
    '   ',
    '{not json',
    withName('/etc/shadow', 'find . -exec cat {} \\; x},"proc":{"pid":1},"y'),
    withName('/etc/shadow', 'café 日本 \u2028 "quoted" \\ back'),
    JSON.stringify(ev, null, 1).replace(/\n/g, ' '),
    withName('/etc/shadow', 'x'.repeat(20_000)),
    `${base.slice(0, -1)},"proc":{"pid":7,"name":"dup"}}`,
    '{"__proto__":{"x":1},"evt":{"num":1,"type":"openat"}}',
    '{"evt":{"num":2,"type":"close"},"n":3}',
    // evt split at its top-level "arg" only; a duplicate "arg" keeps its first place and last value
    '{"evt":{"num":9,"y":{"q":1,"arg":{"z":2}},"arg":{"x":1},"k":2,"arg":{"w":3},"rawarg":{}},"fd":{"a":"},\\"b\\":{"}}',
    '{"evt":{"num":10,"y":{"q":1,"arg":{"z":2}}},"fd":{}}',
    '42',
    '[]',
  ];
}

function buildFile(): { file: string; lines: string[] } {
  const lines = recordingLines(60);
  const odd = oddLines(lines.find((l) => l.includes('"/etc/shadow"')) as string);
  // odd lines spread through the file, one with CRLF, and a last line without a line break
  const all: string[] = [];
  lines.forEach((l, i) => {
    all.push(l);
    if (i % 97 === 0) all.push(odd[(i / 97) % odd.length] as string);
  });
  all.push(...odd);
  const text = all.join('\n').replace(/\n(\{not json)/, '\r\n$1') + '\r\n' + (lines[3] as string);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replay-paths-'));
  const file = path.join(dir, 'events.ndjson');
  writeFileSync(file, text);
  return { file, lines: all };
}

/** The replay path before block reading: readline, JSON.parse, Ruleset.evaluate, alertToJson. */
async function previousPath(file: string, rs: Ruleset): Promise<{ alerts: string[]; events: number; bad: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const alerts: string[] = [];
  let events = 0;
  let bad = 0;
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let ev: Ev;
    try {
      ev = JSON.parse(line) as Ev;
    } catch {
      bad++;
      continue;
    }
    events++;
    for (const a of rs.evaluate(ev)) alerts.push(alertToJson(a));
  }
  return { alerts, events, bad };
}

const strip = (l: string): string => l.replace(/"uuid":"[^"]*"/, '"uuid":""');

test('EventLineParser gives exactly what JSON.parse gives, and reuses the repeated process members', () => {
  const { lines } = buildFile();
  const p = new EventLineParser();
  let objects = 0;
  for (const line of lines) {
    let want: unknown;
    try {
      want = JSON.parse(line);
    } catch (e) {
      assert.throws(() => p.parse(line), { name: (e as Error).name }, line.slice(0, 80));
      continue;
    }
    const got = p.parse(line);
    assert.deepStrictEqual(got, want, line.slice(0, 120));
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
      assert.deepEqual(Object.keys(got), Object.keys(want as object), 'member order');
      objects++;
    }
  }
  assert.ok(objects > 2900, `${objects} objects`);
  // the process members of most lines came from the cache
  assert.ok(p.runHits > objects * 0.8, `run hits ${p.runHits} of ${objects}`);
  const a = p.parse(lines[0] as string) as { proc: unknown };
  const b = p.parse(lines[0] as string) as { proc: unknown };
  assert.equal(a.proc, b.proc, 'the same process text gives the same object');
});

test('parseBlock splits lines as readline does (\\n, \\r\\n, lone \\r, last line without a break)', async () => {
  const text = '{"evt":{"num":1}}\r\n\n{"evt":{"num":2}}\r{"evt":{"num":3}}\n  \n{bad\n{"evt":{"num":4}}';
  const lines: string[] = [];
  for await (const l of createInterface({ input: Readable.from([Buffer.from(text)]), crlfDelay: Infinity })) lines.push(l);
  const want = lines.filter((l) => l.trim() !== '').flatMap((l) => (l.startsWith('{bad') ? [] : [JSON.parse(l) as unknown]));
  const got: unknown[] = [];
  const bad = new EventLineParser().parseBlock(Buffer.from(text), Buffer.byteLength(text), (ev) => got.push(ev));
  assert.equal(bad, 1);
  assert.deepStrictEqual(got, want);
  assert.deepStrictEqual(
    got.map((e) => (e as { evt: { num: number } }).evt.num),
    [1, 2, 3, 4],
  );
});

test('replay: previous path, 1 thread, 2 and 3 threads, file and stream: identical alerts in input order', async () => {
  const { file } = buildFile();
  const loader = new RuleLoader();
  assert.equal(loader.loadFiles([STABLE, INCUBATING]).ok, true);
  const rs = new RuleLoader().load(loader.loadedSources);
  assert.ok(rs.ok);
  const old = await previousPath(file, rs.ruleset);
  assert.ok(old.events > 2900, `${old.events} events`);
  assert.equal(old.bad, 4); // the '{not json' lines
  assert.ok(old.alerts.length > 100, `${old.alerts.length} alerts`);
  const rules = new Set(old.alerts.map((l) => (JSON.parse(l) as { rule: string }).rule));
  assert.deepEqual([...rules].sort(), ['PTRACE attached to process', 'Read sensitive file untrusted', 'Terminal shell in container']);
  const want = old.alerts.map(strip);
  const run = async (workers: number, chunkBytes?: number, o: { stream?: boolean; evaluateHere?: boolean } = {}): Promise<ReplayStats> => {
    const got: string[] = [];
    const input = o.stream ? createReadStream(file, { highWaterMark: 1000 }) : file;
    const opts = {
      workers,
      onAlert: (l: string) => got.push(strip(l)),
      ...(chunkBytes ? { chunkBytes } : {}),
      ...(o.evaluateHere === false ? { evaluateHere: false } : {}),
    };
    const st = await replay(input, loader.loadedSources, opts);
    const what = `workers ${workers}, blocks ${chunkBytes ?? 'default'} ${JSON.stringify(o)}`;
    assert.equal(st.events, old.events, what);
    assert.equal(st.badLines, old.bad, what);
    assert.equal(st.alerts, want.length, what);
    assert.deepEqual(got, want, what);
    return st;
  };
  const one = await run(1);
  assert.equal(one.blocksWorkers, 0);
  await run(1, 8192);
  await run(2);
  // every block to the worker threads; then blocks shared between this thread and the workers
  const w2 = await run(2, 8192, { evaluateHere: false });
  assert.equal(w2.blocksHere, 0);
  assert.ok(w2.blocksWorkers > 100, `${w2.blocksWorkers} blocks`);
  await run(3, 16384, { evaluateHere: false });
  await run(2, 8192);
  await run(2, 8192, { stream: true });
  assert.ok(readFileSync(file).length > 8192 * 50);
});

test('replay: a recording that cannot be read is a clear error', async () => {
  const loader = new RuleLoader();
  assert.equal(loader.loadFiles([STABLE]).ok, true);
  await assert.rejects(replay('/nonexistent/recording.ndjson', loader.loadedSources, { workers: 1, onAlert: () => {} }), {
    code: 'VIGIL_E_IO',
    message: /cannot read the recording \/nonexistent\/recording\.ndjson: ENOENT/,
  });
});
