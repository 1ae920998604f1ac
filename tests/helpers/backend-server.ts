// Test helpers for the backend: run `vigil server` as a child process (so it can be SIGKILLed),
// enroll uplinks, query the API over HTTPS with the data dir's CA and admin token.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import { httpsRequest } from '../../src/uplink/enroll.ts';
import type { VigilEvent } from '../../src/abi/event.ts';
import type { Alert, ErrorBody, Sensor } from '../../src/server/api/schemas.ts';
import { freePort, waitForPort } from './services.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface ChildServer {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  logs: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node src/cli/main.ts server ...` and waits until it listens. */
export async function spawnServer(o: {
  dataDir: string;
  port?: number;
  store?: string;
  stream?: string;
  extra?: string[];
  logLevel?: string;
}): Promise<ChildServer> {
  const port = o.port ?? (await freePort());
  const args = [
    '--import',
    'tsx',
    path.join(repoRoot, 'src/cli/main.ts'),
    'server',
    '--data',
    o.dataDir,
    '--listen',
    `127.0.0.1:${port}`,
    '--log-level',
    o.logLevel ?? 'info',
  ];
  if (o.store) args.push('--store', o.store);
  if (o.stream) args.push('--stream', o.stream);
  args.push(...(o.extra ?? []));
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await Promise.race([
    (async () => {
      await waitForPort(port, 60_000);
      // The port opens before the PKI-dependent routes are ready only in theory; probe /healthz.
      for (let i = 0; i < 100; i++) {
        try {
          const r = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { insecure: true });
          if (r.status === 200) return;
        } catch {
          /* not yet */
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })(),
    exited.then(() => {
      throw new Error(`server exited early:\n${logs}`);
    }),
  ]);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    dataDir: o.dataDir,
    proc,
    logs: () => logs,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}

export function adminToken(dataDir: string): string {
  return readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
}

/** API response bodies, from the server's own schemas (src/server/api/schemas.ts, src/insights/types.ts). */
export type ApiEvent = VigilEvent;
export type ApiAlert = Static<typeof Alert> & { output_fields?: Record<string, unknown> };
export type ApiSensor = Static<typeof Sensor>;
export type { ErrorBody as ApiError };
export type { WorkloadInsights, WorkloadSummary } from '../../src/insights/types.ts';
export interface ApiPage<T> {
  items: T[];
  next: string | null;
}
/** POST /api/v1/enrollment-tokens and /api/v1/api-tokens. */
export interface ApiToken {
  token: string;
  scope?: string;
}

/** One API call; `T` is the body the caller expects from that route (a non-JSON body is returned as its text). */
export async function api<T = unknown>(
  url: string,
  dataDir: string,
  p: string,
  o: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = {};
  const tok = o.token === undefined ? adminToken(dataDir) : o.token;
  if (tok !== null) headers.authorization = `Bearer ${tok}`;
  const r = await httpsRequest(`${url}${p}`, { method: o.method ?? 'GET', body: o.body, ca: readFileSync(path.join(dataDir, 'ca.pem'), 'utf8'), headers });
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    json = r.body;
  }
  return { status: r.status, json: json as T };
}

/** All events matching a query string, following cursors. */
export async function allEvents(url: string, dataDir: string, qs: string, limit = 1000): Promise<ApiEvent[]> {
  const out: ApiEvent[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100_000; i++) {
    const sep = qs ? '&' : '';
    const r: { status: number; json: ApiPage<ApiEvent> } = await api<ApiPage<ApiEvent>>(
      url,
      dataDir,
      `/api/v1/events?${qs}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (r.status !== 200) throw new Error(`events: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    out.push(...r.json.items);
    cursor = r.json.next;
    if (!cursor) break;
  }
  return out;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running `vigil up` child: its process, its output so far, and its exit code once it ends. */
export interface VigilUp {
  proc: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
}

/** The command line that runs the CLI from source through tsx (no build needed). */
export const VIGIL_FROM_SOURCE: readonly string[] = [
  process.execPath,
  '--import',
  path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'),
  path.join(repoRoot, 'src/cli/main.ts'),
];

/**
 * Starts `vigil up ARGS` with `cli` (VIGIL_FROM_SOURCE, or [bin/vigil]) in `cwd`, collecting stdout
 * and stderr, and waits up to 30 s for the banner's "Ctrl-C" line (the caller asserts on it).
 */
export async function startVigilUp(cli: readonly string[], args: readonly string[], cwd: string): Promise<VigilUp> {
  const proc = spawn(cli[0]!, [...cli.slice(1), 'up', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  for (let i = 0; i < 300 && !out.includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
  return { proc, output: () => out, exit };
}
