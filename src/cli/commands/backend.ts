// CLI commands of the backend: `vigil server` (+ token/api-token/sensor subcommands), `vigil up`
// (local server with the embedded store), and API clients `vigil events`, `vigil alerts`,
// `vigil insights`, `vigil sensors` (table output or --json). API clients take --api/--token, or
// VIGIL_API/VIGIL_TOKEN, or a server data dir (--data, default ./.vigil) holding server.url,
// admin-token and ca.pem.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { VigilError } from '../../common/errors.ts';
import type { RunningServer, ServerOptions } from '../../server/index.ts';
import type { HttpsResult } from '../../uplink/enroll.ts';
import type { Static } from '@sinclair/typebox';
import type { Alert, Sensor } from '../../server/api/schemas.ts';
import type { WorkloadInsights, WorkloadSummary } from '../../insights/types.ts';
import { DEFAULT_SOCKET } from '../../common/control-client.ts';
import { parseJson, stringifyJson } from '../../wire/exact-json.ts';
import { parseShip, SHIP_DEFAULT_UP } from '../../uplink/ship.ts';

export type { RunningServer, ServerOptions } from '../../server/index.ts';

// Imported when a subcommand needs them: the server (fastify, DuckDB, pg, NATS), its credentials
// (node-forge) and the HTTPS client, so the API clients and --help load none of the server.
const server = () => import('../../server/index.ts');
const auth = () => import('../../server/auth.ts');
const pki = () => import('../../server/pki.ts');
const enroll = () => import('../../uplink/enroll.ts');

const DEFAULT_DATA = '.vigil';
const DEFAULT_LISTEN = '127.0.0.1:7443';
// `vigil up` keeps a day of data and at most 1 GiB by default (a quiet host stores far less: README)
const UP_RETENTION_AGE = '24h';
const UP_RETENTION_SIZE = '1GiB';

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/i.exec(s.trim());
  if (!m) throw new VigilError('VIGIL_E_USAGE', `invalid size ${JSON.stringify(s)} (e.g. 500MB, 10GB)`);
  const u = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  return Math.round(Number(m[1]) * mult[u]!);
}

/** Runs a server until SIGINT/SIGTERM; writes DATA_DIR/server.url for the CLI clients. */
async function runServerForeground(opts: ServerOptions, banner: (s: RunningServer) => void): Promise<void> {
  const srv = await (await server()).startServer(opts);
  writeFileSync(path.join(srv.dataDir, 'server.url'), srv.url + '\n');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) {
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`\nvigil: ${sig}, stopping...\n`);
      srv.close().then(resolve, (e: unknown) => {
        process.stderr.write(`vigil: error while stopping: ${(e as Error).message}\n`);
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // the banner says Ctrl-C stops it: only once that is true (a SIGINT before the handler killed
    // the process without stopping the server)
    banner(srv);
  });
}

interface ServerCliOpts {
  data: string;
  listen: string;
  store?: string;
  stream?: string;
  retentionAge?: string;
  retentionSize?: string;
  logLevel?: string;
  name?: string[];
}

/** --retention-age / --retention-size: positive, else VIGIL_E_USAGE naming the option. */
async function retentionOptions(o: { retentionAge?: string; retentionSize?: string }): Promise<{ maxAgeMs?: number; maxBytes?: number }> {
  const { parseDuration } = await auth();
  const r: { maxAgeMs?: number; maxBytes?: number } = {};
  if (o.retentionAge !== undefined) {
    try {
      r.maxAgeMs = parseDuration(o.retentionAge);
    } catch (e) {
      throw new VigilError('VIGIL_E_USAGE', `--retention-age: ${(e as Error).message}`, { exitCode: 2 });
    }
    if (!(r.maxAgeMs > 0))
      throw new VigilError('VIGIL_E_USAGE', `--retention-age must be a positive duration (e.g. 24h, 7d), got ${JSON.stringify(o.retentionAge)}`, {
        exitCode: 2,
      });
  }
  if (o.retentionSize !== undefined) {
    try {
      r.maxBytes = parseSize(o.retentionSize);
    } catch (e) {
      throw new VigilError('VIGIL_E_USAGE', `--retention-size: ${(e as Error).message}`, { exitCode: 2 });
    }
    if (!(r.maxBytes > 0))
      throw new VigilError('VIGIL_E_USAGE', `--retention-size must be a positive size (e.g. 1GiB, 500MB), got ${JSON.stringify(o.retentionSize)}`, {
        exitCode: 2,
      });
  }
  return r;
}

