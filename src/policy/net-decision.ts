// Decoder of the kernel's network enforcement decisions (VGL_K_NET_DECISION, kind 90, written by
// bpf/enforce_net.bpf.c; arg slots VGL_ND_* in bpf/vigil_abi.h, mirrored as ND in abi.ts).
// Registered with the sensor's kind table (registerKind), so these records are enriched with
// process, container and pod fields like every other kernel record. The record names what decided:
// the policy index, the matched entry (the rule's position among its scope's rules of that
// direction, or the protocol entry), the scope index and the generation of the table the kernel
// held. The names come from the compiled tables of that generation, kept in a small bounded
// history (NetTableHistory): a table replaced after the decision does not change what it reports,
// and nothing is evaluated again here.
import { K, ND, VNET } from '../abi/layout.ts';
import { ipv4, ipv6, registerKind, KIND_BY_ID, type Decoded, type KindInfo, type RawEvent } from '../sensor/kinds.ts';
import type { FieldTree } from '../abi/event.ts';
import { rulesOfDir, type CompiledTables, type NetScope } from './compile.ts';

export const NET_HOOK = { connect: VNET.HOOK_CONNECT, sendmsg: VNET.HOOK_SENDMSG, bind: VNET.HOOK_BIND, sockCreate: VNET.HOOK_SOCK_CREATE } as const;
const HOOK_TYPE: Record<number, string> = { 1: 'connect', 2: 'sendmsg', 3: 'bind', 4: 'socket' };
const ACTION_NAME: Record<number, 'Allow' | 'Audit' | 'Block'> = { 1: 'Allow', 2: 'Audit', 3: 'Block' };
const AF: Record<number, string> = { 2: 'AF_INET', 10: 'AF_INET6', 17: 'AF_PACKET' };
const SOCK_TYPE: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 5: 'SOCK_SEQPACKET', 10: 'SOCK_PACKET' };
const L4: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp' };

/**
 * The compiled tables by generation, newest last, at most `max`: a decision is named from the
 * table that was in force when the kernel made it. Generations are unique per history (they start
 * at 1; 0 is never pushed), so one history serves every sensor of the process.
 */
export class NetTableHistory {
  #byGen = new Map<number, CompiledTables>();
  #next = 1;
  /** decisions whose generation was no longer (or never) in the history */
  unknown = 0;

  constructor(readonly max = 16) {}

