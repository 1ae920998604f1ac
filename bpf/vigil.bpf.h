/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vigil.bpf.h: shared kernel-side helpers for every hook family (process.bpf.c, file.bpf.c,
 * net.bpf.c, priv.bpf.c, cap.bpf.c, enforce_*.bpf.c). Maps are defined once in maps.bpf.c and
 * declared extern here; `bpftool gen object` links the families into one object.
 *
 * Layering (as in Falco's modern_bpf helpers): config -> counters -> event assembly in a per-CPU
 * scratch buffer -> strings (user memory, kernel paths) -> submit to the ring buffer.
 */
#ifndef VIGIL_BPF_H
#define VIGIL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vigil_abi.h"

#define SCRATCH_MASK (VGL_SCRATCH_SIZE - 1)
#define HALF_MASK ((VGL_SCRATCH_SIZE / 2) - 1)
#define STR_MASK (VGL_STR_MAX - 1)
#define PATH_MAX_DEPTH 48
#define AT_FDCWD_VAL -100

/* ---- maps: declared extern everywhere, defined once where maps.bpf.c sets VGL_DEFINE_MAPS ---- */
#ifdef VGL_DEFINE_MAPS
#define VGL_MAP
#else
#define VGL_MAP extern
#endif

struct vgl_scratch {
	u8 buf[VGL_SCRATCH_SIZE];
};
struct vgl_pathbuf {
	u8 buf[VGL_STR_MAX * 2];
};

/* One syscall as its exit program sees it: the arguments, read at sys_exit from the task's saved
 * user registers (they still hold the arguments there: the result goes to the return register
 * only), its kind and number. No enter hook is needed, so a watched syscall pays one tracepoint,
 * not two, and nothing is stashed between enter and exit. */
struct vgl_call {
	u64 args[6];
	u32 kind;
	u32 nr;
	u32 flags; /* the kind's filter flags (kind_cfg), for the family's own filters */
	u32 pad;
};

/* Ring buffer wakeups (set by the loader before load, `--wakeup-ms`): 0 wakes user space on every
 * event; otherwise an event wakes it only once this many bytes wait, and the loader drains the
 * rest on a short timer. A wakeup per event costs the traced process an irq_work and the node two
 * context switches; batching them is what keeps a fork+exec loop cheap. */
#ifdef VGL_DEFINE_MAPS
const volatile u64 vgl_wake_bytes = 0;
#else
extern const volatile u64 vgl_wake_bytes;
#endif

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vgl_scratch);
} scratch SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vgl_pathbuf);
} pathbuf SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VGL_K_MAX);
	__type(key, u32);
	__type(value, struct vgl_kind_counters);
} counters SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VGL_K_MAX);
	__type(key, u32);
	__type(value, struct vgl_kind_cfg);
} kind_cfg SEC(".maps");

/* syscall number -> kind (filled by the loader for the syscalls it attaches) */
VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, u32);
	__type(value, u32);
} sys_kind SEC(".maps");

/* destination ports admitted per kind (VGL_KC_PORT_FILTER), key VGL_PORT_KEY(kind, port) */
VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u8);
} net_ports SEC(".maps");

/* per task: 1 while an execveat is in progress (process.bpf.c) */
VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u32);
} exec_at SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vgl_cap_key);
	__type(value, struct vgl_cap_val);
} cap_agg SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vgl_pfx_key);
	__type(value, u8);
} path_pfx SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vgl_sfx_key);
	__type(value, u8);
} path_sfx SEC(".maps");

VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VGL_K_MAX);
	__type(key, u32);
	__type(value, struct vgl_pf_cfg);
} pf_cfg SEC(".maps");

/* Global configuration written by the loader (one entry, struct vgl_global_cfg in vigil_abi.h). */
VGL_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vgl_global_cfg);
} global_cfg SEC(".maps");

