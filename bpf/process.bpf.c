/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * process.bpf.c: process lifecycle from the scheduler tracepoints (tp_btf). These fire only when a
 * process execs, forks or exits, so they cost nothing to processes that do not; they replace the
 * execve/clone/exit syscall hooks (a successful exec is exactly sched_process_exec).
 */
#define VGL_RDONLY_CAST
#include "vigil.bpf.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* VGL_NR_EXECVE, VGL_NR_EXECVEAT: the target architecture's numbers, from the kind table
 * (bpf/vigil_kinds.h) */

static __always_inline bool vgl_kind_on(u32 kind, struct vgl_kind_counters **c, struct vgl_kind_cfg **cfg)
{
	*c = vgl_counters(kind);
	if (*c)
		__sync_fetch_and_add(&(*c)->seen, 1);
	*cfg = vgl_cfg(kind);
	if (!*cfg || !(*cfg)->enabled || vgl_is_ignored(bpf_get_current_pid_tgid() >> 32)) {
		if (*c)
			__sync_fetch_and_add(&(*c)->filtered, 1);
		return false;
	}
	return true;
}

/* tty device number as Falco encodes it: new_encode_dev(MKDEV(major, minor_start) + index) */
static __always_inline u64 vgl_task_tty(struct signal_struct *sig)
{
	struct tty_struct *tty = sig->tty;
	if (!tty)
		return 0;
	int index = tty->index;
	struct tty_driver *drv = tty->driver;
	int major = drv->major;
	int minor = drv->minor_start + index;
	return (u64)((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12));
}

static __always_inline u64 vgl_kcap(kernel_cap_t c)
{
	return c.val;
}

#define VGL_S_IWGRP 00020
#define VGL_S_IWOTH 00002
#define VGL_CAP_DAC_OVERRIDE 1
#define VGL_CAP_FOWNER 3
#define VGL_SB_RDONLY 1
#define VGL_S_IMMUTABLE 8

/* Whether gid is one of the credential's supplementary groups: the kernel keeps them sorted
 * (groups_sort), so a binary search of at most 17 steps covers NGROUPS_MAX (65,536). */