  /** Registers tables about to be pushed; returns the generation to stamp them with. */
  add(t: CompiledTables): number {
    const gen = this.#next;
    this.#next = this.#next >= 0xffffffff ? 1 : this.#next + 1;
    this.#byGen.delete(gen);
    this.#byGen.set(gen, t);
    while (this.#byGen.size > this.max) this.#byGen.delete(this.#byGen.keys().next().value!);
    return gen;
  }

  get(gen: number): CompiledTables | undefined {
    return this.#byGen.get(gen);
  }

  get size(): number {
    return this.#byGen.size;
  }
}

/** The history the registered decoder reads (the policy run hook adds to it before every push). */
export const netTables = new NetTableHistory();

/** What a decision record says, from its arg slots. */
export interface NetDecisionSlots {
  action: number;
  policy: number;
  entry: number;
  family: number;
  proto: number;
  port: number;
  hook: number;
  scope: number;
  gen: number;
  socktype: number;
  posture: boolean;
}

function big(r: RawEvent, i: number): bigint {
  return r.bigArgs[i] ?? BigInt.asUintN(64, BigInt(r.args[i] ?? 0));
}

export function netDecisionSlots(r: RawEvent): NetDecisionSlots {
  const pol = big(r, ND.POLICY);
  const scope = big(r, ND.SCOPE);
  const policy = Number(pol & 0xffffn);
  return {
    action: Number(big(r, ND.ACTION) & 0xffn),
    policy,
    entry: Number((pol >> BigInt(ND.ENTRY_SHIFT)) & 0xffffn),
    family: Number(big(r, ND.FAMILY) & 0xffffn),
    proto: Number(big(r, ND.PROTO) & 0xffffffffn),
    port: Number(big(r, ND.PORT) & 0xffffn),
    hook: Number(big(r, ND.HOOK) & 0xffn),
    scope: Number(scope & 0xffffffffn),
    gen: Number(scope >> BigInt(ND.GEN_SHIFT)),
    socktype: Number(big(r, ND.SOCKTYPE) & 0xffffffffn),
    posture: big(r, ND.POSTURE) === 1n || policy === VNET.POLICY_POSTURE,
  };
}

function addrOf(r: RawEvent, family: number): string | undefined {
  if (family === 2) return ipv4(Number(big(r, ND.IP4) & 0xffffffffn));
  if (family === 10) {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(big(r, ND.IP6A), 0);
    b.writeBigUInt64LE(big(r, ND.IP6B), 8);
    return ipv6(b, 0);
  }
  return undefined;
}

function scopeOf(t: CompiledTables | undefined, idx: number): NetScope | undefined {
  const s = t?.net.scopes[idx];
  return s && s.scopeIdx === idx ? s : undefined;
}

/** A scope's rules by direction, in entry order (computed once per scope of a table). */
const byDir = new WeakMap<NetScope, { egress: NetScope['rules']; bind: NetScope['rules'] }>();
function rulesByDir(s: NetScope): { egress: NetScope['rules']; bind: NetScope['rules'] } {
  let d = byDir.get(s);
  if (!d) {
    d = { egress: rulesOfDir(s, 'egress'), bind: rulesOfDir(s, 'bind') };
    byDir.set(s, d);
  }
  return d;
}

/** The label of the entry the kernel reported, when it belongs to the reported policy. */
function entryLabel(s: NetScope | undefined, d: NetDecisionSlots): string | undefined {
  if (!s || d.entry === ND.NO_ENTRY) return undefined;
  const e = d.hook === NET_HOOK.sockCreate ? s.protocols[d.entry] : rulesByDir(s)[d.hook === NET_HOOK.bind ? 'bind' : 'egress'][d.entry];
  return e && e.policy === d.policy ? e.label : undefined;
}

/** Decodes one VGL_K_NET_DECISION record (exported for tests). */
export function decodeNetDecision(r: RawEvent, tables?: CompiledTables): Decoded {
  const n = netDecisionSlots(r);
  const { hook, family, proto, port, socktype } = n;
  const action = ACTION_NAME[n.action] ?? `action${n.action}`;
  let t = tables;
  if (!t) {
    t = netTables.get(n.gen);
    if (!t) netTables.unknown++;
  }
  const scope = scopeOf(t, n.scope);
  const addr = hook === NET_HOOK.sockCreate ? undefined : addrOf(r, family);

  const policy: FieldTree = { action };
  if (n.posture) {
    policy.name = 'DefaultPosture';
    policy.rule = 'posture';
    if (scope && t) {
      const dir = hook === NET_HOOK.bind ? 'bind' : 'egress';
      const idx = new Set(
        hook === NET_HOOK.sockCreate
          ? scope.protocols.filter((p) => p.action === 'Allow').map((p) => p.policy)
          : scope.rules.filter((x) => x.dir === dir && x.action === 'Allow').map((x) => x.policy),
      );
      const names = [...idx].map((i) => t.net.policies[i]).filter((x): x is string => typeof x === 'string');
      if (names.length) policy.allowList = names;
    }
  } else {
    const ref = t?.policies[n.policy];
    policy.name = ref ? ref.name : `policy#${n.policy}`;
    if (ref?.namespace) policy.namespace = ref.namespace;
    if (ref) {
      policy.severity = ref.severity;
      if (ref.message) policy.message = ref.message;
    }
    const rule = entryLabel(scope, n);
    if (rule) policy.rule = rule;
  }
  policy.enforcer = 'cgroup-bpf';

  const res = r.res;
  const arg: FieldTree = { res };
  const rawarg: FieldTree = { res };
  const d: Decoded = { arg, rawarg, policy };
  if (hook === NET_HOOK.sockCreate) {
    arg.domain = AF[family] ?? String(family);
    arg.type = SOCK_TYPE[socktype] ?? String(socktype);
    arg.proto = proto;
    rawarg.domain = family;
    rawarg.type = socktype;
    rawarg.proto = proto;
    d.fd =
      family === 17
        ? { type: 'unknown', typechar: 'o' }
        : {
            type: family === 10 ? 'ipv6' : 'ipv4',
            typechar: family === 10 ? '6' : '4',
            sockfamily: 'ip',
            l4proto: socktype === 3 ? 'raw' : (L4[proto] ?? 'unknown'),
          };
    return d;
  }
  if (!addr) return d;
  const v6 = family === 10;
  const l4proto = L4[proto] ?? 'unknown';
  const any = v6 ? '::' : '0.0.0.0';
  const hostport = `${addr}:${port}`;
  arg.addr = hostport;
  rawarg.addr = hostport;
  if (hook === NET_HOOK.bind) {
    d.fd = {
      type: v6 ? 'ipv6' : 'ipv4',
      typechar: v6 ? '6' : '4',
      sockfamily: 'ip',
      l4proto,
      name: hostport,
      sip: addr,
      sport: port,
      lip: addr,
      lport: port,
      is_server: true,
    };
  } else {
    const tuple = `${any}:0->${hostport}`;
    arg.tuple = tuple;
    rawarg.tuple = tuple;
    d.fd = {
      type: v6 ? 'ipv6' : 'ipv4',
      typechar: v6 ? '6' : '4',
      sockfamily: 'ip',
      l4proto,
      name: tuple,
      cip: any,
      cport: 0,
      sip: addr,
      sport: port,
      rip: addr,
      rport: port,
      is_server: false,
    };
  }
  return d;
}

export const NET_DECISION_KIND: KindInfo = {
  kind: K.NET_DECISION,
  // the kind's name in `vigil status` kernel counters; evt.type always comes from typeOf
  name: 'net_decision',
  typeOf: (r) => HOOK_TYPE[r.args[ND.HOOK] ?? 0] ?? 'connect',
  category: 'net',
  family: 'net',
  decode: (r) => decodeNetDecision(r),
};

/** Registers the decoder once (idempotent: the run hook and tests may both call it). */
export function registerNetDecisionKind(): void {
  if (KIND_BY_ID[K.NET_DECISION]) return;
  registerKind(NET_DECISION_KIND, { byName: false });
}