/* ---- counters ---- */
static __always_inline struct vgl_kind_counters *vgl_counters(u32 kind)
{
	return bpf_map_lookup_elem(&counters, &kind);
}

static __always_inline struct vgl_kind_cfg *vgl_cfg(u32 kind)
{
	return bpf_map_lookup_elem(&kind_cfg, &kind);
}

#ifdef VGL_RDONLY_CAST
/* bpf_rdonly_cast (kfunc, 6.2+): any kernel address as a read-only BTF pointer of `type`. The
 * verifier turns the call into a register move and each field load through it into one
 * fault-safe load, so a pointer chain costs loads instead of a bpf_probe_read_kernel call per hop
 * (~25–40 ns each here). Only objects that define VGL_RDONLY_CAST declare it: the libbpf 1.1
 * linker (`bpftool gen object`) fails on a kfunc extern declared in more than one object. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define vgl_cast(ptr, type) ((type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))
#endif

/* ---- task helpers ----
 * `t` is always a BTF pointer (bpf_get_current_task_btf() or a tp_btf argument), so fields are
 * read by direct dereference: the JIT turns each into one guarded load (a fault reads 0), with
 * CO-RE relocations from vmlinux.h's preserve_access_index. A BPF_CORE_READ chain costs one
 * helper call per hop instead: the event header cost ~400 ns that way, ~30 ns this way. */
static __always_inline u32 vgl_task_ppid(struct task_struct *t)
{
	return t->real_parent->tgid;
}

static __always_inline u32 vgl_task_vpid(struct task_struct *t)
{
	struct pid *p = t->group_leader->thread_pid;
	unsigned int level = p->level;
	u64 at = (u64)p + bpf_core_field_offset(struct pid, numbers) + (u64)(level & 31) * bpf_core_type_size(struct upid);
#ifdef VGL_RDONLY_CAST
	/* the computed address as a read-only BTF pointer: one load (see vgl_cast) */
	return vgl_cast(at, struct upid)->nr;
#else
	u32 nr = 0;
	/* a variable index into a BTF object needs a helper read */
	bpf_probe_read_kernel(&nr, sizeof(nr), (void *)at);
	return nr;
#endif
}

/* The sensor's own processes (the loader and its parent) are never reported: two compares
 * against the global configuration (an array lookup the verifier inlines), not a hash lookup on
 * every hooked call. */
static __always_inline bool vgl_is_ignored(u32 tgid)
{
	u32 zero = 0;
	struct vgl_global_cfg *g = bpf_map_lookup_elem(&global_cfg, &zero);
	return g && (tgid == g->ignore_tgid[0] || tgid == g->ignore_tgid[1]);
}

/* Fills the fixed part of an event for the current task, except the fields read from `t`. */
static __always_inline void vgl_fill_common(struct vgl_event *e, u16 kind)
{
	u64 pidtgid = bpf_get_current_pid_tgid();
	u64 uidgid = bpf_get_current_uid_gid();

	e->hdr.kind = kind;
	e->hdr.flags = 0;
	e->hdr.len = sizeof(*e);
	e->ts = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->res = 0;
	e->pid = pidtgid >> 32;
	e->tid = (u32)pidtgid;
	e->uid = (u32)uidgid;
	e->gid = uidgid >> 32;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->nstr = 0;
	e->syscall = 0;
	e->pad = 0;
#pragma unroll
	for (int i = 0; i < VGL_NARGS; i++)
		e->args[i] = 0;
}

/* The task fields of the header, for a BTF task pointer (tracepoint and tp_btf programs). */
static __always_inline void vgl_fill_task(struct vgl_event *e, struct task_struct *t)
{
	e->ppid = vgl_task_ppid(t);
	e->euid = t->cred->euid.val;
	e->loginuid = t->loginuid.val;
	struct nsproxy *ns = t->nsproxy;
	e->pidns = ns->pid_ns_for_children->ns.inum;
	e->mntns = ns->mnt_ns->ns.inum;
	e->netns = ns->net_ns->ns.inum;
	e->vpid = vgl_task_vpid(t);
}

