// Sensor: owns the pipeline on one node. Starts the loader, seeds the process table, attaches the
// hooks of the current plan, and turns every kernel record into a VigilEvent handed to the
// registered consumers (printer, rules engine, uplink). Keeps every counter that `vigil status`
// and the Prometheus metrics show: kernel per-kind seen/filtered/emitted/dropped, user-space
// drops, process-table size.
import { EventEmitter } from 'node:events';
import { LoaderClient, type LoaderOptions } from './loader-client.ts';
import { Enricher } from './enrich.ts';
import { ProcTable } from './proctable.ts';
import { ContainerResolver, type RuntimeRoots, DEFAULT_ROOTS } from './container.ts';
import { UserDb } from './users.ts';
import { KIND_BY_ID, CAP_NAMES } from './kinds.ts';
import { ABI_VERSION, K, KC, KIND_CFG, PF, PF_CFG, PFX_KEY, SFX_KEY } from './abi.ts';
import { VigilError } from '../common/errors.ts';
import type { CapRecord, LoaderStats } from './decoder.ts';
import type { RawEvent } from './kinds.ts';
import type { VigilEvent } from './event.ts';
import type { HookPlan, HookSpec, KindConfig } from './hooks.ts';

export interface SensorOptions extends LoaderOptions {
  runtimeRoots?: RuntimeRoots;
  /** how often the capability aggregation is pulled from the kernel (ms) */
  capsIntervalMs?: number;
}

export interface AttachedHook {
  spec: HookSpec;
  links: number[];
  error?: string;
}

export type EventConsumer = (ev: VigilEvent) => void;

function hexU32(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
}

/** struct vgl_pfx_key: u32 prefixlen (bits), kind big-endian, path bytes (at most PF.PFX) */
function pfxKeyHex(kind: number, prefix: string): string {
  const p = Buffer.from(prefix).subarray(0, PF.PFX);
  const b = Buffer.alloc(PFX_KEY.size);
  b.writeUInt32LE(16 + 8 * p.length, PFX_KEY.prefixlen);
  b.writeUInt16BE(kind, PFX_KEY.data);
  p.copy(b, PFX_KEY.data + 2);
  return b.toString('hex');
}

/** struct vgl_sfx_key: u16 kind, u16 len, the last len bytes zero padded to PF.SFX */
function sfxKeyHex(kind: number, tail: Buffer): string {
  const b = Buffer.alloc(SFX_KEY.size);
  b.writeUInt16LE(kind, SFX_KEY.kind);
  b.writeUInt16LE(tail.length, SFX_KEY.len);
  tail.copy(b, SFX_KEY.s);
  return b.toString('hex');
}

/**
 * The longest head (or tail) length, at most PF.HEAD and at most the shortest pattern, whose
 * distinct heads fit `max`; undefined when none does or a pattern is empty (no sound pre-check).
 */
function preCheck(patterns: Buffer[], cut: (b: Buffer, n: number) => Buffer, max: number): { len: number; words: Buffer[] } | undefined {
  if (!patterns.length) return { len: 1, words: [] };
  const shortest = Math.min(...patterns.map((b) => b.length));
  for (let n = Math.min(PF.HEAD, shortest); n >= 1; n--) {
    const words = [...new Map(patterns.map((b) => cut(b, n)).map((w) => [w.toString('hex'), w])).values()];
    if (words.length <= max) return { len: n, words };
  }
  return undefined;
}

/**
 * struct vgl_pf_cfg of one kind: the suffix lengths to try and the exact head/tail pre-checks
 * (vigil_abi.h). A pre-check is set only when it is sound: every prefix (suffix) is at least
 * headlen (taillen) bytes long, so a path that starts (ends) with one shares its first (last)
 * bytes; the longest length whose distinct heads (tails) fit the array is chosen.
 */
