// Hook plan: which kernel hooks to attach, derived from what consumers need (the `--events`
// families, the event types the loaded rules can match, policies), each with the reasons that
// require it. The plan is data: the sensor attaches and detaches hooks by diffing plans, and
// `vigil status` shows every hook with its reasons. Cheap hooks are preferred: process events
// come from the sched tracepoints, never from execve/clone syscall hooks, and a syscall
// tracepoint is attached only when some consumer needs that syscall.
import { KINDS, KIND_BY_ID, KIND_BY_NAME, FAMILY_EXIT_PROG, type KindInfo, type Family } from './kinds.ts';
import { ENV_MAX, K, KC } from '../abi/layout.ts';
import { VigilError } from '../common/errors.ts';

export interface HookSpec {
  id: string; // stable: 'tp_btf:sched_process_exec', 'syscall:openat'
  tier: 'sched' | 'capability' | 'syscall';
  kind?: number;
  info?: KindInfo;
  prog: string;
  reasons: string[];
}

export interface KindConfig {
  enabled: boolean;
  flags: number;
  argvMax: number;
  /** exec only: environment bytes to capture (proc.env); 0 or absent: none */
  envMax?: number;
  /** with KC.PREFIX_FILTER: raw paths must start with a prefix or end with a suffix (or be undecidable) */
  prefixes?: string[];
  suffixes?: string[];
  /** with KC.PORT_FILTER: destination ports admitted (or a container, with KC.PORT_OR_CONTAINER) */
  ports?: number[];
}

/** A consumer's in-kernel filter for one kind: what every event it needs satisfies. */
export interface KindFilterSpec {
  flags: number;
  prefixes?: string[];
  suffixes?: string[];
  ports?: number[];
}

export interface HookPlan {
  hooks: Map<string, HookSpec>;
  kindCfg: Map<number, KindConfig>;
}

export const ALL_FAMILIES = ['exec', 'file', 'net', 'priv', 'fd', 'caps'] as const;
export type EventFamily = (typeof ALL_FAMILIES)[number];
export const DEFAULT_FAMILIES: EventFamily[] = ['exec', 'file', 'net', 'priv', 'caps'];

/** Which kinds each --events family turns on. close is only in `fd` (it is the costly one). */
function kindsOf(fam: EventFamily): KindInfo[] {
  const by = (f: Family) => KINDS.filter((k) => k.family === f && available(k));
  switch (fam) {
    case 'exec':
      return by('process');
    case 'file':
      return [...by('file'), ...by('fd').filter((k) => k.kind !== K.CLOSE)];
    case 'net':
      return [...by('net'), ...by('fd').filter((k) => k.kind !== K.CLOSE)];
    case 'priv':
      return by('priv');
    case 'fd':
      return by('fd');
    case 'caps':
      return [];
  }
}

/** A syscall kind is available when its syscall exists on this architecture (open, unlink, dup2...
 * have no arm64 syscall: the kind table gives them no number there). */
export function available(info: KindInfo): boolean {
  return info.sched !== undefined || info.nr !== undefined;
}

export class PlanBuilder {
  private plan: HookPlan = { hooks: new Map(), kindCfg: new Map() };

  constructor(
    private readonly argvMax = 4096,
    /** environment bytes per exec when some consumer needs proc.env (needEnv) */
    private readonly envMax = ENV_MAX,
  ) {}