/* The same through helper reads, for program types that only have bpf_get_current_task()
 * (cgroup and LSM programs in the enforcement object). */
static __always_inline void vgl_fill_task_raw(struct vgl_event *e, struct task_struct *t)
{
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->euid = BPF_CORE_READ(t, cred, euid.val);
	e->loginuid = BPF_CORE_READ(t, loginuid.val);
	e->pidns = BPF_CORE_READ(t, nsproxy, pid_ns_for_children, ns.inum);
	e->mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	e->netns = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
	struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	e->vpid = BPF_CORE_READ(p, numbers[level].nr);
}

/* The per-CPU scratch buffer with the task-independent header fields filled, or NULL. */
static __always_inline struct vgl_event *vgl_begin_common(u16 kind)
{
	u32 zero = 0;
	struct vgl_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	struct vgl_event *e = (struct vgl_event *)s->buf;
	vgl_fill_common(e, kind);
	return e;
}

/* Returns the scratch buffer with a filled header, or NULL. Events are assembled there and
 * copied to the ring buffer by vgl_submit (variable length). `t` must be a BTF task pointer. */
static __always_inline struct vgl_event *vgl_begin(u16 kind, struct task_struct *t)
{
	struct vgl_event *e = vgl_begin_common(kind);
	if (e)
		vgl_fill_task(e, t);
	return e;
}

/* vgl_begin for a task pointer from bpf_get_current_task() (no BTF type). */
static __always_inline struct vgl_event *vgl_begin_raw(u16 kind, struct task_struct *t)
{
	struct vgl_event *e = vgl_begin_common(kind);
	if (e)
		vgl_fill_task_raw(e, t);
	return e;
}

/* Appends a string header + bytes from user memory at the current end of the event. */
static __always_inline void vgl_put_user_str(struct vgl_event *e, const void *uptr, u32 max)
{
	u8 *base = (u8 *)e;
	u32 off = e->hdr.len;
	if (off > VGL_SCRATCH_SIZE / 2)
		return;
	struct vgl_str *h = (struct vgl_str *)(base + (off & HALF_MASK));
	long n = -1;
	u32 lim = max < VGL_STR_MAX ? max : VGL_STR_MAX;
	u8 *dst = base + ((off + sizeof(struct vgl_str)) & HALF_MASK);
	if (uptr)
		n = bpf_probe_read_user_str(dst, lim & STR_MASK ? lim : VGL_STR_MAX, uptr);
	h->flags = 0;
	if (n <= 0) {
		h->len = 0;
		if (uptr)
			h->flags = VGL_S_FAULT;
	} else {
		/* n counts the NUL; a full buffer means the source may have been longer */
		h->len = n - 1;
		if ((u32)n >= lim) {
			h->flags = VGL_S_TRUNCATED;
			e->hdr.flags |= VGL_F_TRUNCATED;
		}
	}
	e->hdr.len = off + sizeof(struct vgl_str) + h->len;
	e->nstr++;
}

/* Appends raw bytes (already in kernel or user memory) of a known length. */
static __always_inline void vgl_put_bytes(struct vgl_event *e, const void *src, u32 len, bool user, u16 sflags)
{
	u8 *base = (u8 *)e;
	u32 off = e->hdr.len;
	if (off > VGL_SCRATCH_SIZE / 2)
		return;
	struct vgl_str *h = (struct vgl_str *)(base + (off & HALF_MASK));
	u8 *dst = base + ((off + sizeof(struct vgl_str)) & HALF_MASK);
	u64 n = len;
	if (n > VGL_STR_MAX)
		n = VGL_STR_MAX;
	/* the bound must survive the compiler, or the verifier cannot bound the copy */
	asm volatile("%[n] &= %[m]" : [n] "+r"(n) : [m] "i"(VGL_STR_MAX * 2 - 1));
	len = n;
	long r = 0;
	if (n) {
		if (user)
			r = bpf_probe_read_user(dst, n, src);
		else
			r = bpf_probe_read_kernel(dst, n, src);
	}
	h->flags = sflags;
	if (r < 0) {
		h->len = 0;
		h->flags |= VGL_S_FAULT;
	} else {
		h->len = len;
	}
	if (sflags & VGL_S_TRUNCATED)
		e->hdr.flags |= VGL_F_TRUNCATED;
	e->hdr.len = off + sizeof(struct vgl_str) + h->len;
	e->nstr++;
}

