// The event-kind table: for every kind in bpf/vigil_abi.h, its Falco event name, family, the
// syscall(s) and tracepoints that produce it, and how its args and strings decode into Falco's
// `evt.arg.*` names. The loader knows none of this: the sensor sends it the syscall numbers and
// tracepoint names from here, so adding a syscall is one row in this file and one case in the
// family's exit program.
import { K, FD_A, FDT, KC } from './abi.ts';
import type { FieldTree } from './event.ts';

export type Family = 'process' | 'file' | 'net' | 'fd' | 'priv';
export type Category = 'process' | 'file' | 'net' | 'priv';

/** A decoded kernel record, before enrichment. Strings are already decoded to JS strings. */
export interface RawEvent {
  kind: number;
  flags: number;
  ts: bigint; // ns since boot
  cgroupId: bigint;
  res: number;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  loginuid: number;
  cpu: number;
  pidns: number;
  mntns: number;
  netns: number;
  vpid: number;
  comm: string;
  syscall: number;
  args: number[]; // NARGS, signed 64-bit values as numbers (exact below 2^53)
  bigArgs: bigint[]; // the same as unsigned 64-bit, for values that need all bits (times)
  strs: string[];
  strFlags: number[];
  strBytes: Buffer[]; // raw bytes (sockaddrs, IPv6 addresses)
}

export interface FdInfo {
  num?: number;
  type?: string;
  typechar?: string;
  name?: string;
  nameraw?: string;
  directory?: string;
  filename?: string;
  ino?: number;
  cip?: string;
  cport?: number;
  sip?: string;
  sport?: number;
  lip?: string;
  lport?: number;
  rip?: string;
  rport?: number;
  l4proto?: string;
  sockfamily?: string;
  is_server?: boolean;
  connected?: boolean;
}

export interface Decoded {
  arg: FieldTree;
  rawarg: FieldTree;
  /** fd this event is about (opened, connected, duplicated, ...) */
  fd?: FdInfo;
  /** relative-path joins the enricher must do: [raw, base] pairs become absolute names */
  paths?: { raw: string; base: string }[];
  /** policy fields of an enforcement decision record (policy.name, policy.action, ...) */
  policy?: FieldTree;
}

export interface KindInfo {
  kind: number;
  /** evt.type; for kinds whose type depends on the record, `typeOf` overrides it per event */
  name: string;
  typeOf?: (r: RawEvent) => string;
  category: Category;
  family: Family;
  /** x86_64 syscall number and tracepoint suffix (syscalls:sys_exit_<tp>) for syscall kinds */
  nr?: number;
  tp?: string;
  /** exit program, when not the family's (FAMILY_EXIT_PROG) */
  prog?: string;
  /** kernel filter flags this kind always has, whatever its consumers need */
  forceFlags?: number;
  decode: (r: RawEvent) => Decoded;
}

// ---- rendering helpers (Falco's names) ----
const O_FLAGS: [number, string][] = [
  [0o100, 'O_CREAT'],
  [0o200, 'O_EXCL'],
  [0o400, 'O_NOCTTY'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o10000, 'O_DSYNC'],
  [0o40000, 'O_DIRECT'],
  [0o100000, 'O_LARGEFILE'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o1000000, 'O_NOATIME'],
  [0o2000000, 'O_CLOEXEC'],
  [0o4000000, 'O_SYNC'],
  [0o10000000, 'O_PATH'],
  [0o20000000, 'O_TMPFILE'],
];

export function renderOpenFlags(flags: number): string {
  const acc = flags & 3;
  const parts = [acc === 0 ? 'O_RDONLY' : acc === 1 ? 'O_WRONLY' : 'O_RDWR'];
  for (const [bit, name] of O_FLAGS) {
    if (name === 'O_SYNC') {
      if ((flags & 0o4010000) === 0o4010000) parts.push(name);
      continue;
    }
    if (name === 'O_TMPFILE') {
      if ((flags & 0o20200000) === 0o20200000) parts.push(name);
      continue;
    }
    if (name === 'O_DSYNC' && (flags & 0o4010000) === 0o4010000) continue;
    if (name === 'O_DIRECTORY' && (flags & 0o20200000) === 0o20200000) continue;
    if (flags & bit) parts.push(name);
  }
  return parts.join('|');
}

