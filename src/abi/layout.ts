// The TypeScript mirror of bpf/vigil_abi.h: offsets and sizes of the records that cross from the
// kernel (through the loader's pipe) into Node. tests/unit/abi/layout.test.ts compiles a probe
// against the C header and checks every constant here against it, so the two cannot drift apart.
// Kind ids and arg slots are generated from the kind table (src/abi/kinds.gen.ts).

export const ABI_VERSION = 3;
export const COMM_LEN = 16;
export const NARGS = 12;
export const ARGV_MAX = 4096;
export const ENV_MAX = 4096;

export const FRAME = { len: 0, kind: 4, flags: 6, size: 8 } as const;

/** struct vgl_event field offsets */
export const EV = {
  ts: 8,
  cgroup_id: 16,
  res: 24,
  pid: 32,
  tid: 36,
  ppid: 40,
  uid: 44,
  gid: 48,
  euid: 52,
  loginuid: 56,
  cpu: 60,
  pidns: 64,
  mntns: 68,
  netns: 72,
  vpid: 76,
  comm: 80,
  nstr: 96,
  syscall: 98,
  args: 104,
  size: 200,
} as const;

export const STR_HDR = 4; // struct vgl_str { u16 len; u16 flags; }

export const F_TRUNCATED = 1 << 0;
export const F_THREAD = 1 << 1;
export const F_POLICY = 1 << 2;
export const S_TRUNCATED = 1 << 0;
export const S_FAULT = 1 << 1;

/** Event kinds (enum vgl_kind), generated from the kind table (src/abi/kinds-table.ts). */
export { K } from './kinds.gen.ts';
import { A as GEN_SLOTS } from './kinds.gen.ts';

/** exec args indices */
export const EXEC_A = {
  EGID: 0,
  TTY: 1,
  CAP_EFF: 2,
  CAP_PRM: 3,
  CAP_INH: 4,
  EXE_INO: 5,
  EXE_CTIME: 6,
  EXE_MTIME: 7,
  EXE_FLAGS: 8,
  START: 9,
  SID_PGID: 10,
  ARGV_TOTAL: 11,
} as const;
export const EXE_MEMFD = 1 << 0;
export const EXE_UPPER = 1 << 1;
export const EXE_WRITABLE = 1 << 2;
export const EXE_LOWER = 1 << 4;

export const FD_A = { TYPE: 6, FAMPROTO: 7, PORTS: 8, LADDR: 9, RADDR: 10, INO: 11 } as const;

export const FDT = {
  UNKNOWN: 0,
  FILE: 1,
  DIRECTORY: 2,
  IPV4: 3,
  IPV6: 4,
  UNIX: 5,
  PIPE: 6,
  EVENT: 7,
  SIGNALFD: 8,
  EVENTPOLL: 9,
  INOTIFY: 10,
  TIMERFD: 11,
  NETLINK: 12,
  MEMFD: 13,
  CHAR: 14,
  BLOCK: 15,
  BPF: 16,
  OTHER_SOCK: 17,
} as const;

/** struct vgl_stats: 4 u64 then 4 arrays of K.MAX u64 */
export const STATS = {
  ringbuf_drops: 0,
  events_read: 8,
  bytes_read: 16,
  ncpu: 24,
  seen: 32,
  filtered: 32 + 8 * 128,
  emitted: 32 + 16 * 128,
  dropped: 32 + 24 * 128,
  size: 32 + 32 * 128,
} as const;

/** struct vgl_cap_rec */
export const CAPREC = { pid: 0, cap: 4, granted: 8, denied: 16, last_ts: 24, cgroup_id: 32, mntns: 40, size: 48 } as const;

/** struct vgl_kind_cfg (value of the kind_cfg map) */
export const KIND_CFG = { enabled: 0, flags: 4, argv_max: 8, env_max: 12, size: 16 } as const;

/** In-kernel path filter (see vigil_abi.h): sizes and flags (VGL_PF_*), and the layouts of
 * struct vgl_pf_cfg (per kind), vgl_pfx_key (LPM trie key) and vgl_sfx_key (suffix hash key). */