static __always_inline void vgl_put_empty(struct vgl_event *e)
{
	vgl_put_bytes(e, NULL, 0, false, 0);
}

/* Sends the assembled event; counts the outcome for its kind. */
static __always_inline void vgl_submit(struct vgl_event *e, struct vgl_kind_counters *c)
{
	u64 len = e->hdr.len;
	if (len < sizeof(struct vgl_event) || len > VGL_SCRATCH_SIZE - 1)
		return;
	/* keep the verifier's bound on len through register allocation */
	asm volatile("%[len] &= %[mask]" : [len] "+r"(len) : [mask] "i"(SCRATCH_MASK));
	u64 wake = 0;
	if (vgl_wake_bytes)
		wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= vgl_wake_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, len, wake) == 0) {
		if (c)
			__sync_fetch_and_add(&c->emitted, 1);
	} else {
		if (c)
			__sync_fetch_and_add(&c->dropped, 1);
	}
}

/*
 * Kernel path of a struct path, written into the per-CPU path buffer from the end backwards
 * (the only way to build a path from dentries without knowing its length first). Crosses
 * mount points through struct mount. Returns the offset of the first byte and sets *len;
 * *trunc is set when the walk hit PATH_MAX_DEPTH or the buffer limit.
 * Pointers are kept as plain addresses (u64) between steps.
 */
struct vgl_path_ctx {
	u64 dentry;
	u64 mnt; /* struct mount */
	u64 root;
	u64 rootmnt; /* struct vfsmount */
	u8 *buf;
	u32 pos;
	bool trunc;
	bool done;
};

/* One step of the walk, given what it read of the current dentry and mount; 0: go on, 1: done. */
static __always_inline long vgl_path_step_do(struct vgl_path_ctx *c, u64 mnt_root, u64 parent, u64 mparent, u64 mountpoint,
					     u32 nlen, const unsigned char *name)
{
	u64 vm = c->mnt + bpf_core_field_offset(struct mount, mnt);
	if (c->dentry == c->root && vm == c->rootmnt) {
		c->done = true;
		return 1;
	}
	if (c->dentry == mnt_root || c->dentry == parent) {
		if (c->mnt != mparent) {
			/* step to the mount point in the parent mount */
			c->dentry = mountpoint;
			c->mnt = mparent;
			return 0;
		}
		c->done = true;
		return 1;
	}
	u64 n = nlen > 255 ? 255 : nlen;
	/* the bound must survive the compiler, or the verifier cannot bound the copy */
	asm volatile("%[n] &= 255" : [n] "+r"(n));
	if (c->pos < n + 1 + 1) {
		c->trunc = true;
		c->done = true;
		return 1;
	}
	c->pos -= n;
	bpf_probe_read_kernel(c->buf + (c->pos & STR_MASK), n, name);
	c->pos -= 1;
	c->buf[c->pos & STR_MASK] = '/';
	c->dentry = parent;
	return 0;
}