async function serverOptions(o: ServerCliOpts): Promise<ServerOptions> {
  return {
    dataDir: o.data,
    listen: o.listen,
    store: o.store,
    stream: o.stream,
    logLevel: o.logLevel,
    names: o.name,
    retention: await retentionOptions(o),
  };
}

// ---------------------------------------------------------------- API client

export interface ApiTarget {
  url: string;
  token: string;
  ca?: string;
}

interface ClientOpts {
  api?: string;
  token?: string;
  data?: string;
  ca?: string;
  json?: boolean;
}

export function resolveApi(o: ClientOpts): ApiTarget {
  const dir = path.resolve(o.data || process.env.VIGIL_DATA || DEFAULT_DATA);
  const fromDir = (f: string) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8').trim() : undefined);
  const url = o.api || process.env.VIGIL_API || fromDir('server.url');
  const token = o.token || process.env.VIGIL_TOKEN || fromDir('admin-token');
  const caFile = o.ca || process.env.VIGIL_CA || (existsSync(path.join(dir, 'ca.pem')) ? path.join(dir, 'ca.pem') : undefined);
  if (!url) throw new VigilError('VIGIL_E_USAGE', `no API address: pass --api URL, set VIGIL_API, or point --data at a server data dir (tried ${dir})`);
  if (!token) throw new VigilError('VIGIL_E_USAGE', 'no API token: pass --token, set VIGIL_TOKEN, or use --data with a readable admin-token');
  return { url: url.replace(/\/+$/, ''), token, ca: caFile ? readFileSync(caFile, 'utf8') : undefined };
}

export async function apiCall<T>(t: ApiTarget, method: string, p: string, body?: unknown): Promise<T> {
  let r: HttpsResult;
  try {
    r = await (await enroll()).httpsRequest(`${t.url}${p}`, { method, body, ca: t.ca, headers: { authorization: `Bearer ${t.token}` } });
  } catch (e) {
    throw new VigilError('VIGIL_E_NETWORK', `cannot reach ${t.url}: ${(e as Error).message}`);
  }
  let j: unknown;
  try {
    j = parseJson(r.body); // integers beyond 2^53 (ns times, inodes, ids) stay exact, as bigint
  } catch {
    j = undefined;
  }
  if (r.status >= 400) {
    const e = j as { code?: string; message?: string } | undefined;
    throw new VigilError(
      r.status === 401 || r.status === 403 ? 'VIGIL_E_AUTH' : 'VIGIL_E_INTERNAL',
      `API ${method} ${p}: HTTP ${r.status} ${e?.code ?? ''}: ${e?.message ?? r.body.slice(0, 200)}`,
    );
  }
  return j as T;
}

function table(rows: (string | number | boolean | null | undefined)[][], header: string[]): string {
  const all = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const w = header.map((_, i) => Math.min(60, Math.max(...all.map((r) => (r[i] ?? '').length))));
  return (
    all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c.length > w[i]! ? c.slice(0, w[i]! - 1) + '…' : c).padEnd(w[i]!))).join('  ')).join('\n') + '\n'
  );
}

function nsIso(ns: unknown): string {
  if (typeof ns !== 'string' || !/^\d+$/.test(ns)) return String(ns ?? '-');
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace('T', ' ').replace('Z', '');
}

function addClientOptions(c: Command): Command {
  return c
    .option('--api <url>', 'API base URL (env VIGIL_API)')
    .option('--token <token>', 'API token (env VIGIL_TOKEN)')
    .option('--data <dir>', 'server data dir to read server.url, admin-token and ca.pem from', undefined)
    .option('--ca <file>', 'CA certificate to trust (env VIGIL_CA)')
    .option('--json', 'print JSON');
}

function out(s: string): void {
  process.stdout.write(s);
}

