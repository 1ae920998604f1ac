/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * vigil_kinds.h: GENERATED from src/abi/kinds-table.ts by scripts/gen-abi.ts (make gen). Do not edit:
 * change the table and regenerate (tests/unit/abi/generated.test.ts fails when this file is stale).
 * Event kinds, the index of every named arg slot (VGL_A_<KIND>_<SLOT>, into vgl_event.args), and the
 * syscall numbers of the architecture being compiled (VGL_NR_<KIND>).
 */
#ifndef VIGIL_KINDS_H
#define VIGIL_KINDS_H

enum vgl_kind {
	VGL_K_NONE = 0,
	VGL_K_EXECVE = 1, /* execve: process */
	VGL_K_EXECVEAT = 2, /* execveat: process, reserved */
	VGL_K_CLONE = 3, /* clone: process */
	VGL_K_PROCEXIT = 4, /* procexit: process */
	VGL_K_EXECVE_FAILED = 5, /* execve: process */
	VGL_K_EXECVEAT_FAILED = 6, /* execveat: process */
	VGL_K_OPEN = 10, /* open: file */
	VGL_K_OPENAT = 11, /* openat: file */
	VGL_K_OPENAT2 = 12, /* openat2: file */
	VGL_K_UNLINK = 13, /* unlink: file */
	VGL_K_UNLINKAT = 14, /* unlinkat: file */
	VGL_K_RENAME = 15, /* rename: file */
	VGL_K_RENAMEAT = 16, /* renameat: file */
	VGL_K_RENAMEAT2 = 17, /* renameat2: file */
	VGL_K_LINK = 18, /* link: file */
	VGL_K_LINKAT = 19, /* linkat: file */
	VGL_K_SYMLINK = 20, /* symlink: file */
	VGL_K_SYMLINKAT = 21, /* symlinkat: file */
	VGL_K_MKDIR = 22, /* mkdir: file */
	VGL_K_MKDIRAT = 23, /* mkdirat: file */
	VGL_K_CHMOD = 24, /* chmod: file */
	VGL_K_FCHMOD = 25, /* fchmod: file */
	VGL_K_FCHMODAT = 26, /* fchmodat: file */
	VGL_K_CHOWN = 27, /* chown: file */
	VGL_K_LCHOWN = 28, /* lchown: file */
	VGL_K_FCHOWN = 29, /* fchown: file */
	VGL_K_FCHOWNAT = 30, /* fchownat: file */
	VGL_K_SOCKET = 40, /* socket: net */
	VGL_K_CONNECT = 41, /* connect: net */
	VGL_K_ACCEPT = 42, /* accept: net */
	VGL_K_ACCEPT4 = 43, /* accept4: net */
	VGL_K_BIND = 44, /* bind: net */
	VGL_K_LISTEN = 45, /* listen: net */
	VGL_K_SENDTO = 46, /* sendto: net */
	VGL_K_SENDMSG = 47, /* sendmsg: net */
	VGL_K_DUP = 50, /* dup: fd */
	VGL_K_DUP2 = 51, /* dup2: fd */
	VGL_K_DUP3 = 52, /* dup3: fd */
	VGL_K_CLOSE = 53, /* close: fd */
	VGL_K_SETUID = 60, /* setuid: priv */
	VGL_K_SETGID = 61, /* setgid: priv */
	VGL_K_SETRESUID = 62, /* setresuid: priv */
	VGL_K_SETRESGID = 63, /* setresgid: priv */
	VGL_K_CAPSET = 64, /* capset: priv */
	VGL_K_PTRACE = 65, /* ptrace: priv */
	VGL_K_MOUNT = 66, /* mount: priv */
	VGL_K_UMOUNT2 = 67, /* umount2: priv */
	VGL_K_INIT_MODULE = 68, /* init_module: priv */
	VGL_K_FINIT_MODULE = 69, /* finit_module: priv */
	VGL_K_BPF = 70, /* bpf: priv */
	VGL_K_MEMFD_CREATE = 71, /* memfd_create: priv */
	VGL_K_UNSHARE = 72, /* unshare: priv */
	VGL_K_SETNS = 73, /* setns: priv */
	VGL_K_KILL = 74, /* kill: priv */
	VGL_K_PRCTL = 75, /* prctl: priv */
	VGL_K_CAPABILITY = 80, /* capability: caps */
	VGL_K_NET_DECISION = 90, /* net_decision: policy */
	VGL_K_MAX = 128, /* kernel kinds are < MAX (per-kind arrays and maps are this long) */
	VGL_K_LOADER_BASE = 0x8000, /* records made by the loader, not the kernel */
	VGL_K_HELLO = 0x8001, /* payload: text "abi=1 version=... hooks=..." */
	VGL_K_STATS = 0x8002, /* payload: struct vgl_stats */
	VGL_K_CAPS = 0x8003, /* payload: n x struct vgl_cap_rec */
	VGL_K_DECISION = 0x8004, /* payload: UTF-8 JSON of one policy decision (fanotify enforcer) */
	VGL_K_REPLY = 0x8005, /* payload: text reply to a control command: "<id> ok|err <text>" */
	VGL_K_LOG = 0x8006, /* payload: text log line from the loader */
};

