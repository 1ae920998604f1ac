/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * file.bpf.c: exit program of the file family (open*, unlink*, rename*, link*, symlink*, mkdir*,
 * chmod*, chown*). Attached to `syscalls:sys_exit_<name>` of the file syscalls the loaded rules
 * and policies need. Every kind fills its named slots and emits a fixed sequence of strings (the
 * kind table, src/abi/kinds-table.ts): one relative path makes two strings (path as passed, base
 * directory).
 */
#include "vigil.bpf.h"

#define VGL_O_ACCMODE 3
#define VGL_O_CREAT 0100
#define VGL_O_TRUNC 01000

#define VGL_ONES 0x0101010101010101ull
#define VGL_LOW7 0x7f7f7f7f7f7f7f7full

/* 0x80 in every byte of x that equals c, 0 elsewhere (exact: no borrow between bytes) */
static __always_inline u64 vgl_bytes_eq(u64 x, u8 c)
{
	u64 v = x ^ (VGL_ONES * c);
	return ~(((v & VGL_LOW7) + VGL_LOW7) | v | VGL_LOW7);
}

/* Whether v is one of the first n of the VGL_PF_NHEADS words (the heads or tails of pf_cfg) */
_Static_assert(VGL_PF_NHEADS == VGL_PF_NTAILS, "heads and tails share vgl_u64_among");
static __always_inline bool vgl_u64_among(const u64 *words, u32 n, u64 v)
{
	bool hit = false;
	/* a bounded loop the verifier walks (clang does not unroll it once inlined twice) */
	for (int i = 0; i < VGL_PF_NHEADS; i++) {
		if (i >= n)
			break;
		if (words[i] == v) {
			hit = true;
			break;
		}
	}
	return hit;
}

/*
 * The in-kernel path filter (see vigil_abi.h), decided on the path as the process passed it,
 * before anything else of the event is assembled: a rejected open costs the argument reads, one user
 * string read, the scan, and a map lookup only when its head or tail is one of a prefix or suffix
 * (measured on an open loop: ~660 ns with the lookups on every path, see README). The head and
 * tail pre-checks are exact, so src/detect/kernel-filter.ts `admits()` still mirrors this decision.
 */
static __always_inline bool vgl_upath_admitted(const void *upath, u32 kind)
{
	u32 zero = 0;
	struct vgl_pathbuf *pb = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!pb)
		return true;
	u8 *p = pb->buf;
	/* one byte more than the scan window tells "exactly VGL_PF_SCAN - 1 bytes" from "longer" */
	long n = bpf_probe_read_user_str(p, VGL_PF_SCAN + 1, upath);
	if (n <= 1)
		return true; /* fault or empty: let the event show it */
	u32 len = n - 1;
	if (len >= VGL_PF_SCAN || p[0] != '/')
		return true;
	/* undecidable: "//", "/." or ".." anywhere; eight bytes per step */
	u64 carry_s = 0, carry_d = 0;
