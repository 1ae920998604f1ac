/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * file.bpf.c: exit program of the file family (open*, unlink*, rename*, link*, symlink*, mkdir*,
 * chmod*, chown*). Attached to `syscalls:sys_exit_<name>` of the file syscalls the loaded rules
 * and policies need. Every kind emits a fixed sequence of strings (see src/sensor/kinds.ts):
 * one relative path makes two strings (path as passed, base directory).
 */
#include "vigil.bpf.h"

#define VGL_O_ACCMODE 3
#define VGL_O_CREAT 0100
#define VGL_O_TRUNC 01000

struct vgl_scan_ctx {
	u8 *p;
	u32 len;
	bool undecidable;
};

/* one byte of the undecidable scan: "//", "/." or ".." anywhere makes the path undecidable */
static long vgl_scan_step(u32 i, void *ctx)
{
	struct vgl_scan_ctx *c = ctx;
	if (i + 1 >= c->len)
		return 1;
	u8 a = c->p[i & (VGL_PF_SCAN - 1)];
	u8 b = c->p[(i + 1) & (VGL_PF_SCAN - 1)];
	if ((a == '/' && (b == '/' || b == '.')) || (a == '.' && b == '.')) {
		c->undecidable = true;
		return 1;
	}
	return 0;
}

/*
 * The in-kernel path filter (see vigil_abi.h). `str_off` is the offset of the raw path string in
 * the event being assembled. src/detect/kernel-filter.ts `admits()` mirrors this decision exactly.
 */
static __always_inline bool vgl_path_admitted(struct vgl_event *e, u32 str_off, u32 kind)
{
	u8 *base = (u8 *)e;
	if (str_off > VGL_SCRATCH_SIZE / 2)
		return true;
	struct vgl_str *h = (struct vgl_str *)(base + (str_off & HALF_MASK));
	u32 len = h->len;
	if (len == 0 || len >= VGL_PF_SCAN || (h->flags & VGL_S_TRUNCATED))
		return true;
	u32 zero = 0;
	struct vgl_pathbuf *pb = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!pb)
		return true;
	/* a private copy: the scan, prefix and suffix reads need fixed bounds */
	u8 *p = pb->buf;
	bpf_probe_read_kernel(p, VGL_PF_SCAN, base + ((str_off + sizeof(struct vgl_str)) & HALF_MASK));
	if (p[0] != '/')
		return true;
	struct vgl_scan_ctx sc = { .p = p, .len = len, .undecidable = false };
	bpf_loop(VGL_PF_SCAN, vgl_scan_step, &sc, 0);
	if (sc.undecidable)
		return true;
	/* prefix: longest-prefix match on kind + path */
	struct vgl_pfx_key pk = {};
	u32 n = len < VGL_PF_PFX ? len : VGL_PF_PFX;
	pk.prefixlen = 16 + 8 * n;
	pk.data[0] = kind >> 8;
	pk.data[1] = kind & 0xff;
	bpf_probe_read_kernel(&pk.data[2], VGL_PF_PFX, p);
	if (bpf_map_lookup_elem(&path_pfx, &pk))
		return true;
	/* suffix: one hash lookup per configured suffix length */
	struct vgl_sfx_lens *sl = bpf_map_lookup_elem(&sfx_lens, &kind);
	if (!sl)
		return false;
