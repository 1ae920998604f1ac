// Sensor: owns the pipeline on one node. Starts the loader, seeds the process table, attaches the
// hooks of the current plan, and turns every kernel record into a VigilEvent handed to the
// registered consumers (printer, rules engine, uplink). Keeps every counter that `vigil status`
// and the Prometheus metrics show: kernel per-kind seen/filtered/emitted/dropped, user-space
// drops, process-table size, and the retention of every per-process and per-container structure
// (sizes, limits, evictions: docs/architecture.md, "Process state retention").
import { EventEmitter } from 'node:events';
import { LoaderClient, type LoaderOptions } from '../kernel/loader.ts';
import * as kernel from '../kernel/commands.ts';
import { FrameDecoder } from './decoder.ts';
import { Enricher } from './enrich.ts';
import { ProcTable, type ProcRetentionStats } from './proctable.ts';
import { ContainerResolver, matchCgroupPath, type RuntimeRoots, DEFAULT_ROOTS } from './container.ts';
import { UserDb } from './users.ts';
import { KIND_BY_ID, CAP_NAMES } from './kinds.ts';
import { ABI_VERSION, K, KC } from '../abi/layout.ts';
import { VigilError } from '../common/errors.ts';
import type { SensorHandle } from './handle.ts';
import type { CapRecord, LoaderStats } from './decoder.ts';
import type { RawEvent } from './kinds.ts';
import type { VigilEvent } from '../abi/event.ts';
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