#pragma unroll
	for (int w = 0; w < VGL_PF_SCAN / 8; w++) {
		if (w * 8 >= len)
			break;
		u64 x = *(u64 *)(p + w * 8);
		u32 rem = len - w * 8;
		if (rem < 8)
			x &= (1ull << (rem * 8)) - 1; /* bytes past the end are 0: neither '/' nor '.' */
		u64 sl = vgl_bytes_eq(x, '/');
		u64 dt = vgl_bytes_eq(x, '.');
		/* byte i+1 sits 8 bits above byte i (little endian); carry_* holds the previous
		 * word's last byte moved to position 0 of this one */
		u64 ps = (sl << 8) | carry_s, pd = (dt << 8) | carry_d;
		if ((ps & (sl | dt)) | (pd & dt))
			return true;
		carry_s = sl >> 56;
		carry_d = dt >> 56;
	}
	struct vgl_pf_cfg *pc = bpf_map_lookup_elem(&pf_cfg, &kind);
	if (!pc)
		return true;
	/* prefix: the head pre-check, then a longest-prefix match on kind + path */
	bool pfx = true;
	if (pc->flags & VGL_PF_HEADS) {
		pfx = false;
		u32 hl = pc->headlen;
		if (hl >= 1 && hl <= VGL_PF_HEAD && len >= hl) {
			/* bytes past the path's end are masked off (hl <= len) */
			u64 head = *(u64 *)p;
			if (hl < 8)
				head &= (1ull << (hl * 8)) - 1;
			pfx = vgl_u64_among(pc->heads, pc->nheads, head);
		}
	}
	if (pfx) {
		struct vgl_pfx_key pk = {};
		u32 m = len < VGL_PF_PFX ? len : VGL_PF_PFX;
		pk.prefixlen = 16 + 8 * m;
		pk.data[0] = kind >> 8;
		pk.data[1] = kind & 0xff;
		__builtin_memcpy(&pk.data[2], p, VGL_PF_PFX);
		if (bpf_map_lookup_elem(&path_pfx, &pk))
			return true;
	}
	/* suffix: the tail pre-check, then one hash lookup per configured suffix length */
	if (!pc->nlens)
		return false;
	if (pc->flags & VGL_PF_TAILS) {
		u32 tl = pc->taillen;
		if (len < tl)
			return false; /* shorter than every suffix */
		if (tl >= 1 && tl <= VGL_PF_HEAD && len >= 8) {
			/* the last 8 bytes, shifted so that the last tl land in the low bytes */
			u64 tail;
			__builtin_memcpy(&tail, p + ((len - 8) & (VGL_PF_SCAN - 1)), 8);
			tail >>= (8 - tl) * 8;
			if (!vgl_u64_among(pc->tails, pc->ntails, tail))
				return false;
		}
	}
#pragma unroll
	for (int i = 0; i < VGL_PF_NLENS; i++) {
		if (i >= pc->nlens)
			break;
		u32 l = pc->lens[i];
		if (l == 0 || l > VGL_PF_SFX || l > len)
			continue;
		struct vgl_sfx_key sk = {};
		sk.kind = kind;
		sk.len = l;
		u32 from = (len - l) & (VGL_PF_SCAN - 1);
		bpf_probe_read_kernel(sk.s, l & (VGL_PF_SFX * 2 - 1), p + from);
		if (bpf_map_lookup_elem(&path_sfx, &sk))
			return true;
	}
	return false;
}

/* open, openat and openat2 share one slot layout (the kind table gives them the same slots) */
_Static_assert(VGL_A_OPEN_FD == VGL_A_OPENAT_FD && VGL_A_OPENAT2_FD == VGL_A_OPENAT_FD, "open slots");
_Static_assert(VGL_A_OPEN_DIRFD == VGL_A_OPENAT_DIRFD && VGL_A_OPENAT2_DIRFD == VGL_A_OPENAT_DIRFD, "open slots");
_Static_assert(VGL_A_OPEN_FLAGS == VGL_A_OPENAT_FLAGS && VGL_A_OPENAT2_FLAGS == VGL_A_OPENAT_FLAGS, "open slots");
_Static_assert(VGL_A_OPEN_MODE == VGL_A_OPENAT_MODE && VGL_A_OPENAT2_MODE == VGL_A_OPENAT_MODE, "open slots");
_Static_assert(VGL_A_OPEN_DEV == VGL_A_OPENAT_DEV && VGL_A_OPENAT2_DEV == VGL_A_OPENAT_DEV, "open slots");

