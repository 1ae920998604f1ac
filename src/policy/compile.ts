// Policy compiler: validated policies + the current workloads -> decision tables for the two
// enforcers. The fanotify table is the line-based text documented in native/fanotify_enforcer.h;
// the network rules are one binary value per container cgroup for the `vnet_scopes` map of
// bpf/enforce_net.bpf.c (struct vnet_scope in bpf/vigil_abi.h, encoded by src/kernel/encode.ts),
// plus the same data as text (`netx 1` format) for native/tools/netx-run and for humans. Each
// rule's `entry` (its position among the scope's rules of its direction) and each protocol
// class's position are written into the value: a decision reports them, and the decision decoder
// names the rule from these tables (net-decision.ts).
// Compilation is pure and deterministic: the same inputs give byte-identical tables, which is how
// tests prove that a KubeArmorPolicy and its VigilPolicy twin mean the same thing.
import { VigilError } from '../common/errors.ts';
import { VNET, VNET_RULE, VNET_SCOPE } from '../abi/layout.ts';
import { netScopeValue, type VnetScopeValue } from '../kernel/encode.ts';
import { parseCidr } from '../common/cidr.ts';
import type { Action, AddrEntry, CompileOptions, NormPolicy, PathEntry, Posture, PostureConfig, ProtoClass, Workload } from './model.ts';

/** Layout of struct vnet_scope / struct vnet_rule (bpf/vigil_abi.h; the mirror is src/abi/layout.ts, checked by a test against BTF). */
export const NET_LAYOUT = {
  maxRules: VNET.MAX_RULES,
  ruleSize: VNET_RULE.size,
  scopeSize: VNET_SCOPE.size,
  rule: {
    net: VNET_RULE.net,
    mask: VNET_RULE.mask,
    family: VNET_RULE.family,
    proto: VNET_RULE.proto,
    action: VNET_RULE.action,
    dir: VNET_RULE.dir,
    portLo: VNET_RULE.port_lo,
    portHi: VNET_RULE.port_hi,
    policy: VNET_RULE.policy,
    entry: VNET_RULE.entry,
  },
  scope: {
    n: VNET_SCOPE.n,
    postureEgress: VNET_SCOPE.posture_egress,
    postureBind: VNET_SCOPE.posture_bind,
    postureProto: VNET_SCOPE.posture_proto,
    flags: VNET_SCOPE.flags,
    scopeIdx: VNET_SCOPE.scope_idx,
    protoAction: VNET_SCOPE.proto_action,
    protoPolicy: VNET_SCOPE.proto_policy,
    gen: VNET_SCOPE.gen,
    protoEntry: VNET_SCOPE.proto_entry,
    rules: VNET_SCOPE.rules,
  },
} as const;
export const NET_ACTION = { Allow: VNET.A_ALLOW, Audit: VNET.A_AUDIT, Block: VNET.A_BLOCK } as const;
export const NET_POSTURE = { none: 0, audit: VNET.A_AUDIT, block: VNET.A_BLOCK } as const;
export const NET_DIR = { egress: VNET.DIR_EGRESS, bind: VNET.DIR_BIND } as const;
export const NET_PROTO_CLASS: Record<ProtoClass, number> = { tcp: VNET.C_TCP, udp: VNET.C_UDP, icmp: VNET.C_ICMP, raw: VNET.C_RAW };
export const NET_POLICY_POSTURE = VNET.POLICY_POSTURE;
/** Key of the host pseudo-scope in vnet_scopes (host processes: no container scope, host mount namespace). */
export const NET_HOST_KEY = '0';

export interface PolicyRef {
  index: number;
  name: string;
  namespace?: string;
  kind: string;
  action: Action;
  severity: number;
  message: string;
}

export interface NetRuleRow {
  dir: 'egress' | 'bind';
  cidr: string; // "any" when absent
  ports: [number, number];
  protocol: 'tcp' | 'udp' | 'any';
  action: Action;
  policy: number;
  label: string;
}

export interface NetScope {
  /** cgroup v2 id of the container (decimal), or "0" for the host pseudo-scope. */
  cgroupId: string;
  workload: string;
  scopeIdx: number;
  postures: { egress: Posture | 'none'; bind: Posture | 'none'; proto: Posture | 'none' };
  rules: NetRuleRow[];
  protocols: Array<{ protocol: ProtoClass; action: Action; policy: number; label: string }>;
  /** struct vnet_scope bytes, hex: the value to store at key cgroupId (u64) in map vnet_scopes. */
  valueHex: string;
}

export interface NetRuleSet {
  version: 1;
  /** Policy names by index (the `policy` field of VGL_K_NET_DECISION records). */
  policies: string[];
  scopes: NetScope[];
  /** `netx 1` text: "scope <cgroup-id> <value-hex> <name>" lines, then "end". */
  text: string;
}

export interface CompiledScope {
  workload: string;
  policies: string[];
  fanotifyScope?: number;
  netCgroupId?: string;
}

export interface CompiledTables {
  policies: PolicyRef[];
  fanotify: string;
  net: NetRuleSet;
  scopes: CompiledScope[];
  warnings: string[];
}

