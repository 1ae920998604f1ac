// The one declarative table of event kinds: for every kind the kernel programs emit, its id, its
// Falco event name, family, the syscall number on each architecture Vigil builds for, the program
// that fills it, and the meaning of each arg slot (vgl_event.args[]) and string. Plain data: the
// generator (src/abi/generate.ts, run by `make gen` and by `make build` before the BPF compile)
// turns it into the C enum and slot names the BPF programs use (bpf/vigil_kinds.h), the TypeScript
// mirror (src/abi/kinds.gen.ts) and the event types the rules engine knows. Adding a kind is one
// row here plus the BPF code that fills its slots (through the generated VGL_A_<SYM>_<SLOT>).
// Imports nothing.

/** How a slot's 64 bits are read: s32 sign-extends the low 32 bits, u32 keeps them unsigned. */
export type SlotType = 'u32' | 's32' | 'u64' | 's64';

export interface SlotDef {
  /** index into vgl_event.args */
  at: number;
  type: SlotType;
  /** when set, this slot shares its index with the named slot (a union: records of different shapes) */
  union?: string;
  /** for the generic decoder: render the value through this table of ENUMS (rawarg keeps the number) */
  enum?: string;
}

/** How the kernel produces the kind. */
export type Source =
  | 'sched' // a sched/task BTF tracepoint (process lifecycle), not a syscall
  | 'syscall' // syscalls:sys_exit_<tp>, completed by `prog` (the family's exit program by default)
  | 'caps' // aggregated in the kernel, dumped by the loader as VGL_K_CAPS records
  | 'policy'; // written by an enforcement program (cgroup BPF); its decoder is registered by policy/

export type FdEffect = 'open' | 'close' | 'dup' | 'socket';

export type KindFamily = 'process' | 'file' | 'net' | 'fd' | 'priv' | 'caps' | 'policy';
export type KindCategory = 'process' | 'file' | 'net' | 'priv';

export interface KindRow {
  id: number;
  /** C and TypeScript symbol: VGL_K_<sym>, K.<sym>, VGL_A_<sym>_<SLOT> */
  sym: string;
  /** Falco's evt.type */
  name: string;
  category: KindCategory;
  family: KindFamily;
  source: Source;
  /** syscall number per architecture (null: the syscall does not exist there) */
  nr?: { x86_64: number; arm64: number | null };
  /** syscall kinds: tracepoint suffix, syscalls:sys_exit_<tp>, when not `name` */
  tp?: string;
  /** syscall kinds: exit program, when not the family's; sched kinds: the tp_btf program */
  prog?: string;
  /** sched kinds: the BTF tracepoint (tp_btf/<sched>) */
  sched?: string;
  /** the kernel keeps only failed calls (execve/execveat failures) */
  onlyFailed?: boolean;
  /** args slots (by Falco's parameter name where there is one) */
  slots: Record<string, SlotDef>;
  /** args[VGL_FD_A_*] (6..11) carry an in-kernel fd description (bpf/vigil_abi.h) */
  fdDesc?: boolean;
  /** args follow a shared layout of bpf/vigil_abi.h instead (exec: VGL_EXEC_A_*) */
  layout?: 'exec';
  /**
   * What the call does to the caller's fd table (the enricher keeps it): 'open' the result is a
   * new fd named by the path of strs[0..1]; 'close' the fd argument is removed; 'dup' the result
   * copies the entry of the old fd; 'socket' the fd the kernel described (the result or the fd
   * argument) is recorded with its socket tuple, when the call succeeded (or also when it failed:
   * fdOnFailure, a connect still in progress).
   */
  fd?: FdEffect;
  fdOnFailure?: true;
  /** socket kinds: the caller's side of the tuple ('client': the address is the remote peer's) */
  tuple?: 'client' | 'server';
  /**
   * The strings name files the enricher resolves against the caller's cwd (a relative name
   * against its base directory): 'one' the path of strs[0..1] into fs.path.name; 'two' the paths
   * of strs[0..1] and strs[2..3] into fs.path.source and fs.path.target; 'symlink' as 'two', the
   * source (the link's contents) kept as given.
   */
  fsPath?: 'one' | 'two' | 'symlink';
  /** the strings, in order (a relative path takes two: the path and its base directory) */
  strs: string[];
  /**
   * Falco's parameters in order, for the generic decoder (kinds without a hand-written decoder in
   * src/sensor/kinds.ts): 'res' is the return value, other names are slots or strings.
   */
  params?: string[];
  /** false: not an evt.type a Falco rule can select (decision records) */
  ruleType?: boolean;
  /** an id kept in the ABI that no program emits as its own kind (execveat arrives as execve) */
  reserved?: boolean;
}