static __always_inline bool vgl_in_groups(const struct cred *cred, u32 gid)
{
	struct group_info *gi = BPF_CORE_READ(cred, group_info);
	if (!gi)
		return false;
	u32 lo = 0, hi = (u32)BPF_CORE_READ(gi, ngroups);
	u8 *base = (u8 *)gi + bpf_core_field_offset(struct group_info, gid);
	/* a bounded loop (the verifier walks it); not unrolled */
	for (int i = 0; i < 17; i++) {
		if (lo >= hi)
			break;
		u32 mid = lo + (hi - lo) / 2, g = 0;
		bpf_probe_read_kernel(&g, sizeof(g), base + (u64)(mid & 0xffff) * sizeof(u32));
		if (gid == g)
			return true;
		if (gid > g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether the new image's file is writable by the process that runs it (Falco's EXE_WRITABLE /
 * proc.is_exe_writable): never on a read-only filesystem nor for an immutable file; else when the
 * exec's fsuid owns it (an owner can always make it writable); else by the mode bits the kernel's
 * permission check would use: the group's when the fsgid or a supplementary group is the file's
 * group, the others' otherwise; else with CAP_DAC_OVERRIDE or CAP_FOWNER in the effective set. */
/* ino, cred, sb: read-only BTF pointers (direct loads, see vgl_cast) */
static __always_inline bool vgl_exe_writable(struct inode *ino, const struct cred *cred, struct super_block *sb)
{
	if ((sb->s_flags & VGL_SB_RDONLY) || (ino->i_flags & VGL_S_IMMUTABLE))
		return false;
	if (cred->fsuid.val == ino->i_uid.val)
		return true;
	u16 mode = ino->i_mode;
	u32 igid = ino->i_gid.val;
	if (cred->fsgid.val == igid || vgl_in_groups(cred, igid)) {
		if (mode & VGL_S_IWGRP)
			return true;
	} else if (mode & VGL_S_IWOTH) {
		return true;
	}
	u64 eff = vgl_kcap(cred->cap_effective);
	return ((eff >> VGL_CAP_DAC_OVERRIDE) | (eff >> VGL_CAP_FOWNER)) & 1;
}

/* d, ino, cred: read-only BTF pointers (direct loads, see vgl_cast) */
static __always_inline u32 vgl_exe_flags(struct dentry *d, struct inode *ino, const struct cred *cred)
{
	u32 flags = 0;
	/* a memfd's name starts with "memfd:": only names that long need their bytes read */
	if (d->d_name.len >= 6) {
		char pfx[6] = {};
		bpf_probe_read_kernel(pfx, sizeof(pfx), d->d_name.name);
		if (pfx[0] == 'm' && pfx[1] == 'e' && pfx[2] == 'm' && pfx[3] == 'f' && pfx[4] == 'd' && pfx[5] == ':')
			flags |= VGL_EXE_MEMFD;
	}
	struct super_block *sb = ino->i_sb;
	if (vgl_exe_writable(ino, cred, sb))
		flags |= VGL_EXE_WRITABLE;
	if (sb->s_magic == OVERLAYFS_SUPER_MAGIC) {
		struct ovl_inode *oi = vgl_cast((u64)ino - bpf_core_field_offset(struct ovl_inode, vfs_inode), struct ovl_inode);
		flags |= oi->__upperdentry ? VGL_EXE_UPPER : VGL_EXE_LOWER;
	}
	return flags;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vgl_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct vgl_kind_counters *c;
	struct vgl_kind_cfg *cfg;
	if (!vgl_kind_on(VGL_K_EXECVE, &c, &cfg))
		return 0;
	struct vgl_event *e = vgl_begin(VGL_K_EXECVE, p);
	if (!e)
		return 0;
	/* which syscall exec'd: the saved syscall number cannot say (set_personality_64bit() rewrites
	 * it to execve during every exec), so execveat marks itself on entry (below) */
	{
		u32 *at = bpf_task_storage_get(&exec_at, p, 0, 0);
		e->syscall = at && *at ? VGL_NR_EXECVEAT : VGL_NR_EXECVE;
		if (at)
			*at = 0;
	}
	/* Every field through direct loads (read-only BTF pointers, vgl_cast): one load each instead
	 * of a bpf_probe_read_kernel call per pointer hop (the exec program made ~45 of them). */
	struct task_struct *tp = vgl_cast(p, struct task_struct);
	const struct cred *cred = vgl_cast(tp->cred, struct cred);
	struct mm_struct *mm = vgl_cast(tp->mm, struct mm_struct);
	struct file *exe = vgl_cast(mm->exe_file, struct file);
	struct signal_struct *sig = vgl_cast(tp->signal, struct signal_struct);

	e->args[VGL_EXEC_A_EGID] = cred->egid.val;
	e->args[VGL_EXEC_A_TTY] = vgl_task_tty(sig);
	e->args[VGL_EXEC_A_CAP_EFF] = vgl_kcap(cred->cap_effective);
	e->args[VGL_EXEC_A_CAP_PRM] = vgl_kcap(cred->cap_permitted);
	e->args[VGL_EXEC_A_CAP_INH] = vgl_kcap(cred->cap_inheritable);
	e->args[VGL_EXEC_A_START] = tp->group_leader->start_boottime;
	{
		u64 s = sig->pids[PIDTYPE_SID]->numbers[0].nr;
		u64 g = sig->pids[PIDTYPE_PGID]->numbers[0].nr;
		e->args[VGL_EXEC_A_SID_PGID] = (s << 32) | (g & 0xffffffff);
	}

	/* 0: exepath resolved by the kernel; a memfd has no path, its name is `memfd:<name>` as Falco shows it */
	if (exe) {
		struct inode *ino = exe->f_inode;
		struct dentry *d = exe->f_path.dentry;
		e->args[VGL_EXEC_A_EXE_INO] = ino->i_ino;
		/* since 6.13 the top bits of i_ctime_nsec carry flags (I_CTIME_QUERIED): keep the nanoseconds */
		e->args[VGL_EXEC_A_EXE_CTIME] = (u64)ino->i_ctime_sec * 1000000000ull + (ino->i_ctime_nsec & 0x3fffffff);
		e->args[VGL_EXEC_A_EXE_MTIME] = (u64)ino->i_mtime_sec * 1000000000ull + ino->i_mtime_nsec;
		e->args[VGL_EXEC_A_EXE_FLAGS] = vgl_exe_flags(d, ino, cred);
		if (e->args[VGL_EXEC_A_EXE_FLAGS] & VGL_EXE_MEMFD) {
			u32 dl = d->d_name.len;
			if (dl > 255)
				dl = 255;
			vgl_put_bytes(e, d->d_name.name, dl, false, 0);
		} else {
			vgl_put_dpath(e, (u64)d, (u64)exe->f_path.mnt, p);
		}
	} else {
		vgl_put_empty(e);
	}

	/* 1: argv, NUL separated, from the new image's stack */
	unsigned long as = mm->arg_start;
	unsigned long ae = mm->arg_end;
	u64 total = ae > as ? ae - as : 0;
	u32 lim = cfg->argv_max ? cfg->argv_max : 1024;
	if (lim > VGL_ARGV_MAX)
		lim = VGL_ARGV_MAX;
	e->args[VGL_EXEC_A_ARGV_TOTAL] = total;
	{
		u32 n = total > lim ? lim : (u32)total;
		if (n > VGL_ARGV_MAX)
			n = VGL_ARGV_MAX;
		vgl_put_bytes(e, (const void *)as, n, true, total > lim ? VGL_S_TRUNCATED : 0);
	}

	/* 2: cwd */
	{
		struct fs_struct *fs = tp->fs;
		vgl_put_dpath(e, (u64)fs->pwd.dentry, (u64)fs->pwd.mnt, p);
	}

	/* 3: filename as passed to execve (kernel copy) */
	{
		const char *fn = bprm->filename;
		u8 *base = (u8 *)e;
		u32 off = e->hdr.len;
		if (off <= VGL_SCRATCH_SIZE / 2) {
			struct vgl_str *h = (struct vgl_str *)(base + (off & HALF_MASK));
			u8 *dst = base + ((off + sizeof(struct vgl_str)) & HALF_MASK);
			long n = bpf_probe_read_kernel_str(dst, 1024, fn);
			h->flags = 0;
			h->len = n > 0 ? n - 1 : 0;
			if (n >= 1024) {
				h->flags = VGL_S_TRUNCATED;
				e->hdr.flags |= VGL_F_TRUNCATED;
			}
			e->hdr.len = off + sizeof(struct vgl_str) + h->len;
			e->nstr++;
		}
	}

	/* 4: environment, NUL separated, when a consumer asked for it (proc.env) */
	if (cfg->env_max) {
		unsigned long es = mm->env_start;
		unsigned long ee = mm->env_end;
		u64 etotal = ee > es ? ee - es : 0;
		u32 elim = cfg->env_max < VGL_ENV_MAX ? cfg->env_max : VGL_ENV_MAX;
		u32 n = etotal > elim ? elim : (u32)etotal;
		if (n > VGL_ENV_MAX)
			n = VGL_ENV_MAX;
		vgl_put_bytes(e, (const void *)es, n, true, etotal > elim ? VGL_S_TRUNCATED : 0);
	}
	vgl_submit(e, c);
	return 0;
}

/* syscalls:sys_enter_execveat / sys_exit_execveat: fire only on execveat. Enter marks the task
 * (the exec tracepoint above reads and clears the mark); exit clears it again, so an execveat
 * that failed does not label the task's next successful execve. */
SEC("tracepoint")
int vgl_sys_enter_execveat(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	u32 *at = bpf_task_storage_get(&exec_at, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (at)
		*at = 1;
	return 0;
}

SEC("tracepoint")
int vgl_sys_exit_execveat(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	u32 *at = bpf_task_storage_get(&exec_at, t, 0, 0);
	if (at)
		*at = 0;
	return 0;
}

/* syscalls:sys_exit_execve / sys_exit_execveat: failed execs (user space always sets
 * VGL_KC_ONLY_FAILED for these kinds: a successful exec is sched_process_exec above). The caller
 * is unchanged, so the event is the caller's, with the file name it tried, resolved against the
 * cwd or dirfd like other paths. */
_Static_assert(VGL_A_EXECVE_FAILED_DIRFD == VGL_A_EXECVEAT_FAILED_DIRFD && VGL_A_EXECVE_FAILED_FLAGS == VGL_A_EXECVEAT_FAILED_FLAGS,
	       "failed exec slots");
SEC("tracepoint")
int vgl_sys_exit_exec(struct trace_event_raw_sys_exit *ctx)
{
	VGL_EXIT_PROLOGUE(ctx);
	bool at = st.kind == VGL_K_EXECVEAT_FAILED;
	long dirfd = at ? (long)st.args[0] : AT_FDCWD_VAL;
	/* execve and execveat failures share one layout */
	e->args[VGL_A_EXECVEAT_FAILED_DIRFD] = dirfd;
	e->args[VGL_A_EXECVEAT_FAILED_FLAGS] = at ? st.args[4] : 0;
	vgl_put_relpath(e, t, dirfd, (const void *)(at ? st.args[1] : st.args[0]));
	vgl_submit(e, c);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(vgl_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	struct vgl_kind_counters *c;
	struct vgl_kind_cfg *cfg;
	if (!vgl_kind_on(VGL_K_CLONE, &c, &cfg))
		return 0;
	u32 ctgid = child->tgid;
	u32 cpid = child->pid;
	bool thread = ctgid == parent->tgid;
	if (thread && (cfg->flags & VGL_KC_ONLY_SUCCESS)) {
		/* VGL_KC_ONLY_SUCCESS on clone means: processes only, no threads */
		if (c)
			__sync_fetch_and_add(&c->filtered, 1);
		return 0;
	}
	struct vgl_event *e = vgl_begin(VGL_K_CLONE, (struct task_struct *)bpf_get_current_task_btf());
	if (!e)
		return 0;
	e->res = cpid;
	e->args[VGL_A_CLONE_TID] = cpid;
	e->args[VGL_A_CLONE_PID] = ctgid;
	e->args[VGL_A_CLONE_START] = child->start_boottime;
	e->args[VGL_A_CLONE_FLAGS] = child->flags;
	if (thread)
		e->hdr.flags |= VGL_F_THREAD;
	vgl_submit(e, c);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(vgl_sched_exit, struct task_struct *p, bool group_dead)
{
	if (!group_dead)
		return 0; /* a thread ended; the process lives on */
	struct vgl_kind_counters *c;
	struct vgl_kind_cfg *cfg;
	if (!vgl_kind_on(VGL_K_PROCEXIT, &c, &cfg))
		return 0;
	struct vgl_event *e = vgl_begin(VGL_K_PROCEXIT, p);
	if (!e)
		return 0;
	int code = p->exit_code;
	e->res = code;
	e->args[VGL_A_PROCEXIT_STATUS] = (code >> 8) & 0xff;
	e->args[VGL_A_PROCEXIT_SIG] = code & 0x7f;
	e->args[VGL_A_PROCEXIT_CORE] = (code & 0x80) ? 1 : 0;
	e->args[VGL_A_PROCEXIT_START] = p->start_boottime;
	vgl_submit(e, c);
	return 0;
}

/* capability:cap_capable: aggregated per (process, capability) in the kernel; the loader dumps
 * the map periodically. Every check costs one hash update, and nothing crosses to user space. */
SEC("tp_btf/cap_capable")
int BPF_PROG(vgl_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	u32 kind = VGL_K_CAPABILITY;
	struct vgl_kind_counters *c = vgl_counters(kind);
	if (c)
		__sync_fetch_and_add(&c->seen, 1);
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct vgl_cap_key k = { .pid = tgid, .cap = (u32)cap };
	struct vgl_cap_val *v = bpf_map_lookup_elem(&cap_agg, &k);
	u64 now = bpf_ktime_get_boot_ns();
	if (!v) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
		struct vgl_cap_val nv = {};
		nv.cgroup_id = bpf_get_current_cgroup_id();
		nv.mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
		bpf_map_update_elem(&cap_agg, &k, &nv, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&cap_agg, &k);
		if (!v)
			return 0;
	}
	if (ret == 0)
		__sync_fetch_and_add(&v->granted, 1);
	else
		__sync_fetch_and_add(&v->denied, 1);
	v->last_ts = now;
	if (c)
		__sync_fetch_and_add(&c->emitted, 1);
	return 0;
}
