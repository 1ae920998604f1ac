/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * vigil_abi.h: the one binary ABI between the kernel programs, the native loader and the
 * TypeScript decoder (src/sensor/abi.ts mirrors it; tests/abi.test.ts checks that both agree by
 * compiling a probe against this header).
 *
 * Every record on the wire (kernel ring buffer -> loader -> pipe -> Node) starts with
 * struct vgl_frame. Kernel events continue with struct vgl_event (fixed, 8-aligned), then
 * `nstr` strings, each a struct vgl_str followed by `len` bytes (no NUL, no padding).
 * Records produced by the loader itself (stats, capability dumps, policy decisions, replies)
 * have kinds >= VGL_K_LOADER_BASE and their own payloads, described below.
 *
 * All integers are little-endian host order; the sensor runs on the host that produced them.
 */
#ifndef VIGIL_ABI_H
#define VIGIL_ABI_H

#ifndef __VMLINUX_H__
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef int32_t s32;
#endif

#define VGL_ABI_VERSION 2
#define VGL_COMM_LEN 16
#define VGL_NARGS 12
#define VGL_MAX_STRS 4
#define VGL_STR_MAX 4096      /* hard cap of one captured string (path, cwd) */
#define VGL_ARGV_MAX 4096     /* hard cap of captured argv bytes (the runtime cap is a config value) */
#define VGL_ENV_MAX 4096      /* hard cap of captured environment bytes (likewise) */
#define VGL_SCRATCH_SIZE 16384 /* per-CPU event assembly buffer; power of two */
#define VGL_ANCESTRY 8

/* Event kinds. Each syscall Vigil captures has its own kind (named as Falco names the event);
 * the TypeScript table in src/sensor/kinds.ts gives names and argument layouts. */
enum vgl_kind {
	VGL_K_NONE = 0,
	/* process (sched/task tracepoints) */
	VGL_K_EXECVE = 1,
	VGL_K_EXECVEAT = 2,
	VGL_K_CLONE = 3,
	VGL_K_PROCEXIT = 4,
	VGL_K_EXECVE_FAILED = 5,   /* sys_exit_execve with a negative result (successes are VGL_K_EXECVE) */
	VGL_K_EXECVEAT_FAILED = 6, /* sys_exit_execveat with a negative result */
	/* file (per-syscall tracepoints) */
	VGL_K_OPEN = 10,
	VGL_K_OPENAT = 11,
	VGL_K_OPENAT2 = 12,
	VGL_K_UNLINK = 13,
	VGL_K_UNLINKAT = 14,
	VGL_K_RENAME = 15,
	VGL_K_RENAMEAT = 16,
	VGL_K_RENAMEAT2 = 17,
	VGL_K_LINK = 18,
	VGL_K_LINKAT = 19,
	VGL_K_SYMLINK = 20,
	VGL_K_SYMLINKAT = 21,
	VGL_K_MKDIR = 22,
	VGL_K_MKDIRAT = 23,
	VGL_K_CHMOD = 24,
	VGL_K_FCHMOD = 25,
	VGL_K_FCHMODAT = 26,
	VGL_K_CHOWN = 27,
	VGL_K_LCHOWN = 28,
	VGL_K_FCHOWN = 29,
	VGL_K_FCHOWNAT = 30,
	/* network */
	VGL_K_SOCKET = 40,
	VGL_K_CONNECT = 41,
	VGL_K_ACCEPT = 42,
	VGL_K_ACCEPT4 = 43,
	VGL_K_BIND = 44,
	VGL_K_LISTEN = 45,
	VGL_K_SENDTO = 46,
	VGL_K_SENDMSG = 47,
	/* fd bookkeeping */
	VGL_K_DUP = 50,
	VGL_K_DUP2 = 51,
	VGL_K_DUP3 = 52,
	VGL_K_CLOSE = 53,
	/* privilege and escape */
	VGL_K_SETUID = 60,
	VGL_K_SETGID = 61,
	VGL_K_SETRESUID = 62,
	VGL_K_SETRESGID = 63,
	VGL_K_CAPSET = 64,
	VGL_K_PTRACE = 65,
	VGL_K_MOUNT = 66,
	VGL_K_UMOUNT2 = 67,
	VGL_K_INIT_MODULE = 68,
	VGL_K_FINIT_MODULE = 69,
	VGL_K_BPF = 70,
	VGL_K_MEMFD_CREATE = 71,
	VGL_K_UNSHARE = 72,
	VGL_K_SETNS = 73,
	VGL_K_KILL = 74,
	/* capability checks (aggregated in the kernel, dumped by the loader as VGL_K_CAPS) */
	VGL_K_CAPABILITY = 80,
	/* in-kernel enforcement decisions (cgroup BPF) */
	VGL_K_NET_DECISION = 90,
	VGL_K_MAX = 128,