type Page<T> = { items: T[]; next: string | null };
type Cell = string | number | boolean | null | undefined;
/** The fields of an API event (a nested Falco field tree, docs/event-format.md) the events table shows. */
interface EventRow {
  evt?: { time?: string; type?: string };
  proc?: { name?: string; pid?: number; cmdline?: string };
  container?: { id?: string };
  k8s?: { pod?: { name?: string } };
  fd?: { name?: string };
}
/** An API alert; output_fields holds the rule's output fields by Falco field name. */
type AlertRow = Static<typeof Alert> & { output_fields?: Record<string, Cell> };
type SensorRow = Static<typeof Sensor>;

async function fetchPages<T>(t: ApiTarget, base: string, params: URLSearchParams, limit: number, all: boolean): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(params);
    q.set('limit', String(Math.min(limit - items.length > 0 && !all ? limit - items.length : 1000, 1000)));
    if (cursor) q.set('cursor', cursor);
    const page: Page<T> = await apiCall<Page<T>>(t, 'GET', `${base}?${q.toString()}`);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && (all || items.length < limit));
  return all ? items : items.slice(0, limit);
}

// ---------------------------------------------------------------- registration

export function register(program: Command): void {
  const serverCmd = program
    .command('server')
    .description('run the Vigil backend (HTTPS API + sensor stream); subcommands manage its credentials')
    .option('--data <dir>', 'data dir (CA, tokens, embedded store)', DEFAULT_DATA)
    .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN)
    .option('--store <url>', 'duckdb:PATH (default DATA/vigil.duckdb) or postgres://...')
    .option('--stream <url>', 'ingest through NATS JetStream (nats://host:port) to share load between servers')
    .option('--retention-age <duration>', 'delete events older than this (e.g. 7d)')
    .option('--retention-size <size>', 'keep the store under this size (e.g. 10GB)')
    .option('--name <dns-or-ip...>', 'extra names for the server certificate')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (o: ServerCliOpts) => {
      await runServerForeground(await serverOptions(o), (s) => {
        process.stderr.write(`vigil server listening on ${s.url}\n  CA:          ${s.caPath}\n  admin token: ${s.adminTokenPath}\n`);
      });
    });

  const token = serverCmd.command('token').description('sensor enrollment tokens');
  token
    .command('create')
    .description('print a one-time sensor enrollment token')
    .option('--ttl <duration>', 'validity', '1h')
    .option('--json', 'print JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { data: string; ttl: string; json?: boolean };
      const [{ DataDirAuth, parseDuration }, { ensurePki, serverNames }] = await Promise.all([auth(), pki()]);
      const dir = path.resolve(o.data);
      const a = new DataDirAuth(dir);
      a.init();
      const ca = ensurePki(
        dir,
        existsSync(path.join(dir, 'server-names.json'))
          ? (JSON.parse(readFileSync(path.join(dir, 'server-names.json'), 'utf8')) as { dns: string[]; ips: string[] })
          : serverNames('127.0.0.1'),
      );
      const t = a.createEnrollmentToken(parseDuration(o.ttl), ca.caFingerprint);
      out(o.json ? JSON.stringify(t) + '\n' : t.token + '\n');
      if (!o.json) process.stderr.write(`(valid once, until ${t.expires})\n`);
    });

  serverCmd
    .command('api-token')
    .description('API tokens')
    .command('create')
    .description('print a new API token')
    .option('--scope <scope>', 'read or admin', 'read')
    .option('--label <name>', 'label', '')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { data: string; scope: string; label: string };
      if (o.scope !== 'read' && o.scope !== 'admin') throw new VigilError('VIGIL_E_USAGE', '--scope must be read or admin');
      const { DataDirAuth } = await auth();
      const a = new DataDirAuth(path.resolve(o.data));
      a.init();
      out(a.createApiToken(o.scope, o.label) + '\n');
    });

  serverCmd
    .command('sensor')
    .description('sensor administration')
    .command('revoke <id>')
    .description('revoke a sensor: its certificate is refused and a running server disconnects it')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { data: string };
      const { DataDirAuth } = await auth();
      const a = new DataDirAuth(path.resolve(o.data));
      a.init();
      a.revoke(id);
      out(`revoked ${id}\n`);
    });

  program
    .command('up')
    .description('all-in-one: a backend with the embedded store and a local sensor enrolled to it; Ctrl-C stops both')
    .option('--data <dir>', 'data dir (server state; the sensor keeps its own under DIR/sensor)', DEFAULT_DATA)
    .option('--listen <host:port>', 'address', DEFAULT_LISTEN)
    .option('--log-level <level>', 'pino log level', 'warn')
    .option('--no-sensor', 'start the backend only')
    .option('--events <families>', 'event families the local sensor captures (see vigil run --help)')
    .option('--rules <file...>', 'Falco rules files the local sensor evaluates')
    .option('--print-events', 'also print every event to the terminal (text)')
    .option('--ship <events>', 'raw events the local sensor stores besides alerts: all, or a list of exec, policy, process, file, net, priv', SHIP_DEFAULT_UP)
    .option('--retention-age <duration>', 'delete events and alerts older than this', UP_RETENTION_AGE)
    .option('--retention-size <size>', 'keep the store under this size (oldest rows go first)', UP_RETENTION_SIZE)
    .action(
      async (o: {
        data: string;
        listen: string;
        logLevel: string;
        sensor: boolean;
        events?: string;
        rules?: string[];
        printEvents?: boolean;
        ship: string;
        retentionAge: string;
        retentionSize: string;
      }) => {
        const retention = await retentionOptions(o);
        parseShip(o.ship); // rejected before anything starts
        const banner = (s: RunningServer, sensor: string) =>
          process.stdout.write(
            `Vigil is up.\n  API:         ${s.url}/api/v1  (OpenAPI: ${s.url}/api/openapi.json)\n  CA:          ${s.caPath}\n  admin token: ${s.adminTokenPath}\n  sensor:      ${sensor}\n` +
              `Try: vigil sensors --data ${o.data}   |   vigil events --data ${o.data}   |   vigil insights --data ${o.data}\nCtrl-C to stop.\n`,
          );
        const root = process.getuid?.() === 0;
        if (!o.sensor || !root) {
          await runServerForeground({ dataDir: o.data, listen: o.listen, logLevel: o.logLevel, retention }, (s) =>
            banner(s, o.sensor ? 'not started: the sensor needs root (sudo make up)' : 'not started (--no-sensor)'),
          );
          return;
        }
        // server and sensor in one process: the sensor enrolls once, then reconnects with its certificate
        // the run loop is imported before the banner: it installs its SIGINT/SIGTERM handlers when
        // called, in the same tick as the banner that says Ctrl-C stops it
        const [{ runSensor }, { createRunHooks }] = await Promise.all([import('../run-sensor.ts'), import('../run-hooks.ts')]);
        const srv = await (await server()).startServer({ dataDir: o.data, listen: o.listen, logLevel: o.logLevel, retention });
        writeFileSync(path.join(srv.dataDir, 'server.url'), srv.url + '\n');
        const sensorDir = path.join(srv.dataDir, 'sensor');
        const enrolled = existsSync(path.join(sensorDir, 'sensor.json'));
        const token = enrolled ? undefined : srv.auth.createEnrollmentToken(10 * 60_000, srv.caFingerprint).token;
        banner(srv, `local, state in ${sensorDir}`);
        let code = 0;
        try {
          code = await runSensor(
            { output: 'text', events: o.events, argvMax: 4096, envMax: 4096, socket: DEFAULT_SOCKET, ringbufMb: 16, quiet: !o.printEvents },
            {
              uplink: { server: srv.url, enroll: token, ca: srv.caPath, data: sensorDir, spoolMaxBytes: 256 * 1024 * 1024, ship: o.ship },
              rules: { rules: o.rules, alertsOnly: false },
            },
            createRunHooks(),
          );
        } finally {
          await srv.close();
        }
        process.exit(code);
      },
    );

  addClientOptions(program.command('events').description('query stored events; filters are Falco fields: vigil events evt.type=execve proc.name=cat'))
    .argument('[filters...]', 'FIELD=VALUE filters (Falco field names)')
    .option('--since <time>', 'RFC 3339, ns, or duration ago (15m)')
    .option('--until <time>', 'RFC 3339, ns, or duration ago')
    .option('--sensor <id>', 'only this sensor')
    .option('--workload <id>', 'only this workload')
    .option('--limit <n>', 'max events', '50')
    .option('--all', 'follow cursors to the end')
    .option('--asc', 'oldest first')
    .action(
      async (
        filters: string[],
        o: ClientOpts & { since?: string; until?: string; sensor?: string; workload?: string; limit: string; all?: boolean; asc?: boolean },
      ) => {
        const t = resolveApi(o);
        const q = new URLSearchParams();
        for (const f of filters) {
          const i = f.indexOf('=');
          if (i <= 0) throw new VigilError('VIGIL_E_USAGE', `filter ${JSON.stringify(f)} is not FIELD=VALUE`);
          q.append(f.slice(0, i), f.slice(i + 1));
        }
        for (const k of ['since', 'until', 'sensor', 'workload'] as const) if (o[k]) q.set(k, o[k]!);
        if (o.asc) q.set('order', 'asc');
        const items = await fetchPages<EventRow>(t, '/api/v1/events', q, Number(o.limit), Boolean(o.all));
        if (o.json) return out(items.map((e) => stringifyJson(e)).join('\n') + (items.length ? '\n' : ''));
        out(
          table(
            items.map((e) => [nsIso(e.evt?.time), e.evt?.type, e.proc?.name, e.proc?.pid, e.container?.id, e.k8s?.pod?.name, e.fd?.name ?? e.proc?.cmdline]),
            ['TIME', 'TYPE', 'PROC', 'PID', 'CONTAINER', 'POD', 'DETAIL'],
          ),
        );
      },
    );

  const alerts = addClientOptions(program.command('alerts').description('query alerts'))
    .option('--rule <rule...>', 'rule name(s)')
    .option('--priority <p...>', 'priority (exact)')
    .option('--min-priority <p>', 'at least this priority')
    .option('--container <id...>', 'container id(s)')
    .option('--pod <name...>', 'pod name(s)')
    .option('--since <time>', 'start')
    .option('--until <time>', 'end')
    .option('--unacked', 'only not acknowledged')
    .option('--limit <n>', 'max alerts', '50')
    .option('--all', 'follow cursors to the end')
    .action(
      async (
        o: ClientOpts & {
          rule?: string[];
          priority?: string[];
          minPriority?: string;
          container?: string[];
          pod?: string[];
          since?: string;
          until?: string;
          unacked?: boolean;
          limit: string;
          all?: boolean;
        },
      ) => {
        const t = resolveApi(o);
        const q = new URLSearchParams();
        for (const r of o.rule ?? []) q.append('rule', r);
        for (const r of o.priority ?? []) q.append('priority', r);
        for (const r of o.container ?? []) q.append('container', r);
        for (const r of o.pod ?? []) q.append('pod', r);
        if (o.minPriority) q.set('min_priority', o.minPriority);
        if (o.since) q.set('since', o.since);
        if (o.until) q.set('until', o.until);
        if (o.unacked) q.set('acked', 'false');
        const items = await fetchPages<AlertRow>(t, '/api/v1/alerts', q, Number(o.limit), Boolean(o.all));
        if (o.json) return out(items.map((e) => stringifyJson(e)).join('\n') + (items.length ? '\n' : ''));
        out(
          table(
            items.map((a) => [a.time, a.priority, a.rule, a.output_fields?.['container.id'], a.acked ? 'yes' : 'no', a.uuid, a.output]),
            ['TIME', 'PRIORITY', 'RULE', 'CONTAINER', 'ACKED', 'UUID', 'OUTPUT'],
          ),
        );
      },
    );
  // --api/--token/--data/--ca/--json are the parent's options (commander hands them to `alerts`).
  alerts
    .command('ack <uuid>')
    .description('acknowledge an alert')
    .action(async (uuid: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as ClientOpts;
      const r = await apiCall<unknown>(resolveApi(o), 'POST', `/api/v1/alerts/${encodeURIComponent(uuid)}/ack`);
      out(o.json ? JSON.stringify(r) + '\n' : `acknowledged ${uuid}\n`);
    });

  addClientOptions(program.command('insights').description('runtime insights: workloads, or one workload in detail'))
    .argument('[workload]', 'workload id (k8s:NS:KIND:NAME, container:ID, host:NAME)')
    .option('--since <time>', 'start')
    .option('--until <time>', 'end')
    .action(async (workload: string | undefined, o: ClientOpts & { since?: string; until?: string }) => {
      const t = resolveApi(o);
      const q = new URLSearchParams();
      if (o.since) q.set('since', o.since);
      if (o.until) q.set('until', o.until);
      const qs = q.toString() ? `?${q.toString()}` : '';
      if (!workload) {
        const r = await apiCall<{ items: WorkloadSummary[] }>(t, 'GET', `/api/v1/insights/workloads${qs}`);
        if (o.json) return out(JSON.stringify(r.items, null, 2) + '\n');
        return out(
          table(
            r.items.map((w) => [w.id, w.kind, w.namespace, w.containers, w.events, w.denied, w.last_seen]),
            ['WORKLOAD', 'KIND', 'NAMESPACE', 'CONTAINERS', 'EVENTS', 'DENIED', 'LAST SEEN'],
          ),
        );
      }
      const w = await apiCall<WorkloadInsights>(t, 'GET', `/api/v1/insights/workloads/${encodeURIComponent(workload)}${qs}`);
      if (o.json) return out(JSON.stringify(w, null, 2) + '\n');
      out(
        `${w.id}  (${w.kind}${w.namespace ? `, namespace ${w.namespace}` : ''})  events=${w.events} denied=${w.denied}  ${w.first_seen} .. ${w.last_seen}\n\n`,
      );
      out(
        'NETWORK\n' +
          table(
            w.network.map((n) => [n.direction, n.peer, n.port, n.protocol, n.allowed, n.denied, n.last_seen, n.policies.join(',')]),
            ['DIR', 'PEER', 'PORT', 'PROTO', 'ALLOWED', 'DENIED', 'LAST SEEN', 'POLICIES'],
          ) +
          '\n',
      );
      out(
        'FILES\n' +
          table(
            w.files.map((f) => [f.path + (f.collapsed ? ` (${f.collapsed})` : ''), f.operation, f.count, f.denied, f.last_seen, f.policies.join(',')]),
            ['PATH', 'OP', 'COUNT', 'DENIED', 'LAST SEEN', 'POLICIES'],
          ) +
          '\n',
      );
      out(
        'PROCESSES\n' +
          table(
            w.processes.map((p) => [p.exe, p.parent, p.count, p.last_seen]),
            ['EXE', 'PARENT', 'COUNT', 'LAST SEEN'],
          ) +
          '\n',
      );
      out(
        'CAPABILITIES\n' +
          table(
            w.capabilities.map((c) => [c.name, c.granted, c.denied, c.count, c.last_seen]),
            ['CAPABILITY', 'GRANTED', 'DENIED', 'RECORDS', 'LAST SEEN'],
          ) +
          '\n',
      );
      out(
        'POLICIES\n' +
          table(
            w.policies.map((p) => [p.policy, p.action, p.rule, p.count, p.last_seen]),
            ['POLICY', 'ACTION', 'RULE', 'COUNT', 'LAST SEEN'],
          ) +
          '\n',
      );
      out(
        'RULES\n' +
          table(
            w.rules.map((r) => [r.rule, r.priority, r.count, r.last_seen]),
            ['RULE', 'PRIORITY', 'ALERTS', 'LAST SEEN'],
          ),
      );
    });

  addClientOptions(program.command('sensors').description('list enrolled sensors')).action(async (o: ClientOpts) => {
    const r = await apiCall<{ items: SensorRow[] }>(resolveApi(o), 'GET', '/api/v1/sensors');
    if (o.json) return out(JSON.stringify(r.items, null, 2) + '\n');
    out(
      table(
        r.items.map((s) => [
          s.id,
          s.hostname,
          s.version,
          s.revoked ? 'revoked' : s.connected ? 'connected' : 'offline',
          s.last_seen,
          s.events_received,
          `${s.drops.kernel}/${s.drops.user}/${s.drops.spool}`,
        ]),
        ['ID', 'HOSTNAME', 'VERSION', 'STATE', 'LAST SEEN', 'EVENTS', 'DROPS K/U/SPOOL'],
      ),
    );
  });
}
