/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * priv.bpf.c: exit program of the privilege and escape family (set*id, capset, ptrace, mount,
 * umount2, init_module, finit_module, bpf, memfd_create, unshare, setns, kill). These syscalls
 * are rare, so attaching them costs almost nothing.
 */
#include "vigil.bpf.h"

SEC("tracepoint")
int vgl_sys_exit_priv(struct trace_event_raw_sys_exit *ctx)
{
	VGL_EXIT_PROLOGUE(ctx);
	u64 *a = st.args;
#pragma unroll
	for (int i = 0; i < 6; i++)
		e->args[i] = a[i];
	switch (st.kind) {
	case VGL_K_SETUID:
	case VGL_K_SETGID:
	case VGL_K_SETRESUID:
	case VGL_K_SETRESGID:
	case VGL_K_PTRACE:
	case VGL_K_BPF:
	case VGL_K_UNSHARE:
	case VGL_K_KILL:
		break;
	case VGL_K_CAPSET: {
		const struct cred *cred = BPF_CORE_READ(t, cred);
		e->args[0] = BPF_CORE_READ(cred, cap_effective.val);
		e->args[1] = BPF_CORE_READ(cred, cap_permitted.val);
		e->args[2] = BPF_CORE_READ(cred, cap_inheritable.val);
		break;
	}
	case VGL_K_MOUNT:
		/* (dev_name, dir_name, type, flags, data) */
		vgl_put_user_str(e, (const void *)a[0], 1024);
		vgl_put_user_str(e, (const void *)a[1], 1024);
		vgl_put_user_str(e, (const void *)a[2], 64);
		break;
	case VGL_K_UMOUNT2:
		vgl_put_user_str(e, (const void *)a[0], 1024);
		break;
	case VGL_K_INIT_MODULE:
		/* (image, len, uargs) */
		vgl_put_user_str(e, (const void *)a[2], 1024);
		break;
	case VGL_K_FINIT_MODULE:
		/* (fd, uargs, flags) */
		vgl_put_user_str(e, (const void *)a[1], 1024);
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_MEMFD_CREATE:
		vgl_put_user_str(e, (const void *)a[0], 256);
		break;
	case VGL_K_SETNS:
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	default:
		return 0;
	}
	vgl_submit(e, c);
	return 0;
}
