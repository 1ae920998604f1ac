// Benchmark: user-space cost per event. Records a real loader stream (exec + open + connect
// workload) once (or loads one saved with --save), then replays the bytes through the decoder
// alone, decoder + enrichment, and decoder + enrichment + JSON line, for the current code and for
// the code before issue 10 (the sensor modules of --base-rev, default d23a1e5, extracted with
// `git archive` into a temporary directory and loaded from there), interleaved over --reps repetitions, and
// prints events/s medians (min–max) of each and the ratio new/old in the same run. A fourth pair
// times the JSON serialiser alone (eventToJson against JSON.stringify on the same built events).
//
//   sudo node --import tsx bench/decode-throughput.ts [--reps 7] [--save FILE | --load FILE] [--base-rev REV]
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FRAME } from '../src/abi/layout.ts';
import type { VigilEvent } from '../src/abi/event.ts';
import { Sensor } from '../src/sensor/sensor.ts';
import { PlanBuilder } from '../src/sensor/hooks.ts';
import { FrameDecoder } from '../src/sensor/decoder.ts';
import { Enricher } from '../src/sensor/enrich.ts';
import { ProcTable } from '../src/sensor/proctable.ts';
import { CgroupIndex, ContainerResolver, type ContainerInfo } from '../src/sensor/container.ts';
import { UserDb } from '../src/sensor/users.ts';
import { eventToJson } from '../src/sensor/output.ts';
import { pathToFileURL } from 'node:url';

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    save: { type: 'string' },
    load: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
    'base-rev': { type: 'string', default: 'd23a1e5' },
  },
});

/** The sensor modules the bench drives, from this tree or from the baseline revision. */
interface Side {
  FrameDecoder: typeof FrameDecoder;
  Enricher: typeof Enricher;
  ProcTable: typeof ProcTable;
  CgroupIndex: typeof CgroupIndex;
  ContainerResolver: typeof ContainerResolver;
  UserDb: typeof UserDb;
  eventToJson: typeof eventToJson;
}
const NEW: Side = { FrameDecoder, Enricher, ProcTable, CgroupIndex, ContainerResolver, UserDb, eventToJson };

/** The baseline's sources: `git archive REV src` into a temporary directory, imported from there (same APIs). */
async function baseline(rev: string): Promise<Side> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `vigil-bench-base-${rev}-`));
  const repo = path.resolve(import.meta.dirname, '..');
  execFileSync('sh', ['-c', 'git -C "$1" archive "$2" src | tar -x -C "$3"', 'sh', repo, rev, dir]);
  const m = (p: string) => import(pathToFileURL(path.join(dir, 'src', p)).href);
  const [dec, enr, pt, cont, users, out] = await Promise.all([
    m('sensor/decoder.ts'),
    m('sensor/enrich.ts'),
    m('sensor/proctable.ts'),
    m('sensor/container.ts'),
    m('sensor/users.ts'),
    m('sensor/output.ts'),
  ]);
  return {
    FrameDecoder: dec.FrameDecoder,
    Enricher: enr.Enricher,
    ProcTable: pt.ProcTable,
    CgroupIndex: cont.CgroupIndex,
    ContainerResolver: cont.ContainerResolver,
    UserDb: users.UserDb,
    eventToJson: out.eventToJson,
  } as Side;
}
const OLD = await baseline(opts['base-rev']!);
const REPS = Number(opts.reps);

async function record(): Promise<Buffer[]> {
  const sensor = new Sensor({ traceParent: false });
  const chunks: Buffer[] = [];
  await sensor.start();
  const child = (sensor.loader as unknown as { child: ChildProcess }).child;
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await sensor.applyPlan(new PlanBuilder().needFamilies(['exec', 'file', 'net', 'priv']).build());
  execFileSync('python3', [
    '-c',
    `import os, socket\nfor i in range(40000): os.close(os.open('/etc/hostname', os.O_RDONLY))\nfor i in range(200):\n  pid=os.fork()\n  if pid==0: os.execv('/bin/true',['true'])\n  os.waitpid(pid,0)\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(64); p=s.getsockname()[1]\nfor i in range(2000):\n  c=socket.socket(); c.connect(('127.0.0.1',p)); a,_=s.accept(); a.close(); c.close()`,
  ]);
  await new Promise((r) => setTimeout(r, 1000));
  await sensor.stop();
  return chunks;
}

/** A saved stream is the concatenated bytes; replayed in 64 KiB chunks cut at frame edges (as the pipe delivers them). */
function rechunk(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let off = 0;
  while (off + FRAME.size <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (off + len - start > 65536 && off > start) {
      out.push(buf.subarray(start, off));
      start = off;
    }
    off += len;
  }
  out.push(buf.subarray(start));
  return out;
}

const chunks = opts.load ? rechunk(readFileSync(opts.load)) : await record();
if (opts.save) writeFileSync(opts.save, Buffer.concat(chunks));
const bytes = chunks.reduce((n, c) => n + c.length, 0);

