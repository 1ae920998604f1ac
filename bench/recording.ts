// Benchmark: the binary event recording (src/wire/recording, docs/recording.md) against the NDJSON
// baseline (`vigil run --output json`), on a real storm recording made in this run: `vigil run
// --record storm.vgl --output json > storm.ndjson` (both files hold the same events) while a
// workload of opens, fork+execs and TCP connects runs (the host's own activity is in it too; the
// recording stops at --stop-mb of NDJSON); the last --events N (default 100,000) events of both
// files are kept. Prints, binary vs NDJSON:
// - bytes per event of the two files (and of the NDJSON re-encoded to binary, content-keyed);
// - write rate: events/s of encoding the recorded events (BlockEncoder vs eventToJson lines);
// - decode alone: events/s of the streaming decoder vs JSON.parse of each line;
// - the replay loop in process: file -> events -> Ruleset.evaluate, binary reader vs line reader;
// - `vigil replay FILE --rules stable incubating --workers 1`, events/s from its --stats line (the
//   replay loop inside the process) and wall seconds of the whole command;
// - the rules engine alone (Ruleset.evaluate over decoded events), the bound of the replay rate.
// Every timed measure is repeated (>= 7, interleaved binary/NDJSON, alternating order) and
// reported as the median with min-max spread, per wall second and per CPU second (this machine is
// shared: wall rates follow the load, CPU rates much less); ratios are binary/NDJSON of the same run.
// Writes bench/results/recording.md. Needs root (the sensor) and ../shared/falco.
//
// Usage (root): node --import tsx bench/recording.ts [--reps N] [--events N] [--rounds N] [--stop-mb MB] [--keep DIR]
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import type { VigilEvent } from '../src/abi/event.ts';
import { RuleLoader } from '../src/rules/index.ts';
import { eventToJson } from '../src/sensor/output.ts';
import { BlockEncoder, decodeRecording, endMarker, fileHeader, RecordingDecoder, RecordingError } from '../src/wire/recording/codec.ts';
import { openRecordingWriter, readerOf, sniffInput } from '../src/wire/recording/index.ts';

const repo = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const REPS = Math.max(7, Number(opt('--reps') ?? 7));
const vigil = path.join(repo, 'bin', 'vigil');
const STABLE = path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml');
const INCUBATING = path.resolve(repo, '..', 'shared', 'falco', 'falco-incubating_rules.yaml');
const T0 = Date.now();
const log = (m: string) => process.stderr.write(`[recording +${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}\n`);

if (process.getuid?.() !== 0) throw new Error('bench/recording.ts records a live storm: run it as root');
for (const f of [STABLE, INCUBATING]) if (!existsSync(f)) throw new Error(`missing ${f} (../shared/falco)`);

// ---- the storm recording ----

const keep = opt('--keep');
const dir = keep ? path.resolve(keep) : mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-rec-'));
mkdirSync(dir, { recursive: true });
const vgl = path.join(dir, 'storm.vgl');
const ndjson = path.join(dir, 'storm.ndjson');

const KEEP_EVENTS = Number(opt('--events') ?? 100_000);
const ROUNDS = Number(opt('--rounds') ?? 3);

// opens of a few files, fork+exec of true/cat/ls, TCP connects: ordinary busy-host activity
const WORKLOAD = `
import os, socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(256); port = s.getsockname()[1]
for r in range(${ROUNDS}):
    for i in range(4000):
        for p in ('/etc/hostname', '/etc/passwd', '/usr/lib/os-release'):
            os.close(os.open(p, os.O_RDONLY))
    for i in range(150):
        pid = os.fork()
        if pid == 0:
            prog = ('/bin/true', '/bin/cat', '/bin/ls')[i % 3]
            os.execv(prog, [prog, '/etc/hostname'] if i % 3 else [prog])
        os.waitpid(pid, 0)
    for i in range(1500):
        c = socket.socket(); c.connect(('127.0.0.1', port)); a, _ = s.accept(); a.close(); c.close()
`;

/** The recording stops once the NDJSON file holds this many bytes (a busy host fills it fast). */
const STOP_BYTES = Number(opt('--stop-mb') ?? 800) * 1024 * 1024;

