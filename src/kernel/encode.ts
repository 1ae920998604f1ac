// Byte encoders of every value the kernel layer writes into a BPF map: keys and values laid out as
// bpf/vigil_abi.h declares them (offsets from the TypeScript mirror), returned as Buffers. Pure
// functions: the map-write functions (commands.ts) hex them into loader commands, and unit tests
// check them byte for byte.
import { VigilError } from '../common/errors.ts';
import { KIND_CFG, PF, PF_CFG, PFX_KEY, SFX_KEY, VNET, VNET_RULE, VNET_SCOPE } from '../abi/layout.ts';

export function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/** A u64 key given as decimal text or bigint (cgroup ids do not fit a double). */
export function u64le(v: string | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** The kind_cfg value of one kind (struct vgl_kind_cfg). */
export interface KindCfgValue {
  enabled: boolean;
  flags: number;
  argvMax: number;
  envMax?: number;
}

export function kindCfgValue(c: KindCfgValue): Buffer {
  const b = Buffer.alloc(KIND_CFG.size);
  b.writeUInt32LE(c.enabled ? 1 : 0, KIND_CFG.enabled);
  b.writeUInt32LE(c.flags >>> 0, KIND_CFG.flags);
  b.writeUInt32LE(c.argvMax >>> 0, KIND_CFG.argv_max);
  b.writeUInt32LE((c.envMax ?? 0) >>> 0, KIND_CFG.env_max);
  return b;
}

/** struct vgl_pfx_key: u32 prefixlen (bits), kind big-endian, path bytes (at most PF.PFX) */
export function pfxKey(kind: number, prefix: string): Buffer {
  const p = Buffer.from(prefix).subarray(0, PF.PFX);
  const b = Buffer.alloc(PFX_KEY.size);
  b.writeUInt32LE(16 + 8 * p.length, PFX_KEY.prefixlen);
  b.writeUInt16BE(kind, PFX_KEY.data);
  p.copy(b, PFX_KEY.data + 2);
  return b;
}

/** The bytes of a suffix the kernel compares: its last PF.SFX bytes (empty: not representable). */
export function sfxTail(suffix: string): Buffer {
  return Buffer.from(suffix).subarray(-PF.SFX);
}

/** struct vgl_sfx_key: u16 kind, u16 len, the last len bytes zero padded to PF.SFX */
export function sfxKey(kind: number, suffix: string): Buffer {
  const tail = sfxTail(suffix);
  const b = Buffer.alloc(SFX_KEY.size);
  b.writeUInt16LE(kind, SFX_KEY.kind);
  b.writeUInt16LE(tail.length, SFX_KEY.len);
  tail.copy(b, SFX_KEY.s);
  return b;
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
  const sfx = suffixes.map(sfxTail).filter((b) => b.length > 0);
  const lens = [...new Set(sfx.map((b) => b.length))].sort((a, b) => a - b);
  if (lens.length > PF.NLENS) {
    // more distinct suffix lengths than the kernel tries: refuse rather than filter unsoundly
    throw new VigilError('VIGIL_E_INTERNAL', `${lens.length} distinct suffix lengths (max ${PF.NLENS})`);
  }
  v[PF_CFG.nlens] = lens.length;
  lens.forEach((l, i) => {
    v[PF_CFG.lens + i] = l;
  });
  let flags = 0;
  const heads = preCheck(
    prefixes.map((x) => Buffer.from(x).subarray(0, PF.PFX)),
    (b, n) => b.subarray(0, n),
    PF.NHEADS,
  );
  if (heads) {
    flags |= PF.HEADS;
    v[PF_CFG.nheads] = heads.words.length;
    v[PF_CFG.headlen] = heads.len;
    heads.words.forEach((h, i) => {
      h.copy(v, PF_CFG.heads + i * 8);
    });
  }
  const tails = preCheck(sfx, (b, n) => b.subarray(b.length - n), PF.NTAILS);
  if (tails) {
    flags |= PF.TAILS;
    v[PF_CFG.ntails] = tails.words.length;
    v[PF_CFG.taillen] = tails.len;
    tails.words.forEach((t, i) => {
      t.copy(v, PF_CFG.tails + i * 8);
    });
  }
  v[PF_CFG.flags] = flags;
  return v;
}

/** net_ports key: (kind << 16) | port (VGL_PORT_KEY) */
export function portKey(kind: number, port: number): Buffer {
  return u32le(((kind << 16) | (port & 0xffff)) >>> 0);
}

/** One struct vnet_rule, in kernel terms. */
export interface VnetRuleValue {
  /** the rule's network, absent for any address: family 4 or 6, the address bytes, the prefix length */
  cidr?: { family: 4 | 6; bytes: ArrayLike<number>; prefix: number };
  /** 0 any, 6 tcp, 17 udp */
  proto: number;
  /** VNET.A_* */
  action: number;
  /** VNET.DIR_* */
  dir: number;
  portLo: number;
  portHi: number;
  policy: number;
  /** position among the scope's rules of the same direction (reported by decisions) */
  entry: number;
}

/** One struct vnet_scope, in kernel terms. */
export interface VnetScopeValue {
  /** postures (0 none, VNET.A_AUDIT, VNET.A_BLOCK) */
  postureEgress: number;
  postureBind: number;
  postureProto: number;
  scopeIdx: number;
  /** generation of the table (0 until a push stamps it: netScopeWithGeneration) */
  gen?: number;
  /** per protocol class (VNET.C_*): action, policy index and entry position */
  protocols: Array<{ cls: number; action: number; policy: number; entry: number }>;
  rules: VnetRuleValue[];
}

export function netScopeValue(s: VnetScopeValue): Buffer {
  if (s.rules.length > VNET.MAX_RULES) throw new VigilError('VIGIL_E_INTERNAL', `${s.rules.length} network rules in one scope (max ${VNET.MAX_RULES})`);
  const S = VNET_SCOPE;
  const R = VNET_RULE;
  const buf = Buffer.alloc(S.size);
  buf.writeUInt32LE(s.rules.length, S.n);
  buf.writeUInt8(s.postureEgress, S.posture_egress);
  buf.writeUInt8(s.postureBind, S.posture_bind);
  buf.writeUInt8(s.postureProto, S.posture_proto);
  buf.writeUInt32LE(s.scopeIdx >>> 0, S.scope_idx);
  buf.writeUInt32LE((s.gen ?? 0) >>> 0, S.gen);
  for (const p of s.protocols) {
    buf.writeUInt8(p.action, S.proto_action + p.cls);
    buf.writeUInt16LE(p.policy, S.proto_policy + p.cls * 2);
    buf.writeUInt8(p.entry, S.proto_entry + p.cls);
  }
  s.rules.forEach((r, i) => {
    const o = S.rules + i * R.size;
    if (r.cidr) {
      const c = r.cidr;
      for (let b = 0; b < c.bytes.length; b++) {
        buf.writeUInt8(c.bytes[b]!, o + R.net + b);
        const bits = Math.max(0, Math.min(8, c.prefix - b * 8));
        buf.writeUInt8(bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff, o + R.mask + b);
      }
      buf.writeUInt8(c.family === 4 ? 2 : 10, o + R.family); // AF_INET, AF_INET6
    }
    buf.writeUInt8(r.proto, o + R.proto);
    buf.writeUInt8(r.action, o + R.action);
    buf.writeUInt8(r.dir, o + R.dir);
    buf.writeUInt16LE(r.portLo, o + R.port_lo);
    buf.writeUInt16LE(r.portHi, o + R.port_hi);
    buf.writeUInt16LE(r.policy, o + R.policy);
    buf.writeUInt16LE(r.entry, o + R.entry);
  });
  return buf;
}

/** A copy of an encoded vnet_scope with its generation set (what a push writes). */
export function netScopeWithGeneration(value: Buffer, gen: number): Buffer {
  if (value.length !== VNET_SCOPE.size) throw new VigilError('VIGIL_E_INTERNAL', `vnet_scope value of ${value.length} bytes (expected ${VNET_SCOPE.size})`);
  const b = Buffer.from(value);
  b.writeUInt32LE(gen >>> 0, VNET_SCOPE.gen);
  return b;
}