	/* records made by the loader, not the kernel */
	VGL_K_LOADER_BASE = 0x8000,
	VGL_K_HELLO = 0x8001,     /* payload: text "abi=1 version=... hooks=..." */
	VGL_K_STATS = 0x8002,     /* payload: struct vgl_stats */
	VGL_K_CAPS = 0x8003,      /* payload: n x struct vgl_cap_rec */
	VGL_K_DECISION = 0x8004,  /* payload: UTF-8 JSON of one policy decision (fanotify enforcer) */
	VGL_K_REPLY = 0x8005,     /* payload: text reply to a control command: "<id> ok|err <text>" */
	VGL_K_LOG = 0x8006,       /* payload: text log line from the loader */
};

/* Event flags (vgl_frame.flags) */
#define VGL_F_TRUNCATED (1u << 0) /* at least one string was cut at the capture limit */
#define VGL_F_THREAD    (1u << 1) /* clone: the child is a thread, not a process */
#define VGL_F_POLICY    (1u << 2) /* produced or modified by an enforcement decision */

/* String flags (vgl_str.flags) */
#define VGL_S_TRUNCATED (1u << 0)
#define VGL_S_FAULT     (1u << 1) /* the user pointer could not be read */

struct vgl_frame {
	u32 len;   /* whole record, header included */
	u16 kind;  /* enum vgl_kind */
	u16 flags; /* VGL_F_* */
};

/* The fixed part of every kernel event. Order and sizes are the ABI: change VGL_ABI_VERSION
 * when they change. */
struct vgl_event {
	struct vgl_frame hdr;       /*   0 */
	u64 ts;                     /*   8 ns since boot (CLOCK_MONOTONIC incl. suspend: bpf_ktime_get_boot_ns) */
	u64 cgroup_id;              /*  16 cgroup v2 id */
	s64 res;                    /*  24 syscall return value */
	u32 pid;                    /*  32 tgid */
	u32 tid;                    /*  36 */
	u32 ppid;                   /*  40 real parent's tgid */
	u32 uid;                    /*  44 */
	u32 gid;                    /*  48 */
	u32 euid;                   /*  52 */
	u32 loginuid;               /*  56 */
	u32 cpu;                    /*  60 */
	u32 pidns;                  /*  64 inode of the pid namespace */
	u32 mntns;                  /*  68 */
	u32 netns;                  /*  72 */
	u32 vpid;                   /*  76 tgid as seen in the task's own pid namespace */
	char comm[VGL_COMM_LEN];    /*  80 */
	u16 nstr;                   /*  96 number of strings that follow */
	u16 syscall;                /*  98 syscall number on this arch (0 when not a syscall) */
	u32 pad;                    /* 100 */
	u64 args[VGL_NARGS];        /* 104 kind-specific, see src/sensor/kinds.ts */
};                              /* 200 */

struct vgl_str {
	u16 len;
	u16 flags; /* VGL_S_* */
};

/* Argument layouts used by several kinds (indices into vgl_event.args). */
/* exec: */
#define VGL_EXEC_A_EGID       0
#define VGL_EXEC_A_TTY        1
#define VGL_EXEC_A_CAP_EFF    2
#define VGL_EXEC_A_CAP_PRM    3
#define VGL_EXEC_A_CAP_INH    4
#define VGL_EXEC_A_EXE_INO    5
#define VGL_EXEC_A_EXE_CTIME  6
#define VGL_EXEC_A_EXE_MTIME  7
#define VGL_EXEC_A_EXE_FLAGS  8  /* VGL_EXE_* */
#define VGL_EXEC_A_START      9  /* task start time, ns since boot */
#define VGL_EXEC_A_SID_PGID   10 /* sid << 32 | pgid, as seen from the host */
#define VGL_EXEC_A_ARGV_TOTAL 11 /* argv bytes in the process (before truncation) */
/* exec strings: 0 exepath (resolved), 1 argv (NUL separated), 2 cwd, 3 filename as passed,
 * 4 environment (NUL separated; only when the kind's env_max is set) */