async function recordStorm(): Promise<void> {
  const out = openSync(ndjson, 'w');
  const child = spawn(vigil, ['run', '--output', 'json', '--record', vgl, '--no-socket'], { stdio: ['ignore', out, 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r((code = c))));
  // the workload runs from the start: the sensor attaches its hooks while it runs (slowly on a
  // loaded machine); the recording ends when the workload is done or the file is big enough
  let workDone = false;
  const work = spawn('python3', ['-c', WORKLOAD], { stdio: ['ignore', 'ignore', 'inherit'] });
  work.on('close', () => (workDone = true));
  const until = Date.now() + 600_000;
  while (!workDone && code === undefined && Date.now() < until && statSync(ndjson).size < STOP_BYTES) await new Promise((r) => setTimeout(r, 200));
  if (!workDone) work.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  // a sensor still attaching its hooks under an event flood may not stop for minutes (its loader
  // replies queue behind the events): then it is killed, and both files end cut
  child.kill('SIGINT');
  const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  if (!stopped) {
    log('the sensor did not stop within 20 s of SIGINT: killed (both files end cut)');
    child.kill('SIGKILL');
    await exited;
  } else if (code !== 0) throw new Error(`vigil run exited ${code}: ${err}`);
  closeSync(out);
  log(`recorded (workload ${workDone ? 'done' : 'stopped at the size limit'})`);
}

/**
 * Keeps the last KEEP_EVENTS of the events both files hold (streaming). Both are written from the
 * same bus subscription in the same order; a killed sensor leaves both cut (the binary at its last
 * complete block, the NDJSON maybe inside a line), so the common prefix is used, checked by
 * comparing the JSON of its last event in both.
 */
async function trim(): Promise<void> {
  const eachBin = async (onEvent: (ev: VigilEvent, i: number) => boolean): Promise<number> => {
    const d = new RecordingDecoder(vgl);
    let i = 0;
    try {
      for await (const chunk of createReadStream(vgl, { highWaterMark: 1 << 20 })) {
        d.append(chunk as Buffer);
        for (;;) {
          const evs: VigilEvent[] = [];
          if (d.read(evs, 1024) === 0) break;
          for (const ev of evs) if (!onEvent(ev, i++)) return i;
        }
      }
      d.end();
    } catch (e) {
      if (!(e instanceof RecordingError)) throw e;
      log(`binary recording: ${e.format()} (kept the ${i} events before)`);
    }
    return i;
  };
  const eachLine = async (onLine: (l: string, i: number) => boolean): Promise<number> => {
    let i = 0;
    for await (const l of createInterface({ input: createReadStream(ndjson, { encoding: 'utf8' }), crlfDelay: Infinity })) {
      if (l === '') continue;
      if (!onLine(l, i++)) break;
    }
    return i;
  };
  const nb = await eachBin(() => true);
  let lastLine = '';
  let nl = await eachLine((l) => ((lastLine = l), true));
  try {
    JSON.parse(lastLine);
  } catch {
    nl--; // cut inside its last line
  }
  const n = Math.min(nb, nl);
  let binLast = '';
  await eachBin((ev, i) => (i === n - 1 ? ((binLast = JSON.stringify(ev)), false) : true));
  let ndLast = '';
  await eachLine((l, i) => (i === n - 1 ? ((ndLast = l), false) : true));
  if (binLast !== ndLast) throw new Error(`event ${n - 1} differs between the binary and the NDJSON recording (a drop in one of them?)`);
  const from = Math.max(0, n - KEEP_EVENTS);
  log(`recorded ${nb} binary events, ${nl} NDJSON lines; keeping events ${from}..${n - 1}`);
  const w = await openRecordingWriter(`${vgl}.tmp`, 'vigil', { maxBuffered: Number.MAX_SAFE_INTEGER });
  await eachBin((ev, i) => {
    if (i >= from && i < n) w.write(ev);
    return i < n - 1;
  });
  await w.close();
  const nout = openSync(`${ndjson}.tmp`, 'w');
  let buf = '';
  await eachLine((l, i) => {
    if (i >= from && i < n) buf += l + '\n';
    if (buf.length > 1 << 20) {
      writeSync(nout, buf);
      buf = '';
    }
    return i < n - 1;
  });
  writeSync(nout, buf);
  closeSync(nout);
  renameSync(`${vgl}.tmp`, vgl);
  renameSync(`${ndjson}.tmp`, ndjson);
}

if (!(keep && existsSync(vgl) && existsSync(ndjson))) {
  await recordStorm();
  await trim();
}

const binBytes = statSync(vgl).size;
const ndBytes = statSync(ndjson).size;
const lines: string[] = [];
for await (const l of createInterface({ input: createReadStream(ndjson, { encoding: 'utf8' }), crlfDelay: Infinity })) if (l !== '') lines.push(l);
const binBuf = readFileSync(vgl);
const events = decodeRecording(binBuf, vgl) as VigilEvent[];
// the NDJSON (objects not shared) re-encoded: records found by content
let reencodedBytes = fileHeader().length + endMarker().length;
{
  const enc = new BlockEncoder();
  for (const l of lines) {
    enc.add(JSON.parse(l) as VigilEvent);
    if (enc.size >= 1 << 20) reencodedBytes += enc.takeBlock()!.length;
  }
  reencodedBytes += enc.takeBlock()?.length ?? 0;
}
// per-event JSON sizes of the storm, as the issue states them
const sizes = lines.map((l) => Buffer.byteLength(l) + 1).sort((a, b) => a - b);
log(`${events.length} binary events (${binBytes} bytes), ${lines.length} ndjson lines (${ndBytes} bytes)`);

// ---- timing helpers ----

interface Sample {
  bin: number[];
  nd: number[];
  /** events per CPU second (user + system of this process, or of the child for replay) */
  binCpu: number[];
  ndCpu: number[];
}
const sample = (): Sample => ({ bin: [], nd: [], binCpu: [], ndCpu: [] });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const spread = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
/** events per wall second and per CPU second of this process */
const rate = (n: number, fn: () => void): [number, number] => {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  const cu = process.cpuUsage(c);
  return [n / wall, n / ((cu.user + cu.system) / 1e6)];
};

/** Interleaved repetitions: binary then NDJSON on even rounds, the reverse on odd ones. */
function interleave(bin: () => [number, number], nd: () => [number, number]): Sample {
  const s = sample();
  const b = () => {
    const [w, c] = bin();
    s.bin.push(w);
    s.binCpu.push(c);
  };
  const d = () => {
    const [w, c] = nd();
    s.nd.push(w);
    s.ndCpu.push(c);
  };
  for (let i = 0; i < REPS; i++) {
    if (i % 2 === 0) {
      b();
      d();
    } else {
      d();
      b();
    }
  }
  return s;
}

// ---- write rate ----
log('write rate');
const write = interleave(
  () =>
    rate(events.length, () => {
      const enc = new BlockEncoder();
      let n = fileHeader().length;
      for (const ev of events) {
        enc.add(ev);
        if (enc.size >= 1 << 20) n += enc.takeBlock()!.length;
      }
      n += (enc.takeBlock()?.length ?? 0) + endMarker().length;
      if (n <= 0) throw new Error('nothing encoded');
    }),
  () =>
    rate(events.length, () => {
      let n = 0;
      for (const ev of events) n += (eventToJson(ev) + '\n').length;
      if (n <= 0) throw new Error('nothing written');
    }),
);

// ---- decode alone ----
log('decode alone');
// as a reader decodes: batches of 256 events, dropped once used (a whole file of decoded events
// kept alive measures the collector, not the decoder)
const decode = interleave(
  () =>
    rate(events.length, () => {
      const d = new RecordingDecoder(vgl);
      d.append(binBuf);
      let n = 0;
      for (;;) {
        const evs: VigilEvent[] = [];
        const k = d.read(evs, 256);
        if (k === 0) break;
        n += k;
      }
      d.end();
      if (n !== events.length) throw new Error(`decoded ${n} events`);
    }),
  () =>
    rate(lines.length, () => {
      for (const l of lines) JSON.parse(l);
    }),
);

// ---- the rules engine alone ----
log('rules engine alone');
const loaded = new RuleLoader().loadFiles([STABLE, INCUBATING]);
if (!loaded.ok) throw new Error('rules did not load');
const rs = loaded.ruleset;
let engineAlerts = 0;
const engine: number[] = [];
const engineCpu: number[] = [];
for (let i = 0; i < REPS; i++) {
  const [w, c] = rate(events.length, () => {
    for (const ev of events) engineAlerts += rs.evaluate(ev).length;
  });
  engine.push(w);
  engineCpu.push(c);
}

// ---- the replay loop in process: file -> events -> Ruleset.evaluate (what `vigil replay` runs
// after loading its rules) ----
log('replay loop in process');
async function rateAsync(fn: () => Promise<number>): Promise<[number, number]> {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  const n = await fn();
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  const cu = process.cpuUsage(c);
  return [n / wall, n / ((cu.user + cu.system) / 1e6)];
}
const loop = sample();
for (let i = 0; i < REPS; i++) {
  const runBin = async () => {
    const [w, c] = await rateAsync(async () => {
      let n = 0;
      for await (const batch of readerOf(await sniffInput(vgl))) {
        for (const ev of batch) rs.evaluate(ev);
        n += batch.length;
      }
      return n;
    });
    loop.bin.push(w);
    loop.binCpu.push(c);
  };
  const runNd = async () => {
    const [w, c] = await rateAsync(async () => {
      let n = 0;
      for await (const l of createInterface({ input: createReadStream(ndjson, { encoding: 'utf8' }), crlfDelay: Infinity })) {
        if (l === '') continue;
        rs.evaluate(JSON.parse(l) as VigilEvent);
        n++;
      }
      return n;
    });
    loop.nd.push(w);
    loop.ndCpu.push(c);
  };
  if (i % 2 === 0) {
    await runBin();
    await runNd();
  } else {
    await runNd();
    await runBin();
  }
}

// ---- vigil replay end to end ----
log('vigil replay, 1 worker');
function replayRun(file: string): { rate: number; wall: number; cpu: number; alerts: number; events: number } {
  const t = process.hrtime.bigint();
  // GNU time reports the command's CPU time (user, system) on stderr
  const r = spawnSync('/usr/bin/time', ['-f', 'vigil-cpu %U %S', vigil, 'replay', file, '--rules', STABLE, INCUBATING, '--workers', '1', '--stats'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`vigil replay ${file} failed: ${r.stderr}`);
  const m = /replay: (\d+) events, (\d+) alerts, \d+ unparsable lines, [\d.]+ s, (\d+) events\/s/.exec(r.stderr);
  const c = /vigil-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m || !c) throw new Error(`no stats line: ${r.stderr}`);
  return { events: Number(m[1]), alerts: Number(m[2]), rate: Number(m[3]), wall, cpu: Number(c[1]) + Number(c[2]) };
}
const replayRates = sample();
const replayWall = sample();
let replayAlerts = { bin: -1, nd: -1 };
for (let i = 0; i < REPS; i++) {
  const order = i % 2 === 0 ? (['bin', 'nd'] as const) : (['nd', 'bin'] as const);
  for (const k of order) {
    const r = replayRun(k === 'bin' ? vgl : ndjson);
    replayRates[k].push(r.rate);
    replayRates[k === 'bin' ? 'binCpu' : 'ndCpu'].push(r.events / r.cpu);
    replayWall[k].push(r.wall);
    replayAlerts = { ...replayAlerts, [k]: r.alerts };
  }
}
// the command's fixed cost: start-up and loading the rules, on an empty recording
const empty = path.join(dir, 'empty.vgl');
writeFileSync(empty, Buffer.concat([fileHeader(), endMarker()]));
const fixedCpu: number[] = [];
for (let i = 0; i < REPS; i++) fixedCpu.push(replayRun(empty).cpu);
const fixed = median(fixedCpu);
/** events per CPU second of `vigil replay` beyond its fixed cost */
const marginal = (k: 'bin' | 'nd') => median(replayRates[k === 'bin' ? 'binCpu' : 'ndCpu'].map((r) => events.length / (events.length / r - fixed)));
if (replayAlerts.bin !== replayAlerts.nd) log(`WARNING: alerts differ: binary ${replayAlerts.bin}, ndjson ${replayAlerts.nd}`);

// ---- report ----
const row = (what: string, s: Sample, unit: string) =>
  `| ${what} | ${fmt(median(s.bin))} (${spread(s.bin)}) | ${fmt(median(s.nd))} (${spread(s.nd)}) | ${(median(s.bin) / median(s.nd)).toFixed(2)}x | ${unit} |\n` +
  `| ${what}, per CPU second | ${fmt(median(s.binCpu))} (${spread(s.binCpu)}) | ${fmt(median(s.ndCpu))} (${spread(s.ndCpu)}) | ${(median(s.binCpu) / median(s.ndCpu)).toFixed(2)}x | events per CPU second |`;
const pct = (p: number) => sizes[Math.min(sizes.length - 1, Math.floor(p * sizes.length))]!;
const report = [
  `# bench/recording.ts: ${new Date().toISOString()}`,
  '',
  `kernel ${os.release()}, ${os.cpus().length} CPUs, load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${REPS} interleaved repetitions, median (min–max)`,
  '',
  `storm recording: \`vigil run --output json --record\` while opens, fork+execs and TCP connects ran: ${fmt(events.length)} events in the binary file, ${fmt(lines.length)} NDJSON lines`,
  `NDJSON event size: median ${fmt(pct(0.5))} bytes, p10 ${fmt(pct(0.1))}, p90 ${fmt(pct(0.9))}, max ${fmt(sizes[sizes.length - 1] ?? 0)}`,
  '',
  '| measure | binary | NDJSON | binary/NDJSON | unit |',
  '| --- | ---: | ---: | ---: | --- |',
  `| bytes per event (storm file) | ${(binBytes / events.length).toFixed(1)} | ${(ndBytes / lines.length).toFixed(1)} | ${(binBytes / events.length / (ndBytes / lines.length)).toFixed(4)}x | bytes (target ≤ 300) |`,
  `| bytes per event (the NDJSON re-encoded, records by content) | ${(reencodedBytes / lines.length).toFixed(1)} | ${(ndBytes / lines.length).toFixed(1)} | ${(reencodedBytes / ndBytes).toFixed(4)}x | bytes |`,
  row('write: encode events', write, 'events/s'),
  row('decode alone (RecordingDecoder in batches of 256 vs JSON.parse per line)', decode, 'events/s'),
  row('replay loop in process: read the file, decode, Ruleset.evaluate (stable + incubating)', loop, 'events/s'),
  row(
    '`vigil replay`, stable + incubating, 1 worker (--stats rate; per CPU second: the whole command, start-up and rules loading included)',
    replayRates,
    'events/s (target ≥ 1 M/s binary)',
  ),
  `| \`vigil replay\` fixed CPU cost (an empty recording: start-up, loading the two rules files) | ${fixed.toFixed(2)} s (${Math.min(...fixedCpu).toFixed(2)}–${Math.max(...fixedCpu).toFixed(2)}) | | | CPU seconds |`,
  `| \`vigil replay\` per CPU second beyond that fixed cost | ${fmt(marginal('bin'))} | ${fmt(marginal('nd'))} | ${(marginal('bin') / marginal('nd')).toFixed(2)}x | events per CPU second |`,
  `| \`vigil replay\` wall time of the command | ${median(replayWall.bin).toFixed(2)} s (${Math.min(...replayWall.bin).toFixed(2)}–${Math.max(...replayWall.bin).toFixed(2)}) | ${median(replayWall.nd).toFixed(2)} s (${Math.min(...replayWall.nd).toFixed(2)}–${Math.max(...replayWall.nd).toFixed(2)}) | ${(median(replayWall.bin) / median(replayWall.nd)).toFixed(2)}x | s, process start included |`,
  `| rules engine alone (Ruleset.evaluate over decoded events) | ${fmt(median(engine))} (${spread(engine)}) | | | events/s: the bound of the replay rate |`,
  `| rules engine alone, per CPU second | ${fmt(median(engineCpu))} (${spread(engineCpu)}) | | | events per CPU second |`,
  '',
  `alerts: replay binary ${replayAlerts.bin}, NDJSON ${replayAlerts.nd}, engine alone ${engineAlerts / REPS}`,
  '',
];
const text = report.join('\n');
process.stdout.write(text + '\n');
mkdirSync(path.join(repo, 'bench', 'results'), { recursive: true });
const resultFile = path.join(repo, 'bench', 'results', 'recording.md');
writeFileSync(resultFile, text + '\n');
// `make lint` formats bench/**, markdown included: leave the result file as the formatter wants it
spawnSync(path.join(repo, 'node_modules', '.bin', 'biome'), ['format', '--write', resultFile], { stdio: 'ignore' });
if (!keep) rmSync(dir, { recursive: true, force: true });