/* Arg slots (indices into vgl_event.args) */
#define VGL_A_CLONE_TID 0 /* u32 */
#define VGL_A_CLONE_PID 1 /* u32 */
#define VGL_A_CLONE_START 2 /* u64 */
#define VGL_A_CLONE_FLAGS 3 /* u32 */
#define VGL_A_PROCEXIT_STATUS 0 /* u32 */
#define VGL_A_PROCEXIT_SIG 1 /* u32 */
#define VGL_A_PROCEXIT_CORE 2 /* u32 */
#define VGL_A_PROCEXIT_START 3 /* u64 */
#define VGL_A_EXECVE_FAILED_DIRFD 0 /* s32 */
#define VGL_A_EXECVE_FAILED_FLAGS 1 /* u32 */
#define VGL_A_EXECVEAT_FAILED_DIRFD 0 /* s32 */
#define VGL_A_EXECVEAT_FAILED_FLAGS 1 /* u32 */
#define VGL_A_OPEN_FD 0 /* s64 */
#define VGL_A_OPEN_DIRFD 1 /* s32 */
#define VGL_A_OPEN_FLAGS 2 /* u32 */
#define VGL_A_OPEN_MODE 3 /* u32 */
#define VGL_A_OPEN_DEV 4 /* u64 */
#define VGL_A_OPENAT_FD 0 /* s64 */
#define VGL_A_OPENAT_DIRFD 1 /* s32 */
#define VGL_A_OPENAT_FLAGS 2 /* u32 */
#define VGL_A_OPENAT_MODE 3 /* u32 */
#define VGL_A_OPENAT_DEV 4 /* u64 */
#define VGL_A_OPENAT2_FD 0 /* s64 */
#define VGL_A_OPENAT2_DIRFD 1 /* s32 */
#define VGL_A_OPENAT2_FLAGS 2 /* u32 */
#define VGL_A_OPENAT2_MODE 3 /* u32 */
#define VGL_A_OPENAT2_DEV 4 /* u64 */
#define VGL_A_UNLINKAT_FLAGS 0 /* u32 */
#define VGL_A_UNLINKAT_DIRFD 3 /* s32 */
#define VGL_A_RENAMEAT_FLAGS 0 /* u32 */
#define VGL_A_RENAMEAT_OLDDIRFD 1 /* s32 */
#define VGL_A_RENAMEAT_NEWDIRFD 2 /* s32 */
#define VGL_A_RENAMEAT2_FLAGS 0 /* u32 */
#define VGL_A_RENAMEAT2_OLDDIRFD 1 /* s32 */
#define VGL_A_RENAMEAT2_NEWDIRFD 2 /* s32 */
#define VGL_A_LINKAT_FLAGS 0 /* u32 */
#define VGL_A_LINKAT_OLDDIR 1 /* s32 */
#define VGL_A_LINKAT_NEWDIR 2 /* s32 */
#define VGL_A_SYMLINKAT_LINKDIRFD 2 /* s32 */
#define VGL_A_MKDIR_MODE 0 /* u32 */
#define VGL_A_MKDIRAT_MODE 0 /* u32 */
#define VGL_A_MKDIRAT_DIRFD 3 /* s32 */
#define VGL_A_CHMOD_MODE 0 /* u32 */
#define VGL_A_FCHMOD_MODE 0 /* u32 */
#define VGL_A_FCHMOD_FD 3 /* s32 */
#define VGL_A_FCHMODAT_MODE 0 /* u32 */
#define VGL_A_FCHMODAT_DIRFD 3 /* s32 */
#define VGL_A_CHOWN_UID 0 /* u32 */
#define VGL_A_CHOWN_GID 1 /* u32 */
#define VGL_A_LCHOWN_UID 0 /* u32 */
#define VGL_A_LCHOWN_GID 1 /* u32 */
#define VGL_A_FCHOWN_UID 0 /* u32 */
#define VGL_A_FCHOWN_GID 1 /* u32 */
#define VGL_A_FCHOWN_FD 3 /* s32 */
#define VGL_A_FCHOWNAT_UID 0 /* u32 */
#define VGL_A_FCHOWNAT_GID 1 /* u32 */
#define VGL_A_FCHOWNAT_FLAGS 2 /* u32 */
#define VGL_A_FCHOWNAT_DIRFD 3 /* s32 */
#define VGL_A_SOCKET_DOMAIN 0 /* u32 */
#define VGL_A_SOCKET_TYPE 1 /* u32 */
#define VGL_A_SOCKET_PROTO 2 /* u32 */
#define VGL_A_CONNECT_FD 0 /* s32 */
#define VGL_A_ACCEPT_LFD 0 /* s32 */
#define VGL_A_ACCEPT_FLAGS 1 /* u32 */
#define VGL_A_ACCEPT4_LFD 0 /* s32 */
#define VGL_A_ACCEPT4_FLAGS 1 /* u32 */
#define VGL_A_BIND_FD 0 /* s32 */
#define VGL_A_LISTEN_FD 0 /* s32 */
#define VGL_A_LISTEN_BACKLOG 1 /* s32 */
#define VGL_A_SENDTO_FD 0 /* s32 */
#define VGL_A_SENDMSG_FD 0 /* s32 */
#define VGL_A_DUP_OLDFD 0 /* s32 */
#define VGL_A_DUP_NEWFD 1 /* s32 */
#define VGL_A_DUP_FLAGS 2 /* u32 */
#define VGL_A_DUP2_OLDFD 0 /* s32 */
#define VGL_A_DUP2_NEWFD 1 /* s32 */
#define VGL_A_DUP2_FLAGS 2 /* u32 */
#define VGL_A_DUP3_OLDFD 0 /* s32 */
#define VGL_A_DUP3_NEWFD 1 /* s32 */
#define VGL_A_DUP3_FLAGS 2 /* u32 */
#define VGL_A_CLOSE_FD 0 /* s32 */
#define VGL_A_SETUID_UID 0 /* u32 */
#define VGL_A_SETGID_GID 0 /* u32 */
#define VGL_A_SETRESUID_RUID 0 /* u32 */
#define VGL_A_SETRESUID_EUID 1 /* u32 */
#define VGL_A_SETRESUID_SUID 2 /* u32 */
#define VGL_A_SETRESGID_RGID 0 /* u32 */
#define VGL_A_SETRESGID_EGID 1 /* u32 */
#define VGL_A_SETRESGID_SGID 2 /* u32 */
#define VGL_A_CAPSET_CAP_EFFECTIVE 0 /* u64 */
#define VGL_A_CAPSET_CAP_PERMITTED 1 /* u64 */
#define VGL_A_CAPSET_CAP_INHERITABLE 2 /* u64 */
#define VGL_A_PTRACE_REQUEST 0 /* u32 */
#define VGL_A_PTRACE_PID 1 /* s32 */
#define VGL_A_MOUNT_FLAGS 3 /* u32 */
#define VGL_A_UMOUNT2_FLAGS 1 /* u32 */
#define VGL_A_INIT_MODULE_LENGTH 1 /* u64 */
#define VGL_A_FINIT_MODULE_FD 0 /* s32 */
#define VGL_A_FINIT_MODULE_FLAGS 2 /* u32 */
#define VGL_A_BPF_CMD 0 /* s32 */
#define VGL_A_MEMFD_CREATE_FLAGS 1 /* u32 */
#define VGL_A_UNSHARE_FLAGS 0 /* u64 */
#define VGL_A_SETNS_FD 0 /* s32 */
#define VGL_A_SETNS_NSTYPE 1 /* s32 */
#define VGL_A_KILL_PID 0 /* s32 */
#define VGL_A_KILL_SIG 1 /* s32 */
#define VGL_A_PRCTL_OPTION 0 /* s32 */
#define VGL_A_PRCTL_ARG2_INT 1 /* s64 */
#define VGL_A_NET_DECISION_ACTION 0 /* u32 */
#define VGL_A_NET_DECISION_POLICY 1 /* u32 */
#define VGL_A_NET_DECISION_FAMILY 2 /* u32 */
#define VGL_A_NET_DECISION_PROTO 3 /* u32 */
#define VGL_A_NET_DECISION_PORT 4 /* u32 */
#define VGL_A_NET_DECISION_IP4 5 /* u32 */
#define VGL_A_NET_DECISION_INO 5 /* u64, union with ip4 */
#define VGL_A_NET_DECISION_HOOK 6 /* u32 */
#define VGL_A_NET_DECISION_SCOPE 7 /* u64 */
#define VGL_A_NET_DECISION_IP6A 8 /* u64 */
#define VGL_A_NET_DECISION_IP6B 9 /* u64 */
#define VGL_A_NET_DECISION_SOCKTYPE 10 /* u32 */
#define VGL_A_NET_DECISION_POSTURE 11 /* u32 */

