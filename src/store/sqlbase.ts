// Shared SQL of both stores: query building for events/alerts (Falco field filters, time range,
// keyset cursor pagination), sensors registry and runtime-insights aggregation. Subclasses provide
// the connection (`all`/`exec`), ingestion, migrations and retention, which differ per engine.
// Both engines take `$n` placeholders; ns timestamps are BIGINT and passed as JS bigint.
import { VigilError } from '../common/errors.ts';
import { collapseFiles } from '../insights/collapse.ts';
import { priorityNum } from './extract.ts';
import { parsePriority } from '../common/priorities.ts';
import type {
  AlertQuery,
  CapEntry,
  EventQuery,
  FileEntry,
  IngestRecord,
  IngestResult,
  NetEntry,
  Page,
  PolicyEntry,
  ProcEntry,
  RetentionPolicy,
  RuleEntry,
  SensorRow,
  SensorUpdate,
  Store,
  TimeRange,
  WorkloadInsights,
  WorkloadSummary,
} from './types.ts';
import { ROLLUP_REBUILD } from './rollup.ts';
import { aggBackfillSql, aggInsightSql } from './aggregates.ts';
import { RecordCache, expandPage, type RecordLoader } from './records.ts';
import { isSharedKey } from '../wire/compact.ts';

export type Row = Record<string, unknown>;

/** Falco field -> extracted column (filters on these use the column and its index). */
export const FIELD_COLUMNS: Record<string, { col: string; numeric?: boolean }> = {
  'evt.type': { col: 'evt_type' },
  'evt.category': { col: 'evt_category' },
  'evt.res': { col: 'evt_res', numeric: true },
  'proc.name': { col: 'proc_name' },
  'proc.exepath': { col: 'proc_exepath' },
  'proc.pid': { col: 'proc_pid', numeric: true },
  'user.name': { col: 'user_name' },
  'container.id': { col: 'container_id' },
  'container.name': { col: 'container_name' },
  'container.image': { col: 'container_image' },
  'k8s.ns.name': { col: 'k8s_ns' },
  'k8s.pod.name': { col: 'k8s_pod' },
  'fd.name': { col: 'fd_name' },
  'policy.name': { col: 'policy_name' },
  'policy.action': { col: 'policy_action' },
  'policy.rule': { col: 'policy_rule' },
};

const FIELD_NAME = /^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+){1,5}$/;

export function nsToIso(v: unknown): string {
  if (v === null || v === undefined) return '';
  const ns = typeof v === 'bigint' ? v : BigInt(String(v));
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
}
function msToIso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return new Date(Number(v)).toISOString();
}
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}
function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
function splitAgg(v: unknown): string[] {
  if (v === null || v === undefined || v === '') return [];
  return String(v)
    .split('\u001f')
    .filter((x) => x !== '')
    .sort();
}

