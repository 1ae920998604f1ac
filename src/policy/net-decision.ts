// Decoder of the kernel's network enforcement decisions (VGL_K_NET_DECISION, kind 90, written by
// bpf/enforce_net.bpf.c; args documented at the top of that file). Registered with the sensor's
// kind table (registerKind), so these records are enriched with process, container and pod fields
// like every other kernel record. The record only says which policy index, scope index and
// action applied; the matched entry (`policy.rule`) is found again here by re-evaluating the
// scope's rules of the compiled tables the decision was made with (setNetDecisionTables).
import { K } from '../sensor/abi.ts';
import { A as SLOTS } from '../abi/kinds.gen.ts';
import { ipv4, ipv6, registerKind, KIND_BY_ID, type Decoded, type KindInfo, type RawEvent } from '../sensor/kinds.ts';
import type { FieldTree } from '../sensor/event.ts';
import { NET_POLICY_POSTURE, type CompiledTables, type NetRuleRow, type NetScope } from './compile.ts';
import { parseCidr } from './validate.ts';

export const NET_HOOK = { connect: 1, sendmsg: 2, bind: 3, sockCreate: 4 } as const;
const HOOK_TYPE: Record<number, string> = { 1: 'connect', 2: 'sendmsg', 3: 'bind', 4: 'socket' };
const ACTION_NAME: Record<number, 'Allow' | 'Audit' | 'Block'> = { 1: 'Allow', 2: 'Audit', 3: 'Block' };
const AF: Record<number, string> = { 2: 'AF_INET', 10: 'AF_INET6', 17: 'AF_PACKET' };
const SOCK_TYPE: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 5: 'SOCK_SEQPACKET', 10: 'SOCK_PACKET' };
const L4: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp' };

/** The record's arg slots (the kind table's NET_DECISION row; bpf/enforce_net.bpf.c fills them). */
const A = SLOTS.NET_DECISION;

let current: CompiledTables | undefined;

/** The tables currently pushed to the enforcers (the policy run hook calls this after every push). */
export function setNetDecisionTables(t: CompiledTables | undefined): void {
  current = t;
}

function addrOf(r: RawEvent, family: number): { text: string; bytes: Buffer } | undefined {
  if (family === 2) {
    const v = Number(BigInt.asUintN(32, r.bigArgs[A.ip4] ?? 0n));
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return { text: ipv4(v), bytes: b };
  }
  if (family === 10) {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(BigInt.asUintN(64, r.bigArgs[A.ip6a] ?? 0n), 0);
    b.writeBigUInt64LE(BigInt.asUintN(64, r.bigArgs[A.ip6b] ?? 0n), 8);
    return { text: ipv6(b, 0), bytes: b };
  }
  return undefined;
}

function cidrContains(cidr: string, family: number, bytes: Buffer): boolean {
  if (cidr === 'any') return true;
  const c = parseCidr(cidr);
  if (!c) return false;
  if ((c.family === 4 ? 2 : 10) !== family) return false;
  for (let bit = 0; bit < c.prefix; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((c.bytes[i]! & m) !== (bytes[i]! & m)) return false;
  }
  return true;
}

function scopeOf(t: CompiledTables | undefined, idx: number, cgroupId: bigint): NetScope | undefined {
  if (!t) return undefined;
  const s = t.net.scopes[idx];
  if (s && s.scopeIdx === idx) return s;
  return t.net.scopes.find((x) => x.cgroupId === cgroupId.toString());
}

/** The entry a decision came from: re-evaluates the scope's rows as the BPF program did. */
function matchedRule(s: NetScope | undefined, hook: number, action: string, policy: number, family: number, proto: number, port: number, bytes: Buffer | undefined, socktype: number): string | undefined {
  if (!s) return undefined;
  if (hook === NET_HOOK.sockCreate) {
    const classes: string[] = [];
    if (family === 17) classes.push('raw');
    else {
      if (proto === 1 || proto === 58) classes.push('icmp');
      else if (socktype === 1 && (proto === 0 || proto === 6)) classes.push('tcp');
      else if (socktype === 2 && (proto === 0 || proto === 17)) classes.push('udp');
      if (socktype === 3) classes.push('raw');
    }
    return s.protocols.find((p) => p.policy === policy && p.action === action && classes.includes(p.protocol))?.label;
  }
  const dir: NetRuleRow['dir'] = hook === NET_HOOK.bind ? 'bind' : 'egress';
  const l4 = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : 'other';
  const hit = s.rules.find(
    (r) =>
      r.dir === dir &&
      r.policy === policy &&
      r.action === action &&
      port >= r.ports[0] &&
      port <= r.ports[1] &&
      (r.protocol === 'any' || r.protocol === l4) &&
      (bytes === undefined || cidrContains(r.cidr, family, bytes)),
  );
  return hit?.label;
}