const MODE_BITS: [number, string][] = [
  [0o1, 'S_IXOTH'],
  [0o2, 'S_IWOTH'],
  [0o4, 'S_IROTH'],
  [0o10, 'S_IXGRP'],
  [0o20, 'S_IWGRP'],
  [0o40, 'S_IRGRP'],
  [0o100, 'S_IXUSR'],
  [0o200, 'S_IWUSR'],
  [0o400, 'S_IRUSR'],
  [0o1000, 'S_ISVTX'],
  [0o2000, 'S_ISGID'],
  [0o4000, 'S_ISUID'],
];
export function renderMode(mode: number): string {
  return MODE_BITS.filter(([b]) => mode & b)
    .map(([, n]) => n)
    .join('|');
}

const AF: Record<number, string> = { 0: 'AF_UNSPEC', 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6', 16: 'AF_NETLINK', 17: 'AF_PACKET' };
const SOCK_TYPE: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 4: 'SOCK_RDM', 5: 'SOCK_SEQPACKET', 10: 'SOCK_PACKET' };
const L4: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp', 255: 'raw' };
const PTRACE_REQ: Record<number, string> = {
  0: 'PTRACE_TRACEME',
  1: 'PTRACE_PEEKTEXT',
  2: 'PTRACE_PEEKDATA',
  3: 'PTRACE_PEEKUSR',
  4: 'PTRACE_POKETEXT',
  5: 'PTRACE_POKEDATA',
  6: 'PTRACE_POKEUSR',
  7: 'PTRACE_CONT',
  8: 'PTRACE_KILL',
  9: 'PTRACE_SINGLESTEP',
  12: 'PTRACE_GETREGS',
  13: 'PTRACE_SETREGS',
  16: 'PTRACE_ATTACH',
  17: 'PTRACE_DETACH',
  24: 'PTRACE_SYSCALL',
  0x4200: 'PTRACE_SETOPTIONS',
  0x4206: 'PTRACE_SEIZE',
  0x4207: 'PTRACE_INTERRUPT',
};
const BPF_CMD: Record<number, string> = {
  0: 'BPF_MAP_CREATE',
  1: 'BPF_MAP_LOOKUP_ELEM',
  2: 'BPF_MAP_UPDATE_ELEM',
  3: 'BPF_MAP_DELETE_ELEM',
  4: 'BPF_MAP_GET_NEXT_KEY',
  5: 'BPF_PROG_LOAD',
  6: 'BPF_OBJ_PIN',
  7: 'BPF_OBJ_GET',
  8: 'BPF_PROG_ATTACH',
  9: 'BPF_PROG_DETACH',
  28: 'BPF_LINK_CREATE',
};
const CLONE_FLAGS: [number, string][] = [
  [0x100, 'CLONE_VM'],
  [0x200, 'CLONE_FS'],
  [0x400, 'CLONE_FILES'],
  [0x800, 'CLONE_SIGHAND'],
  [0x10000, 'CLONE_THREAD'],
  [0x20000, 'CLONE_NEWNS'],
  [0x4000000, 'CLONE_NEWUTS'],
  [0x8000000, 'CLONE_NEWIPC'],
  [0x10000000, 'CLONE_NEWUSER'],
  [0x20000000, 'CLONE_NEWPID'],
  [0x40000000, 'CLONE_NEWNET'],
  [0x2000000, 'CLONE_NEWCGROUP'],
];
export function renderCloneFlags(flags: number): string {
  return CLONE_FLAGS.filter(([b]) => flags & b)
    .map(([, n]) => n)
    .join('|');
}

export const CAP_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const capsCache = new Map<number, string>();

/** Capability mask to Falco's rendering: names joined by a space (memoised: a node sees few
 * distinct masks). */
export function renderCaps(mask: number): string {
  let s = capsCache.get(mask);
  if (s === undefined) {
    s = renderCapsUncached(mask);
    if (capsCache.size < 4096) capsCache.set(mask, s);
  }
  return s;
}

function renderCapsUncached(mask: number): string {
  const out: string[] = [];
  // masks go up to bit 40: use division, not 32-bit shifts
  let m = mask;
  for (let i = 0; i < CAP_NAMES.length && m > 0; i++) {
    if (m % 2 === 1) out.push(CAP_NAMES[i]!);
    m = Math.floor(m / 2);
  }
  return out.join(' ');
}