/** The in-kernel filter of a kind, for people (vigil status). */
export function describeFilter(c: KindConfig): string {
  const parts: string[] = [];
  if (c.flags & KC.ONLY_SUCCESS) parts.push('successful calls');
  if (c.flags & KC.ONLY_FAILED) parts.push('failed calls');
  if (c.flags & KC.ONLY_WRITE) parts.push('opens for writing');
  if (c.flags & KC.ONLY_CONTAINERS) parts.push('container processes');
  if (c.flags & KC.PREFIX_FILTER)
    parts.push(`paths under ${c.prefixes?.length ?? 0} prefixes or ending in ${c.suffixes?.length ?? 0} suffixes (or undecidable)`);
  if (c.flags & KC.PORT_FILTER)
    parts.push(`destination port in {${(c.ports ?? []).join(', ')}}${c.flags & KC.PORT_OR_CONTAINER ? ' or a container process' : ''}`);
  return `only ${parts.join(', ')}`;
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
  /** limits and evictions of every per-process and per-container structure */
  retention: SensorRetention;
  /** the node process's memory (process.memoryUsage()), bytes */
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

export interface SensorRetention {
  procTable: ProcRetentionStats;
  /** capability aggregation mirror: records kept (at most MAX_CAP_RECORDS), dropped when their process is gone */
  caps: { size: number; max: number; pruned: number; evicted: number };
  containers: { size: number; max: number; evicted: number };
  userTables: { size: number; max: number; evicted: number };
  cgroups: { size: number; rescans: number };
  cgroupCache: { size: number; resets: number };
}

/** capability records (process × capability) kept at most: the kernel map's own size (cap_agg) */
export const MAX_CAP_RECORDS = 65536;

export class Sensor extends EventEmitter {
  readonly loader: LoaderClient;
  readonly decoder: FrameDecoder;
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
  /** aggregated capability use: key `${pid}:${cap}`; bounded (see pruneCaps) */
  readonly caps = new Map<string, CapRecord>();
  private capsCount = { pruned: 0, evicted: 0 };
  counters = { decoded: 0, emitted: 0, dropped: 0, consumerErrors: 0 };
  eventsByType: Record<string, number> = {};
  private paused = false;
  /** emit `capability` events from the in-kernel aggregation (on when the plan has cap_capable) */
  capEvents = false;

  constructor(private readonly opts: SensorOptions = {}) {
    super();
    this.containers = new ContainerResolver(opts.runtimeRoots ?? DEFAULT_ROOTS);
    this.enricher = new Enricher(this.procs, this.containers, this.users);
    let decoder!: FrameDecoder;
    this.loader = new LoaderClient(
      (ctl) =>
        (decoder = new FrameDecoder(
          {
            ...ctl,
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
          { reuse: true },
        )),
      opts,
    );
    this.decoder = decoder;
  }

  onEvent(fn: EventConsumer): void {
    this.consumers.push(fn);
  }

  async start(): Promise<void> {
    const hello = await this.loader.start();
    if (hello.abi !== ABI_VERSION) {
      await this.loader.stop().catch(() => {});
      throw new VigilError('VIGIL_E_LOADER_ABI', `the loader speaks event ABI ${hello.abi}, this sensor ${ABI_VERSION}: rebuild with \`make build\``, {
        exitCode: 2,
        where: 'loader',
      });
    }
    if ('boot_offset_ns' in hello.fields) this.enricher.bootOffsetNs = hello.bootOffsetNs;
    if (hello.hostMntns) this.enricher.hostMntns = hello.hostMntns;
    this.procs.seed();
    this.startedAt = Date.now();
    this.timers.push(
      setInterval(() => {
        this.procs.sweep();
        this.procs.audit();
        this.pruneCaps();
      }, 2000).unref(),
    );
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
      if (!prev && this.caps.size >= MAX_CAP_RECORDS) {
        const first = this.caps.keys().next();
        if (!first.done) this.caps.delete(first.value), this.capsCount.evicted++;
      }
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

  /**
   * Drops the capability records of processes that are gone (the loader forgets them in the kernel
   * map once it has sent them, so they do not come back).
   */
  pruneCaps(): number {
    let n = 0;
    for (const [key, r] of this.caps) {
      try {
        process.kill(r.pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
        this.caps.delete(key);
        n++;
      }
    }
    this.capsCount.pruned += n;
    return n;
  }

  /** Asks the loader for the capability aggregation and waits for it. */
  async pullCaps(): Promise<Map<string, CapRecord>> {
    const done = new Promise<void>((r) => this.capsWaiters.push(r));
    await kernel.requestCaps(this.loader);
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
    await kernel.requestStats(this.loader);
    return p;
  }

  /**
   * The status with kernel counters asked for now (the loader's own dump comes once a second, so a
   * status right after the first events could miss their kinds); falls back to the last counters
   * when the loader does not answer within `timeoutMs`.
   */
  async freshStatus(timeoutMs = 500): Promise<SensorStatus> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
    });
    await Promise.race([this.pullStats().catch(() => {}), late]);
    clearTimeout(timer);
    return this.status();
  }

  private async setKindCfg(kind: number, c: KindConfig): Promise<void> {
    // path and port sets first, so the filter never runs with a half-written set
    const paths = c.flags & KC.PREFIX_FILTER ? c : undefined;
    this.pathKeys.set(kind, await kernel.setPathFilter(this.loader, kind, paths?.prefixes ?? [], paths?.suffixes ?? [], this.pathKeys.get(kind)));
    this.portKeys.set(kind, await kernel.setPorts(this.loader, kind, c.flags & KC.PORT_FILTER ? (c.ports ?? []) : [], this.portKeys.get(kind)));
    await kernel.setKindConfig(this.loader, kind, c);
    this.kindCfg.set(kind, c);
  }

  /** keys currently in path_pfx / path_sfx, per kind */
  private pathKeys = new Map<number, kernel.PathFilterKeys>();
  /** net_ports keys currently set, per kind */
  private portKeys = new Map<number, Set<string>>();

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
          await kernel.setSyscallKind(this.loader, info.nr!, info.kind);
          a.links.push(await kernel.attachTracepoint(this.loader, spec.prog, 'syscalls', `sys_exit_${info.tp}`));
        } else {
          a.links.push(await kernel.attachBtf(this.loader, spec.prog));
          if (spec.prog === 'vgl_sched_exec') {
            // the exec tracepoint cannot tell execveat from execve (the kernel rewrites the saved
            // syscall number on exec): two tracepoints that fire only on execveat mark it
            for (const dir of ['enter', 'exit']) {
              const l = await kernel.attachTracepoint(this.loader, `vgl_sys_${dir}_execveat`, 'syscalls', `sys_${dir}_execveat`).catch(() => undefined);
              if (l !== undefined) a.links.push(l);
            }
          }
        }
      } catch (e) {
        a.error = (e as Error).message;
        if (/No such file/.test(a.error) && spec.tier === 'syscall')
          a.error = `tracepoint syscalls:sys_exit_${spec.info!.tp} does not exist on this kernel (${a.error})`;
        for (const l of a.links) await kernel.detach(this.loader, l).catch(() => {});
        a.links = [];
      }
      this.attached.set(id, a);
    }
    for (const [id, a] of this.attached) {
      if (plan.hooks.has(id)) continue;
      for (const l of a.links) await kernel.detach(this.loader, l).catch(() => {});
      if (a.spec.kind !== undefined) {
        await this.setKindCfg(a.spec.kind, { enabled: false, flags: 0, argvMax: 0 });
        if (a.spec.info?.nr !== undefined) await kernel.setSyscallKind(this.loader, a.spec.info.nr, 0);
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
        malformed: this.decoder.malformed,
        enrichErrors: this.enricher.stats.errors + this.enricher.stats.unknownKind,
        consumerErrors: this.counters.consumerErrors,
      },
      procTable: { ...this.procs.stats, size: this.procs.procs.size },
      retention: {
        procTable: { ...this.procs.retention },
        caps: { size: this.caps.size, max: MAX_CAP_RECORDS, ...this.capsCount },
        containers: { size: this.containers.size, max: this.containers.maxEntries, evicted: this.containers.evicted },
        userTables: { size: this.users.size, max: this.users.maxTables, evicted: this.users.evicted },
        cgroups: { size: this.enricher.cgroups.size, rescans: this.enricher.cgroups.rescans },
        cgroupCache: { size: this.enricher.cgroupCacheSize, resets: this.enricher.cgroupCacheResets },
      },
      memory: process.memoryUsage(),
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

  /**
   * The narrow handle consumers such as policy use instead of this object's internals (valid
   * after start()).
   */
  handle(): SensorHandle {
    const loader = this.loader;
    const hello = loader.info;
    if (!hello) throw new VigilError('VIGIL_E_INTERNAL', 'Sensor.handle() before start()');
    return {
      hello,
      get loaderPid() {
        return loader.pid;
      },
      port: loader,
      runtimeRoots: this.opts.runtimeRoots ?? DEFAULT_ROOTS,
      process: (pid, snapshot = false) => (snapshot ? this.procs.lookup(pid) : this.procs.get(pid)),
      markExited: (pid) => this.procs.markExited(pid),
      containerOfCgroup: (cgroupId) => {
        const p = this.enricher.cgroups.path(cgroupId);
        if (p === undefined) return undefined;
        const m = matchCgroupPath(p);
        return m ? this.containers.forMatch(m) : null;
      },
      injectRecord: (r, patch) => {
        const ev = this.enricher.build(r);
        if (!ev) return false;
        // build() took a sequence number; injectEvent assigns it again, so give it back
        this.enricher.num--;
        patch?.(ev);
        this.injectEvent(ev);
        return true;
      },
      onEvent: (fn) => this.onEvent(fn),
      onDecision: (fn) => void this.on('decision', fn),
    };
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