#pragma unroll
	for (int i = 0; i < VGL_PF_NLENS; i++) {
		if (i >= sl->n)
			break;
		u32 l = sl->lens[i];
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

SEC("tracepoint")
int vgl_sys_exit_file(struct trace_event_raw_sys_exit *ctx)
{
	struct vgl_stash st;
	struct vgl_kind_counters *c = NULL;
	struct task_struct *t = NULL;
	struct vgl_event *e = vgl_exit_begin(ctx, &st, &c, &t);
	if (!e)
		return 0;
	u64 *a = st.args;
	switch (st.kind) {
	case VGL_K_OPEN:
	case VGL_K_OPENAT:
	case VGL_K_OPENAT2: {
		long dirfd = AT_FDCWD_VAL;
		const void *path;
		u64 flags = 0, mode = 0;
		if (st.kind == VGL_K_OPEN) {
			path = (const void *)a[0];
			flags = a[1];
			mode = a[2];
		} else {
			dirfd = (long)a[0];
			path = (const void *)a[1];
			if (st.kind == VGL_K_OPENAT) {
				flags = a[2];
				mode = a[3];
			} else {
				struct open_how how = {};
				bpf_probe_read_user(&how, sizeof(how), (const void *)a[2]);
				flags = how.flags;
				mode = how.mode;
			}
		}
		struct vgl_kind_cfg *cfg = vgl_cfg(st.kind);
		if (cfg && (cfg->flags & VGL_KC_ONLY_WRITE) &&
		    !((flags & VGL_O_ACCMODE) || (flags & (VGL_O_CREAT | VGL_O_TRUNC)))) {
			if (c)
				__sync_fetch_and_add(&c->filtered, 1);
			return 0;
		}
		e->args[0] = e->res; /* fd */
		e->args[1] = dirfd;
		e->args[2] = flags;
		e->args[3] = mode;
		u32 path_off = e->hdr.len;
		vgl_put_relpath(e, t, dirfd, path);
		if (cfg && (cfg->flags & VGL_KC_PREFIX_FILTER) && !vgl_path_admitted(e, path_off, st.kind)) {
			if (c)
				__sync_fetch_and_add(&c->filtered, 1);
			return 0;
		}
		if (e->res >= 0) {
			struct file *f = vgl_fd_file(t, e->res);
			struct inode *ino = BPF_CORE_READ(f, f_inode);
			u16 imode = BPF_CORE_READ(ino, i_mode);
			e->args[VGL_FD_A_INO] = BPF_CORE_READ(ino, i_ino);
			e->args[4] = BPF_CORE_READ(ino, i_sb, s_dev);
			e->args[VGL_FD_A_TYPE] = (imode & VGL_S_IFMT) == VGL_S_IFDIR ? VGL_FDT_DIRECTORY :
						 (imode & VGL_S_IFMT) == VGL_S_IFCHR ? VGL_FDT_CHAR : VGL_FDT_FILE;
		}
		break;
	}
	case VGL_K_UNLINK:
	case VGL_K_MKDIR:
	case VGL_K_CHMOD:
	case VGL_K_CHOWN:
	case VGL_K_LCHOWN:
		/* (path, arg1, arg2) */
		e->args[0] = a[1];
		e->args[1] = a[2];
		vgl_put_relpath(e, t, AT_FDCWD_VAL, (const void *)a[0]);
		break;
	case VGL_K_UNLINKAT:
	case VGL_K_MKDIRAT:
	case VGL_K_FCHMODAT:
	case VGL_K_FCHOWNAT:
		/* (dirfd, path, arg2, arg3, arg4) */
		e->args[0] = a[2];
		e->args[1] = a[3];
		e->args[2] = a[4];
		e->args[3] = a[0];
		vgl_put_relpath(e, t, (long)a[0], (const void *)a[1]);
		break;
	case VGL_K_FCHMOD:
	case VGL_K_FCHOWN:
		/* (fd, arg1, arg2) */
		e->args[0] = a[1];
		e->args[1] = a[2];
		e->args[3] = a[0];
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_RENAME:
	case VGL_K_LINK:
	case VGL_K_SYMLINK:
		/* (old, new); a symlink's target is stored as given, never resolved */
		vgl_put_relpath(e, t, AT_FDCWD_VAL, (const void *)a[0]);
		vgl_put_relpath(e, t, AT_FDCWD_VAL, (const void *)a[1]);
		break;
	case VGL_K_RENAMEAT:
	case VGL_K_RENAMEAT2:
	case VGL_K_LINKAT:
		/* (olddirfd, old, newdirfd, new, flags) */
		e->args[0] = a[4];
		e->args[1] = a[0];
		e->args[2] = a[2];
		vgl_put_relpath(e, t, (long)a[0], (const void *)a[1]);
		vgl_put_relpath(e, t, (long)a[2], (const void *)a[3]);
		break;
	case VGL_K_SYMLINKAT:
		/* (target, newdirfd, linkpath) */
		e->args[2] = a[1];
		vgl_put_relpath(e, t, AT_FDCWD_VAL, (const void *)a[0]);
		vgl_put_relpath(e, t, (long)a[1], (const void *)a[2]);
		break;
	default:
		return 0;
	}
	vgl_submit(e, c);
	return 0;
}