export function pfCfgValue(prefixes: readonly string[], suffixes: readonly string[]): Buffer {
  const v = Buffer.alloc(PF_CFG.size);
  const sfx = suffixes.map((x) => Buffer.from(x).subarray(-PF.SFX)).filter((b) => b.length > 0);
  const lens = [...new Set(sfx.map((b) => b.length))].sort((a, b) => a - b);
  if (lens.length > PF.NLENS) {
    // more distinct suffix lengths than the kernel tries: refuse rather than filter unsoundly
    throw new VigilError('VIGIL_E_INTERNAL', `${lens.length} distinct suffix lengths (max ${PF.NLENS})`);
  }
  v[PF_CFG.nlens] = lens.length;
  lens.forEach((l, i) => (v[PF_CFG.lens + i] = l));
  let flags = 0;
  const heads = preCheck(prefixes.map((x) => Buffer.from(x).subarray(0, PF.PFX)), (b, n) => b.subarray(0, n), PF.NHEADS);
  if (heads) {
    flags |= PF.HEADS;
    v[PF_CFG.nheads] = heads.words.length;
    v[PF_CFG.headlen] = heads.len;
    heads.words.forEach((h, i) => h.copy(v, PF_CFG.heads + i * 8));
  }
  const tails = preCheck(sfx, (b, n) => b.subarray(b.length - n), PF.NTAILS);
  if (tails) {
    flags |= PF.TAILS;
    v[PF_CFG.ntails] = tails.words.length;
    v[PF_CFG.taillen] = tails.len;
    tails.words.forEach((t, i) => t.copy(v, PF_CFG.tails + i * 8));
  }
  v[PF_CFG.flags] = flags;
  return v;
}

/** The in-kernel filter of a kind, for people (vigil status). */
export function describeFilter(c: KindConfig): string {
  const parts: string[] = [];
  if (c.flags & KC.ONLY_SUCCESS) parts.push('successful calls');
  if (c.flags & KC.ONLY_FAILED) parts.push('failed calls');
  if (c.flags & KC.ONLY_WRITE) parts.push('opens for writing');
  if (c.flags & KC.ONLY_CONTAINERS) parts.push('container processes');
  if (c.flags & KC.PREFIX_FILTER) parts.push(`paths under ${c.prefixes?.length ?? 0} prefixes or ending in ${c.suffixes?.length ?? 0} suffixes (or undecidable)`);
  if (c.flags & KC.PORT_FILTER) parts.push(`destination port in {${(c.ports ?? []).join(', ')}}${c.flags & KC.PORT_OR_CONTAINER ? ' or a container process' : ''}`);
  return `only ${parts.join(', ')}`;
}

function kindCfgHex(c: KindConfig): string {
  const b = Buffer.alloc(KIND_CFG.size);
  b.writeUInt32LE(c.enabled ? 1 : 0, KIND_CFG.enabled);
  b.writeUInt32LE(c.flags >>> 0, KIND_CFG.flags);
  b.writeUInt32LE(c.argvMax >>> 0, KIND_CFG.argv_max);
  b.writeUInt32LE((c.envMax ?? 0) >>> 0, KIND_CFG.env_max);
  return b.toString('hex');
}

export interface SensorStatus {
  uptimeSec: number;
  loaderPid?: number;
  hello: string;
  hooks: { id: string; tier: string; reasons: string[]; attached: boolean; error?: string; filter?: string }[];
  eventsByType: Record<string, number>;
  kernel: {
    ringbufDrops: number;
    perType: Record<string, { seen: number; filtered: number; emitted: number; dropped: number }>;
    capabilityChecks: number;
  };
  userspace: { decoded: number; emitted: number; dropped: number; malformed: number; enrichErrors: number; consumerErrors: number };
  procTable: { size: number; seeded: number; fromProc: number; evicted: number; missing: number };
}

export class Sensor extends EventEmitter {
  readonly loader: LoaderClient;
  readonly procs = new ProcTable();
  readonly containers: ContainerResolver;
  readonly users = new UserDb();
  readonly enricher: Enricher;
  private consumers: EventConsumer[] = [];
  private attached = new Map<string, AttachedHook>();
  private kindCfg = new Map<number, KindConfig>();
  private timers: NodeJS.Timeout[] = [];
  private startedAt = Date.now();
  lastStats: LoaderStats | undefined;
  /** records decoded when the last stats record arrived (it follows every record it counts) */
  decodedAtLastStats = 0;
  private statsWaiters: ((s: LoaderStats) => void)[] = [];
  private capsWaiters: (() => void)[] = [];
  /** aggregated capability use: key `${pid}:${cap}` */
  readonly caps = new Map<string, CapRecord>();
  counters = { decoded: 0, emitted: 0, dropped: 0, consumerErrors: 0 };
  eventsByType: Record<string, number> = {};
  private paused = false;
  /** emit `capability` events from the in-kernel aggregation (on when the plan has cap_capable) */
  capEvents = false;