const CONTAINER_NAME_LABELS = ['vigil.dev/container.name', 'kubearmor.io/container.name'];

export function policyId(p: Pick<NormPolicy, 'name' | 'namespace'>): string {
  return p.namespace ? `${p.namespace}/${p.name}` : p.name;
}

/** Whether policy `p` selects workload `w` (KubeArmor selector semantics, see docs/policy.md). */
export function selects(p: NormPolicy, w: Workload, opts: CompileOptions = {}): boolean {
  if (p.selector.host) {
    if (!w.host) return false;
    if (p.kind !== 'KubeArmorHostPolicy') return true;
    const hl = opts.hostLabels ?? {};
    return Object.entries(p.selector.matchLabels).every(([k, v]) => hl[k] === v);
  }
  if (w.host) return false;
  if (p.namespace && p.namespace !== w.namespace) return false;
  const bag: Record<string, string> = { ...(w.annotations ?? {}), ...(w.labels ?? {}) };
  for (const k of CONTAINER_NAME_LABELS) bag[k] = w.name;
  return Object.entries(p.selector.matchLabels).every(([k, v]) => bag[k] === v);
}

function posture(opts: CompileOptions, ns: string | undefined): PostureConfig {
  const base: PostureConfig = { file: 'audit', network: 'audit', capabilities: 'audit' };
  const apply = (x: Posture | Partial<PostureConfig> | undefined) => {
    if (!x) return;
    if (typeof x === 'string') {
      base.file = base.network = base.capabilities = x;
    } else Object.assign(base, Object.fromEntries(Object.entries(x).filter(([, v]) => v)));
  };
  apply(opts.defaultPosture);
  if (ns) apply(opts.namespacePosture?.[ns]);
  return base;
}

/** %-encodes a token of the fanotify table (see the header of native/fanotify_enforcer.h). */
export function tok(s: string): string {
  if (s === '') return '-';
  if (s === '-') return '%2D';
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b <= 0x20 || b >= 0x7f || b === 0x25 || b === 0x2c) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

function pathRuleLine(sid: number, op: 'exec' | 'open', e: PathEntry, pidx: number): string {
  const match = e.match === 'dir' ? (e.recursive ? 'rdir' : 'dir') : e.match;
  const from = e.fromSource.length ? e.fromSource.map(tok).join(',') : '-';
  return `rule ${sid} ${op} ${match} ${e.action.toLowerCase()} ${e.readOnly && op === 'open' ? 'ro' : 'rw'} ${pidx} ${tok(e.label)} ${tok(e.target)} ${from}`;
}

/** The kernel value of a scope: rules numbered by their position within their direction. */
function netScopeOf(s: Omit<NetScope, 'valueHex'>): VnetScopeValue {
  const seen = { egress: 0, bind: 0 };
  return {
    postureEgress: NET_POSTURE[s.postures.egress],
    postureBind: NET_POSTURE[s.postures.bind],
    postureProto: NET_POSTURE[s.postures.proto],
    scopeIdx: s.scopeIdx,
    protocols: s.protocols.map((p, entry) => ({ cls: NET_PROTO_CLASS[p.protocol], action: NET_ACTION[p.action], policy: p.policy, entry })),
    rules: s.rules.map((r) => {
      const c = r.cidr === 'any' ? undefined : parseCidr(r.cidr)!;
      return {
        ...(c ? { cidr: { family: c.family, bytes: c.bytes, prefix: c.prefix } } : {}),
        proto: r.protocol === 'tcp' ? 6 : r.protocol === 'udp' ? 17 : 0,
        action: NET_ACTION[r.action],
        dir: NET_DIR[r.dir],
        portLo: r.ports[0],
        portHi: r.ports[1],
        policy: r.policy,
        entry: seen[r.dir]++,
      };
    }),
  };
}

/** The rules of one direction in entry order (what a decision's entry indexes). */
export function rulesOfDir(s: NetScope, dir: NetRuleRow['dir']): NetRuleRow[] {
  return s.rules.filter((r) => r.dir === dir);
}

const ACTION_RANK: Record<Action, number> = { Block: 3, Allow: 2, Audit: 1 };

function cgroupIdOf(w: Workload): string | undefined {
  if (w.cgroupId === undefined || w.cgroupId === null || w.cgroupId === '') return undefined;
  return BigInt(w.cgroupId).toString();
}