#ifdef VGL_RDONLY_CAST
/* The step through direct loads: one helper call per component (the copy of its name), not five. */
static long vgl_path_step(u32 index, void *ctx)
{
	struct vgl_path_ctx *c = ctx;
	if (c->done)
		return 1;
	struct dentry *d = vgl_cast(c->dentry, struct dentry);
	struct mount *m = vgl_cast(c->mnt, struct mount);
	return vgl_path_step_do(c, (u64)m->mnt.mnt_root, (u64)d->d_parent, (u64)m->mnt_parent, (u64)m->mnt_mountpoint, d->d_name.len,
				d->d_name.name);
}
#define VGL_ROOT_OF(t, dp, mp)                                   \
	do {                                                     \
		struct fs_struct *fs_ = vgl_cast(t, struct task_struct)->fs; \
		*(dp) = (u64)fs_->root.dentry;                   \
		*(mp) = (u64)fs_->root.mnt;                      \
	} while (0)
#else
static long vgl_path_step(u32 index, void *ctx)
{
	struct vgl_path_ctx *c = ctx;
	if (c->done)
		return 1;
	/* plain locals: CO-RE reads must start from kernel pointers, not fields of our own struct */
	struct dentry *d = (struct dentry *)c->dentry;
	struct mount *m = (struct mount *)c->mnt;
	struct vfsmount *vm = (struct vfsmount *)(c->mnt + bpf_core_field_offset(struct mount, mnt));
	u64 mnt_root = (u64)BPF_CORE_READ(vm, mnt_root);
	u64 parent = (u64)BPF_CORE_READ(d, d_parent);
	u64 mparent = 0, mountpoint = 0;
	if ((c->dentry == mnt_root || c->dentry == parent)) {
		mparent = (u64)BPF_CORE_READ(m, mnt_parent);
		mountpoint = (u64)BPF_CORE_READ(m, mnt_mountpoint);
	}
	struct qstr name = BPF_CORE_READ(d, d_name);
	return vgl_path_step_do(c, mnt_root, parent, mparent, mountpoint, name.len, name.name);
}
#define VGL_ROOT_OF(t, dp, mp)                                   \
	do {                                                     \
		*(dp) = (u64)BPF_CORE_READ(t, fs, root.dentry);  \
		*(mp) = (u64)BPF_CORE_READ(t, fs, root.mnt);     \
	} while (0)
#endif

/* Appends the absolute path of (dentry, vfsmnt) (as seen from the task's root) as a string. */
static __always_inline void vgl_put_dpath(struct vgl_event *e, u64 dentry, u64 vfsmnt, struct task_struct *t)
{
	u32 zero = 0;
	struct vgl_pathbuf *pb = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!pb || !dentry) {
		vgl_put_empty(e);
		return;
	}
	struct vgl_path_ctx c = {};
	c.dentry = dentry;
	c.mnt = vfsmnt - bpf_core_field_offset(struct mount, mnt);
	VGL_ROOT_OF(t, &c.root, &c.rootmnt);
	c.buf = pb->buf;
	c.pos = VGL_STR_MAX;
	/* bpf_loop: the verifier checks the step once instead of unrolling every iteration */
	bpf_loop(PATH_MAX_DEPTH, vgl_path_step, &c, 0);
	if (!c.done)
		c.trunc = true;
	u32 len = VGL_STR_MAX - c.pos;
	if (len == 0) {
		/* the root itself */
		c.pos = VGL_STR_MAX - 1;
		pb->buf[c.pos & STR_MASK] = '/';
		len = 1;
	}
	vgl_put_bytes(e, pb->buf + (c.pos & (VGL_STR_MAX - 1)), len, false, c.trunc ? VGL_S_TRUNCATED : 0);
}

/* Appends the absolute path of `p` (as seen from the task's root) as a string. */
static __always_inline void vgl_put_path(struct vgl_event *e, struct path *p, struct task_struct *t)
{
	if (!p) {
		vgl_put_empty(e);
		return;
	}
	vgl_put_dpath(e, (u64)BPF_CORE_READ(p, dentry), (u64)BPF_CORE_READ(p, mnt), t);
}