#define VGL_EXE_MEMFD      (1u << 0)
#define VGL_EXE_UPPER      (1u << 1) /* on an overlayfs upper layer */
#define VGL_EXE_WRITABLE   (1u << 2) /* Falco's EXE_WRITABLE: owned by the exec's fsuid, a group/other write bit, or capable */
#define VGL_EXE_FROM_EXECVEAT (1u << 3)
#define VGL_EXE_LOWER      (1u << 4) /* on an overlayfs lower layer */

/* fd description (dup, fchmod, fchown, finit_module, connect/accept/listen/bind/sendto tuples):
 * args[6..11] hold it, strings hold a path for files and unix sockets. */
#define VGL_FD_A_TYPE   6  /* VGL_FDT_* */
#define VGL_FD_A_FAMPROTO 7 /* family | (l4proto << 16) | (socket type << 24) */
#define VGL_FD_A_PORTS  8  /* local port << 16 | remote port (host order) */
#define VGL_FD_A_LADDR  9  /* IPv4 local address (network order in the low 32 bits) */
#define VGL_FD_A_RADDR  10 /* IPv4 remote address */
#define VGL_FD_A_INO    11 /* inode number of the file or socket */
/* IPv6 addresses travel as a 32-byte string (local 16, remote 16) flagged by the kind's layout. */

enum vgl_fd_type {
	VGL_FDT_UNKNOWN = 0,
	VGL_FDT_FILE = 1,
	VGL_FDT_DIRECTORY = 2,
	VGL_FDT_IPV4 = 3,
	VGL_FDT_IPV6 = 4,
	VGL_FDT_UNIX = 5,
	VGL_FDT_PIPE = 6,
	VGL_FDT_EVENT = 7,
	VGL_FDT_SIGNALFD = 8,
	VGL_FDT_EVENTPOLL = 9,
	VGL_FDT_INOTIFY = 10,
	VGL_FDT_TIMERFD = 11,
	VGL_FDT_NETLINK = 12,
	VGL_FDT_MEMFD = 13,
	VGL_FDT_CHAR = 14,
	VGL_FDT_BLOCK = 15,
	VGL_FDT_BPF = 16,
	VGL_FDT_OTHER_SOCK = 17,
};

/* Loader statistics record (VGL_K_STATS payload). Counters are totals since start. */
struct vgl_stats {
	u64 ringbuf_drops;            /* sum over CPUs of failed ring-buffer writes */
	u64 events_read;              /* records read from the ring buffer */
	u64 bytes_read;
	u64 ncpu;
	u64 seen[VGL_K_MAX];          /* per kind: hook invocations in the kernel */
	u64 filtered[VGL_K_MAX];      /* per kind: dropped by the in-kernel filter */
	u64 emitted[VGL_K_MAX];       /* per kind: written to the ring buffer */
	u64 dropped[VGL_K_MAX];       /* per kind: ring-buffer write failed */
};

/* Capability aggregation: the cap_agg map is keyed by vgl_cap_key with vgl_cap_val values, and
 * the loader sends its content as an array of vgl_cap_rec (VGL_K_CAPS payload). */
struct vgl_cap_key {
	u32 pid;
	u32 cap;
};
struct vgl_cap_val {
	u64 granted;
	u64 denied;
	u64 last_ts;
	u64 cgroup_id;
	u32 mntns;
	u32 pad;
};
struct vgl_cap_rec {
	struct vgl_cap_key k; /* offset 0: pid, 4: cap */
	struct vgl_cap_val v; /* offset 8 */
};

/* Per-kind counters as kept in the kernel (one per CPU in a PERCPU_ARRAY keyed by kind). */
struct vgl_kind_counters {
	u64 seen;
	u64 filtered;
	u64 emitted;
	u64 dropped;
};