  constructor(private readonly opts: SensorOptions = {}) {
    super();
    this.containers = new ContainerResolver(opts.runtimeRoots ?? DEFAULT_ROOTS);
    this.enricher = new Enricher(this.procs, this.containers, this.users);
    this.loader = new LoaderClient(
      {
        event: (r) => this.onRaw(r),
        stats: (s) => {
          this.lastStats = s;
          this.decodedAtLastStats = this.counters.decoded;
          const w = this.statsWaiters;
          this.statsWaiters = [];
          for (const f of w) f(s);
        },
        caps: (recs) => this.onCaps(recs),
        decision: (json) => this.emit('decision', json),
        log: (t) => this.emit('log', t),
      },
      opts,
    );
  }

  onEvent(fn: EventConsumer): void {
    this.consumers.push(fn);
  }

  async start(): Promise<void> {
    const hello = await this.loader.start();
    const abi = Number(/abi=(\d+)/.exec(hello)?.[1]);
    if (abi !== ABI_VERSION) {
      await this.loader.stop().catch(() => {});
      throw new VigilError('VIGIL_E_LOADER_ABI', `the loader speaks event ABI ${abi}, this sensor ${ABI_VERSION}: rebuild with \`make build\``, { exitCode: 2, where: 'loader' });
    }
    const off = /boot_offset_ns=(-?\d+)/.exec(hello)?.[1];
    if (off) this.enricher.bootOffsetNs = BigInt(off);
    const hostMnt = /host_mntns=(\d+)/.exec(hello)?.[1];
    if (hostMnt) this.enricher.hostMntns = Number(hostMnt);
    this.procs.seed();
    this.startedAt = Date.now();
    this.timers.push(setInterval(() => this.procs.sweep(), 2000).unref());
    this.timers.push(setInterval(() => this.pullCaps().catch(() => {}), this.opts.capsIntervalMs ?? 5000).unref());
  }

  private onRaw(r: RawEvent): void {
    this.counters.decoded++;
    if (this.paused) return;
    const ev = this.enricher.build(r);
    if (!ev) return;
    this.deliver(ev);
  }

  /** Counts an event and hands it to every consumer; a throwing consumer is counted, not fatal. */
  private deliver(ev: VigilEvent): void {
    this.eventsByType[ev.evt.type] = (this.eventsByType[ev.evt.type] ?? 0) + 1;
    this.counters.emitted++;
    for (const c of this.consumers) {
      try {
        c(ev);
      } catch (e) {
        this.counters.consumerErrors++;
        this.emit('consumer-error', e);
      }
    }
  }

  private onCaps(recs: CapRecord[]): void {
    for (const r of recs) {
      const key = `${r.pid}:${r.cap}`;
      const prev = this.caps.get(key);
      this.caps.set(key, r);
      if (!this.capEvents || (prev && prev.granted === r.granted && prev.denied === r.denied)) continue;
      // one event per (process, capability) whenever its counts moved since the last dump
      const name = CAP_NAMES[r.cap] ?? `CAP_${r.cap}`;
      const ev = this.enricher.buildSynthetic({
        pid: r.pid,
        tsBoot: r.lastTs,
        type: 'capability',
        category: 'priv',
        res: r.denied > (prev?.denied ?? 0) ? -1 : 0,
        arg: { cap: name, granted: r.granted, denied: r.denied, granted_delta: r.granted - (prev?.granted ?? 0), denied_delta: r.denied - (prev?.denied ?? 0) },
      });
      this.injectEvent(ev);
    }
    const w = this.capsWaiters;
    this.capsWaiters = [];
    for (const f of w) f();
  }

  /** Asks the loader for the capability aggregation and waits for it. */
  async pullCaps(): Promise<Map<string, CapRecord>> {
    const done = new Promise<void>((r) => this.capsWaiters.push(r));
    await this.loader.command('caps');
    await done;
    return this.caps;
  }

