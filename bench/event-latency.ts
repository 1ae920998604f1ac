// Benchmark: end-to-end latency from a syscall to the event being queryable through the API.
// A real sensor (loader + eBPF) reports through the real uplink (mutual-TLS WebSocket, spool) to a
// real server with the embedded DuckDB store, all on this machine. For each of N execs with a
// unique argument, the API is polled until the exec is returned; latency = time it became visible
// minus the event's own evt.time (taken in the kernel at the syscall). Prints p50/p99/max.
// Needs root. Usage: node --import tsx bench/event-latency.ts [N] [--wakeup-ms MS] (default: the sensor's)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer } from '../src/server/index.ts';
import { SensorUplink } from '../src/uplink/uplink.ts';
import { Sensor } from '../src/sensor/sensor.ts';
import { PlanBuilder } from '../src/sensor/hooks.ts';
import { DEFAULT_WAKEUP_MS } from '../src/kernel/loader.ts';

const pexec = promisify(execFile);
const args = process.argv.slice(2);
const wi = args.indexOf('--wakeup-ms');
const wakeupMs = wi >= 0 ? Number(args[wi + 1]) : DEFAULT_WAKEUP_MS;
const N = Number(args[0] !== undefined && !args[0].startsWith('--') ? args[0] : 200);
const dir = mkdtempSync(path.join(tmpdir(), 'vigil-lat-'));
const srv = await startServer({ dataDir: dir, listen: '127.0.0.1:0', logLevel: 'error' });
const ca = readFileSync(srv.caPath);
const token = srv.auth.createEnrollmentToken(60_000, srv.caFingerprint).token;
const up = new SensorUplink({ dir: path.join(dir, 'sensor'), server: srv.url, token, flushIntervalMs: 5 });
await up.start();
const sensor = new Sensor({ wakeupMs });
sensor.onEvent((ev) => up.push(ev));
await sensor.start();
await sensor.applyPlan(new PlanBuilder().needFamilies(['exec']).build());

function query(tag: string): Promise<{ items: { evt: { time: string } }[] }> {
  const u = new URL(`${srv.url}/api/v1/events?evt.type=execve&proc.args=${tag}&limit=1`);
  return new Promise((resolve, reject) => {
    https
      .get(u, { ca, headers: { authorization: `Bearer ${srv.adminToken}` } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(b));
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}

const lat: number[] = [];
for (let i = 0; i < N; i++) {
  const tag = `lat${i}x${process.pid}`;
  await pexec('/bin/true', [tag]);
  for (;;) {
    const r = await query(tag);
    if (r.items.length) {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      lat.push(Number(nowNs - BigInt(r.items[0]!.evt.time)) / 1e6);
      break;
    }
    await new Promise((r2) => setTimeout(r2, 2));
  }
}
lat.sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
console.log(
  `syscall -> queryable in the API (DuckDB, ${N} execs, wakeup-ms ${wakeupMs}): p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${lat[lat.length - 1]!.toFixed(1)} ms`,
);
await sensor.stop();
await up.close();
await srv.close();
rmSync(dir, { recursive: true, force: true });
