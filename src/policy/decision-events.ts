// Fanotify policy decisions -> events in the sensor's stream. The loader's fanotify enforcer
// reports each Block/Audit/posture decision as a JSON record (VGL_K_DECISION, format in
// native/fanotify_enforcer.h); this turns one into a full VigilEvent by running a synthetic
// RawEvent of the pseudo kind K.DECISION through the sensor's own enrichment (SensorHandle
// injectRecord: proc.*, user.*, container.* and k8s.* are exactly what the kernel records of the
// same process get) and into the stream. Enrichment is delayed by a few ms so the ring-buffer records of the
// same process (its exec) are processed first; the process itself is snapshotted from /proc at
// once, because a denied `cat` exits right after its EPERM.
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { K } from '../abi/layout.ts';
import { KIND_BY_ID, registerKind, type Decoded, type KindInfo, type RawEvent } from '../sensor/kinds.ts';
import type { SensorHandle } from '../sensor/handle.ts';
import type { FieldTree } from '../abi/event.ts';

export interface FanxDecision {
  policy: { name: string; action: string; rule?: string; severity?: number; message?: string; allowList?: string[] };
  evt: { type: string; res: number };
  proc: { pid: number; tid?: number; exe?: string };
  fd: { name: string };
  container?: { name?: string; scope?: string };
  ts?: number;
}

interface Pending {
  d: FanxDecision;
  ts: bigint;
}

const parsed = new WeakMap<RawEvent, FanxDecision>();

function decisionOf(r: RawEvent): FanxDecision {
  let d = parsed.get(r);
  if (!d) {
    d = JSON.parse(r.strs[0] ?? '{}') as FanxDecision;
    parsed.set(r, d);
  }
  return d;
}

function decodeFanx(r: RawEvent): Decoded {
  const d = decisionOf(r);
  const name = d.fd?.name ?? '';
  const res = d.evt.res;
  const arg: FieldTree = d.evt.type === 'execve' ? { res, filename: name, exe: name } : { res, fd: res < 0 ? res : -1, name, dirfd: -100 };
  const policy: FieldTree = { name: d.policy.name, action: d.policy.action };
  if (d.policy.rule) policy.rule = d.policy.rule;
  if (d.policy.severity !== undefined) policy.severity = d.policy.severity;
  if (d.policy.message) policy.message = d.policy.message;
  if (d.policy.allowList?.length) policy.allowList = d.policy.allowList;
  if (d.container?.scope) policy.scope = d.container.scope;
  policy.enforcer = 'fanotify';
  return {
    arg,
    rawarg: { ...arg },
    fd: { type: 'file', typechar: 'f', name, nameraw: name },
    policy,
  };
}

/** The pseudo kind under which fanotify decisions are enriched (never produced by the kernel). */
export const FANX_DECISION_KIND: KindInfo = {
  kind: K.DECISION,
  name: 'fanotify_decision', // evt.type always comes from typeOf
  typeOf: (r) => decisionOf(r).evt.type || 'openat',
  category: 'file',
  family: 'file',
  decode: decodeFanx,
};

export function registerFanxDecisionKind(): void {
  if (KIND_BY_ID[K.DECISION]) return;
  registerKind(FANX_DECISION_KIND, { byName: false });
}

function nsInode(pid: number, ns: string): number {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${ns}`))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** cgroup v2 id of a live process (inode of its unified-hierarchy directory); 0n when unknown. */
export function cgroupIdOfPid(pid: number, unifiedRoot: string): bigint {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return 0n;
    return statSync(path.join(unifiedRoot, line.slice(3)), { bigint: true }).ino; // 64-bit cgroup id, exact
  } catch {
    return 0n;
  }
}

export interface ScopeFacts {
  cgroupId?: bigint;
  mntns?: number;
}

export class FanxDecisionEvents {
  stats = { received: 0, injected: 0, malformed: 0 };
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sensor: SensorHandle,
    /** what the policy hook knows about a scope key ("mntns:<ino>", "host", ...) */
    private readonly scopeFacts: (key: string) => ScopeFacts | undefined,
    private readonly unifiedRoot: string,
    private readonly delayMs = 25,
  ) {
    registerFanxDecisionKind();
  }

  /** sensor.onDecision((json) => this.onDecision(json)) */
  onDecision(json: string): void {
    this.stats.received++;
    let d: FanxDecision;
    try {
      d = JSON.parse(json) as FanxDecision;
      if (!d || typeof d !== 'object' || !d.policy || !d.evt || !d.proc || typeof d.proc.pid !== 'number') throw new Error('not a decision');
    } catch {
      this.stats.malformed++;
      return;
    }
    // the exact CLOCK_BOOTTIME ns (a JSON number loses precision above 2^53)
    const m = /"ts"\s*:\s*(\d+)/.exec(json);
    const ts = m ? BigInt(m[1]!) : 0n;
    // snapshot the process now: a denied process usually exits at once
    this.sensor.process(d.proc.pid, true);
    this.#queue.push({ d, ts });
    this.#timer ??= setTimeout(() => this.#flush(), this.delayMs);
  }

  #flush(): void {
    this.#timer = undefined;
    const q = this.#queue;
    this.#queue = [];
    for (const p of q) {
      try {
        this.#inject(p);
      } catch {
        this.stats.malformed++;
      }
    }
  }

  #inject({ d, ts }: Pending): void {
    const pid = d.proc.pid;
    const known = this.sensor.process(pid);
    const p = known ?? this.sensor.process(pid, true);
    const facts = d.container?.scope ? this.scopeFacts(d.container.scope) : undefined;
    const alive = existsSync(`/proc/${pid}`);
    let cgroupId = facts?.cgroupId ?? 0n;
    if (!cgroupId && alive) cgroupId = cgroupIdOfPid(pid, this.unifiedRoot);
    const exe = d.proc.exe ?? '';
    const r: RawEvent = {
      kind: K.DECISION,
      flags: 0,
      ts: ts || BigInt(Math.round(performance.now() * 1e6)),
      cgroupId,
      res: d.evt.res,
      pid,
      tid: d.proc.tid ?? pid,
      ppid: p?.ppid ?? 0,
      uid: p?.uid ?? 0,
      gid: p?.gid ?? 0,
      euid: p?.euid ?? 0,
      loginuid: p?.loginuid ?? 0xffffffff,
      cpu: 0,
      pidns: alive ? nsInode(pid, 'pid') : 0,
      mntns: facts?.mntns ?? p?.mntns ?? (alive ? nsInode(pid, 'mnt') : 0),
      netns: alive ? nsInode(pid, 'net') : 0,
      vpid: p?.vpid ?? 0,
      comm: p?.name ?? path.basename(exe),
      syscall: 0,
      args: [],
      bigArgs: [],
      strs: [JSON.stringify(d)],
      strFlags: [0],
      strBytes: [],
    };
    const ok = this.sensor.injectRecord(r, (ev) => {
      ev.evt.category = d.evt.type === 'execve' ? 'process' : 'file';
      if (!known && !alive) this.sensor.markExited(pid);
    });
    if (!ok) {
      this.stats.malformed++;
      return;
    }
    this.stats.injected++;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
  }
}
