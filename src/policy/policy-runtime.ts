// The policy side of one running sensor (PolicyRuntime, made by the policy run hook of `vigil run`,
// src/policy/run-hook.ts, when the sensor has started): hosts a PolicyManager in the live sensor
// and wires it to the kernel through the sensor's narrow handle (src/sensor/handle.ts: typed
// loader commands for the fanotify table, vnet_scopes map + cgroup program attachments through
// NetEnforcer, each net push registered with its generation in the decision decoder's table
// history); keeps the workload list current (runtime state dirs polled every 500 ms and on execs
// of unknown containers, containers the sensor resolved from events, the host); turns fanotify
// enforcement decisions into events of the stream (FanxDecisionEvents); serves the control ops
// policy.apply, policy.delete, policy.list and policy.status; and reports which enforcer serves
// each kind of policy.
import { existsSync, readFileSync } from 'node:fs';
import type { VigilEvent } from '../abi/event.ts';
import { fanotifyStats, loadFanotifyTable } from '../kernel/commands.ts';
import type { SensorHandle } from '../sensor/handle.ts';
import type { CompiledTables } from './compile.ts';
import { FanxDecisionEvents, registerFanxDecisionKind } from './decision-events.ts';
import { PolicyManager } from './manager.ts';
import type { Posture } from './model.ts';
import { netTables, registerNetDecisionKind } from './net-decision.ts';
import { NET_PROGS, NetEnforcer } from './net-enforcer.ts';
import { type Discovered, fromContainerInfo, hostWorkload, scanRuntimeRoots, UNIFIED_ROOT, workloadKey } from './workloads.ts';

/** Where the runtime registers its control operations (the sensor's local control socket). */
export interface PolicyControl {
  register(op: string, fn: (req: Record<string, unknown>) => Promise<unknown> | unknown): void;
}

export interface PolicyRunOptions {
  policy?: string[];
  defaultPosture?: Posture;
  failClosed?: boolean;
}

export const POLL_MS = 500;

/** Which LSMs are active and whether BPF-LSM could serve (it cannot on the reference host). */
export function probeLsm(file = '/sys/kernel/security/lsm'): { available: boolean; active?: string[]; reason?: string } {
  if (!existsSync(file))
    return {
      available: false,
      reason: `${file} is missing (securityfs not mounted): BPF-LSM cannot be used; process/file policies use fanotify, network policies cgroup BPF`,
    };
  try {
    const active = readFileSync(file, 'utf8').trim().split(',').filter(Boolean);
    if (active.includes('bpf')) return { available: true, active };
    return { available: false, active, reason: `'bpf' is not in the active LSM list (${active.join(',')}); boot with lsm=...,bpf to enable BPF-LSM` };
  } catch (e) {
    return { available: false, reason: `cannot read ${file}: ${(e as Error).message}` };
  }
}

/** The running policy side of one sensor. */
export class PolicyRuntime {
  readonly manager: PolicyManager;
  readonly net: NetEnforcer;
  readonly decisions: FanxDecisionEvents;
  #workloads = new Map<string, Discovered>();
  #key = '';
  /** containers seen in events that no runtime root lists: full id -> cgroup id */
  #seen = new Map<string, string>();
  #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #rescanAgain = false;
  #lastError = '';
  #stopped = false;
  #fanotify: boolean;
  #enforce: boolean;
  counters = { rescans: 0, workloadChanges: 0, netDecisions: 0, fanotifyDecisions: 0, blocked: 0, audited: 0 };
  readonly startedAt = Date.now();

