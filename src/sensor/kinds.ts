// The sensor's view of the event kinds: for every kind of the table (src/abi/kinds-table.ts: ids,
// names, families, syscall numbers per architecture, named arg slots), the KindInfo the hook plan
// and the enricher use, with the decoder that turns its slots and strings (read by their generated
// names, src/abi/kinds.gen.ts) into Falco's `evt.arg.*`. A kind without a hand-written decoder here
// gets the generic one built from its row. The loader knows none of this: the sensor sends it the
// syscall numbers of the running architecture and the tracepoint names from here.
import { K as K_, FD_A as FD_A_, FDT as FDT_, KC } from '../abi/layout.ts';
import { A as A_, NR, STR as STR_ } from '../abi/kinds.gen.ts';
import { KIND_TABLE, ENUMS, type FdEffect, type KindRow, type SlotType } from '../abi/kinds-table.ts';
import type { FieldTree } from '../abi/event.ts';

// The imported tables as module constants: the decoders read them per event, and a read through an
// imported binding can be a getter call (under the tsx loader the tests and benches run with).
const K = K_;
const FD_A = FD_A_;
const FDT = FDT_;
const A = A_;
const STR = STR_;

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
  ino?: number | string; // a string beyond 2^53 (exact digits)
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
  /** exit program, when not the family's (FAMILY_EXIT_PROG); for sched kinds, the tp_btf program */
  prog?: string;
  /** sched kinds: the BTF tracepoint (tp_btf:<sched>) */
  sched?: string;
  /** kernel filter flags this kind always has, whatever its consumers need */
  forceFlags?: number;
  /** from the kind table (src/abi/kinds-table.ts): what the call does to the fd table, whether also
   * when it failed, the caller's side of a socket tuple, the file paths it names */
  fd?: FdEffect;
  fdOnFailure?: true;
  tuple?: 'client' | 'server';
  fsPath?: 'one' | 'two' | 'symlink';
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

/** A rendering memoised per value (a node sees few distinct flag and mode values); bounded. */
function memo(render: (v: number) => string): (v: number) => string {
  const cache = new Map<number, string>();
  return (v) => {
    let s = cache.get(v);
    if (s === undefined) {
      s = render(v);
      if (cache.size < 4096) cache.set(v, s);
    }
    return s;
  };
}