const FDT_NAME: Record<number, [string, string]> = {
  [FDT.UNKNOWN]: ['unknown', 'o'],
  [FDT.FILE]: ['file', 'f'],
  [FDT.DIRECTORY]: ['directory', 'd'],
  [FDT.IPV4]: ['ipv4', '4'],
  [FDT.IPV6]: ['ipv6', '6'],
  [FDT.UNIX]: ['unix', 'u'],
  [FDT.PIPE]: ['pipe', 'p'],
  [FDT.EVENT]: ['event', 'e'],
  [FDT.SIGNALFD]: ['signalfd', 's'],
  [FDT.EVENTPOLL]: ['eventpoll', 'l'],
  [FDT.INOTIFY]: ['inotify', 'i'],
  [FDT.TIMERFD]: ['timerfd', 't'],
  [FDT.NETLINK]: ['netlink', 'n'],
  [FDT.MEMFD]: ['memfd', 'm'],
  [FDT.CHAR]: ['file', 'f'],
  [FDT.BLOCK]: ['file', 'f'],
  [FDT.BPF]: ['bpf', 'b'],
  [FDT.OTHER_SOCK]: ['unknown', 'o'],
};

export function ipv4(v: number): string {
  return `${v & 255}.${(v >>> 8) & 255}.${(v >>> 16) & 255}.${(v >>> 24) & 255}`;
}