/* Syscall numbers of the target architecture (absent: no such syscall there) */
#if defined(__TARGET_ARCH_arm64) || (!defined(__TARGET_ARCH_x86) && defined(__aarch64__))
#define VGL_NR_EXECVE 221
#define VGL_NR_EXECVEAT 281
#define VGL_NR_EXECVE_FAILED 221
#define VGL_NR_EXECVEAT_FAILED 281
#define VGL_NR_OPENAT 56
#define VGL_NR_OPENAT2 437
#define VGL_NR_UNLINKAT 35
#define VGL_NR_RENAMEAT 38
#define VGL_NR_RENAMEAT2 276
#define VGL_NR_LINKAT 37
#define VGL_NR_SYMLINKAT 36
#define VGL_NR_MKDIRAT 34
#define VGL_NR_FCHMOD 52
#define VGL_NR_FCHMODAT 53
#define VGL_NR_FCHOWN 55
#define VGL_NR_FCHOWNAT 54
#define VGL_NR_SOCKET 198
#define VGL_NR_CONNECT 203
#define VGL_NR_ACCEPT 202
#define VGL_NR_ACCEPT4 242
#define VGL_NR_BIND 200
#define VGL_NR_LISTEN 201
#define VGL_NR_SENDTO 206
#define VGL_NR_SENDMSG 211
#define VGL_NR_DUP 23
#define VGL_NR_DUP3 24
#define VGL_NR_CLOSE 57
#define VGL_NR_SETUID 146
#define VGL_NR_SETGID 144
#define VGL_NR_SETRESUID 147
#define VGL_NR_SETRESGID 149
#define VGL_NR_CAPSET 91
#define VGL_NR_PTRACE 117
#define VGL_NR_MOUNT 40
#define VGL_NR_UMOUNT2 39
#define VGL_NR_INIT_MODULE 105
#define VGL_NR_FINIT_MODULE 273
#define VGL_NR_BPF 280
#define VGL_NR_MEMFD_CREATE 279
#define VGL_NR_UNSHARE 97
#define VGL_NR_SETNS 268
#define VGL_NR_KILL 129
#define VGL_NR_PRCTL 167
#elif defined(__TARGET_ARCH_x86) || defined(__x86_64__)
#define VGL_NR_EXECVE 59
#define VGL_NR_EXECVEAT 322
#define VGL_NR_EXECVE_FAILED 59
#define VGL_NR_EXECVEAT_FAILED 322
#define VGL_NR_OPEN 2
#define VGL_NR_OPENAT 257
#define VGL_NR_OPENAT2 437
#define VGL_NR_UNLINK 87
#define VGL_NR_UNLINKAT 263
#define VGL_NR_RENAME 82
#define VGL_NR_RENAMEAT 264
#define VGL_NR_RENAMEAT2 316
#define VGL_NR_LINK 86
#define VGL_NR_LINKAT 265
#define VGL_NR_SYMLINK 88
#define VGL_NR_SYMLINKAT 266
#define VGL_NR_MKDIR 83
#define VGL_NR_MKDIRAT 258
#define VGL_NR_CHMOD 90
#define VGL_NR_FCHMOD 91
#define VGL_NR_FCHMODAT 268
#define VGL_NR_CHOWN 92
#define VGL_NR_LCHOWN 94
#define VGL_NR_FCHOWN 93
#define VGL_NR_FCHOWNAT 260
#define VGL_NR_SOCKET 41
#define VGL_NR_CONNECT 42
#define VGL_NR_ACCEPT 43
#define VGL_NR_ACCEPT4 288
#define VGL_NR_BIND 49
#define VGL_NR_LISTEN 50
#define VGL_NR_SENDTO 44
#define VGL_NR_SENDMSG 46
#define VGL_NR_DUP 32
#define VGL_NR_DUP2 33
#define VGL_NR_DUP3 292
#define VGL_NR_CLOSE 3
#define VGL_NR_SETUID 105
#define VGL_NR_SETGID 106
#define VGL_NR_SETRESUID 117
#define VGL_NR_SETRESGID 119
#define VGL_NR_CAPSET 126
#define VGL_NR_PTRACE 101
#define VGL_NR_MOUNT 165
#define VGL_NR_UMOUNT2 166
#define VGL_NR_INIT_MODULE 175
#define VGL_NR_FINIT_MODULE 313
#define VGL_NR_BPF 321
#define VGL_NR_MEMFD_CREATE 319
#define VGL_NR_UNSHARE 272
#define VGL_NR_SETNS 308
#define VGL_NR_KILL 62
#define VGL_NR_PRCTL 157
#else
#error "vigil_kinds.h: syscall numbers only for x86_64 and arm64"
#endif

#endif /* VIGIL_KINDS_H */