export const renderOpenFlags = memo(renderOpenFlagsUncached);
function renderOpenFlagsUncached(flags: number): string {
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
export const renderMode = memo(renderModeUncached);
function renderModeUncached(mode: number): string {
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
  16896: 'PTRACE_SETOPTIONS', // 0x4200
  16902: 'PTRACE_SEIZE', // 0x4206
  16903: 'PTRACE_INTERRUPT', // 0x4207
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
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
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

/** A u64 argument as a JSON value: a number up to 2^53, beyond that its exact decimal digits as a string. */
export function u64Value(r: RawEvent, i: number): number | string {
  const n = r.args[i]!;
  return n >= 0 && Number.isSafeInteger(n) ? n : r.bigArgs[i]!.toString();
}

/** Fills fd fields from the in-kernel fd description (args[6..11] plus one string). */
export function fdFromDescription(r: RawEvent, strIdx: number, role: 'client' | 'server' | 'none'): FdInfo {
  const t = r.args[FD_A.TYPE]!;
  const [type, typechar] = FDT_NAME[t] ?? ['unknown', 'o'];
  const fd: FdInfo = { type, typechar };
  if (r.args[FD_A.INO]) fd.ino = u64Value(r, FD_A.INO);
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

// ---- decoders, one per kind of the table (src/abi/kinds-table.ts), reading slots by name ----
const none = (): Decoded => ({ arg: {}, rawarg: {} });

function pathPair(r: RawEvent, i: number): { raw: string; base: string } {
  return { raw: r.strs[i] ?? '', base: r.strs[i + 1] ?? '' };
}

function decodeOpen(r: RawEvent): Decoded {
  const S = A.OPENAT; // open, openat and openat2 share the layout (the table gives them one)
  const flags = r.args[S.flags]!;
  const mode = r.args[S.mode]!;
  const dirfd = r.args[S.dirfd]! | 0;
  const fdType = r.res >= 0 ? r.args[FD_A.TYPE]! : FDT.FILE;
  const [type, typechar] = FDT_NAME[fdType] ?? ['file', 'f'];
  const p = pathPair(r, STR.OPENAT.name);
  const arg: FieldTree = { fd: r.res, name: p.raw, flags: renderOpenFlags(flags), mode: renderMode(mode) };
  const rawarg: FieldTree = { fd: r.res, name: p.raw, flags, mode };
  if (r.kind !== K.OPEN) {
    arg.dirfd = dirfd;
    rawarg.dirfd = dirfd;
  }
  if (r.res >= 0) {
    arg.dev = r.args[S.dev]!;
    arg.ino = u64Value(r, FD_A.INO);
    rawarg.dev = r.args[S.dev]!;
    rawarg.ino = u64Value(r, FD_A.INO);
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

function tupleDecode(r: RawEvent, role: 'client' | 'server', addrStr: number | undefined, descStr: number, fdSlot: number): Decoded {
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
  const arg: FieldTree = { fd: r.args[fdSlot]! };
  if (fd.name) arg.tuple = fd.name;
  if (sa) {
    if (sa.addr !== undefined) arg.addr = `${sa.addr}:${sa.port}`;
    else if (sa.path !== undefined) arg.addr = sa.path;
  }
  return { arg, rawarg: { ...arg }, fd };
}

/** connect/bind/sendto/sendmsg: (fd, sockaddr passed) and the socket's tuple after the call */
function addrCallDecoder(role: 'client' | 'server', S: { fd: number }, T: { addr: number; fd_desc: number }): (r: RawEvent) => Decoded {
  return (r) => {
    const d = tupleDecode(r, role, T.addr, T.fd_desc, S.fd);
    d.fd!.num = r.args[S.fd]!;
    d.arg.res = r.res;
    d.rawarg.res = r.res;
    return d;
  };
}

/** accept/accept4: the new connection's fd (the result) and its tuple, server side */
function acceptDecode(r: RawEvent): Decoded {
  const d = tupleDecode(r, 'server', undefined, STR.ACCEPT.fd_desc, A.ACCEPT.lfd);
  if (r.res >= 0) d.fd!.num = r.res;
  d.arg.fd = r.res;
  d.rawarg.fd = r.res;
  return d;
}

const unlinkat = (r: RawEvent) =>
  withPath(
    both({ res: r.res, dirfd: r.args[A.UNLINKAT.dirfd]! | 0, name: r.strs[STR.UNLINKAT.path] ?? '', flags: r.args[A.UNLINKAT.flags]! }),
    pathPair(r, STR.UNLINKAT.path),
  );

function dirDecoded(arg: FieldTree, rawarg: FieldTree, p: { raw: string; base: string }): Decoded {
  const d = withPath({ arg, rawarg }, p);
  d.fd = { type: 'directory', typechar: 'd', nameraw: p.raw };
  return d;
}

function chown(S: { uid: number; gid: number }, T: { path: number }) {
  return (r: RawEvent) => withPath(both({ res: r.res, path: r.strs[T.path] ?? '', uid: r.args[S.uid]!, gid: r.args[S.gid]! }), pathPair(r, T.path));
}

function twoPaths(r: RawEvent, T: { oldpath: number; newpath: number }) {
  return [pathPair(r, T.oldpath), pathPair(r, T.newpath)];
}

function renameat(S: { flags: number; olddirfd: number; newdirfd: number }, withFlags: boolean) {
  return (r: RawEvent): Decoded => {
    const T = STR.RENAMEAT;
    const o: FieldTree = {
      res: r.res,
      olddirfd: r.args[S.olddirfd]! | 0,
      oldpath: r.strs[T.oldpath] ?? '',
      newdirfd: r.args[S.newdirfd]! | 0,
      newpath: r.strs[T.newpath] ?? '',
    };
    if (withFlags) o.flags = r.args[S.flags]!;
    return { ...both(o), paths: twoPaths(r, T) };
  };
}

function socketDecode(r: RawEvent): Decoded {
  const S = A.SOCKET;
  const domain = r.args[S.domain]!,
    type = r.args[S.type]!,
    proto = r.args[S.proto]!;
  const fd = r.res >= 0 ? fdFromDescription(r, STR.SOCKET.fd_desc, 'client') : undefined;
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
}

function dupDecode(r: RawEvent): Decoded {
  const S = A.DUP3; // dup, dup2 and dup3 share the layout
  const fd = fdFromDescription(r, STR.DUP3.fd_desc, 'client');
  fd.num = r.res >= 0 ? r.res : r.args[S.oldfd]!;
  const arg: FieldTree = { res: r.res, oldfd: r.args[S.oldfd]! };
  if (r.kind !== K.DUP) arg.newfd = r.args[S.newfd]!;
  if (r.kind === K.DUP3) arg.flags = r.args[S.flags]!;
  return { arg, rawarg: { ...arg }, fd };
}

/** A failed execve/execveat: the caller's event, with the file name it tried (as passed in
 * evt.arg.filename, resolved in fs.path.name). */
function decodeExecFailed(r: RawEvent): Decoded {
  const S = A.EXECVEAT_FAILED;
  const p = pathPair(r, STR.EXECVEAT_FAILED.filename);
  const arg: FieldTree = { res: r.res, filename: p.raw };
  if (r.kind === K.EXECVEAT_FAILED) {
    arg.dirfd = r.args[S.dirfd]! | 0;
    arg.flags = r.args[S.flags]!;
  }
  return { arg, rawarg: { ...arg }, paths: [p] };
}

type Decoder = (r: RawEvent) => Decoded;

/** Hand-written decoders (Falco renderings, fd and path bookkeeping). A kind of the table without
 * one gets the generic decoder built from its row (genericDecoder). */
const DECODERS: Partial<Record<keyof typeof K, Decoder>> = {
  EXECVE: none,
  CLONE: none,
  PROCEXIT: none,
  EXECVE_FAILED: decodeExecFailed,
  EXECVEAT_FAILED: decodeExecFailed,
  OPEN: decodeOpen,
  OPENAT: decodeOpen,
  OPENAT2: decodeOpen,
  UNLINK: (r) => withPath(both({ res: r.res, path: r.strs[STR.UNLINK.path] ?? '' }), pathPair(r, STR.UNLINK.path)),
  UNLINKAT: unlinkat,
  MKDIR: (r) => {
    const S = A.MKDIR,
      p = pathPair(r, STR.MKDIR.path);
    return dirDecoded({ res: r.res, path: p.raw, mode: renderMode(r.args[S.mode]!) }, { res: r.res, path: p.raw, mode: r.args[S.mode]! }, p);
  },
  MKDIRAT: (r) => {
    const S = A.MKDIRAT,
      p = pathPair(r, STR.MKDIRAT.path);
    const dirfd = r.args[S.dirfd]! | 0;
    return dirDecoded({ res: r.res, dirfd, path: p.raw, mode: renderMode(r.args[S.mode]!) }, { res: r.res, dirfd, path: p.raw, mode: r.args[S.mode]! }, p);
  },
  CHMOD: (r) => {
    const S = A.CHMOD,
      p = pathPair(r, STR.CHMOD.path);
    return withPath(
      { arg: { res: r.res, filename: p.raw, mode: renderMode(r.args[S.mode]!) }, rawarg: { res: r.res, filename: p.raw, mode: r.args[S.mode]! } },
      p,
    );
  },
  FCHMODAT: (r) => {
    const S = A.FCHMODAT,
      p = pathPair(r, STR.FCHMODAT.path);
    const dirfd = r.args[S.dirfd]! | 0;
    return withPath(
      { arg: { res: r.res, dirfd, filename: p.raw, mode: renderMode(r.args[S.mode]!) }, rawarg: { res: r.res, dirfd, filename: p.raw, mode: r.args[S.mode]! } },
      p,
    );
  },
  FCHMOD: (r) => {
    const S = A.FCHMOD;
    const fd = fdFromDescription(r, STR.FCHMOD.fd_path, 'none');
    fd.num = r.args[S.fd]!;
    return { arg: { res: r.res, fd: r.args[S.fd]!, mode: renderMode(r.args[S.mode]!) }, rawarg: { res: r.res, fd: r.args[S.fd]!, mode: r.args[S.mode]! }, fd };
  },
  CHOWN: chown(A.CHOWN, STR.CHOWN),
  LCHOWN: chown(A.LCHOWN, STR.LCHOWN),
  FCHOWNAT: (r) => {
    const S = A.FCHOWNAT,
      p = pathPair(r, STR.FCHOWNAT.path);
    return withPath(both({ res: r.res, dirfd: r.args[S.dirfd]! | 0, pathname: p.raw, uid: r.args[S.uid]!, gid: r.args[S.gid]!, flags: r.args[S.flags]! }), p);
  },
  FCHOWN: (r) => {
    const S = A.FCHOWN;
    const fd = fdFromDescription(r, STR.FCHOWN.fd_path, 'none');
    fd.num = r.args[S.fd]!;
    return { ...both({ res: r.res, fd: r.args[S.fd]!, uid: r.args[S.uid]!, gid: r.args[S.gid]! }), fd };
  },
  RENAME: (r) => ({
    ...both({ res: r.res, oldpath: r.strs[STR.RENAME.oldpath] ?? '', newpath: r.strs[STR.RENAME.newpath] ?? '' }),
    paths: twoPaths(r, STR.RENAME),
  }),
  RENAMEAT: renameat(A.RENAMEAT, false),
  RENAMEAT2: renameat(A.RENAMEAT2, true),
  LINK: (r) => ({ ...both({ res: r.res, oldpath: r.strs[STR.LINK.oldpath] ?? '', newpath: r.strs[STR.LINK.newpath] ?? '' }), paths: twoPaths(r, STR.LINK) }),
  LINKAT: (r) => {
    const S = A.LINKAT,
      T = STR.LINKAT;
    return {
      ...both({
        res: r.res,
        olddir: r.args[S.olddir]! | 0,
        oldpath: r.strs[T.oldpath] ?? '',
        newdir: r.args[S.newdir]! | 0,
        newpath: r.strs[T.newpath] ?? '',
        flags: r.args[S.flags]!,
      }),
      paths: twoPaths(r, T),
    };
  },
  // a symlink's target is stored as given (never joined with a directory)
  SYMLINK: (r) => {
    const T = STR.SYMLINK;
    return {
      ...both({ res: r.res, target: r.strs[T.target] ?? '', linkpath: r.strs[T.linkpath] ?? '' }),
      paths: [{ raw: r.strs[T.target] ?? '', base: '' }, pathPair(r, T.linkpath)],
    };
  },
  SYMLINKAT: (r) => {
    const T = STR.SYMLINKAT;
    return {
      ...both({ res: r.res, target: r.strs[T.target] ?? '', linkdirfd: r.args[A.SYMLINKAT.linkdirfd]! | 0, linkpath: r.strs[T.linkpath] ?? '' }),
      paths: [{ raw: r.strs[T.target] ?? '', base: '' }, pathPair(r, T.linkpath)],
    };
  },

  SOCKET: socketDecode,
  CONNECT: addrCallDecoder('client', A.CONNECT, STR.CONNECT),
  BIND: addrCallDecoder('server', A.BIND, STR.BIND),
  SENDTO: addrCallDecoder('client', A.SENDTO, STR.SENDTO),
  SENDMSG: addrCallDecoder('client', A.SENDMSG, STR.SENDMSG),
  ACCEPT: acceptDecode,
  ACCEPT4: (r) => {
    const d = acceptDecode(r);
    d.arg.flags = r.args[A.ACCEPT4.flags]!;
    d.rawarg.flags = r.args[A.ACCEPT4.flags]!;
    return d;
  },
  LISTEN: (r) => {
    const S = A.LISTEN;
    const d = tupleDecode(r, 'server', undefined, STR.LISTEN.fd_desc, S.fd);
    d.fd!.num = r.args[S.fd]!;
    d.arg = { res: r.res, fd: r.args[S.fd]!, backlog: r.args[S.backlog]! };
    d.rawarg = { ...d.arg };
    return d;
  },

  DUP: dupDecode,
  DUP2: dupDecode,
  DUP3: dupDecode,
  CLOSE: (r) => ({ arg: { res: r.res, fd: r.args[A.CLOSE.fd]! }, rawarg: { res: r.res, fd: r.args[A.CLOSE.fd]! }, fd: { num: r.args[A.CLOSE.fd]! } }),

  SETUID: (r) => both({ res: r.res, uid: r.args[A.SETUID.uid]! }),
  SETGID: (r) => both({ res: r.res, gid: r.args[A.SETGID.gid]! }),
  SETRESUID: (r) => both({ res: r.res, ruid: r.args[A.SETRESUID.ruid]!, euid: r.args[A.SETRESUID.euid]!, suid: r.args[A.SETRESUID.suid]! }),
  SETRESGID: (r) => both({ res: r.res, rgid: r.args[A.SETRESGID.rgid]!, egid: r.args[A.SETRESGID.egid]!, sgid: r.args[A.SETRESGID.sgid]! }),
  CAPSET: (r) => {
    const S = A.CAPSET;
    return {
      arg: {
        res: r.res,
        cap_effective: renderCaps(r.args[S.cap_effective]!),
        cap_permitted: renderCaps(r.args[S.cap_permitted]!),
        cap_inheritable: renderCaps(r.args[S.cap_inheritable]!),
      },
      rawarg: { res: r.res, cap_effective: r.args[S.cap_effective]!, cap_permitted: r.args[S.cap_permitted]!, cap_inheritable: r.args[S.cap_inheritable]! },
    };
  },
  PTRACE: (r) => {
    const S = A.PTRACE;
    return {
      arg: { res: r.res, request: PTRACE_REQ[r.args[S.request]!] ?? String(r.args[S.request]), pid: r.args[S.pid]! },
      rawarg: { res: r.res, request: r.args[S.request]!, pid: r.args[S.pid]! },
    };
  },
  MOUNT: (r) =>
    both({ res: r.res, dev: r.strs[STR.MOUNT.dev] ?? '', dir: r.strs[STR.MOUNT.dir] ?? '', type: r.strs[STR.MOUNT.type] ?? '', flags: r.args[A.MOUNT.flags]! }),
  UMOUNT2: (r) => both({ res: r.res, name: r.strs[STR.UMOUNT2.name] ?? '', flags: r.args[A.UMOUNT2.flags]! }),
  INIT_MODULE: (r) => both({ res: r.res, length: r.args[A.INIT_MODULE.length]!, uargs: r.strs[STR.INIT_MODULE.uargs] ?? '' }),
  FINIT_MODULE: (r) => {
    const S = A.FINIT_MODULE;
    const fd = fdFromDescription(r, STR.FINIT_MODULE.fd_desc, 'none');
    fd.num = r.args[S.fd]!;
    return { ...both({ res: r.res, fd: r.args[S.fd]!, uargs: r.strs[STR.FINIT_MODULE.uargs] ?? '', flags: r.args[S.flags]! }), fd };
  },
  BPF: (r) => ({
    arg: { res_or_fd: r.res, cmd: BPF_CMD[r.args[A.BPF.cmd]!] ?? String(r.args[A.BPF.cmd]) },
    rawarg: { res_or_fd: r.res, cmd: r.args[A.BPF.cmd]! },
  }),
  MEMFD_CREATE: (r) => {
    const name = r.strs[STR.MEMFD_CREATE.name] ?? '';
    const d = both({ fd: r.res, name, flags: r.args[A.MEMFD_CREATE.flags]! });
    if (r.res >= 0) d.fd = { num: r.res, type: 'memfd', typechar: 'm', name: `memfd:${name}` };
    return d;
  },
  UNSHARE: (r) => ({ arg: { res: r.res, flags: renderCloneFlags(r.args[A.UNSHARE.flags]!) }, rawarg: { res: r.res, flags: r.args[A.UNSHARE.flags]! } }),
  SETNS: (r) => ({
    ...both({ res: r.res, fd: r.args[A.SETNS.fd]!, nstype: r.args[A.SETNS.nstype]! }),
    fd: { ...fdFromDescription(r, STR.SETNS.fd_desc, 'none'), num: r.args[A.SETNS.fd]! },
  }),
  KILL: (r) => both({ res: r.res, pid: r.args[A.KILL.pid]!, sig: r.args[A.KILL.sig]! }),
};

/**
 * The decoder of a kind without a hand-written one, built once from its table row: Falco's
 * parameters in the row's order (`params`, else res, the slots, the strings), each slot read as
 * its type says and rendered through its enum when it has one (rawarg keeps the number).
 */
export function genericDecoder(row: KindRow): Decoder {
  type Step = { name: string; src: 'res' | 'slot' | 'str'; i: number; type?: SlotType; names?: Record<number, string> };
  const order = row.params ?? ['res', ...Object.keys(row.slots).filter((n) => row.slots[n]!.union === undefined), ...row.strs];
  const steps: Step[] = order.map((name) => {
    if (name === 'res') return { name, src: 'res', i: 0 };
    const s = row.slots[name];
    if (s) return { name, src: 'slot', i: s.at, type: s.type, ...(s.enum ? { names: ENUMS[s.enum]! } : {}) };
    return { name, src: 'str', i: row.strs.indexOf(name) };
  });
  return (r) => {
    const arg: FieldTree = {};
    const rawarg: FieldTree = {};
    for (const st of steps) {
      if (st.src === 'res') {
        arg[st.name] = rawarg[st.name] = r.res;
      } else if (st.src === 'str') {
        arg[st.name] = rawarg[st.name] = r.strs[st.i] ?? '';
      } else {
        const raw = r.args[st.i]!;
        const v = st.type === 's32' ? raw | 0 : st.type === 'u32' ? raw >>> 0 : raw;
        rawarg[st.name] = v;
        arg[st.name] = st.names ? (st.names[v] ?? String(v)) : v;
      }
    }
    return { arg, rawarg };
  };
}

/** The architecture whose syscall numbers the running sensor uses (the host's). */
export const SYSCALL_ARCH: 'x86_64' | 'arm64' | undefined = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'arm64' : undefined;
const NR_HERE: Partial<Record<keyof typeof K, number>> = SYSCALL_ARCH ? NR[SYSCALL_ARCH] : {};

/** execveat's syscall number here: sched_process_exec serves both exec syscalls, and the
 * record's syscall number tells which */
const EXECVEAT_NR = NR_HERE.EXECVEAT;

function kindInfo(row: KindRow): KindInfo {
  const sym = row.sym as keyof typeof K;
  const info: KindInfo = { kind: row.id, name: row.name, category: row.category, family: row.family as Family, decode: DECODERS[sym] ?? genericDecoder(row) };
  if (row.source === 'syscall') {
    // a syscall that does not exist on this architecture keeps no number: the hook plan skips it
    const nr = NR_HERE[sym];
    if (nr !== undefined) info.nr = nr;
    info.tp = row.tp ?? row.name;
    if (row.prog) info.prog = row.prog;
    if (row.onlyFailed) info.forceFlags = KC.ONLY_FAILED;
  }
  if (row.source === 'sched') {
    info.sched = row.sched!;
    info.prog = row.prog!;
  }
  if (row.fd) info.fd = row.fd;
  if (row.fdOnFailure) info.fdOnFailure = true;
  if (row.tuple) info.tuple = row.tuple;
  if (row.fsPath) info.fsPath = row.fsPath;
  if (row.id === K.EXECVE) info.typeOf = (r) => (r.syscall === EXECVEAT_NR ? 'execveat' : 'execve');
  return info;
}

/** The kinds the capture programs emit (sched and syscall rows of the table). */
export const KINDS: KindInfo[] = KIND_TABLE.filter((r) => (r.source === 'sched' || r.source === 'syscall') && !r.reserved).map(kindInfo);
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