/** Compiles the active policies for the given workloads. Throws VIGIL_E_POLICY when a workload needs more than the BPF map holds. */
export function compile(policiesIn: NormPolicy[], workloads: Workload[], opts: CompileOptions = {}): CompiledTables {
  const policies = [...policiesIn].sort((a, b) => policyId(a).localeCompare(policyId(b)));
  const refs: PolicyRef[] = policies.map((p, index) => ({
    index,
    name: p.name,
    namespace: p.namespace,
    kind: p.kind,
    action: p.action,
    severity: p.severity,
    message: p.message,
  }));
  const warnings: string[] = [];
  const fan: string[] = ['fanx 1', '# generated by src/policy/compile.ts'];
  policies.forEach((p, i) => {
    fan.push(`policy ${i} ${tok(p.name)} ${p.action} ${p.severity} ${tok(p.message)}`);
  });
  const fanRules: string[] = [];
  const netScopes: NetScope[] = [];
  const scopes: CompiledScope[] = [];
  const sorted = [...workloads].sort((a, b) => (a.host === b.host ? a.id.localeCompare(b.id) : a.host ? -1 : 1));
  let sid = 0;
  for (const w of sorted) {
    const sel = policies.map((p, i) => ({ p, i })).filter(({ p }) => selects(p, w, opts));
    if (sel.length === 0) continue;
    const post = posture(opts, w.namespace);
    const cs: CompiledScope = { workload: w.id, policies: sel.map(({ p }) => policyId(p)) };
    scopes.push(cs);
    // ---- fanotify (process + file) ----
    const exec = sel.flatMap(({ p, i }) => p.process.map((e) => ({ e, i })));
    const open = sel.flatMap(({ p, i }) => p.file.map((e) => ({ e, i })));
    if (exec.length + open.length > 0) {
      const mark = w.host ? '/' : w.rootPid ? `/proc/${w.rootPid}/root` : undefined;
      if (!mark) {
        warnings.push(`workload ${w.name} (${w.id}): no root pid known, file/process rules not enforced`);
      } else {
        const key = w.host ? 'host' : w.mntns ? `mntns:${w.mntns}` : cgroupIdOf(w) ? `cgroup:${cgroupIdOf(w)}` : `id:${w.id}`;
        const ep = exec.some(({ e }) => e.action === 'Allow') ? post.file : 'none';
        const op = open.some(({ e }) => e.action === 'Allow') ? post.file : 'none';
        fan.push(`scope ${sid} ${tok(mark)} ${tok(key)} ${ep} ${op} ${tok(w.name)}`);
        for (const { e, i } of exec) fanRules.push(pathRuleLine(sid, 'exec', e, i));
        for (const { e, i } of open) fanRules.push(pathRuleLine(sid, 'open', e, i));
        cs.fanotifyScope = sid;
        sid++;
      }
    }
    // ---- network (cgroup BPF) ----
    const addr = (dir: 'egress' | 'bind', list: Array<{ e: AddrEntry; i: number }>): NetRuleRow[] =>
      list.flatMap(({ e, i }) =>
        (e.ports.length ? e.ports : [[0, 65535] as [number, number]]).map((ports) => ({
          dir,
          cidr: e.cidr ?? 'any',
          ports,
          protocol: e.protocol ?? 'any',
          action: e.action,
          policy: i,
          label: e.label,
        })),
      );
    const egress = sel.flatMap(({ p, i }) => p.egress.map((e) => ({ e, i })));
    const bind = sel.flatMap(({ p, i }) => p.bind.map((e) => ({ e, i })));
    const protos = sel.flatMap(({ p, i }) => p.protocols.map((e) => ({ e, i })));
    if (egress.length + bind.length + protos.length > 0) {
      const cg = w.host ? NET_HOST_KEY : cgroupIdOf(w);
      if (!cg) {
        warnings.push(`workload ${w.name} (${w.id}): no cgroup id known, network rules not enforced`);
      } else {
        const rules = [...addr('egress', egress), ...addr('bind', bind)];
        if (rules.length > NET_LAYOUT.maxRules) {
          throw new VigilError(
            'VIGIL_E_POLICY',
            `workload ${w.name} (${w.id}) needs ${rules.length} network rules; the enforcer holds ${NET_LAYOUT.maxRules} per container`,
          );
        }
        const pmap = new Map<ProtoClass, { protocol: ProtoClass; action: Action; policy: number; label: string }>();
        for (const { e, i } of protos) {
          const prev = pmap.get(e.protocol);
          if (!prev || ACTION_RANK[e.action] > ACTION_RANK[prev.action])
            pmap.set(e.protocol, { protocol: e.protocol, action: e.action, policy: i, label: e.label });
        }
        const hasAllow = (l: Array<{ e: { action: Action } }>) => l.some(({ e }) => e.action === 'Allow');
        const ns: Omit<NetScope, 'valueHex'> = {
          cgroupId: cg,
          workload: w.id,
          scopeIdx: netScopes.length,
          postures: {
            egress: hasAllow(egress) ? post.network : 'none',
            bind: hasAllow(bind) ? post.network : 'none',
            proto: hasAllow(protos) ? post.network : 'none',
          },
          rules,
          protocols: [...pmap.values()].sort((a, b) => NET_PROTO_CLASS[a.protocol] - NET_PROTO_CLASS[b.protocol]),
        };
        netScopes.push({ ...ns, valueHex: netScopeValue(netScopeOf(ns)).toString('hex') });
        cs.netCgroupId = cg;
      }
    }
  }
  fan.push(...fanRules, 'end', '');
  const netText = ['netx 1', ...netScopes.map((s) => `scope ${s.cgroupId} ${s.valueHex} ${tok(s.workload)}`), 'end', ''].join('\n');
  return {
    policies: refs,
    fanotify: fan.join('\n'),
    net: { version: 1, policies: policies.map(policyId), scopes: netScopes, text: netText },
    scopes,
    warnings,
  };
}
