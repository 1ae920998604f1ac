/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * vigil_abi.h: the one binary ABI between the kernel programs, the native loader and the
 * TypeScript decoder (src/sensor/abi.ts mirrors it, src/abi/kinds.gen.ts mirrors the generated
 * vigil_kinds.h; tests/unit/abi/layout.test.ts checks that both agree by compiling a probe against
 * this header).
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

#define VGL_ABI_VERSION 3
#define VGL_COMM_LEN 16
#define VGL_NARGS 12
#define VGL_MAX_STRS 4
#define VGL_STR_MAX 4096      /* hard cap of one captured string (path, cwd) */
#define VGL_ARGV_MAX 4096     /* hard cap of captured argv bytes (the runtime cap is a config value) */
#define VGL_ENV_MAX 4096      /* hard cap of captured environment bytes (likewise) */
#define VGL_SCRATCH_SIZE 16384 /* per-CPU event assembly buffer; power of two */
#define VGL_ANCESTRY 8

/* Event kinds (enum vgl_kind), the named arg slots of each kind (VGL_A_<KIND>_<SLOT>) and the
 * syscall numbers of the target architecture (VGL_NR_<KIND>) are generated from the one table of
 * kinds, src/abi/kinds-table.ts (make gen). */
#include "vigil_kinds.h"

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
	u64 args[VGL_NARGS];        /* 104 kind-specific: VGL_A_<KIND>_<SLOT> (src/abi/kinds-table.ts) */
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

/* Arg slots of a VGL_K_NET_DECISION event: VGL_A_NET_DECISION_* (the kind table's row, generated
 * into vigil_kinds.h). Two slots are packed: POLICY holds the policy index in bits 0-15
 * (VNET_POLICY_POSTURE: the posture decided) and the matched entry in bits 16-31 (vnet_rule.entry,
 * or proto_entry[class] for sock_create; VGL_ND_NO_ENTRY when the posture decided); SCOPE holds the
 * scope index in bits 0-31 and vnet_scope.gen of the table in bits 32-63. */
#define VGL_ND_ENTRY_SHIFT 16
#define VGL_ND_NO_ENTRY 0xffff
#define VGL_ND_GEN_SHIFT 32

#endif /* VIGIL_ABI_H */