  /**
   * Requires an event kind for a reason (e.g. `--events file`, `rule "Read sensitive file"`), with
   * the consumer's in-kernel filter (none: it needs every event of the kind). Several consumers of
   * one kind get the union of what they need: flags are intersected, path sets are merged, and a
   * consumer without a path filter removes it.
   */
  needKind(info: KindInfo, reason: string, filter?: KindFilterSpec | number): this {
    if (!available(info)) throw new VigilError('VIGIL_E_KERNEL_FEATURE', `event kind ${info.name} has no syscall on this architecture (${process.arch})`);
    const f: KindFilterSpec = typeof filter === 'number' ? { flags: filter } : (filter ?? { flags: 0 });
    const prev = this.plan.kindCfg.get(info.kind);
    let cfg: KindConfig;
    if (!prev) {
      cfg = { enabled: true, flags: f.flags, argvMax: this.argvMax };
      if (f.flags & KC.PREFIX_FILTER) {
        cfg.prefixes = [...(f.prefixes ?? [])];
        cfg.suffixes = [...(f.suffixes ?? [])];
      }
      if (f.flags & KC.PORT_FILTER) cfg.ports = [...(f.ports ?? [])];
    } else {
      cfg = prev;
      const keepPaths = (cfg.flags & KC.PREFIX_FILTER) !== 0 && (f.flags & KC.PREFIX_FILTER) !== 0;
      const keepPorts = (cfg.flags & KC.PORT_FILTER) !== 0 && (f.flags & KC.PORT_FILTER) !== 0;
      // PORT_OR_CONTAINER widens the port filter: two consumers need it if either does
      const orContainer = (cfg.flags | f.flags) & KC.PORT_OR_CONTAINER;
      cfg.flags &= f.flags;
      if (keepPorts) {
        cfg.flags |= orContainer;
        cfg.ports = [...new Set([...(cfg.ports ?? []), ...(f.ports ?? [])])].sort((a, b) => a - b);
      } else {
        cfg.flags &= ~(KC.PORT_FILTER | KC.PORT_OR_CONTAINER);
        delete cfg.ports;
      }
      if (keepPaths) {
        cfg.prefixes = [...new Set([...(cfg.prefixes ?? []), ...(f.prefixes ?? [])])];
        cfg.suffixes = [...new Set([...(cfg.suffixes ?? []), ...(f.suffixes ?? [])])];
      } else {
        delete cfg.prefixes;
        delete cfg.suffixes;
      }
    }
    if (info.forceFlags) cfg.flags |= info.forceFlags;
    this.plan.kindCfg.set(info.kind, cfg);
    let id: string;
    let spec: HookSpec;
    if (info.sched !== undefined) {
      id = `tp_btf:${info.sched}`;
      spec = this.plan.hooks.get(id) ?? { id, tier: 'sched', kind: info.kind, info, prog: info.prog!, reasons: [] };
    } else {
      id = `syscall:${info.name}`;
      const prog = info.prog ?? FAMILY_EXIT_PROG[info.family as Exclude<Family, 'process'>];
      spec = this.plan.hooks.get(id) ?? { id, tier: 'syscall', kind: info.kind, info, prog, reasons: [] };
    }
    if (!spec.reasons.includes(reason)) spec.reasons.push(reason);
    this.plan.hooks.set(id, spec);
    return this;
  }

  needKindByName(name: string, reason: string, filter?: KindFilterSpec | number): boolean {
    const info = KIND_BY_NAME.get(name);
    if (!info || !available(info)) return false;
    this.needKind(info, reason, filter);
    return true;
  }

  needFamilies(fams: EventFamily[]): this {
    for (const f of fams) {
      if (f === 'caps') this.needCaps(`--events caps`);
      for (const k of kindsOf(f)) this.needKind(k, `--events ${f}`);
    }
    return this;
  }

  needCaps(reason: string): this {
    const id = 'tp_btf:cap_capable';
    const spec = this.plan.hooks.get(id) ?? { id, tier: 'capability' as const, prog: 'vgl_cap_capable', reasons: [] };
    if (!spec.reasons.includes(reason)) spec.reasons.push(reason);
    this.plan.hooks.set(id, spec);
    return this;
  }

  /**
   * Captures the environment of every exec (proc.env), up to `max` bytes, for a reason (a rule
   * that reads proc.env, `--capture-env`). Needs the exec hook, whose reasons say why.
   */
  needEnv(reason: string, max = this.envMax): this {
    const info = KIND_BY_ID[K.EXECVE]!;
    this.needKind(info, `proc.env: ${reason}`);
    const cfg = this.plan.kindCfg.get(K.EXECVE)!;
    cfg.envMax = Math.min(ENV_MAX, Math.max(cfg.envMax ?? 0, max));
    return this;
  }

  build(): HookPlan {
    return this.plan;
  }
}

export function parseFamilies(spec: string | undefined): EventFamily[] {
  if (!spec) return [...DEFAULT_FAMILIES];
  const out: EventFamily[] = [];
  for (const raw of spec.split(',')) {
    const f = raw.trim();
    if (!f) continue;
    if (f === 'all') return [...ALL_FAMILIES];
    if (!(ALL_FAMILIES as readonly string[]).includes(f))
      throw new VigilError('VIGIL_E_USAGE', `unknown event family "${f}" (expected ${ALL_FAMILIES.join(', ')}, or all)`);
    out.push(f as EventFamily);
  }
  return out;
}

export { KC };