  /** Capability records as events (`evt.type = capability`), for the uplink and insights. */
  capabilityEvents(): { pid: number; cap: string; granted: number; denied: number }[] {
    return [...this.caps.values()].map((r) => ({ pid: r.pid, cap: CAP_NAMES[r.cap] ?? `CAP_${r.cap}`, granted: r.granted, denied: r.denied }));
  }

  /** Fresh kernel counters (asks the loader, which also sends them every second). */
  async pullStats(): Promise<LoaderStats> {
    const p = new Promise<LoaderStats>((r) => this.statsWaiters.push(r));
    await this.loader.command('stats');
    return p;
  }

  private async setKindCfg(kind: number, c: KindConfig): Promise<void> {
    // path and port sets first, so the filter never runs with a half-written set
    await this.syncPathFilter(kind, c.flags & KC.PREFIX_FILTER ? c : undefined);
    await this.syncPorts(kind, c.flags & KC.PORT_FILTER ? (c.ports ?? []) : []);
    await this.loader.command(`map-update kind_cfg ${hexU32(kind)} ${kindCfgHex(c)}`);
    this.kindCfg.set(kind, c);
  }

  /** hex keys currently in path_pfx / path_sfx, per kind */
  private pathKeys = new Map<number, { pfx: Set<string>; sfx: Set<string> }>();

  private async syncPathFilter(kind: number, c: KindConfig | undefined): Promise<void> {
    const want = { pfx: new Set<string>(), sfx: new Set<string>() };
    const prefixes = c?.prefixes ?? [];
    const suffixes = c?.suffixes ?? [];
    for (const p of prefixes) want.pfx.add(pfxKeyHex(kind, p));
    for (const x of suffixes) {
      const b = Buffer.from(x).subarray(-PF.SFX);
      if (b.length) want.sfx.add(sfxKeyHex(kind, b));
    }
    let cfg: Buffer;
    try {
      cfg = pfCfgValue(prefixes, suffixes);
    } catch (e) {
      throw new VigilError('VIGIL_E_INTERNAL', `kind ${kind}: ${(e as Error).message}`, { cause: e });
    }
    // entries first, then the per-kind configuration, then removals: the filter never consults a
    // configuration whose prefix or suffix entries are missing
    const have = this.pathKeys.get(kind) ?? { pfx: new Set<string>(), sfx: new Set<string>() };
    for (const k of want.pfx) if (!have.pfx.has(k)) await this.loader.command(`map-update path_pfx ${k} 01`);
    for (const k of want.sfx) if (!have.sfx.has(k)) await this.loader.command(`map-update path_sfx ${k} 01`);
    await this.loader.command(`map-update pf_cfg ${hexU32(kind)} ${cfg.toString('hex')}`);
    for (const k of have.pfx) if (!want.pfx.has(k)) await this.loader.command(`map-delete path_pfx ${k}`).catch(() => {});
    for (const k of have.sfx) if (!want.sfx.has(k)) await this.loader.command(`map-delete path_sfx ${k}`).catch(() => {});
    this.pathKeys.set(kind, want);
  }

  /** net_ports keys currently set, per kind */
  private portKeys = new Map<number, Set<string>>();

  private async syncPorts(kind: number, ports: number[]): Promise<void> {
    const want = new Set(ports.map((p) => hexU32(((kind << 16) | p) >>> 0)));
    const have = this.portKeys.get(kind) ?? new Set<string>();
    for (const k of want) if (!have.has(k)) await this.loader.command(`map-update net_ports ${k} 01`);
    for (const k of have) if (!want.has(k)) await this.loader.command(`map-delete net_ports ${k}`).catch(() => {});
    this.portKeys.set(kind, want);
  }