/** Decodes one VGL_K_NET_DECISION record (exported for tests). */
export function decodeNetDecision(r: RawEvent, tables: CompiledTables | undefined = current): Decoded {
  const a = (i: number) => r.args[i] ?? 0;
  const hook = a(A.hook);
  const family = a(A.family);
  const proto = a(A.proto);
  const port = a(A.port) & 0xffff;
  const socktype = a(A.socktype);
  const actionNum = a(A.action);
  const action = ACTION_NAME[actionNum] ?? `action${actionNum}`;
  const pidx = a(A.policy) & 0xffff;
  const posture = a(A.posture) === 1 || pidx === NET_POLICY_POSTURE;
  const scope = scopeOf(tables, a(A.scope), r.cgroupId);
  const addr = hook === NET_HOOK.sockCreate ? undefined : addrOf(r, family);

  const policy: FieldTree = { action };
  if (posture) {
    policy.name = 'DefaultPosture';
    policy.rule = 'posture';
    if (scope && tables) {
      const dir = hook === NET_HOOK.bind ? 'bind' : 'egress';
      const idx = new Set(hook === NET_HOOK.sockCreate ? scope.protocols.filter((p) => p.action === 'Allow').map((p) => p.policy) : scope.rules.filter((x) => x.dir === dir && x.action === 'Allow').map((x) => x.policy));
      const names = [...idx].map((i) => tables.net.policies[i]).filter((n): n is string => typeof n === 'string');
      if (names.length) policy.allowList = names;
    }
  } else {
    const ref = tables?.policies[pidx];
    policy.name = ref ? ref.name : `policy#${pidx}`;
    if (ref?.namespace) policy.namespace = ref.namespace;
    if (ref) {
      policy.severity = ref.severity;
      if (ref.message) policy.message = ref.message;
    }
    const rule = matchedRule(scope, hook, action, pidx, family, proto, port, addr?.bytes, socktype);
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
    d.fd = family === 17 ? { type: 'unknown', typechar: 'o' } : { type: family === 10 ? 'ipv6' : 'ipv4', typechar: family === 10 ? '6' : '4', sockfamily: 'ip', l4proto: socktype === 3 ? 'raw' : (L4[proto] ?? 'unknown') };
    return d;
  }
  if (!addr) return d;
  const v6 = family === 10;
  const l4proto = L4[proto] ?? 'unknown';
  const any = v6 ? '::' : '0.0.0.0';
  const hostport = `${addr.text}:${port}`;
  arg.addr = hostport;
  rawarg.addr = hostport;
  if (hook === NET_HOOK.bind) {
    d.fd = { type: v6 ? 'ipv6' : 'ipv4', typechar: v6 ? '6' : '4', sockfamily: 'ip', l4proto, name: hostport, sip: addr.text, sport: port, lip: addr.text, lport: port, is_server: true };
  } else {
    const tuple = `${any}:0->${hostport}`;
    arg.tuple = tuple;
    rawarg.tuple = tuple;
    d.fd = { type: v6 ? 'ipv6' : 'ipv4', typechar: v6 ? '6' : '4', sockfamily: 'ip', l4proto, name: tuple, cip: any, cport: 0, sip: addr.text, sport: port, rip: addr.text, rport: port, is_server: false };
  }
  return d;
}

export const NET_DECISION_KIND: KindInfo = {
  kind: K.NET_DECISION,
  // the kind's name in `vigil status` kernel counters; evt.type always comes from typeOf
  name: 'net_decision',
  typeOf: (r) => HOOK_TYPE[r.args[A.hook] ?? 0] ?? 'connect',
  category: 'net',
  family: 'net',
  decode: (r) => decodeNetDecision(r),
};

/** Registers the decoder once (idempotent: the run hook and tests may both call it). */
export function registerNetDecisionKind(): void {
  if (KIND_BY_ID[K.NET_DECISION]) return;
  registerKind(NET_DECISION_KIND, { byName: false });
}