/* struct file of fd `fd` in task t, or NULL */
static __always_inline struct file *vgl_fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = t->files->fdt;
	unsigned int max = fdt->max_fds;
	if ((unsigned long)fd >= max)
		return NULL;
	struct file **fdarr = fdt->fd;
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdarr[fd]);
	return f;
}


/* ---- fd description (shared by file, net, fd and priv families) ---- */
#define VGL_S_IFMT 00170000
#define VGL_S_IFSOCK 0140000
#define VGL_S_IFREG 0100000
#define VGL_S_IFDIR 0040000
#define VGL_S_IFCHR 0020000
#define VGL_S_IFBLK 0060000
#define VGL_S_IFIFO 0010000
#define VGL_AF_UNIX 1
#define VGL_AF_INET 2
#define VGL_AF_INET6 10
#define VGL_AF_NETLINK 16

static __always_inline u16 vgl_bswap16(u16 x)
{
	return (x >> 8) | (x << 8);
}

/* Writes the socket tuple of `sk` into args[VGL_FD_A_*] and appends one string: the two IPv6
 * addresses (local 16 bytes then remote 16 bytes), the unix path, or empty. */
static __always_inline void vgl_describe_sock(struct vgl_event *e, struct sock *sk)
{
	u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	u16 proto = BPF_CORE_READ(sk, sk_protocol);
	u16 stype = BPF_CORE_READ(sk, sk_type);
	e->args[VGL_FD_A_FAMPROTO] = (u64)family | ((u64)proto << 16) | ((u64)(stype & 0xff) << 24);
	if (family == VGL_AF_INET || family == VGL_AF_INET6) {
		u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		u16 rport = vgl_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		e->args[VGL_FD_A_PORTS] = ((u64)lport << 16) | rport;
	}
	if (family == VGL_AF_INET) {
		e->args[VGL_FD_A_TYPE] = VGL_FDT_IPV4;
		e->args[VGL_FD_A_LADDR] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		e->args[VGL_FD_A_RADDR] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		vgl_put_empty(e);
	} else if (family == VGL_AF_INET6) {
		e->args[VGL_FD_A_TYPE] = VGL_FDT_IPV6;
		u8 *base = (u8 *)e;
		u32 off = e->hdr.len;
		if (off > VGL_SCRATCH_SIZE / 2)
			return;
		struct vgl_str *h = (struct vgl_str *)(base + (off & HALF_MASK));
		u8 *dst = base + ((off + sizeof(struct vgl_str)) & HALF_MASK);
		bpf_probe_read_kernel(dst, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(base + ((off + sizeof(struct vgl_str) + 16) & HALF_MASK), 16, &sk->__sk_common.skc_v6_daddr);
		h->len = 32;
		h->flags = 0;
		e->hdr.len = off + sizeof(struct vgl_str) + 32;
		e->nstr++;
	} else if (family == VGL_AF_UNIX) {
		e->args[VGL_FD_A_TYPE] = VGL_FDT_UNIX;
		struct unix_sock *us = container_of(sk, struct unix_sock, sk);
		struct unix_address *ua = BPF_CORE_READ(us, addr);
		if (!ua) {
			/* unbound: the peer's address names the other side (a client's view) */
			struct sock *peer = BPF_CORE_READ(us, peer);
			if (peer) {
				struct unix_sock *ps = container_of(peer, struct unix_sock, sk);
				ua = BPF_CORE_READ(ps, addr);
			}
		}
		if (ua) {
			u32 alen = (u32)BPF_CORE_READ(ua, len);
			if (alen > 2 + 108)
				alen = 2 + 108;
			/* sun_path follows sun_family (2 bytes); abstract names start with NUL */
			u32 plen = alen > 2 ? alen - 2 : 0;
			plen &= 127;
			vgl_put_bytes(e, (u8 *)&ua->name[0].sun_path, plen, false, 0);
		} else {
			vgl_put_empty(e);
		}
	} else {
		e->args[VGL_FD_A_TYPE] = family == VGL_AF_NETLINK ? VGL_FDT_NETLINK : VGL_FDT_OTHER_SOCK;
		vgl_put_empty(e);
	}
}

/* Describes what fd `fd` of task t refers to: type in args[VGL_FD_A_TYPE], inode, and exactly one
 * string (path for files, directories and devices; see vgl_describe_sock for sockets). */
static __always_inline void vgl_describe_fd(struct vgl_event *e, struct task_struct *t, long fd)
{
	struct file *f = vgl_fd_file(t, fd);
	if (!f) {
		vgl_put_empty(e);
		return;
	}
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	u16 mode = BPF_CORE_READ(ino, i_mode);
	e->args[VGL_FD_A_INO] = BPF_CORE_READ(ino, i_ino);
	u32 fmt = mode & VGL_S_IFMT;
	if (fmt == VGL_S_IFSOCK) {
		struct socket *sock = BPF_CORE_READ(f, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		if (sk) {
			vgl_describe_sock(e, sk);
			return;
		}
		e->args[VGL_FD_A_TYPE] = VGL_FDT_OTHER_SOCK;
		vgl_put_empty(e);
		return;
	}
	if (fmt == VGL_S_IFIFO) {
		e->args[VGL_FD_A_TYPE] = VGL_FDT_PIPE;
		vgl_put_empty(e);
		return;
	}
	if (fmt == VGL_S_IFDIR)
		e->args[VGL_FD_A_TYPE] = VGL_FDT_DIRECTORY;
	else if (fmt == VGL_S_IFCHR)
		e->args[VGL_FD_A_TYPE] = VGL_FDT_CHAR;
	else if (fmt == VGL_S_IFBLK)
		e->args[VGL_FD_A_TYPE] = VGL_FDT_BLOCK;
	else if (fmt == VGL_S_IFREG)
		e->args[VGL_FD_A_TYPE] = VGL_FDT_FILE;
	else
		e->args[VGL_FD_A_TYPE] = VGL_FDT_UNKNOWN;
	struct path fp = BPF_CORE_READ(f, f_path);
	vgl_put_path(e, &fp, t);
}


/* The syscall arguments from saved user registers (arm64 keeps the first in orig_x0: x0 now
 * holds the result). */
static __always_inline void vgl_syscall_args(struct task_struct *t, u64 *a)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(t);
#if defined(__TARGET_ARCH_x86)
	a[0] = r->di;
	a[1] = r->si;
	a[2] = r->dx;
	a[3] = r->r10;
	a[4] = r->r8;
	a[5] = r->r9;
#elif defined(__TARGET_ARCH_arm64)
	a[0] = r->orig_x0;
	a[1] = r->regs[1];
	a[2] = r->regs[2];
	a[3] = r->regs[3];
	a[4] = r->regs[4];
	a[5] = r->regs[5];
#else
#error "syscall argument registers: only x86 and arm64"
#endif
}

/*
 * Start of every family's exit program (attached to `syscalls:sys_exit_<name>` of each syscall
 * some consumer needs): maps the syscall to its kind, counts it, applies the kind's cheap filters
 * (disabled kind, ignored process, host processes for container-only kinds, failed/successful
 * results) and reads the arguments. Returns false when nothing is to be emitted.
 */
static __always_inline bool vgl_exit_call(struct trace_event_raw_sys_exit *ctx, struct vgl_call *st,
					  struct vgl_kind_counters **c, struct task_struct **t)
{
	u32 nr = (u32)ctx->id;
	u32 *kp = bpf_map_lookup_elem(&sys_kind, &nr);
	if (!kp || !*kp)
		return false;
	u32 kind = *kp;
	*c = vgl_counters(kind);
	if (*c)
		__sync_fetch_and_add(&(*c)->seen, 1);
	struct vgl_kind_cfg *cfg = vgl_cfg(kind);
	long ret = ctx->ret;
	if (!cfg || !cfg->enabled || ((cfg->flags & VGL_KC_ONLY_FAILED) && ret >= 0) ||
	    ((cfg->flags & VGL_KC_ONLY_SUCCESS) && ret < 0))
		goto filtered;
	/* the task is needed anyway; its tgid is a direct load, one helper call fewer */
	*t = (struct task_struct *)bpf_get_current_task_btf();
	{
		u32 zero = 0;
		struct vgl_global_cfg *g = bpf_map_lookup_elem(&global_cfg, &zero);
		if (g) {
			u32 tgid = (*t)->tgid;
			if (tgid == g->ignore_tgid[0] || tgid == g->ignore_tgid[1])
				goto filtered;
			if ((cfg->flags & VGL_KC_ONLY_CONTAINERS) && (*t)->nsproxy->mnt_ns->ns.inum == g->host_mntns)
				goto filtered;
		}
	}
	st->kind = kind;
	st->nr = nr;
	st->flags = cfg->flags;
	vgl_syscall_args(*t, st->args);
	return true;
filtered:
	if (*c)
		__sync_fetch_and_add(&(*c)->filtered, 1);
	return false;
}

/* Begins the event of a syscall exit that vgl_exit_call let through. */
static __always_inline struct vgl_event *vgl_exit_event(struct trace_event_raw_sys_exit *ctx, struct vgl_call *st,
							 struct task_struct *t)
{
	struct vgl_event *e = vgl_begin(st->kind, t);
	if (!e)
		return NULL;
	e->res = ctx->ret;
	e->syscall = st->nr;
	return e;
}

static __always_inline struct vgl_event *vgl_exit_begin(struct trace_event_raw_sys_exit *ctx, struct vgl_call *st,
							struct vgl_kind_counters **c, struct task_struct **t)
{
	if (!vgl_exit_call(ctx, st, c, t))
		return NULL;
	return vgl_exit_event(ctx, st, *t);
}

/* Opens a family exit program that needs no filter of its own before assembly: declares `st`
 * (the call), `c` (its counters), `t` (the task) and `e` (the event begun), and returns when
 * there is nothing to emit. */
#define VGL_EXIT_PROLOGUE(ctx)                                      \
	struct vgl_call st;                                         \
	struct vgl_kind_counters *c = NULL;                         \
	struct task_struct *t = NULL;                               \
	struct vgl_event *e = vgl_exit_begin((ctx), &st, &c, &t);   \
	if (!e)                                                     \
		return 0


/* Appends a user path and the directory it is relative to: two strings, [path as passed, base]
 * where base is empty for absolute paths, else the cwd (dirfd == AT_FDCWD) or the path of dirfd.
 * User space joins and normalises them into fd.name, and keeps the first as fd.nameraw. */
static __always_inline void vgl_put_relpath(struct vgl_event *e, struct task_struct *t, long dirfd, const void *upath)
{
	u32 off = e->hdr.len;
	vgl_put_user_str(e, upath, VGL_STR_MAX);
	u8 first = 0;
	if (off <= VGL_SCRATCH_SIZE / 2) {
		struct vgl_str *h = (struct vgl_str *)((u8 *)e + (off & HALF_MASK));
		if (h->len)
			first = *((u8 *)e + ((off + sizeof(struct vgl_str)) & HALF_MASK));
	}
	if (first == '/' || first == 0) {
		vgl_put_empty(e);
		return;
	}
	if ((int)dirfd == AT_FDCWD_VAL) {
		struct path pwd;
		pwd.dentry = t->fs->pwd.dentry;
		pwd.mnt = t->fs->pwd.mnt;
		vgl_put_path(e, &pwd, t);
		return;
	}
	struct file *f = vgl_fd_file(t, (int)dirfd);
	if (!f) {
		vgl_put_empty(e);
		return;
	}
	struct path fp = BPF_CORE_READ(f, f_path);
	vgl_put_path(e, &fp, t);
}

#endif /* VIGIL_BPF_H */