  constructor(
    readonly sensor: SensorHandle,
    readonly opts: PolicyRunOptions,
    readonly log: (line: string) => void = (l) => process.stderr.write(`vigil: ${l}\n`),
  ) {
    registerNetDecisionKind();
    registerFanxDecisionKind();
    const hello = sensor.hello;
    this.#fanotify = hello.fanotify;
    this.#enforce = hello.enforce;
    this.net = new NetEnforcer(sensor.port, (cg) => this.#dirOfCgroup(cg), UNIFIED_ROOT);
    this.manager = new PolicyManager({
      pushFanotifyTable: async (text) => {
        if (!this.#fanotify) {
          if (/^scope /m.test(text))
            throw new Error('the fanotify enforcer is not available in this loader (HELLO fanotify=0); file and process policies cannot be enforced');
          return;
        }
        await loadFanotifyTable(sensor.port, text);
      },
      pushNetRules: async (rules, tables) => {
        if (!this.#enforce) {
          if (rules.scopes.length)
            throw new Error(`the network enforcer did not load (${hello.enforceError ?? 'enforce=0'}); network policies cannot be enforced`);
          return;
        }
        // registered before the maps change: a decision made with these scopes finds its names
        await this.net.push(rules, netTables.add(tables));
      },
      options: { defaultPosture: opts.defaultPosture ?? 'audit' },
      onApplied: (t: CompiledTables) => {
        for (const w of t.warnings) this.#warnOnce(w);
      },
    });
    this.decisions = new FanxDecisionEvents(sensor, (key) => this.#scopeFacts(key), UNIFIED_ROOT);
  }

  #warned = new Set<string>();
  #warnOnce(w: string): void {
    if (this.#warned.has(w)) return;
    this.#warned.add(w);
    this.log(`policy: ${w}`);
  }

  #dirOfCgroup(cg: string): string | undefined {
    for (const w of this.#workloads.values()) if (w.cgroupId !== undefined && String(w.cgroupId) === cg) return w.cgroupDir;
    return undefined;
  }

  #scopeFacts(key: string): { cgroupId?: bigint; mntns?: number } | undefined {
    const [kind, val] = key === 'host' ? ['host', ''] : [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    for (const w of this.#workloads.values()) {
      const hit =
        kind === 'host'
          ? w.host
          : kind === 'mntns'
            ? String(w.mntns) === val
            : kind === 'cgroup'
              ? String(w.cgroupId) === val
              : kind === 'id'
                ? w.id === val
                : false;
      if (!hit) continue;
      const f: { cgroupId?: bigint; mntns?: number } = {};
      if (!w.host && w.cgroupId !== undefined) f.cgroupId = BigInt(w.cgroupId);
      if (w.mntns) f.mntns = w.mntns;
      return f;
    }
    return undefined;
  }

  /** Sensor event consumer: counts decisions, notices containers nobody listed yet. */
  onEvent(ev: VigilEvent): void {
    if (ev.policy) {
      if (ev.policy.enforcer === 'cgroup-bpf') this.counters.netDecisions++;
      else if (ev.policy.enforcer === 'fanotify') this.counters.fanotifyDecisions++;
      if (ev.evt.res < 0) this.counters.blocked++;
      else this.counters.audited++;
    }
    if (ev.evt.type !== 'execve' || ev.container.id === 'host') return;
    const full = ev.container.full_id;
    if (typeof full !== 'string' || this.#known.has(full)) return;
    const cg = ev.cgroup?.id;
    // first sighting only: a container that stays undiscoverable does not rescan on every exec
    if (typeof cg !== 'string' || this.#seen.has(full)) return;
    this.#seen.set(full, cg);
    void this.rescan();
  }

  /** Discovers workloads now (coalesced: at most one scan in flight, one queued). */
  rescan(): Promise<void> {
    if (this.#scanning) {
      this.#rescanAgain = true;
      return this.#scanning;
    }
    this.#scanning = (async () => {
      try {
        do {
          this.#rescanAgain = false;
          await this.#scanOnce();
        } while (this.#rescanAgain && !this.#stopped);
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    this.counters.rescans++;
    const list: Discovered[] = [hostWorkload(), ...scanRuntimeRoots(this.sensor.runtimeRoots.runc, UNIFIED_ROOT)];
    const ids = new Set(list.map((w) => w.id));
    for (const [full, cg] of this.#seen) {
      if (ids.has(full)) {
        this.#seen.delete(full);
        continue;
      }
      const c = this.sensor.containerOfCgroup(cg);
      const w = c ? fromContainerInfo(c, UNIFIED_ROOT) : undefined;
      if (w) {
        list.push(w);
        ids.add(w.id);
      } else if (c !== undefined) this.#seen.delete(full); // gone
    }
    this.#known = new Set([...ids].filter((id) => id !== 'host'));
    const key = list.map(workloadKey).sort().join('\n');
    if (key === this.#key) return;
    const prev = this.#workloads;
    this.#workloads = new Map(list.map((w) => [w.id, w]));
    try {
      await this.manager.setWorkloads(list);
      this.#key = key;
      this.counters.workloadChanges++;
      this.#lastError = '';
    } catch (e) {
      this.#workloads = prev;
      const msg = (e as Error).message;
      if (msg !== this.#lastError) this.log(`policy: workloads not applied: ${msg}`);
      this.#lastError = msg;
    }
  }

  async start(files: string[]): Promise<void> {
    await this.rescan();
    for (const f of files) {
      const r = await this.manager.applyOrThrow(readFileSync(f, 'utf8'), f);
      for (const w of r.warnings) this.#warnOnce(w);
    }
    this.#timer = setInterval(() => void this.rescan(), POLL_MS);
    this.#timer.unref();
  }

  register(control: PolicyControl): void {
    const h = (req: Record<string, unknown>) => this.manager.handle(req as { op: string });
    control.register('policy.apply', h);
    control.register('policy.delete', h);
    control.register('policy.list', h);
    control.register('policy.status', () => this.status());
  }

  /** Fanotify enforcer counters, when the loader has a `fanx-stats` command (key=value pairs). */
  async fanotifyStats(): Promise<Record<string, number> | { unavailable: string }> {
    try {
      return await fanotifyStats(this.sensor.port);
    } catch (e) {
      return { unavailable: `the loader does not expose fanotify counters (${(e as Error).message})` };
    }
  }

  #failClosedInEffect(): boolean {
    const pid = this.sensor.loaderPid;
    if (!pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--fail-closed-exec');
    } catch {
      return false;
    }
  }

  checkFailClosed(): void {
    if (this.opts.failClosed && !this.#failClosedInEffect()) {
      this.log(
        '--fail-closed: the loader was started without --fail-closed-exec (vigil run does not pass LoaderOptions.failClosedExec yet); execs the enforcer cannot decide are allowed',
      );
    }
  }

  async status(): Promise<Record<string, unknown>> {
    const t = this.manager.tables;
    const lsm = probeLsm();
    const hello = this.sensor.hello;
    const fanScopes = t?.scopes.filter((s) => s.fanotifyScope !== undefined).length ?? 0;
    const fanotify = {
      enforcer: 'fanotify',
      available: this.#fanotify,
      scopes: fanScopes,
      failClosedExec: this.#failClosedInEffect(),
      decisions: { ...this.decisions.stats },
      stats: await this.fanotifyStats(),
    };
    return {
      defaultPosture: this.opts.defaultPosture ?? 'audit',
      enforcers: {
        process: { ...fanotify, hook: 'FAN_OPEN_EXEC_PERM' },
        file: { ...fanotify, hook: 'FAN_OPEN_PERM' },
        network: {
          enforcer: 'cgroup-bpf',
          available: this.#enforce,
          ...(this.#enforce ? {} : { reason: hello.enforceError ?? 'enforcement object not loaded' }),
          programs: [...NET_PROGS],
          attachments: this.net.attachments(),
          scopes: this.net.scopeKeys.length,
          decisions: this.counters.netDecisions,
        },
        capabilities: {
          enforcer: 'cgroup-bpf',
          available: this.#enforce,
          covers: ['net_raw'],
          reason: 'other capabilities need the lsm/capable BPF-LSM hook',
        },
        lsm: {
          enforcer: 'bpf-lsm',
          available: lsm.available && hello.lsm,
          ...(lsm.active ? { active: lsm.active } : {}),
          ...(lsm.reason ? { reason: lsm.reason } : {}),
        },
      },
      policies: this.manager.list().length,
      workloads: [...this.#workloads.values()].map((w) => ({
        id: w.id,
        name: w.name,
        ...(w.namespace ? { namespace: w.namespace } : {}),
        ...(w.host ? { host: true } : { cgroupId: w.cgroupId, rootPid: w.rootPid }),
      })),
      scopes: t?.scopes ?? [],
      warnings: t?.warnings ?? [],
      counters: { ...this.counters },
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.decisions.stop();
  }
}