export const PF = { SCAN: 256, PFX: 64, SFX: 32, NLENS: 8, HEAD: 8, NHEADS: 16, NTAILS: 16, HEADS: 1 << 0, TAILS: 1 << 1 } as const;
export const PF_CFG = { nlens: 0, lens: 1, flags: 9, nheads: 10, ntails: 11, headlen: 12, taillen: 13, heads: 16, tails: 144, size: 272 } as const;
export const PFX_KEY = { prefixlen: 0, data: 4, size: 72 } as const;
export const SFX_KEY = { kind: 0, len: 2, s: 4, size: 36 } as const;
export const KC = {
  ONLY_CONTAINERS: 1 << 0,
  ONLY_FAILED: 1 << 1,
  ONLY_SUCCESS: 1 << 2,
  ONLY_WRITE: 1 << 3,
  PREFIX_FILTER: 1 << 4,
  PORT_FILTER: 1 << 5,
  PORT_OR_CONTAINER: 1 << 6,
} as const;

/** Network enforcement (vigil_abi.h VNET_*): limits, actions, directions, protocol classes, hooks. */
export const VNET = {
  MAX_RULES: 32,
  A_ALLOW: 1,
  A_AUDIT: 2,
  A_BLOCK: 3,
  DIR_EGRESS: 1,
  DIR_BIND: 2,
  C_TCP: 1,
  C_UDP: 2,
  C_ICMP: 3,
  C_RAW: 4,
  POLICY_POSTURE: 0xffff,
  HOOK_CONNECT: 1,
  HOOK_SENDMSG: 2,
  HOOK_BIND: 3,
  HOOK_SOCK_CREATE: 4,
} as const;
/** struct vnet_rule */
export const VNET_RULE = { net: 0, mask: 16, family: 32, proto: 33, action: 34, dir: 35, port_lo: 36, port_hi: 38, policy: 40, entry: 42, size: 48 } as const;
/** struct vnet_scope */
export const VNET_SCOPE = {
  n: 0,
  posture_egress: 4,
  posture_bind: 5,
  posture_proto: 6,
  flags: 7,
  scope_idx: 8,
  proto_action: 12,
  proto_policy: 20,
  gen: 36,
  proto_entry: 40,
  rules: 48,
  size: 48 + 32 * 48,
} as const;
/** Arg slots of a VGL_K_NET_DECISION event (the kind table's NET_DECISION row, generated) and how two
 * of them are packed (VGL_ND_* in vigil_abi.h): policy index and matched entry share slot POLICY,
 * scope index and table generation share slot SCOPE. */
export const ND = {
  ACTION: GEN_SLOTS.NET_DECISION.action,
  POLICY: GEN_SLOTS.NET_DECISION.policy,
  FAMILY: GEN_SLOTS.NET_DECISION.family,
  PROTO: GEN_SLOTS.NET_DECISION.proto,
  PORT: GEN_SLOTS.NET_DECISION.port,
  IP4: GEN_SLOTS.NET_DECISION.ip4,
  HOOK: GEN_SLOTS.NET_DECISION.hook,
  SCOPE: GEN_SLOTS.NET_DECISION.scope,
  IP6A: GEN_SLOTS.NET_DECISION.ip6a,
  IP6B: GEN_SLOTS.NET_DECISION.ip6b,
  SOCKTYPE: GEN_SLOTS.NET_DECISION.socktype,
  POSTURE: GEN_SLOTS.NET_DECISION.posture,
  ENTRY_SHIFT: 16,
  NO_ENTRY: 0xffff,
  GEN_SHIFT: 32,
} as const;
// ---- the rest of bpf/vigil_abi.h (tests/unit/abi/layout.test.ts fails on a C constant without a mirror) ----
export const MAX_STRS = 4;
/** hard cap of one captured string (path, cwd) */
export const STR_MAX = 4096;
/** per-CPU event assembly buffer in the kernel */
export const SCRATCH_SIZE = 16384;
export const ANCESTRY = 8;
export const EXE_FROM_EXECVEAT = 1 << 3;
/** struct vgl_str */
export const STR_LAYOUT = { len: 0, flags: 2, size: 4 } as const;
/** struct vgl_cap_key / vgl_cap_val (the cap_agg map; vgl_cap_rec is the two back to back) */
export const CAP_KEY = { pid: 0, cap: 4, size: 8 } as const;
export const CAP_VAL = { granted: 0, denied: 8, last_ts: 16, cgroup_id: 24, mntns: 32, pad: 36, size: 40 } as const;
/** struct vgl_kind_counters (per-CPU, per kind) */
export const KIND_COUNTERS = { seen: 0, filtered: 8, emitted: 16, dropped: 24, size: 32 } as const;
/** struct vgl_global_cfg (the global_cfg map's value) */
export const GLOBAL_CFG = { host_mntns: 0, flags: 4, ignore_tgid: 8, size: 16 } as const;
/** VGL_PORT_KEY: the net_ports map key */
export const portKey = (kind: number, port: number): number => ((kind << 16) | port) >>> 0;