// The replay reads nothing of the host that changes between repetitions (this machine churns
// pids: a pid of the recording may be another process by the time of a repetition): the process
// table starts empty and reads an empty /proc (the recording's processes come from their events,
// unknown parents stay unknown), no container runtime, and every cgroup id is a host cgroup.
const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-empty-'));
type Impl = 'old' | 'new';
function freshEnricher(impl: Impl) {
  const S = impl === 'new' ? NEW : OLD;
  class ReplayCgroups extends S.CgroupIndex {
    override path(): string {
      return '/system.slice/replay.scope';
    }
  }
  class NoContainers extends S.ContainerResolver {
    override forPid(): ContainerInfo | undefined {
      return undefined;
    }
  }
  const procs = new S.ProcTable({ procRoot: emptyDir });
  const runtime = { runc: [emptyDir], docker: emptyDir, containerdTasks: [emptyDir], crio: emptyDir };
  return new S.Enricher(procs, new NoContainers(runtime), new S.UserDb(), new ReplayCgroups(emptyDir));
}

function runStage(impl: Impl, stage: string): { n: number; ns: number } {
  const Dec = (impl === 'new' ? NEW : OLD).FrameDecoder;
  const toJson = (impl === 'new' ? NEW : OLD).eventToJson;
  let n = 0;
  let sink: (r: never) => void;
  if (stage === 'decode') sink = () => n++;
  else {
    const enr = freshEnricher(impl);
    if (stage === 'enrich')
      sink = (r: never) => {
        if (enr.build(r)) n++;
      };
    else
      sink = (r: never) => {
        const e = enr.build(r);
        if (e) {
          toJson(e as VigilEvent);
          n++;
        }
      };
  }
  // as the sensor decodes (src/sensor/sensor.ts): into one reused record (the baseline ignores the option)
  const d = new Dec({ event: sink }, { reuse: true });
  const t0 = process.hrtime.bigint();
  for (const c of chunks) d.push(c);
  return { n, ns: Number(process.hrtime.bigint() - t0) };
}

const built: VigilEvent[] = [];
function runSerialiser(impl: 'stringify' | 'eventToJson'): { n: number; ns: number } {
  const f = impl === 'eventToJson' ? eventToJson : JSON.stringify;
  let len = 0;
  const t0 = process.hrtime.bigint();
  for (const e of built) len += f(e).length;
  const ns = Number(process.hrtime.bigint() - t0);
  if (len === 0) throw new Error('nothing serialised');
  return { n: built.length, ns };
}

// --profile old|new: runs only that side of the --only stages, for `node --cpu-prof`
if (opts.profile) {
  for (let rep = 0; rep < REPS; rep++)
    for (const stage of ['decode', 'enrich', 'json'])
      if (!opts.only || stage === opts.only) {
        const r = runStage(opts.profile as Impl, stage);
        console.log(`${opts.profile} ${stage} ${Math.round(r.n / (r.ns / 1e9))} events/s`);
      }
  process.exit(0);
}
type Pair = [string, () => { n: number; ns: number }, () => { n: number; ns: number }];
const stagePairs: Pair[] = [
  ['decode only', () => runStage('old', 'decode'), () => runStage('new', 'decode')],
  ['decode + enrich', () => runStage('old', 'enrich'), () => runStage('new', 'enrich')],
  ['decode + enrich + JSON line', () => runStage('old', 'json'), () => runStage('new', 'json')],
];
const serialiserPairs: Pair[] = [['JSON line alone (vs JSON.stringify)', () => runSerialiser('stringify'), () => runSerialiser('eventToJson')]];
const rates = new Map<string, { old: number[]; new: number[]; ratio: number[]; n: number }>();
for (const [label] of [...stagePairs, ...serialiserPairs]) rates.set(label, { old: [], new: [], ratio: [], n: 0 });
// The serialiser pair needs all events built and kept, which must wait until the stage pairs are
// done: V8 pretenures an allocation site whose objects survive in bulk, and the enricher's sites
// would then allocate every later event in the old generation (measured: the enricher whose events
// were kept first ran at half its rate afterwards).
interleave(stagePairs);
// the serialiser alone, on the events as the new enricher builds them
{
  const enr = freshEnricher('new');
  const d = new FrameDecoder({
    event: (r) => {
      const e = enr.build(r);
      if (e) built.push(e);
    },
  });
  for (const c of chunks) d.push(c);
}

interleave(serialiserPairs);

function interleave(pairs: Pair[]): void {
  // one warm-up pass, not counted
  for (const [, a, b] of pairs) a(), b();
  for (let rep = 0; rep < REPS; rep++) {
    for (const [label, a, b] of pairs) {
      if (opts.only && !label.startsWith(opts.only)) continue;
      const r = rates.get(label)!;
      // alternate which goes first
      const [ra, rb] =
        rep % 2 === 0
          ? [a(), b()]
          : (() => {
              const y = b();
              return [a(), y];
            })();
      const oldRate = ra.n / (ra.ns / 1e9);
      const newRate = rb.n / (rb.ns / 1e9);
      r.old.push(oldRate);
      r.new.push(newRate);
      r.ratio.push(newRate / oldRate);
      r.n = rb.n;
    }
  }
}
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (a: number[]) =>
  `${Math.round(med(a)).toLocaleString('en')} (${Math.round(Math.min(...a)).toLocaleString('en')}–${Math.round(Math.max(...a)).toLocaleString('en')})`;
const fr = (a: number[]) => `${med(a).toFixed(2)}x (${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)})`;
console.log(`recorded ${bytes} bytes, ${built.length} events; ${REPS} interleaved repetitions; median (min–max) events/s`);
console.log(`| stage | events | before (baseline code) | after | after/before |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const [label, r] of rates) {
  if (r.old.length === 0) continue;
  console.log(`| ${label} | ${r.n} | ${fmt(r.old)} | ${fmt(r.new)} | ${fr(r.ratio)} |`);
}