/** Value names for slots rendered by the generic decoder (Falco's rendering). */
export const ENUMS: Record<string, Record<number, string>> = {
  // Falco's prctl_options (driver/flags_table.c); the values are Linux's PR_* (linux/prctl.h)
  prctl_option: {
    3: 'PR_GET_DUMPABLE',
    4: 'PR_SET_DUMPABLE',
    7: 'PR_GET_KEEPCAPS',
    8: 'PR_SET_KEEPCAPS',
    15: 'PR_SET_NAME',
    16: 'PR_GET_NAME',
    21: 'PR_GET_SECCOMP',
    22: 'PR_SET_SECCOMP',
    23: 'PR_CAPBSET_READ',
    24: 'PR_CAPBSET_DROP',
    27: 'PR_GET_SECUREBITS',
    28: 'PR_SET_SECUREBITS',
    33: 'PR_MCE_KILL',
    35: 'PR_SET_MM',
    36: 'PR_SET_CHILD_SUBREAPER',
    37: 'PR_GET_CHILD_SUBREAPER',
    38: 'PR_SET_NO_NEW_PRIVS',
    39: 'PR_GET_NO_NEW_PRIVS',
    40: 'PR_GET_TID_ADDRESS',
    41: 'PR_SET_THP_DISABLE',
    42: 'PR_GET_THP_DISABLE',
    47: 'PR_CAP_AMBIENT',
  },
};

/** Kind ids that are not event kinds: bounds, and records made by the loader itself. */
export const KIND_CONSTS: { sym: string; id: number; doc: string }[] = [
  { sym: 'NONE', id: 0, doc: 'no kind' },
  { sym: 'MAX', id: 128, doc: 'kernel kinds are < MAX (per-kind arrays and maps are this long)' },
  { sym: 'LOADER_BASE', id: 0x8000, doc: 'records made by the loader, not the kernel' },
  { sym: 'HELLO', id: 0x8001, doc: 'payload: text "abi=1 version=... hooks=..."' },
  { sym: 'STATS', id: 0x8002, doc: 'payload: struct vgl_stats' },
  { sym: 'CAPS', id: 0x8003, doc: 'payload: n x struct vgl_cap_rec' },
  { sym: 'DECISION', id: 0x8004, doc: 'payload: UTF-8 JSON of one policy decision (fanotify enforcer)' },
  { sym: 'REPLY', id: 0x8005, doc: 'payload: text reply to a control command: "<id> ok|err <text>"' },
  { sym: 'LOG', id: 0x8006, doc: 'payload: text log line from the loader' },
];

const FD = { at: 0, type: 's32' } as const;
const PATH = ['path', 'path_base'];
const TWO_PATHS = ['oldpath', 'oldpath_base', 'newpath', 'newpath_base'];
const OPEN_SLOTS = {
  fd: { at: 0, type: 's64' },
  dirfd: { at: 1, type: 's32' },
  flags: { at: 2, type: 'u32' },
  mode: { at: 3, type: 'u32' },
  dev: { at: 4, type: 'u64' },
} as const;