/* The global_cfg map's one value, written by the loader at start. */
struct vgl_global_cfg {
	u32 host_mntns;     /* mount namespace inode of the host, for VGL_KC_ONLY_CONTAINERS */
	u32 flags;
	u32 ignore_tgid[2]; /* never reported: the loader and the sensor that started it (0: none) */
};

/* Per-kind in-kernel filter and capture configuration (ARRAY keyed by kind), written by the
 * loader from what the loaded rules and policies need. */
struct vgl_kind_cfg {
	u32 enabled;      /* 0: count as filtered and emit nothing */
	u32 flags;        /* VGL_KC_* */
	u32 argv_max;     /* exec only: argv bytes to capture (<= VGL_ARGV_MAX) */
	u32 env_max;      /* exec only: environment bytes to capture (<= VGL_ENV_MAX); 0: none */
};
#define VGL_KC_ONLY_CONTAINERS (1u << 0) /* drop events of processes in the host mount namespace */
#define VGL_KC_ONLY_FAILED     (1u << 1)
#define VGL_KC_ONLY_SUCCESS    (1u << 2)
#define VGL_KC_ONLY_WRITE      (1u << 3) /* open: only when flags ask for write/create/trunc */
#define VGL_KC_PREFIX_FILTER   (1u << 4) /* path must match path_pfx / path_sfx (or be undecidable) */
#define VGL_KC_PORT_FILTER     (1u << 5) /* connect/sendto/sendmsg: destination port must be in net_ports... */
#define VGL_KC_PORT_OR_CONTAINER (1u << 6) /* ...or (with this flag) the process in a container */

/* net_ports map key: (kind << 16) | destination port (host order) */
#define VGL_PORT_KEY(kind, port) (((u32)(kind) << 16) | (u32)(port))

/* In-kernel path filter (file kinds with VGL_KC_PREFIX_FILTER). A raw path passes when it is
 * undecidable (relative, >= VGL_PF_SCAN bytes, or containing "//", "/." or ".."), when it starts
 * with a prefix in path_pfx (LPM trie keyed by kind then path) or ends with a suffix in path_sfx
 * (hash keyed by kind, length and the last bytes). Per kind, pf_cfg says which suffix lengths to
 * try and carries two exact pre-checks that spare most paths every map lookup: heads[] holds the
 * distinct first `headlen` bytes of the prefixes (headlen <= every prefix's length, at most
 * VGL_PF_HEAD), so a path whose first headlen bytes are not among them starts with no prefix
 * (VGL_PF_HEADS); tails[] likewise holds the distinct last `taillen` bytes of the suffixes
 * (VGL_PF_TAILS). A head or tail is stored in the first headlen/taillen bytes of its u64, the rest
 * zero: the path's first 8 bytes masked, or its last 8 bytes shifted down, compare equal. */
#define VGL_PF_SCAN 256
#define VGL_PF_PFX 64
#define VGL_PF_SFX 32
#define VGL_PF_NLENS 8
#define VGL_PF_HEAD 8   /* at most this many bytes of a head or tail: one u64 compare */
#define VGL_PF_NHEADS 16
#define VGL_PF_NTAILS 16
#define VGL_PF_HEADS (1u << 0) /* heads[0..nheads) are the heads of every prefix */
#define VGL_PF_TAILS (1u << 1) /* tails[0..ntails) are the tails of every suffix */
struct vgl_pfx_key {
	u32 prefixlen;           /* bits: 16 for the kind, then 8 per path byte */
	u8 data[2 + VGL_PF_PFX]; /* kind (big-endian), path bytes */
};
struct vgl_sfx_key {
	u16 kind;
	u16 len;
	u8 s[VGL_PF_SFX];        /* the last `len` bytes, zero padded */
};
struct vgl_pf_cfg {
	u8 nlens;                /* suffix lengths to try, ascending, in lens[] */
	u8 lens[VGL_PF_NLENS];
	u8 flags;                /* VGL_PF_HEADS, VGL_PF_TAILS */
	u8 nheads;
	u8 ntails;
	u8 headlen;              /* 1..VGL_PF_HEAD */
	u8 taillen;              /* 1..VGL_PF_HEAD */
	u8 pad[2];
	u64 heads[VGL_PF_NHEADS];
	u64 tails[VGL_PF_NTAILS];
};