export function ipv6(b: Buffer, off: number): string {
  // IPv4-mapped addresses print as IPv4, as Falco does
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) mapped = false;
  if (mapped && b[off + 10] === 0xff && b[off + 11] === 0xff) {
    return `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  // compress the longest run of zero groups
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Parses a struct sockaddr as passed by the process. */
export function parseSockaddr(b: Buffer | undefined): { family: number; addr?: string; port?: number; path?: string } | undefined {
  if (!b || b.length < 2) return undefined;
  const family = b.readUInt16LE(0);
  if (family === 2 && b.length >= 8) return { family, port: b.readUInt16BE(2), addr: `${b[4]}.${b[5]}.${b[6]}.${b[7]}` };
  if (family === 10 && b.length >= 24) return { family, port: b.readUInt16BE(2), addr: ipv6(b, 8) };
  if (family === 1) {
    let end = 2;
    if (b.length > 2 && b[2] === 0) {
      // abstract socket: keep the name, Falco prints it with a leading @
      end = b.length;
      return { family, path: '@' + b.subarray(3, end).toString('latin1').replace(/\0+$/, '') };
    }
    while (end < b.length && b[end] !== 0) end++;
    return { family, path: b.subarray(2, end).toString() };
  }
  return { family };
}

/** Fills fd fields from the in-kernel fd description (args[6..11] plus one string). */
export function fdFromDescription(r: RawEvent, strIdx: number, role: 'client' | 'server' | 'none'): FdInfo {
  const t = r.args[FD_A.TYPE]!;
  const [type, typechar] = FDT_NAME[t] ?? ['unknown', 'o'];
  const fd: FdInfo = { type, typechar };
  const ino = r.args[FD_A.INO];
  if (ino) fd.ino = ino;
  if (t === FDT.IPV4 || t === FDT.IPV6) {
    const fp = r.args[FD_A.FAMPROTO]!;
    const proto = (fp >>> 16) & 0xff;
    const stype = (fp >>> 24) & 0xff;
    fd.sockfamily = t === FDT.IPV4 ? 'ip' : 'ip';
    fd.l4proto = stype === 3 ? 'raw' : (L4[proto] ?? 'unknown');
    const ports = r.args[FD_A.PORTS]!;
    const lport = (ports >>> 16) & 0xffff;
    const rport = ports & 0xffff;
    let lip: string, rip: string;
    if (t === FDT.IPV4) {
      lip = ipv4(r.args[FD_A.LADDR]! >>> 0);
      rip = ipv4(r.args[FD_A.RADDR]! >>> 0);
    } else {
      const b = r.strBytes[strIdx];
      lip = b && b.length >= 32 ? ipv6(b, 0) : '::';
      rip = b && b.length >= 32 ? ipv6(b, 16) : '::';
    }
    fd.lip = lip;
    fd.lport = lport;
    fd.rip = rip;
    fd.rport = rport;
    if (role === 'server') {
      fd.sip = lip;
      fd.sport = lport;
      fd.cip = rip;
      fd.cport = rport;
      fd.is_server = true;
    } else {
      fd.cip = lip;
      fd.cport = lport;
      fd.sip = rip;
      fd.sport = rport;
      fd.is_server = false;
    }
    fd.name = `${fd.cip}:${fd.cport}->${fd.sip}:${fd.sport}`;
    fd.connected = rport !== 0;
  } else if (t === FDT.UNIX) {
    fd.sockfamily = 'unix';
    fd.l4proto = 'unknown';
    const p = r.strs[strIdx] ?? '';
    fd.name = p.startsWith('\u0000') ? '@' + p.slice(1).replace(/\0+$/, '') : p;
  } else if (t === FDT.NETLINK) {
    fd.sockfamily = 'netlink';
  } else {
    const p = r.strs[strIdx];
    if (p) fd.name = p;
  }
  return fd;
}

// ---- decoders per layout ----
const none = (): Decoded => ({ arg: {}, rawarg: {} });

function pathPair(r: RawEvent, i: number): { raw: string; base: string } {
  return { raw: r.strs[i] ?? '', base: r.strs[i + 1] ?? '' };
}

function decodeOpen(r: RawEvent): Decoded {
  const flags = r.args[2]!;
  const mode = r.args[3]!;
  const dirfd = r.args[1]! | 0;
  const fdType = r.res >= 0 ? r.args[FD_A.TYPE]! : FDT.FILE;
  const [type, typechar] = FDT_NAME[fdType] ?? ['file', 'f'];
  const p = pathPair(r, 0);
  const arg: FieldTree = { fd: r.res, name: p.raw, flags: renderOpenFlags(flags), mode: renderMode(mode) };
  const rawarg: FieldTree = { fd: r.res, name: p.raw, flags, mode };
  if (r.kind !== K.OPEN) {
    arg.dirfd = dirfd;
    rawarg.dirfd = dirfd;
  }
  if (r.res >= 0) {
    arg.dev = r.args[4]!;
    arg.ino = r.args[FD_A.INO]!;
    rawarg.dev = r.args[4]!;
    rawarg.ino = r.args[FD_A.INO]!;
  }
  const fd: FdInfo = { type, typechar, nameraw: p.raw };
  if (r.res >= 0) fd.num = r.res;
  return { arg, rawarg, fd, paths: [p] };
}

function both(o: FieldTree): Decoded {
  return { arg: { ...o }, rawarg: { ...o } };
}

function withPath(d: Decoded, p: { raw: string; base: string }): Decoded {
  d.paths = [p];
  d.fd = { type: 'file', typechar: 'f', nameraw: p.raw };
  return d;
}

function tupleDecode(r: RawEvent, role: 'client' | 'server', addrStr: number | undefined, descStr: number): Decoded {
  const fd = fdFromDescription(r, descStr, role);
  const sa = addrStr === undefined ? undefined : parseSockaddr(r.strBytes[addrStr]);
  // a failed or in-progress connect may have no peer in the socket yet: use the address passed
  if (sa && sa.addr !== undefined && (fd.type === 'ipv4' || fd.type === 'ipv6') && role === 'client') {
    if (!fd.sip || fd.sip === '0.0.0.0' || fd.sip === '::' || fd.sport === 0) {
      fd.sip = sa.addr;
      fd.sport = sa.port;
      fd.rip = sa.addr;
      fd.rport = sa.port;
      fd.name = `${fd.cip}:${fd.cport}->${fd.sip}:${fd.sport}`;
    }
  }
  if (sa && sa.path !== undefined && fd.type === 'unix' && !fd.name) fd.name = sa.path;
  const arg: FieldTree = { fd: r.args[0]! };
  if (fd.name) arg.tuple = fd.name;
  if (sa) {
    if (sa.addr !== undefined) arg.addr = `${sa.addr}:${sa.port}`;
    else if (sa.path !== undefined) arg.addr = sa.path;
  }
  return { arg, rawarg: { ...arg }, fd };
}

/** connect/bind/sendto/sendmsg: (fd, sockaddr passed) and the socket's tuple after the call */
function addrCallDecoder(role: 'client' | 'server'): (r: RawEvent) => Decoded {
  return (r) => {
    const d = tupleDecode(r, role, 0, 1);
    d.fd!.num = r.args[0]!;
    d.arg.res = r.res;
    d.rawarg.res = r.res;
    return d;
  };
}

/** accept/accept4: the new connection's fd (the result) and its tuple, server side */
function acceptDecode(r: RawEvent): Decoded {
  const d = tupleDecode(r, 'server', undefined, 0);
  if (r.res >= 0) d.fd!.num = r.res;
  d.arg.fd = r.res;
  d.rawarg.fd = r.res;
  return d;
}

function sysKind(kind: number, name: string, category: Category, family: Family, nr: number, decode: (r: RawEvent) => Decoded, tp = name): KindInfo {
  return { kind, name, category, family, nr, tp, decode };
}

const fileKinds: KindInfo[] = [
  sysKind(K.OPEN, 'open', 'file', 'file', 2, decodeOpen),
  sysKind(K.OPENAT, 'openat', 'file', 'file', 257, decodeOpen),
  sysKind(K.OPENAT2, 'openat2', 'file', 'file', 437, decodeOpen),
  sysKind(K.UNLINK, 'unlink', 'file', 'file', 87, (r) => withPath(both({ res: r.res, path: r.strs[0] ?? '' }), pathPair(r, 0))),
  sysKind(K.UNLINKAT, 'unlinkat', 'file', 'file', 263, (r) =>
    withPath(both({ res: r.res, dirfd: r.args[3]! | 0, name: r.strs[0] ?? '', flags: r.args[0]! }), pathPair(r, 0)),
  ),
  sysKind(K.MKDIR, 'mkdir', 'file', 'file', 83, (r) => {
    const d = withPath({ arg: { res: r.res, path: r.strs[0] ?? '', mode: renderMode(r.args[0]!) }, rawarg: { res: r.res, path: r.strs[0] ?? '', mode: r.args[0]! } }, pathPair(r, 0));
    d.fd = { type: 'directory', typechar: 'd', nameraw: r.strs[0] ?? '' };
    return d;
  }),
  sysKind(K.MKDIRAT, 'mkdirat', 'file', 'file', 258, (r) => {
    const d = withPath(
      { arg: { res: r.res, dirfd: r.args[3]! | 0, path: r.strs[0] ?? '', mode: renderMode(r.args[0]!) }, rawarg: { res: r.res, dirfd: r.args[3]! | 0, path: r.strs[0] ?? '', mode: r.args[0]! } },
      pathPair(r, 0),
    );
    d.fd = { type: 'directory', typechar: 'd', nameraw: r.strs[0] ?? '' };
    return d;
  }),
  sysKind(K.CHMOD, 'chmod', 'file', 'file', 90, (r) =>
    withPath({ arg: { res: r.res, filename: r.strs[0] ?? '', mode: renderMode(r.args[0]!) }, rawarg: { res: r.res, filename: r.strs[0] ?? '', mode: r.args[0]! } }, pathPair(r, 0)),
  ),
  sysKind(K.FCHMODAT, 'fchmodat', 'file', 'file', 268, (r) =>
    withPath(
      { arg: { res: r.res, dirfd: r.args[3]! | 0, filename: r.strs[0] ?? '', mode: renderMode(r.args[0]!) }, rawarg: { res: r.res, dirfd: r.args[3]! | 0, filename: r.strs[0] ?? '', mode: r.args[0]! } },
      pathPair(r, 0),
    ),
  ),
  sysKind(K.FCHMOD, 'fchmod', 'file', 'file', 91, (r) => {
    const fd = fdFromDescription(r, 0, 'none');
    fd.num = r.args[3]!;
    return { arg: { res: r.res, fd: r.args[3]!, mode: renderMode(r.args[0]!) }, rawarg: { res: r.res, fd: r.args[3]!, mode: r.args[0]! }, fd };
  }),
  sysKind(K.CHOWN, 'chown', 'file', 'file', 92, (r) => withPath(both({ res: r.res, path: r.strs[0] ?? '', uid: r.args[0]!, gid: r.args[1]! }), pathPair(r, 0))),
  sysKind(K.LCHOWN, 'lchown', 'file', 'file', 94, (r) => withPath(both({ res: r.res, path: r.strs[0] ?? '', uid: r.args[0]!, gid: r.args[1]! }), pathPair(r, 0))),
  sysKind(K.FCHOWNAT, 'fchownat', 'file', 'file', 260, (r) =>
    withPath(both({ res: r.res, dirfd: r.args[3]! | 0, pathname: r.strs[0] ?? '', uid: r.args[0]!, gid: r.args[1]!, flags: r.args[2]! }), pathPair(r, 0)),
  ),
  sysKind(K.FCHOWN, 'fchown', 'file', 'file', 93, (r) => {
    const fd = fdFromDescription(r, 0, 'none');
    fd.num = r.args[3]!;
    return { ...both({ res: r.res, fd: r.args[3]!, uid: r.args[0]!, gid: r.args[1]! }), fd };
  }),
  sysKind(K.RENAME, 'rename', 'file', 'file', 82, (r) => ({ ...both({ res: r.res, oldpath: r.strs[0] ?? '', newpath: r.strs[2] ?? '' }), paths: [pathPair(r, 0), pathPair(r, 2)] })),
  sysKind(K.RENAMEAT, 'renameat', 'file', 'file', 264, (r) => ({
    ...both({ res: r.res, olddirfd: r.args[1]! | 0, oldpath: r.strs[0] ?? '', newdirfd: r.args[2]! | 0, newpath: r.strs[2] ?? '' }),
    paths: [pathPair(r, 0), pathPair(r, 2)],
  })),
  sysKind(K.RENAMEAT2, 'renameat2', 'file', 'file', 316, (r) => ({
    ...both({ res: r.res, olddirfd: r.args[1]! | 0, oldpath: r.strs[0] ?? '', newdirfd: r.args[2]! | 0, newpath: r.strs[2] ?? '', flags: r.args[0]! }),
    paths: [pathPair(r, 0), pathPair(r, 2)],
  })),
  sysKind(K.LINK, 'link', 'file', 'file', 86, (r) => ({ ...both({ res: r.res, oldpath: r.strs[0] ?? '', newpath: r.strs[2] ?? '' }), paths: [pathPair(r, 0), pathPair(r, 2)] })),
  sysKind(K.LINKAT, 'linkat', 'file', 'file', 265, (r) => ({
    ...both({ res: r.res, olddir: r.args[1]! | 0, oldpath: r.strs[0] ?? '', newdir: r.args[2]! | 0, newpath: r.strs[2] ?? '', flags: r.args[0]! }),
    paths: [pathPair(r, 0), pathPair(r, 2)],
  })),
  // a symlink's target is stored as given (never joined with a directory)
  sysKind(K.SYMLINK, 'symlink', 'file', 'file', 88, (r) => ({
    ...both({ res: r.res, target: r.strs[0] ?? '', linkpath: r.strs[2] ?? '' }),
    paths: [{ raw: r.strs[0] ?? '', base: '' }, pathPair(r, 2)],
  })),
  sysKind(K.SYMLINKAT, 'symlinkat', 'file', 'file', 266, (r) => ({
    ...both({ res: r.res, target: r.strs[0] ?? '', linkdirfd: r.args[2]! | 0, linkpath: r.strs[2] ?? '' }),
    paths: [{ raw: r.strs[0] ?? '', base: '' }, pathPair(r, 2)],
  })),
];

const netKinds: KindInfo[] = [
  sysKind(K.SOCKET, 'socket', 'net', 'net', 41, (r) => {
    const domain = r.args[0]!,
      type = r.args[1]!,
      proto = r.args[2]!;
    const fd = r.res >= 0 ? fdFromDescription(r, 0, 'client') : undefined;
    if (fd) {
      fd.num = r.res;
      if (domain === 17) {
        fd.type = 'unknown';
        fd.typechar = 'o';
        fd.sockfamily = 'packet';
      }
      // a new socket has no peer yet: no tuple name
      if (fd.type === 'ipv4' || fd.type === 'ipv6') delete fd.name;
    }
    const d: Decoded = {
      arg: { fd: r.res, domain: AF[domain] ?? String(domain), type: SOCK_TYPE[type & 0xf] ?? String(type), proto },
      rawarg: { fd: r.res, domain, type, proto },
    };
    if (fd) d.fd = fd;
    return d;
  }),
  sysKind(K.CONNECT, 'connect', 'net', 'net', 42, addrCallDecoder('client')),
  sysKind(K.BIND, 'bind', 'net', 'net', 49, addrCallDecoder('server')),
  sysKind(K.SENDTO, 'sendto', 'net', 'net', 44, addrCallDecoder('client')),
  sysKind(K.SENDMSG, 'sendmsg', 'net', 'net', 46, addrCallDecoder('client')),
  sysKind(K.ACCEPT, 'accept', 'net', 'net', 43, acceptDecode),
  sysKind(K.ACCEPT4, 'accept4', 'net', 'net', 288, (r) => {
    const d = acceptDecode(r);
    d.arg.flags = r.args[1]!;
    d.rawarg.flags = r.args[1]!;
    return d;
  }),
  sysKind(K.LISTEN, 'listen', 'net', 'net', 50, (r) => {
    const d = tupleDecode(r, 'server', undefined, 0);
    d.fd!.num = r.args[0]!;
    d.arg = { res: r.res, fd: r.args[0]!, backlog: r.args[1]! };
    d.rawarg = { ...d.arg };
    return d;
  }),
];

function dupDecode(r: RawEvent): Decoded {
  const fd = fdFromDescription(r, 0, 'client');
  if (fd.type === 'ipv4' || fd.type === 'ipv6') {
    // a duplicated socket keeps its role: a server socket's local side is the server
    // (decided later from the fd table when known)
  }
  fd.num = r.res >= 0 ? r.res : r.args[0]!;
  const arg: FieldTree = { res: r.res, oldfd: r.args[0]! };
  if (r.kind !== K.DUP) arg.newfd = r.args[1]!;
  if (r.kind === K.DUP3) arg.flags = r.args[2]!;
  return { arg, rawarg: { ...arg }, fd };
}

const fdKinds: KindInfo[] = [
  sysKind(K.DUP, 'dup', 'file', 'fd', 32, dupDecode),
  sysKind(K.DUP2, 'dup2', 'file', 'fd', 33, dupDecode),
  sysKind(K.DUP3, 'dup3', 'file', 'fd', 292, dupDecode),
  sysKind(K.CLOSE, 'close', 'file', 'fd', 3, (r) => ({ arg: { res: r.res, fd: r.args[0]! }, rawarg: { res: r.res, fd: r.args[0]! }, fd: { num: r.args[0]! } })),
];

const privKinds: KindInfo[] = [
  sysKind(K.SETUID, 'setuid', 'priv', 'priv', 105, (r) => both({ res: r.res, uid: r.args[0]! })),
  sysKind(K.SETGID, 'setgid', 'priv', 'priv', 106, (r) => both({ res: r.res, gid: r.args[0]! })),
  sysKind(K.SETRESUID, 'setresuid', 'priv', 'priv', 117, (r) => both({ res: r.res, ruid: r.args[0]!, euid: r.args[1]!, suid: r.args[2]! })),
  sysKind(K.SETRESGID, 'setresgid', 'priv', 'priv', 119, (r) => both({ res: r.res, rgid: r.args[0]!, egid: r.args[1]!, sgid: r.args[2]! })),
  sysKind(K.CAPSET, 'capset', 'priv', 'priv', 126, (r) => ({
    arg: { res: r.res, cap_effective: renderCaps(r.args[0]!), cap_permitted: renderCaps(r.args[1]!), cap_inheritable: renderCaps(r.args[2]!) },
    rawarg: { res: r.res, cap_effective: r.args[0]!, cap_permitted: r.args[1]!, cap_inheritable: r.args[2]! },
  })),
  sysKind(K.PTRACE, 'ptrace', 'priv', 'priv', 101, (r) => ({
    arg: { res: r.res, request: PTRACE_REQ[r.args[0]!] ?? String(r.args[0]), pid: r.args[1]! },
    rawarg: { res: r.res, request: r.args[0]!, pid: r.args[1]! },
  })),
  sysKind(K.MOUNT, 'mount', 'priv', 'priv', 165, (r) => both({ res: r.res, dev: r.strs[0] ?? '', dir: r.strs[1] ?? '', type: r.strs[2] ?? '', flags: r.args[3]! })),
  sysKind(K.UMOUNT2, 'umount2', 'priv', 'priv', 166, (r) => both({ res: r.res, name: r.strs[0] ?? '', flags: r.args[1]! }), 'umount'),
  sysKind(K.INIT_MODULE, 'init_module', 'priv', 'priv', 175, (r) => both({ res: r.res, length: r.args[1]!, uargs: r.strs[0] ?? '' })),
  sysKind(K.FINIT_MODULE, 'finit_module', 'priv', 'priv', 313, (r) => {
    const fd = fdFromDescription(r, 1, 'none');
    fd.num = r.args[0]!;
    return { ...both({ res: r.res, fd: r.args[0]!, uargs: r.strs[0] ?? '', flags: r.args[2]! }), fd };
  }),
  sysKind(K.BPF, 'bpf', 'priv', 'priv', 321, (r) => ({ arg: { res_or_fd: r.res, cmd: BPF_CMD[r.args[0]!] ?? String(r.args[0]) }, rawarg: { res_or_fd: r.res, cmd: r.args[0]! } })),
  sysKind(K.MEMFD_CREATE, 'memfd_create', 'priv', 'priv', 319, (r) => {
    const d = both({ fd: r.res, name: r.strs[0] ?? '', flags: r.args[1]! });
    if (r.res >= 0) d.fd = { num: r.res, type: 'memfd', typechar: 'm', name: `memfd:${r.strs[0] ?? ''}` };
    return d;
  }),
  sysKind(K.UNSHARE, 'unshare', 'priv', 'priv', 272, (r) => ({ arg: { res: r.res, flags: renderCloneFlags(r.args[0]!) }, rawarg: { res: r.res, flags: r.args[0]! } })),
  sysKind(K.SETNS, 'setns', 'priv', 'priv', 308, (r) => ({ ...both({ res: r.res, fd: r.args[0]!, nstype: r.args[1]! }), fd: { ...fdFromDescription(r, 0, 'none'), num: r.args[0]! } })),
  sysKind(K.KILL, 'kill', 'priv', 'priv', 62, (r) => both({ res: r.res, pid: r.args[0]!, sig: r.args[1]! })),
];

/** execve's and execveat's syscall numbers (x86_64; arm64: 221, 281), as bpf/process.bpf.c has them */
const EXECVE_NR = process.arch === 'arm64' ? 221 : 59;
const EXECVEAT_NR = process.arch === 'arm64' ? 281 : 322;

/** A failed execve/execveat: the caller's event, with the file name it tried (as passed in
 * evt.arg.filename, resolved in fs.path.name). */
function decodeExecFailed(r: RawEvent): Decoded {
  const p = pathPair(r, 0);
  const arg: FieldTree = { res: r.res, filename: p.raw };
  if (r.kind === K.EXECVEAT_FAILED) {
    arg.dirfd = r.args[0]! | 0;
    arg.flags = r.args[1]!;
  }
  return { arg, rawarg: { ...arg }, paths: [p] };
}

const failedExec = (kind: number, name: string, nr: number): KindInfo => ({
  kind, name, category: 'process', family: 'process', nr, tp: name, prog: 'vgl_sys_exit_exec', forceFlags: KC.ONLY_FAILED, decode: decodeExecFailed,
});

const processKinds: KindInfo[] = [
  // sched_process_exec serves both exec syscalls; the record's syscall number tells which
  { kind: K.EXECVE, name: 'execve', category: 'process', family: 'process', decode: none, typeOf: (r) => (r.syscall === EXECVEAT_NR ? 'execveat' : 'execve') },
  { kind: K.CLONE, name: 'clone', category: 'process', family: 'process', decode: none },
  { kind: K.PROCEXIT, name: 'procexit', category: 'process', family: 'process', decode: none },
  failedExec(K.EXECVE_FAILED, 'execve', EXECVE_NR),
  failedExec(K.EXECVEAT_FAILED, 'execveat', EXECVEAT_NR),
];

export const KINDS: KindInfo[] = [...processKinds, ...fileKinds, ...netKinds, ...fdKinds, ...privKinds];
export const KIND_BY_ID: (KindInfo | undefined)[] = [];
export const KIND_BY_NAME = new Map<string, KindInfo>();

/**
 * Registers a kind produced by another part (e.g. enforcement decisions from cgroup BPF). A
 * registered kind is decoded and enriched like any other; `name` is its evt.type. Registering a
 * kind id twice is an error at start-up.
 */
export function registerKind(k: KindInfo, opts: { byName?: boolean } = {}): void {
  if (KIND_BY_ID[k.kind]) throw new Error(`kind ${k.kind} registered twice`);
  KIND_BY_ID[k.kind] = k;
  if (opts.byName !== false && !KIND_BY_NAME.has(k.name)) KIND_BY_NAME.set(k.name, k);
}
for (const k of KINDS) registerKind(k);
// a rule on execveat needs the same hook as execve
KIND_BY_NAME.set('execveat', KIND_BY_ID[K.EXECVE]!);

/** The exit program that completes each syscall family. */
export const FAMILY_EXIT_PROG: Record<Exclude<Family, 'process'>, string> = {
  file: 'vgl_sys_exit_file',
  net: 'vgl_sys_exit_net',
  fd: 'vgl_sys_exit_fd',
  priv: 'vgl_sys_exit_priv',
};

/** Which `--events` family each kind belongs to. */
export const EVENT_FAMILIES: Record<string, Family[]> = {
  exec: ['process'],
  process: ['process'],
  file: ['file'],
  net: ['net'],
  fd: ['fd'],
  priv: ['priv'],
};