interface Cursor {
  t: string;
  k: string;
  q: number | string;
}
function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}
function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString()) as Cursor;
    if (typeof c.t !== 'string' || !/^\d+$/.test(c.t) || typeof c.k !== 'string') throw new Error('shape');
    return c;
  } catch {
    throw new VigilError('VIGIL_E_USAGE', 'invalid cursor');
  }
}

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export abstract class SqlStore implements Store {
  abstract readonly kind: 'duckdb' | 'postgres';
  abstract init(): Promise<number>;
  abstract ingest(sensorId: string, hostname: string | null, records: IngestRecord[]): Promise<IngestResult>;
  abstract sizeBytes(): Promise<number>;
  abstract applyRetention(p: RetentionPolicy): Promise<{ events: number; alerts: number }>;
  abstract close(): Promise<void>;
  /** Runs a read query. */
  protected abstract all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a write statement (serialised with ingestion). */
  protected abstract exec(sql: string, params?: unknown[]): Promise<number>;

  /** SQL expression reading a Falco field from the JSON document as text. */
  protected abstract jsonField(path: string[], p: Params): string;
  /** SQL expression giving the raw JSON text of the document column. */
  protected abstract dataText(): string;
  /** SQL expression reading a field of a shared process object (proc.*, user.*, container.*, ...)
   * as text: from the event's own document (a full event) or from the process record a compact
   * event references (src/store/records.ts). */
  protected abstract recordField(path: string[], p: Params): string;

  /** Process records of recent batches (compact events reference them). */
  readonly records = new RecordCache();
  /** References to process records the store did not have, at ingest and at read (counted, never guessed). */
  unknownRecords = 0;
  protected readonly loadRecords: RecordLoader = async (sensor, seqs) => {
    const out = new Map<number, string>();
    for (let i = 0; i < seqs.length; i += 1000) {
      const part = seqs.slice(i, i + 1000);
      const rows = await this.all(
        `SELECT seq, ${this.dataText()} AS data FROM records WHERE sensor_id = $1 AND seq IN (${part.map((_, k) => `$${k + 2}`).join(', ')})`,
        [sensor, ...part],
      );
      for (const r of rows) out.set(num(r.seq), String(r.data));
    }
    return out;
  };

  async maxSeq(sensorId: string): Promise<number> {
    const r = await this.all(
      `SELECT max(m) AS m FROM (SELECT max(seq) AS m FROM events WHERE sensor_id = $1 UNION ALL SELECT max(seq) AS m FROM alerts WHERE sensor_id = $1
        UNION ALL SELECT max(seq) AS m FROM records WHERE sensor_id = $1) x`,
      [sensorId],
    );
    return num(r[0]?.m);
  }

  async sensorUpdate(u: SensorUpdate): Promise<void> {
    const now = Date.now();
    const p = new Params();
    const id = p.add(u.id);
    const host = p.add(u.hostname ?? null);
    const ver = p.add(u.version ?? null);
    const conn = p.add(u.connected ?? null);
    const srv = p.add(u.server ?? null);
    const dk = p.add(u.drops?.kernel ?? null);
    const du = p.add(u.drops?.user ?? null);
    const ds = p.add(u.drops?.spool ?? null);
    const serial = p.add(u.certSerial ?? null);
    const t = p.add(now);
    const cast = (x: string, ty: string) => `CAST(${x} AS ${ty})`;
    await this.exec(
      `INSERT INTO sensors (id, hostname, version, connected, server, drops_kernel, drops_user, drops_spool, cert_serial, first_seen, last_seen, events_received, alerts_received)
       VALUES (${id}, ${cast(host, 'VARCHAR')}, ${cast(ver, 'VARCHAR')}, COALESCE(${cast(conn, 'BOOLEAN')}, false), ${cast(srv, 'VARCHAR')},
               COALESCE(${cast(dk, 'BIGINT')}, 0), COALESCE(${cast(du, 'BIGINT')}, 0), COALESCE(${cast(ds, 'BIGINT')}, 0), ${cast(serial, 'VARCHAR')}, ${cast(t, 'BIGINT')}, ${cast(t, 'BIGINT')}, 0, 0)
       ON CONFLICT (id) DO UPDATE SET
         hostname = COALESCE(EXCLUDED.hostname, sensors.hostname),
         version = COALESCE(EXCLUDED.version, sensors.version),
         connected = COALESCE(${cast(conn, 'BOOLEAN')}, sensors.connected),
         server = COALESCE(EXCLUDED.server, sensors.server),
         drops_kernel = COALESCE(${cast(dk, 'BIGINT')}, sensors.drops_kernel),
         drops_user = COALESCE(${cast(du, 'BIGINT')}, sensors.drops_user),
         drops_spool = COALESCE(${cast(ds, 'BIGINT')}, sensors.drops_spool),
         cert_serial = COALESCE(EXCLUDED.cert_serial, sensors.cert_serial),
         last_seen = EXCLUDED.last_seen`,
      p.values,
    );
  }

  async listSensors(): Promise<SensorRow[]> {
    const rows = await this.all(`SELECT * FROM sensors ORDER BY id`);
    return rows.map((r) => ({
      id: String(r.id),
      hostname: strOrNull(r.hostname),
      version: strOrNull(r.version),
      connected: Boolean(r.connected),
      first_seen: msToIso(r.first_seen),
      last_seen: msToIso(r.last_seen),
      events_received: num(r.events_received),
      alerts_received: num(r.alerts_received),
      drops: { kernel: num(r.drops_kernel), user: num(r.drops_user), spool: num(r.drops_spool) },
      server: strOrNull(r.server),
    }));
  }

  private timeWhere(q: TimeRange, p: Params, where: string[], col = 'time_ns'): void {
    if (q.since !== undefined) where.push(`${col} >= ${p.add(q.since)}`);
    if (q.until !== undefined) where.push(`${col} < ${p.add(q.until)}`);
  }

  private keyset(order: 'asc' | 'desc', cursor: string | undefined, keyCol: string, seqCol: string | null, p: Params, where: string[]): void {
    if (!cursor) return;
    const c = decodeCursor(cursor);
    const op = order === 'desc' ? '<' : '>';
    const t = BigInt(c.t);
    const parts = [`time_ns ${op} ${p.add(t)}`];
    if (seqCol) {
      parts.push(`(time_ns = ${p.add(t)} AND ${keyCol} ${op} ${p.add(c.k)})`);
      parts.push(`(time_ns = ${p.add(t)} AND ${keyCol} = ${p.add(c.k)} AND ${seqCol} ${op} ${p.add(Number(c.q))})`);
    } else {
      parts.push(`(time_ns = ${p.add(t)} AND ${keyCol} ${op} ${p.add(c.k)})`);
    }
    where.push(`(${parts.join(' OR ')})`);
  }

  async queryEvents(q: EventQuery): Promise<Page> {
    const p = new Params();
    const where: string[] = [];
    this.timeWhere(q, p, where);
    if (q.sensor) where.push(`sensor_id = ${p.add(q.sensor)}`);
    if (q.workload) where.push(`workload_id = ${p.add(q.workload)}`);
    for (const [field, values] of Object.entries(q.fields)) {
      if (!FIELD_NAME.test(field)) throw new VigilError('VIGIL_E_USAGE', `invalid field name: ${field}`);
      if (values.length === 0) continue;
      const known = FIELD_COLUMNS[field];
      let expr: string;
      let conv: (v: string) => unknown = (v) => v;
      if (known) {
        expr = known.col;
        if (known.numeric) {
          conv = (v) => {
            if (!/^-?\d+$/.test(v)) throw new VigilError('VIGIL_E_USAGE', `${field} takes an integer, got ${JSON.stringify(v)}`);
            return Number(v);
          };
        }
      } else {
        const path = field.split('.');
        if (field === 'proc.cmdline') {
          // a process record may hold cmdline derived (null): name, or name and args (src/wire/compact.ts)
          const [c, n, a] = [this.recordField(path, p), this.recordField(['proc', 'name'], p), this.recordField(['proc', 'args'], p)];
          expr = `COALESCE(${c}, CASE WHEN ${a} = '' THEN ${n} ELSE ${n} || ' ' || ${a} END)`;
        } else if (isSharedKey(path[0]!) && path.length > 1) expr = this.recordField(path, p);
        else if (path.length === 3 && path[0] === 'evt' && path[1] === 'rawarg') {
          // a compact event writes rawarg as its difference from arg ({"$d":{...}}, src/wire/compact.ts)
          const x = path[2]!;
          expr = `COALESCE(${this.jsonField(['evt', 'rawarg', '$d', x], p)}, ${this.jsonField(path, p)},
            CASE WHEN ${this.jsonField(['evt', 'rawarg', '$d'], p)} IS NOT NULL THEN ${this.jsonField(['evt', 'arg', x], p)} END)`;
        } else expr = this.jsonField(path, p);
      }
      const alts = values.map((v) => `${expr} = ${p.add(conv(v))}`);
      where.push(alts.length === 1 ? alts[0]! : `(${alts.join(' OR ')})`);
    }
    const order = q.order ?? 'desc';
    this.keyset(order, q.cursor, 'sensor_id', 'seq', p, where);
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    const limit = Math.max(1, Math.min(q.limit, 10_000));
    const sql = `SELECT CAST(time_ns AS VARCHAR) AS t, sensor_id, seq, ${this.dataText()} AS data FROM events
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY time_ns ${dir}, sensor_id ${dir}, seq ${dir} LIMIT ${limit + 1}`;
    const rows = await this.all(sql, p.values);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    // compact events come back whole: the process records they reference put back in place
    const ex = await expandPage(
      page.map((r) => ({ sensor: String(r.sensor_id), data: String(r.data) })),
      this.records,
      this.loadRecords,
    );
    this.unknownRecords += ex.unknown;
    return {
      items: ex.items,
      next: more && last ? encodeCursor({ t: String(last.t), k: String(last.sensor_id), q: num(last.seq) }) : null,
    };
  }

  async countEvents(q: TimeRange = {}): Promise<number> {
    const p = new Params();
    const where: string[] = [];
    this.timeWhere(q, p, where);
    const r = await this.all(`SELECT count(*) AS n FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}`, p.values);
    return num(r[0]?.n);
  }

  async queryAlerts(q: AlertQuery): Promise<Page> {
    const p = new Params();
    const where: string[] = [];
    this.timeWhere(q, p, where);
    const anyOf = (col: string, vals: string[] | undefined, lower = false) => {
      if (!vals || vals.length === 0) return;
      const alts = vals.map((v) => (lower ? `lower(${col}) = ${p.add(v.toLowerCase())}` : `${col} = ${p.add(v)}`));
      where.push(`(${alts.join(' OR ')})`);
    };
    anyOf('rule', q.rule);
    anyOf('priority', q.priority, true);
    anyOf('container_id', q.container);
    anyOf('k8s_pod', q.pod);
    anyOf('k8s_ns', q.namespace);
    if (q.workload) where.push(`workload_id = ${p.add(q.workload)}`);
    if (q.sensor) where.push(`sensor_id = ${p.add(q.sensor)}`);
    if (q.minPriority) {
      const pn = priorityNum(q.minPriority);
      if (parsePriority(q.minPriority) === undefined) {
        throw new VigilError('VIGIL_E_USAGE', `unknown priority ${q.minPriority}`);
      }
      where.push(`priority_num >= ${p.add(pn)}`);
    }
    if (q.acked !== undefined) where.push(`acked = ${p.add(q.acked)}`);
    const order = q.order ?? 'desc';
    this.keyset(order, q.cursor, 'uuid', null, p, where);
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    const limit = Math.max(1, Math.min(q.limit, 10_000));
    const rows = await this.all(
      `SELECT CAST(time_ns AS VARCHAR) AS t, uuid, acked, acked_at, acked_by, ${this.dataText()} AS data FROM alerts
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY time_ns ${dir}, uuid ${dir} LIMIT ${limit + 1}`,
      p.values,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => {
        // Alerts carry their acknowledgement state next to the Falco fields.
        const ack = Boolean(r.acked);
        const extra = `"acked":${ack}${ack ? `,"acked_at":${JSON.stringify(msToIso(r.acked_at))},"acked_by":${JSON.stringify(strOrNull(r.acked_by))}` : ''}`;
        const d = String(r.data).trimEnd();
        return d.endsWith('}') ? `${d.slice(0, -1)}${d.length > 2 ? ',' : ''}${extra}}` : d;
      }),
      next: more && last ? encodeCursor({ t: String(last.t), k: String(last.uuid), q: 0 }) : null,
    };
  }

  async ackAlert(uuid: string, by: string): Promise<boolean> {
    const found = await this.all(`SELECT uuid FROM alerts WHERE uuid = $1`, [uuid]);
    if (found.length === 0) return false;
    await this.exec(`UPDATE alerts SET acked = true, acked_at = $1, acked_by = $2 WHERE uuid = $3`, [Date.now(), by, uuid]);
    return true;
  }

  private static readonly SEP = `'\u001f'`;

  async listWorkloads(q: TimeRange): Promise<WorkloadSummary[]> {
    // without a time range the insight aggregates kept at ingest answer (src/store/aggregates.ts)
    if (q.since === undefined && q.until === undefined) return (await this.all(aggInsightSql(SqlStore.SEP).list)).map((r) => this.summary(r));
    const p = new Params();
    const where: string[] = [];
    this.timeWhere(q, p, where);
    const rows = await this.all(
      `SELECT workload_id, min(workload_kind) AS kind, min(workload_name) AS name, min(k8s_ns) AS ns,
              string_agg(DISTINCT hostname, ${SqlStore.SEP}) AS hosts, count(DISTINCT container_id) AS containers,
              count(*) AS events, count(*) FILTER (WHERE denied) AS denied,
              CAST(min(time_ns) AS VARCHAR) AS first_ns, CAST(max(time_ns) AS VARCHAR) AS last_ns
       FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       GROUP BY workload_id ORDER BY max(time_ns) DESC, workload_id LIMIT 5000`,
      p.values,
    );
    return rows.map((r) => this.summary(r));
  }

  /** Rebuilds the per-workload rollup from the stored events (after retention, or after rows
   * were written other than through ingest). */
  async rebuildRollup(): Promise<void> {
    for (const stmt of ROLLUP_REBUILD) await this.exec(stmt);
  }

  /** Rebuilds the insight aggregates from the stored events (after rows were written other than
   * through ingest); aggregates of events never stored raw are lost. */
  async rebuildAggregates(): Promise<void> {
    for (const stmt of aggBackfillSql(this.kind === 'duckdb' ? '//' : '/')) await this.exec(stmt);
  }

  private summary(r: Row): WorkloadSummary {
    return {
      id: String(r.workload_id),
      kind: String(r.kind),
      name: String(r.name),
      namespace: strOrNull(r.ns),
      hosts: splitAgg(r.hosts),
      containers: num(r.containers),
      events: num(r.events),
      denied: num(r.denied),
      first_seen: nsToIso(r.first_ns),
      last_seen: nsToIso(r.last_ns),
    };
  }

  async workloadInsights(id: string, q: TimeRange): Promise<WorkloadInsights | null> {
    const p = new Params();
    const where: string[] = [`workload_id = ${p.add(id)}`];
    this.timeWhere(q, p, where);
    const W = where.join(' AND ');
    const SEP = SqlStore.SEP;
    const pol = `string_agg(DISTINCT CASE WHEN denied OR policy_action IS NOT NULL THEN policy_name END, ${SEP})`;
    // without a time range the insight aggregates answer (src/store/aggregates.ts; $1 is the id),
    // with one the stored events are scanned; rules always come from the alerts
    const A = q.since === undefined && q.until === undefined ? aggInsightSql(SEP) : null;
    const [sum, net, files, procs, caps, pols, rules] = await Promise.all([
      this.all(
        A?.sum ??
          `SELECT workload_id, min(workload_kind) AS kind, min(workload_name) AS name, min(k8s_ns) AS ns,
                string_agg(DISTINCT hostname, ${SEP}) AS hosts, count(DISTINCT container_id) AS containers,
                count(*) AS events, count(*) FILTER (WHERE denied) AS denied,
                CAST(min(time_ns) AS VARCHAR) AS first_ns, CAST(max(time_ns) AS VARCHAR) AS last_ns
         FROM events WHERE ${W} GROUP BY workload_id`,
        p.values,
      ),
      this.all(
        A?.net ??
          `SELECT net_dir, peer_addr, peer_port, l4proto, count(*) FILTER (WHERE NOT denied) AS allowed,
                count(*) FILTER (WHERE denied) AS denied, CAST(min(time_ns) AS VARCHAR) AS first_ns,
                CAST(max(time_ns) AS VARCHAR) AS last_ns, ${pol} AS policies
         FROM events WHERE ${W} AND net_dir IS NOT NULL
         GROUP BY net_dir, peer_addr, peer_port, l4proto ORDER BY max(time_ns) DESC LIMIT 2000`,
        p.values,
      ),
      this.all(
        A?.files ??
          `SELECT file_path, file_op, count(*) AS n, count(*) FILTER (WHERE denied) AS denied,
                CAST(max(time_ns) AS VARCHAR) AS last_ns, ${pol} AS policies
         FROM events WHERE ${W} AND file_op IS NOT NULL
         GROUP BY file_path, file_op ORDER BY max(time_ns) DESC LIMIT 20000`,
        p.values,
      ),
      this.all(
        A?.procs ??
          `SELECT proc_exepath, proc_pexepath, count(*) AS n, count(*) FILTER (WHERE denied) AS denied,
                CAST(max(time_ns) AS VARCHAR) AS last_ns, ${pol} AS policies
         FROM events WHERE ${W} AND evt_type IN ('execve', 'execveat')
         GROUP BY proc_exepath, proc_pexepath ORDER BY max(time_ns) DESC LIMIT 2000`,
        p.values,
      ),
      this.all(
        A?.caps ??
          `SELECT cap_name, sum(cap_granted) AS granted, sum(cap_denied) AS denied, count(*) AS n,
                CAST(max(time_ns) AS VARCHAR) AS last_ns
         FROM events WHERE ${W} AND cap_name IS NOT NULL GROUP BY cap_name ORDER BY cap_name`,
        p.values,
      ),
      this.all(
        A?.pols ??
          `SELECT policy_name, policy_action, policy_rule, count(*) AS n, CAST(max(time_ns) AS VARCHAR) AS last_ns
         FROM events WHERE ${W} AND policy_name IS NOT NULL
         GROUP BY policy_name, policy_action, policy_rule ORDER BY policy_name, policy_action, policy_rule`,
        p.values,
      ),
      this.all(
        `SELECT rule, min(priority) AS priority, count(*) AS n, CAST(max(time_ns) AS VARCHAR) AS last_ns
         FROM alerts WHERE ${W} AND rule IS NOT NULL GROUP BY rule ORDER BY rule`,
        p.values,
      ),
    ]);
    if (sum.length === 0) return null;
    const network: NetEntry[] = net.map((r) => ({
      direction: String(r.net_dir) as 'ingress' | 'egress',
      peer: strOrNull(r.peer_addr),
      port: r.peer_port === null || r.peer_port === undefined ? null : num(r.peer_port),
      protocol: strOrNull(r.l4proto),
      allowed: num(r.allowed),
      denied: num(r.denied),
      first_seen: nsToIso(r.first_ns),
      last_seen: nsToIso(r.last_ns),
      policies: splitAgg(r.policies),
    }));
    const fileEntries: FileEntry[] = files.map((r) => ({
      path: String(r.file_path),
      operation: String(r.file_op),
      count: num(r.n),
      denied: num(r.denied),
      last_seen: nsToIso(r.last_ns),
      policies: splitAgg(r.policies),
    }));
    const processes: ProcEntry[] = procs.map((r) => ({
      exe: strOrNull(r.proc_exepath),
      parent: strOrNull(r.proc_pexepath),
      count: num(r.n),
      denied: num(r.denied),
      last_seen: nsToIso(r.last_ns),
      policies: splitAgg(r.policies),
    }));
    const capabilities: CapEntry[] = caps.map((r) => ({
      name: String(r.cap_name),
      granted: num(r.granted),
      denied: num(r.denied),
      count: num(r.n),
      last_seen: nsToIso(r.last_ns),
    }));
    const policies: PolicyEntry[] = pols.map((r) => ({
      policy: String(r.policy_name),
      action: strOrNull(r.policy_action),
      rule: strOrNull(r.policy_rule),
      count: num(r.n),
      last_seen: nsToIso(r.last_ns),
    }));
    const ruleEntries: RuleEntry[] = rules.map((r) => ({
      rule: String(r.rule),
      priority: strOrNull(r.priority),
      count: num(r.n),
      last_seen: nsToIso(r.last_ns),
    }));
    return {
      ...this.summary(sum[0]!),
      network,
      files: collapseFiles(fileEntries),
      processes,
      capabilities,
      policies,
      rules: ruleEntries,
    };
  }
}

export { Params };
