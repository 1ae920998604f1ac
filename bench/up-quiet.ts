// Benchmark: `vigil up` on a quiet host, with its defaults (stable rules when ../shared has them,
// shipping exec,policy, compact events, default retention): store growth per hour, stored bytes
// per event, process RSS (vigil + its loader) and CPU (utime+stime of both over the interval, as a
// share of one core). The host is whatever this machine does meanwhile: on the shared CI/dev VM
// colleagues' builds exec tens of processes a second, so the figure per stored event is printed
// beside the per-hour one. Needs root (the sensor). Compares nothing in the same run: the figures
// it replaces are in the README (`vigil up` rows).
// Usage: node --import tsx bench/up-quiet.ts [--seconds 120] [--settle 10]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { api, repoRoot, startVigilUp, VIGIL_FROM_SOURCE } from '../tests/helpers/backend-server.ts';
import { freePort } from '../tests/helpers/services.ts';

const { values: opt } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, settle: { type: 'string', default: '10' } } });
const SECONDS = Number(opt.seconds);
const SETTLE = Number(opt.settle);
if (process.getuid?.() !== 0) {
  console.log('up-quiet: needs root (the sensor); skipped');
  process.exit(0);
}

const TICK = 100; // USER_HZ
/** [cpu seconds, rss bytes] of a process and its descendants. */
function usage(root: number): [number, number] {
  const kids = new Map<number, number[]>();
  const stat = new Map<number, string[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      stat.set(Number(d), f);
      const pp = Number(f[1]);
      if (!kids.has(pp)) kids.set(pp, []);
      kids.get(pp)!.push(Number(d));
    } catch {
      /* exited */
    }
  }
  let cpu = 0;
  let rss = 0;
  const walk = (pid: number) => {
    const f = stat.get(pid);
    if (f) {
      cpu += (Number(f[11]) + Number(f[12])) / TICK;
      rss += Number(f[21]) * 4096;
    }
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return [cpu, rss];
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-up-quiet-'));
const dir = path.join(tmp, 'up');
const port = await freePort();
const bin = path.join(repoRoot, 'bin', 'vigil');
const cli = existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js')) ? [bin] : VIGIL_FROM_SOURCE;
// the rules `make up` gives it (UP_RULES in the Makefile): Falco's stable rules when ../shared has them
const stable = path.resolve(repoRoot, '..', 'shared', 'falco', 'falco_rules.yaml');
const rules = existsSync(stable) ? ['--rules', stable] : [];
const up = await startVigilUp(cli, ['--data', dir, '--listen', `127.0.0.1:${port}`, ...rules], tmp);
const url = `https://127.0.0.1:${port}`;
try {
  if (!up.output().includes('Ctrl-C')) throw new Error(`vigil up did not start:\n${up.output()}`);
  await new Promise((r) => setTimeout(r, SETTLE * 1000));
  const status = async () => (await api<{ store_bytes: number; unknown_records: number }>(url, dir, '/api/v1/status')).json;
  const sensors = async () => (await api<{ items: { events_received: number }[] }>(url, dir, '/api/v1/sensors')).json.items;
  const ev0 = (await sensors()).reduce((a, s) => a + s.events_received, 0);
  const b0 = (await status()).store_bytes;
  const [c0] = usage(up.proc.pid!);
  const t0 = Date.now();
  let peak = 0;
  const rssSamples: number[] = [];
  while (Date.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const [, rss] = usage(up.proc.pid!);
    rssSamples.push(rss);
    if (rss > peak) peak = rss;
  }
  const [c1] = usage(up.proc.pid!);
  const secs = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000)); // the last batches reach the store
  const st = await status();
  const ev1 = (await sensors()).reduce((a, s) => a + s.events_received, 0);
  const grown = st.store_bytes - b0;
  const events = ev1 - ev0;
  const mb = (x: number) => (x / 1e6).toFixed(1);
  rssSamples.sort((a, b) => a - b);
  console.log(
    `vigil up (${cli === VIGIL_FROM_SOURCE ? 'from source' : 'bin/vigil'}${rules.length ? ', stable rules' : ', no rules'}) for ${secs.toFixed(0)} s after ${SETTLE} s settling, load ${os.loadavg()[0]!.toFixed(1)}:`,
  );
  console.log(
    `  stored ${events} events (${(events / secs).toFixed(1)}/s); store +${mb(grown)} MB = ${(((grown / secs) * 3600) / 1e6).toFixed(0)} MB/h; ${events ? Math.round(grown / events) : 0} B per stored event; unknown process records ${st.unknown_records}`,
  );
  console.log(`  RSS (vigil + loader): median ${mb(rssSamples[rssSamples.length >> 1]!)} MB, max ${mb(peak)} MB`);
  console.log(`  CPU (vigil + loader): ${(((c1 - c0) / secs) * 100).toFixed(1)} % of one core`);
} finally {
  up.proc.kill('SIGINT');
  const code = await up.exit;
  rmSync(tmp, { recursive: true, force: true });
  if (code !== 0) {
    console.error(up.output());
    process.exitCode = 1;
  }
}