  /** Brings the attached hooks to the plan: attaches what is new, detaches what is gone. */
  async applyPlan(plan: HookPlan): Promise<void> {
    this.capEvents = plan.hooks.has('tp_btf:cap_capable');
    this.procs.setEnvMax(plan.kindCfg.get(K.EXECVE)?.envMax ?? 0);
    for (const [kind, cfg] of plan.kindCfg) await this.setKindCfg(kind, cfg);
    for (const [id, spec] of plan.hooks) {
      const cur = this.attached.get(id);
      if (cur && !cur.error) {
        cur.spec = spec;
        continue;
      }
      const a: AttachedHook = { spec, links: [] };
      try {
        if (spec.tier === 'syscall') {
          const info = spec.info!;
          await this.loader.command(`map-update sys_kind ${hexU32(info.nr!)} ${hexU32(info.kind)}`);
          a.links.push(Number(await this.loader.command(`attach-tp ${spec.prog} syscalls sys_exit_${info.tp}`)));
        } else {
          a.links.push(Number(await this.loader.command(`attach-btf ${spec.prog}`)));
          if (spec.prog === 'vgl_sched_exec') {
            // the exec tracepoint cannot tell execveat from execve (the kernel rewrites the saved
            // syscall number on exec): two tracepoints that fire only on execveat mark it
            for (const dir of ['enter', 'exit']) {
              const l = await this.loader.command(`attach-tp vgl_sys_${dir}_execveat syscalls sys_${dir}_execveat`).catch(() => undefined);
              if (l !== undefined) a.links.push(Number(l));
            }
          }
        }
      } catch (e) {
        a.error = (e as Error).message;
        if (/No such file/.test(a.error) && spec.tier === 'syscall') a.error = `tracepoint syscalls:sys_exit_${spec.info!.tp} does not exist on this kernel (${a.error})`;
        for (const l of a.links) await this.loader.command(`detach ${l}`).catch(() => {});
        a.links = [];
      }
      this.attached.set(id, a);
    }
    for (const [id, a] of this.attached) {
      if (plan.hooks.has(id)) continue;
      for (const l of a.links) await this.loader.command(`detach ${l}`).catch(() => {});
      if (a.spec.kind !== undefined) {
        await this.setKindCfg(a.spec.kind, { enabled: false, flags: 0, argvMax: 0 });
        if (a.spec.info?.nr !== undefined) await this.loader.command(`map-update sys_kind ${hexU32(a.spec.info.nr)} ${hexU32(0)}`);
      }
      this.attached.delete(id);
    }
  }

  hooks(): AttachedHook[] {
    return [...this.attached.values()];
  }

  status(): SensorStatus {
    const s = this.lastStats;
    const perType: SensorStatus['kernel']['perType'] = {};
    if (s) {
      for (let k = 0; k < K.MAX; k++) {
        if (!s.seen[k] && !s.emitted[k] && !s.dropped[k] && !s.filtered[k]) continue;
        const name = k === K.CAPABILITY ? 'capability' : (KIND_BY_ID[k]?.name ?? `kind${k}`);
        perType[name] = { seen: s.seen[k]!, filtered: s.filtered[k]!, emitted: s.emitted[k]!, dropped: s.dropped[k]! };
      }
    }
    const out: SensorStatus = {
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      hello: this.loader.hello,
      hooks: [...this.attached.values()].map((a) => {
        const h: SensorStatus['hooks'][number] = { id: a.spec.id, tier: a.spec.tier, reasons: a.spec.reasons, attached: !a.error };
        if (a.error) h.error = a.error;
        const cfg = a.spec.kind !== undefined ? this.kindCfg.get(a.spec.kind) : undefined;
        if (cfg?.flags) h.filter = describeFilter(cfg);
        return h;
      }),
      eventsByType: { ...this.eventsByType },
      kernel: { ringbufDrops: s?.ringbufDrops ?? 0, perType, capabilityChecks: s?.seen[K.CAPABILITY] ?? 0 },
      userspace: {
        decoded: this.counters.decoded,
        emitted: this.counters.emitted,
        dropped: this.counters.dropped,
        malformed: this.loader.decoder.malformed,
        enrichErrors: this.enricher.stats.errors + this.enricher.stats.unknownKind,
        consumerErrors: this.counters.consumerErrors,
      },
      procTable: { ...this.procs.stats, size: this.procs.procs.size },
    };
    const pid = this.loader.pid;
    if (pid !== undefined) out.loaderPid = pid;
    return out;
  }

  /**
   * Adds an event that did not come from a kernel record (e.g. a fanotify policy decision) to the
   * stream: numbered and delivered to every consumer like the others.
   */
  injectEvent(ev: VigilEvent): void {
    ev.evt.num = ++this.enricher.num;
    this.deliver(ev);
  }

  /** Count a user-space drop (a consumer's bounded queue was full). */
  countDrop(n = 1): void {
    this.counters.dropped += n;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.loader.stop();
    this.paused = true;
  }
}