/* open, openat, openat2: the filters (writes only, path) decide before anything is assembled */
static __always_inline int vgl_exit_open(struct trace_event_raw_sys_exit *ctx, struct vgl_call *st,
					 struct vgl_kind_counters *c, struct task_struct *t)
{
	u64 *a = st->args;
	long dirfd = AT_FDCWD_VAL;
	const void *path;
	u64 flags = 0, mode = 0;
	if (st->kind == VGL_K_OPEN) {
		path = (const void *)a[0];
		flags = a[1];
		mode = a[2];
	} else {
		dirfd = (long)a[0];
		path = (const void *)a[1];
		if (st->kind == VGL_K_OPENAT) {
			flags = a[2];
			mode = a[3];
		} else {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (const void *)a[2]);
			flags = how.flags;
			mode = how.mode;
		}
	}
	/* the filters first: a filtered open never assembles an event */
	if (((st->flags & VGL_KC_ONLY_WRITE) && !((flags & VGL_O_ACCMODE) || (flags & (VGL_O_CREAT | VGL_O_TRUNC)))) ||
	    ((st->flags & VGL_KC_PREFIX_FILTER) && !vgl_upath_admitted(path, st->kind))) {
		if (c)
			__sync_fetch_and_add(&c->filtered, 1);
		return 0;
	}
	struct vgl_event *e = vgl_exit_event(ctx, st, t);
	if (!e)
		return 0;
	e->args[VGL_A_OPENAT_FD] = e->res;
	e->args[VGL_A_OPENAT_DIRFD] = dirfd;
	e->args[VGL_A_OPENAT_FLAGS] = flags;
	e->args[VGL_A_OPENAT_MODE] = mode;
	vgl_put_relpath(e, t, dirfd, path);
	if (e->res >= 0) {
		struct file *f = vgl_fd_file(t, e->res);
		if (f) {
			/* f came through a helper read: a plain scalar, read with helpers */
			struct inode *ino = BPF_CORE_READ(f, f_inode);
			u16 imode = BPF_CORE_READ(ino, i_mode);
			e->args[VGL_FD_A_INO] = BPF_CORE_READ(ino, i_ino);
			e->args[VGL_A_OPENAT_DEV] = BPF_CORE_READ(ino, i_sb, s_dev);
			e->args[VGL_FD_A_TYPE] = (imode & VGL_S_IFMT) == VGL_S_IFDIR ? VGL_FDT_DIRECTORY :
						 (imode & VGL_S_IFMT) == VGL_S_IFCHR ? VGL_FDT_CHAR : VGL_FDT_FILE;
		}
	}
	vgl_submit(e, c);
	return 0;
}

_Static_assert(VGL_A_CHOWN_UID == VGL_A_LCHOWN_UID && VGL_A_CHOWN_GID == VGL_A_LCHOWN_GID, "chown slots");
_Static_assert(VGL_A_RENAMEAT_FLAGS == VGL_A_RENAMEAT2_FLAGS && VGL_A_RENAMEAT_OLDDIRFD == VGL_A_RENAMEAT2_OLDDIRFD &&
	       VGL_A_RENAMEAT_NEWDIRFD == VGL_A_RENAMEAT2_NEWDIRFD, "renameat slots");

