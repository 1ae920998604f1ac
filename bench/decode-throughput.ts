// Benchmark: user-space cost per event. Records a real loader stream (exec + open + connect
// workload) once, then replays the bytes through the decoder alone and through decoder +
// enrichment, and prints events/s for each against a baseline of merely splitting frames.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Sensor } from '../src/sensor/sensor.ts';
import { PlanBuilder } from '../src/sensor/hooks.ts';
import { FrameDecoder } from '../src/sensor/decoder.ts';
import { Enricher } from '../src/sensor/enrich.ts';
import { ProcTable } from '../src/sensor/proctable.ts';
import { ContainerResolver } from '../src/sensor/container.ts';
import { UserDb } from '../src/sensor/users.ts';
import { eventToJson } from '../src/sensor/output.ts';

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

const chunks = await record();
const bytes = chunks.reduce((n, c) => n + c.length, 0);
let frames = 0;
const split = new FrameDecoder({ event: () => frames++ });
function time(label: string, fn: () => number) {
  const t0 = process.hrtime.bigint();
  const n = fn();
  const ns = Number(process.hrtime.bigint() - t0);
  const rate = n / (ns / 1e9);
  console.log(`${label.padEnd(28)} ${n} events in ${(ns / 1e6).toFixed(1)} ms = ${Math.round(rate).toLocaleString('en')} events/s`);
  return rate;
}
const base = time('decode only', () => {
  frames = 0;
  for (const c of chunks) split.push(c);
  return frames;
});
const procs = new ProcTable();
procs.seed();
const enr = new Enricher(procs, new ContainerResolver(), new UserDb());
let built = 0;
const full = new FrameDecoder({
  event: (r) => {
    if (enr.build(r)) built++;
  },
});
const rate = time('decode + enrich', () => {
  built = 0;
  for (const c of chunks) full.push(c);
  return built;
});
const full2 = new FrameDecoder({
  event: (r) => {
    const e = enr.build(r);
    if (e) JSON.stringify(e);
  },
});
const rate2 = time('decode + enrich + JSON', () => {
  built = 0;
  let n = 0;
  const d = new FrameDecoder({
    event: (r) => {
      const e = enr.build(r);
      if (e) {
        eventToJson(e);
        n++;
      }
    },
  });
  for (const c of chunks) d.push(c);
  return n;
});
void full2;
console.log(`recorded ${bytes} bytes; enrich costs ${(base / rate).toFixed(2)}x decode; JSON output ${(base / rate2).toFixed(2)}x decode`);