export const KIND_TABLE: KindRow[] = [
  // ---- process (sched tracepoints; failed execs from the exec syscalls' exit) ----
  {
    id: 1,
    sym: 'EXECVE',
    name: 'execve',
    category: 'process',
    family: 'process',
    source: 'sched',
    sched: 'sched_process_exec',
    prog: 'vgl_sched_exec',
    nr: { x86_64: 59, arm64: 221 },
    layout: 'exec',
    slots: {},
    strs: ['exepath', 'argv', 'cwd', 'filename', 'env'],
  },
  {
    id: 2,
    sym: 'EXECVEAT',
    name: 'execveat',
    category: 'process',
    family: 'process',
    source: 'sched',
    reserved: true,
    nr: { x86_64: 322, arm64: 281 },
    layout: 'exec',
    slots: {},
    strs: ['exepath', 'argv', 'cwd', 'filename', 'env'],
  },
  {
    id: 3,
    sym: 'CLONE',
    name: 'clone',
    category: 'process',
    family: 'process',
    source: 'sched',
    sched: 'sched_process_fork',
    prog: 'vgl_sched_fork',
    slots: { tid: { at: 0, type: 'u32' }, pid: { at: 1, type: 'u32' }, start: { at: 2, type: 'u64' }, flags: { at: 3, type: 'u32' } },
    strs: [],
  },
  {
    id: 4,
    sym: 'PROCEXIT',
    name: 'procexit',
    category: 'process',
    family: 'process',
    source: 'sched',
    sched: 'sched_process_exit',
    prog: 'vgl_sched_exit',
    slots: { status: { at: 0, type: 'u32' }, sig: { at: 1, type: 'u32' }, core: { at: 2, type: 'u32' }, start: { at: 3, type: 'u64' } },
    strs: [],
  },
  {
    id: 5,
    sym: 'EXECVE_FAILED',
    name: 'execve',
    category: 'process',
    family: 'process',
    source: 'syscall',
    nr: { x86_64: 59, arm64: 221 },
    tp: 'execve',
    prog: 'vgl_sys_exit_exec',
    onlyFailed: true,
    slots: { dirfd: { at: 0, type: 's32' }, flags: { at: 1, type: 'u32' } },
    fsPath: 'one',
    strs: ['filename', 'filename_base'],
  },
  {
    id: 6,
    sym: 'EXECVEAT_FAILED',
    name: 'execveat',
    category: 'process',
    family: 'process',
    source: 'syscall',
    nr: { x86_64: 322, arm64: 281 },
    tp: 'execveat',
    prog: 'vgl_sys_exit_exec',
    onlyFailed: true,
    slots: { dirfd: { at: 0, type: 's32' }, flags: { at: 1, type: 'u32' } },
    fsPath: 'one',
    strs: ['filename', 'filename_base'],
  },

  // ---- file (vgl_sys_exit_file) ----
  {
    id: 10,
    sym: 'OPEN',
    name: 'open',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 2, arm64: null },
    slots: OPEN_SLOTS,
    fdDesc: true,
    fd: 'open',
    strs: ['name', 'name_base'],
  },
  {
    id: 11,
    sym: 'OPENAT',
    name: 'openat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 257, arm64: 56 },
    slots: OPEN_SLOTS,
    fdDesc: true,
    fd: 'open',
    strs: ['name', 'name_base'],
  },
  {
    id: 12,
    sym: 'OPENAT2',
    name: 'openat2',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 437, arm64: 437 },
    slots: OPEN_SLOTS,
    fdDesc: true,
    fd: 'open',
    strs: ['name', 'name_base'],
  },
  {
    id: 13,
    sym: 'UNLINK',
    name: 'unlink',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 87, arm64: null },
    slots: {},
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 14,
    sym: 'UNLINKAT',
    name: 'unlinkat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 263, arm64: 35 },
    slots: { flags: { at: 0, type: 'u32' }, dirfd: { at: 3, type: 's32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 15,
    sym: 'RENAME',
    name: 'rename',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 82, arm64: null },
    slots: {},
    fsPath: 'two',
    strs: TWO_PATHS,
  },
  {
    id: 16,
    sym: 'RENAMEAT',
    name: 'renameat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 264, arm64: 38 },
    slots: { flags: { at: 0, type: 'u32' }, olddirfd: { at: 1, type: 's32' }, newdirfd: { at: 2, type: 's32' } },
    fsPath: 'two',
    strs: TWO_PATHS,
  },
  {
    id: 17,
    sym: 'RENAMEAT2',
    name: 'renameat2',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 316, arm64: 276 },
    slots: { flags: { at: 0, type: 'u32' }, olddirfd: { at: 1, type: 's32' }, newdirfd: { at: 2, type: 's32' } },
    fsPath: 'two',
    strs: TWO_PATHS,
  },
  {
    id: 18,
    sym: 'LINK',
    name: 'link',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 86, arm64: null },
    slots: {},
    fsPath: 'two',
    strs: TWO_PATHS,
  },
  {
    id: 19,
    sym: 'LINKAT',
    name: 'linkat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 265, arm64: 37 },
    slots: { flags: { at: 0, type: 'u32' }, olddir: { at: 1, type: 's32' }, newdir: { at: 2, type: 's32' } },
    fsPath: 'two',
    strs: TWO_PATHS,
  },
  {
    id: 20,
    sym: 'SYMLINK',
    name: 'symlink',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 88, arm64: null },
    slots: {},
    fsPath: 'symlink',
    strs: ['target', 'target_base', 'linkpath', 'linkpath_base'],
  },
  {
    id: 21,
    sym: 'SYMLINKAT',
    name: 'symlinkat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 266, arm64: 36 },
    slots: { linkdirfd: { at: 2, type: 's32' } },
    fsPath: 'symlink',
    strs: ['target', 'target_base', 'linkpath', 'linkpath_base'],
  },
  {
    id: 22,
    sym: 'MKDIR',
    name: 'mkdir',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 83, arm64: null },
    slots: { mode: { at: 0, type: 'u32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 23,
    sym: 'MKDIRAT',
    name: 'mkdirat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 258, arm64: 34 },
    slots: { mode: { at: 0, type: 'u32' }, dirfd: { at: 3, type: 's32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 24,
    sym: 'CHMOD',
    name: 'chmod',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 90, arm64: null },
    slots: { mode: { at: 0, type: 'u32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 25,
    sym: 'FCHMOD',
    name: 'fchmod',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 91, arm64: 52 },
    slots: { mode: { at: 0, type: 'u32' }, fd: { at: 3, type: 's32' } },
    fdDesc: true,
    strs: ['fd_path'],
  },
  {
    id: 26,
    sym: 'FCHMODAT',
    name: 'fchmodat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 268, arm64: 53 },
    slots: { mode: { at: 0, type: 'u32' }, dirfd: { at: 3, type: 's32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 27,
    sym: 'CHOWN',
    name: 'chown',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 92, arm64: null },
    slots: { uid: { at: 0, type: 'u32' }, gid: { at: 1, type: 'u32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 28,
    sym: 'LCHOWN',
    name: 'lchown',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 94, arm64: null },
    slots: { uid: { at: 0, type: 'u32' }, gid: { at: 1, type: 'u32' } },
    fsPath: 'one',
    strs: PATH,
  },
  {
    id: 29,
    sym: 'FCHOWN',
    name: 'fchown',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 93, arm64: 55 },
    slots: { uid: { at: 0, type: 'u32' }, gid: { at: 1, type: 'u32' }, fd: { at: 3, type: 's32' } },
    fdDesc: true,
    strs: ['fd_path'],
  },
  {
    id: 30,
    sym: 'FCHOWNAT',
    name: 'fchownat',
    category: 'file',
    family: 'file',
    source: 'syscall',
    nr: { x86_64: 260, arm64: 54 },
    slots: { uid: { at: 0, type: 'u32' }, gid: { at: 1, type: 'u32' }, flags: { at: 2, type: 'u32' }, dirfd: { at: 3, type: 's32' } },
    fsPath: 'one',
    strs: PATH,
  },

  // ---- network (vgl_sys_exit_net) ----
  {
    id: 40,
    sym: 'SOCKET',
    name: 'socket',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 41, arm64: 198 },
    slots: { domain: { at: 0, type: 'u32' }, type: { at: 1, type: 'u32' }, proto: { at: 2, type: 'u32' } },
    fdDesc: true,
    fd: 'socket',
    strs: ['fd_desc'],
  },
  {
    id: 41,
    sym: 'CONNECT',
    name: 'connect',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 42, arm64: 203 },
    slots: { fd: FD },
    fdDesc: true,
    fd: 'socket',
    fdOnFailure: true,
    tuple: 'client',
    strs: ['addr', 'fd_desc'],
  },
  {
    id: 42,
    sym: 'ACCEPT',
    name: 'accept',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 43, arm64: 202 },
    slots: { lfd: { at: 0, type: 's32' }, flags: { at: 1, type: 'u32' } },
    fdDesc: true,
    fd: 'socket',
    tuple: 'server',
    strs: ['fd_desc'],
  },
  {
    id: 43,
    sym: 'ACCEPT4',
    name: 'accept4',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 288, arm64: 242 },
    slots: { lfd: { at: 0, type: 's32' }, flags: { at: 1, type: 'u32' } },
    fdDesc: true,
    fd: 'socket',
    tuple: 'server',
    strs: ['fd_desc'],
  },
  {
    id: 44,
    sym: 'BIND',
    name: 'bind',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 49, arm64: 200 },
    slots: { fd: FD },
    fdDesc: true,
    fd: 'socket',
    tuple: 'server',
    strs: ['addr', 'fd_desc'],
  },
  {
    id: 45,
    sym: 'LISTEN',
    name: 'listen',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 50, arm64: 201 },
    slots: { fd: FD, backlog: { at: 1, type: 's32' } },
    fdDesc: true,
    fd: 'socket',
    tuple: 'server',
    strs: ['fd_desc'],
  },
  {
    id: 46,
    sym: 'SENDTO',
    name: 'sendto',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 44, arm64: 206 },
    slots: { fd: FD },
    fdDesc: true,
    fd: 'socket',
    tuple: 'client',
    strs: ['addr', 'fd_desc'],
  },
  {
    id: 47,
    sym: 'SENDMSG',
    name: 'sendmsg',
    category: 'net',
    family: 'net',
    source: 'syscall',
    nr: { x86_64: 46, arm64: 211 },
    slots: { fd: FD },
    fdDesc: true,
    fd: 'socket',
    tuple: 'client',
    strs: ['addr', 'fd_desc'],
  },

  // ---- fd bookkeeping (vgl_sys_exit_fd) ----
  {
    id: 50,
    sym: 'DUP',
    name: 'dup',
    category: 'file',
    family: 'fd',
    source: 'syscall',
    nr: { x86_64: 32, arm64: 23 },
    slots: { oldfd: { at: 0, type: 's32' }, newfd: { at: 1, type: 's32' }, flags: { at: 2, type: 'u32' } },
    fdDesc: true,
    fd: 'dup',
    strs: ['fd_desc'],
  },
  {
    id: 51,
    sym: 'DUP2',
    name: 'dup2',
    category: 'file',
    family: 'fd',
    source: 'syscall',
    nr: { x86_64: 33, arm64: null },
    slots: { oldfd: { at: 0, type: 's32' }, newfd: { at: 1, type: 's32' }, flags: { at: 2, type: 'u32' } },
    fdDesc: true,
    fd: 'dup',
    strs: ['fd_desc'],
  },
  {
    id: 52,
    sym: 'DUP3',
    name: 'dup3',
    category: 'file',
    family: 'fd',
    source: 'syscall',
    nr: { x86_64: 292, arm64: 24 },
    slots: { oldfd: { at: 0, type: 's32' }, newfd: { at: 1, type: 's32' }, flags: { at: 2, type: 'u32' } },
    fdDesc: true,
    fd: 'dup',
    strs: ['fd_desc'],
  },
  {
    id: 53,
    sym: 'CLOSE',
    name: 'close',
    category: 'file',
    family: 'fd',
    source: 'syscall',
    nr: { x86_64: 3, arm64: 57 },
    slots: { fd: FD },
    fd: 'close',
    strs: [],
  },

  // ---- privilege and escape (vgl_sys_exit_priv) ----
  {
    id: 60,
    sym: 'SETUID',
    name: 'setuid',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 105, arm64: 146 },
    slots: { uid: { at: 0, type: 'u32' } },
    strs: [],
  },
  {
    id: 61,
    sym: 'SETGID',
    name: 'setgid',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 106, arm64: 144 },
    slots: { gid: { at: 0, type: 'u32' } },
    strs: [],
  },
  {
    id: 62,
    sym: 'SETRESUID',
    name: 'setresuid',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 117, arm64: 147 },
    slots: { ruid: { at: 0, type: 'u32' }, euid: { at: 1, type: 'u32' }, suid: { at: 2, type: 'u32' } },
    strs: [],
  },
  {
    id: 63,
    sym: 'SETRESGID',
    name: 'setresgid',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 119, arm64: 149 },
    slots: { rgid: { at: 0, type: 'u32' }, egid: { at: 1, type: 'u32' }, sgid: { at: 2, type: 'u32' } },
    strs: [],
  },
  {
    id: 64,
    sym: 'CAPSET',
    name: 'capset',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 126, arm64: 91 },
    slots: { cap_effective: { at: 0, type: 'u64' }, cap_permitted: { at: 1, type: 'u64' }, cap_inheritable: { at: 2, type: 'u64' } },
    strs: [],
  },
  {
    id: 65,
    sym: 'PTRACE',
    name: 'ptrace',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 101, arm64: 117 },
    slots: { request: { at: 0, type: 'u32' }, pid: { at: 1, type: 's32' } },
    strs: [],
  },
  {
    id: 66,
    sym: 'MOUNT',
    name: 'mount',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 165, arm64: 40 },
    slots: { flags: { at: 3, type: 'u32' } },
    strs: ['dev', 'dir', 'type'],
  },
  {
    id: 67,
    sym: 'UMOUNT2',
    name: 'umount2',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 166, arm64: 39 },
    tp: 'umount',
    slots: { flags: { at: 1, type: 'u32' } },
    strs: ['name'],
  },
  {
    id: 68,
    sym: 'INIT_MODULE',
    name: 'init_module',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 175, arm64: 105 },
    slots: { length: { at: 1, type: 'u64' } },
    strs: ['uargs'],
  },
  {
    id: 69,
    sym: 'FINIT_MODULE',
    name: 'finit_module',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 313, arm64: 273 },
    slots: { fd: FD, flags: { at: 2, type: 'u32' } },
    fdDesc: true,
    strs: ['uargs', 'fd_desc'],
  },
  {
    id: 70,
    sym: 'BPF',
    name: 'bpf',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 321, arm64: 280 },
    slots: { cmd: { at: 0, type: 's32' } },
    strs: [],
  },
  {
    id: 71,
    sym: 'MEMFD_CREATE',
    name: 'memfd_create',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 319, arm64: 279 },
    slots: { flags: { at: 1, type: 'u32' } },
    strs: ['name'],
  },
  {
    id: 72,
    sym: 'UNSHARE',
    name: 'unshare',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 272, arm64: 97 },
    slots: { flags: { at: 0, type: 'u64' } },
    strs: [],
  },
  {
    id: 73,
    sym: 'SETNS',
    name: 'setns',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 308, arm64: 268 },
    slots: { fd: FD, nstype: { at: 1, type: 's32' } },
    fdDesc: true,
    strs: ['fd_desc'],
  },
  {
    id: 74,
    sym: 'KILL',
    name: 'kill',
    category: 'priv',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 62, arm64: 129 },
    slots: { pid: { at: 0, type: 's32' }, sig: { at: 1, type: 's32' } },
    strs: [],
  },
  // Falco's prctl: option, and arg2 as a string (PR_SET_NAME/PR_GET_NAME) or a number (the value
  // read through the pointer for PR_GET_CHILD_SUBREAPER, arg2 itself otherwise; 0 for the names)
  {
    id: 75,
    sym: 'PRCTL',
    name: 'prctl',
    category: 'process',
    family: 'priv',
    source: 'syscall',
    nr: { x86_64: 157, arm64: 167 },
    slots: { option: { at: 0, type: 's32', enum: 'prctl_option' }, arg2_int: { at: 1, type: 's64' } },
    strs: ['arg2_str'],
    params: ['res', 'option', 'arg2_str', 'arg2_int'],
  },

  // ---- capability checks (aggregated in the kernel, dumped by the loader as VGL_K_CAPS) ----
  { id: 80, sym: 'CAPABILITY', name: 'capability', category: 'priv', family: 'caps', source: 'caps', slots: {}, strs: [] },

  // ---- in-kernel enforcement decisions (cgroup BPF, bpf/enforce_*.bpf.c; decoded by src/policy) ----
  {
    id: 90,
    sym: 'NET_DECISION',
    name: 'net_decision',
    category: 'net',
    family: 'policy',
    source: 'policy',
    ruleType: false,
    slots: {
      action: { at: 0, type: 'u32' }, // VNET_A_* (LSM: kind << 8 | action)
      policy: { at: 1, type: 'u32' }, // policy index | matched entry << VGL_ND_ENTRY_SHIFT
      family: { at: 2, type: 'u32' },
      proto: { at: 3, type: 'u32' },
      port: { at: 4, type: 'u32' },
      ip4: { at: 5, type: 'u32' }, // network order in the low 32 bits
      ino: { at: 5, type: 'u64', union: 'ip4' }, // LSM file decisions
      hook: { at: 6, type: 'u32' }, // VNET_HOOK_*; 16 + op marks an LSM file decision
      scope: { at: 7, type: 'u64' }, // scope index | table generation << VGL_ND_GEN_SHIFT
      ip6a: { at: 8, type: 'u64' },
      ip6b: { at: 9, type: 'u64' },
      socktype: { at: 10, type: 'u32' },
      posture: { at: 11, type: 'u32' },
    },
    strs: [],
  },
];