SEC("tracepoint")
int vgl_sys_exit_file(struct trace_event_raw_sys_exit *ctx)
{
	struct vgl_call st;
	struct vgl_kind_counters *c = NULL;
	struct task_struct *t = NULL;
	if (!vgl_exit_call(ctx, &st, &c, &t))
		return 0;
	if (st.kind == VGL_K_OPEN || st.kind == VGL_K_OPENAT || st.kind == VGL_K_OPENAT2)
		return vgl_exit_open(ctx, &st, c, t);
	struct vgl_event *e = vgl_exit_event(ctx, &st, t);
	if (!e)
		return 0;
	u64 *a = st.args;
	/* each kind fills its named slots (VGL_A_<KIND>_<SLOT>) and says which path(s) to put; the
	 * paths are put once, after the switch */
	long dirfd = AT_FDCWD_VAL, dirfd2 = AT_FDCWD_VAL;
	const void *path = NULL, *path2 = NULL;
	switch (st.kind) {
	case VGL_K_UNLINK:
	case VGL_K_RENAME:
	case VGL_K_LINK:
	case VGL_K_SYMLINK:
		/* (path) or (old, new); a symlink's target is stored as given, never resolved */
		path = (const void *)a[0];
		if (st.kind != VGL_K_UNLINK)
			path2 = (const void *)a[1];
		break;
	case VGL_K_MKDIR:
		e->args[VGL_A_MKDIR_MODE] = a[1];
		path = (const void *)a[0];
		break;
	case VGL_K_CHMOD:
		e->args[VGL_A_CHMOD_MODE] = a[1];
		path = (const void *)a[0];
		break;
	case VGL_K_CHOWN:
	case VGL_K_LCHOWN:
		/* (path, uid, gid); chown and lchown share one layout */
		e->args[VGL_A_CHOWN_UID] = a[1];
		e->args[VGL_A_CHOWN_GID] = a[2];
		path = (const void *)a[0];
		break;
	case VGL_K_UNLINKAT:
		/* (dirfd, path, flags) */
		e->args[VGL_A_UNLINKAT_FLAGS] = a[2];
		e->args[VGL_A_UNLINKAT_DIRFD] = a[0];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		break;
	case VGL_K_MKDIRAT:
		/* (dirfd, path, mode) */
		e->args[VGL_A_MKDIRAT_MODE] = a[2];
		e->args[VGL_A_MKDIRAT_DIRFD] = a[0];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		break;
	case VGL_K_FCHMODAT:
		/* (dirfd, path, mode) */
		e->args[VGL_A_FCHMODAT_MODE] = a[2];
		e->args[VGL_A_FCHMODAT_DIRFD] = a[0];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		break;
	case VGL_K_FCHOWNAT:
		/* (dirfd, path, uid, gid, flags) */
		e->args[VGL_A_FCHOWNAT_UID] = a[2];
		e->args[VGL_A_FCHOWNAT_GID] = a[3];
		e->args[VGL_A_FCHOWNAT_FLAGS] = a[4];
		e->args[VGL_A_FCHOWNAT_DIRFD] = a[0];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		break;
	case VGL_K_FCHMOD:
		/* (fd, mode) */
		e->args[VGL_A_FCHMOD_MODE] = a[1];
		e->args[VGL_A_FCHMOD_FD] = a[0];
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_FCHOWN:
		/* (fd, uid, gid) */
		e->args[VGL_A_FCHOWN_UID] = a[1];
		e->args[VGL_A_FCHOWN_GID] = a[2];
		e->args[VGL_A_FCHOWN_FD] = a[0];
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_RENAMEAT:
	case VGL_K_RENAMEAT2:
		/* (olddirfd, old, newdirfd, new, flags); renameat and renameat2 share one layout */
		e->args[VGL_A_RENAMEAT2_FLAGS] = a[4];
		e->args[VGL_A_RENAMEAT2_OLDDIRFD] = a[0];
		e->args[VGL_A_RENAMEAT2_NEWDIRFD] = a[2];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		dirfd2 = (long)a[2];
		path2 = (const void *)a[3];
		break;
	case VGL_K_LINKAT:
		/* (olddirfd, old, newdirfd, new, flags) */
		e->args[VGL_A_LINKAT_FLAGS] = a[4];
		e->args[VGL_A_LINKAT_OLDDIR] = a[0];
		e->args[VGL_A_LINKAT_NEWDIR] = a[2];
		dirfd = (long)a[0];
		path = (const void *)a[1];
		dirfd2 = (long)a[2];
		path2 = (const void *)a[3];
		break;
	case VGL_K_SYMLINKAT:
		/* (target, newdirfd, linkpath) */
		e->args[VGL_A_SYMLINKAT_LINKDIRFD] = a[1];
		path = (const void *)a[0];
		dirfd2 = (long)a[1];
		path2 = (const void *)a[2];
		break;
	default:
		return 0;
	}
	if (path)
		vgl_put_relpath(e, t, dirfd, path);
	if (path2)
		vgl_put_relpath(e, t, dirfd2, path2);
	vgl_submit(e, c);
	return 0;
}