/* Network enforcement (bpf/enforce_net.bpf.c, cgroup BPF). The vnet_scopes map holds one
 * struct vnet_scope per container, keyed by its cgroup v2 id (u64; 0 is the host pseudo-scope),
 * written whole by user space (src/kernel/encode.ts encodes it, `map-update vnet_scopes`). */
#define VNET_MAX_RULES 32
#define VNET_A_ALLOW 1
#define VNET_A_AUDIT 2
#define VNET_A_BLOCK 3
#define VNET_DIR_EGRESS 1
#define VNET_DIR_BIND 2
#define VNET_C_TCP 1
#define VNET_C_UDP 2
#define VNET_C_ICMP 3
#define VNET_C_RAW 4
#define VNET_POLICY_POSTURE 0xffff
#define VNET_HOOK_CONNECT 1
#define VNET_HOOK_SENDMSG 2
#define VNET_HOOK_BIND 3
#define VNET_HOOK_SOCK_CREATE 4

/* One address rule; 48 bytes. net/mask are in network byte order as raw bytes (an IPv4 rule uses
 * word 0 only). family 0 = any family (no cidr). ports are inclusive, host order. `entry` is the
 * rule's position among the scope's rules of its direction (egress or bind): what a decision
 * reports as the matched entry. */
struct vnet_rule {
	u32 net[4];
	u32 mask[4];
	u8 family;
	u8 proto;   /* 0 any, 6 tcp, 17 udp */
	u8 action;  /* VNET_A_* */
	u8 dir;     /* VNET_DIR_* */
	u16 port_lo;
	u16 port_hi;
	u16 policy; /* index of the policy in the table (names are user space's) */
	u16 entry;
	u32 pad32;
};

/* Everything the programs know about one container; 48 + 32 * 48 bytes. Postures: 0 none (no
 * allow-list), 2 audit, 3 block; they apply to what no Allow rule matched. `gen` is the generation
 * of the table this value belongs to (stamped by user space on every push) and `proto_entry[c]`
 * the position of protocol class c's entry among the scope's protocol entries; decisions carry
 * both, so user space names the matched rule from the table that was in force. */
struct vnet_scope {
	u32 n;
	u8 posture_egress;
	u8 posture_bind;
	u8 posture_proto;
	u8 flags;
	u32 scope_idx;
	u8 proto_action[8];  /* indexed by VNET_C_* */
	u16 proto_policy[8];
	u32 gen;
	u8 proto_entry[8];   /* indexed by VNET_C_* */
	struct vnet_rule rules[VNET_MAX_RULES];
};

/* Arg slots of a VGL_K_NET_DECISION event. */
#define VGL_ND_ACTION   0  /* action applied/reported: VNET_A_* */
#define VGL_ND_POLICY   1  /* bits 0-15: policy index (VNET_POLICY_POSTURE: the posture decided);
			    * bits 16-31: matched entry (vnet_rule.entry, or proto_entry[class] for
			    * sock_create; VGL_ND_NO_ENTRY when the posture decided) */
#define VGL_ND_FAMILY   2  /* AF_INET 2, AF_INET6 10, AF_PACKET 17 */
#define VGL_ND_PROTO    3  /* L4 protocol (6, 17, ...) or the socket protocol for sock_create */
#define VGL_ND_PORT     4  /* host order; 0 for sock_create */
#define VGL_ND_IP4      5  /* IPv4 address, network order in the low 32 bits */
#define VGL_ND_HOOK     6  /* VNET_HOOK_* */
#define VGL_ND_SCOPE    7  /* bits 0-31: scope index; bits 32-63: vnet_scope.gen of the table */
#define VGL_ND_IP6A     8  /* IPv6 address bytes 0-7 as stored in memory */
#define VGL_ND_IP6B     9  /* bytes 8-15 */
#define VGL_ND_SOCKTYPE 10 /* socket type */
#define VGL_ND_POSTURE  11 /* 1 when the decision came from the default posture */
#define VGL_ND_ENTRY_SHIFT 16
#define VGL_ND_NO_ENTRY 0xffff
#define VGL_ND_GEN_SHIFT 32

#endif /* VIGIL_ABI_H */
