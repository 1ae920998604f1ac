// Benchmark: end-to-end ingest rate (events/s) from 10 simulated sensors (SensorUplink, mutual TLS
// WebSocket) into a `vigil server` child process, once with the DuckDB store and once with
// PostgreSQL. The clock runs from the first push until every sensor has every event acknowledged
// (i.e. durably stored). Usage: node --import tsx bench/backend-ingest.ts [eventsPerSensor]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/common/log.ts';
import { SensorUplink } from '../src/uplink/uplink.ts';
import { startPostgres } from '../tests/helpers/services.ts';
import { api, spawnServer, type ApiToken } from '../tests/helpers/backend-server.ts';
import { genEvent } from './backend-gen.ts';

const PER_SENSOR = Number(process.argv[2] ?? 50_000);
const SENSORS = 10;

async function run(label: string, store: string | undefined): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  const dataDir = path.join(tmp, 'server');
  const srv = await spawnServer({ dataDir, store, logLevel: 'warn' });
  const ups: SensorUplink[] = [];
  try {
    for (let s = 0; s < SENSORS; s++) {
      const tok = await api<ApiToken>(srv.url, dataDir, '/api/v1/enrollment-tokens', { method: 'POST', body: {} });
      const up = new SensorUplink({ dir: path.join(tmp, `sensor${s}`), server: srv.url, token: tok.json.token, logger: silentLogger(), spoolMaxBytes: 1024 ** 3 });
      await up.start();
      ups.push(up);
    }
    const bytes = JSON.stringify(genEvent(1, 0)).length;
    const t0 = process.hrtime.bigint();
    // Capture at a steady pace from all sensors (interleaved, as real sensors would).
    const CH = 1000;
    for (let i = 0; i < PER_SENSOR; i += CH) {
      for (let s = 0; s < SENSORS; s++) for (let k = i; k < Math.min(i + CH, PER_SENSOR); k++) ups[s]!.push(genEvent(k + 1, s));
      await new Promise((r) => setImmediate(r));
    }
    const tPush = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const up of ups) if (!(await up.drain(600_000))) throw new Error('drain timed out');
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const total = PER_SENSOR * SENSORS;
    const st = await api<{ store_bytes: number }>(srv.url, dataDir, '/api/v1/status');
    console.log(`${label.padEnd(10)} ${total} events (~${bytes} B JSON each) from ${SENSORS} sensors: ${secs.toFixed(1)} s end-to-end, ${Math.round(total / secs)} events/s stored+acked (push phase ${tPush.toFixed(1)} s, ${Math.round(total / tPush)} events/s into the spools); store ${(st.json.store_bytes / 1e6).toFixed(0)} MB`);
  } finally {
    for (const up of ups) await up.close();
    await srv.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await run('duckdb', undefined);
const pg = await startPostgres();
try {
  await run('postgres', await pg.createDb('vigil_bench'));
} finally {
  await pg.stop();
}
