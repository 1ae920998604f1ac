/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fd.bpf.c: exit program of the fd bookkeeping family (dup, dup2, dup3, close), so that user
 * space can keep each process's fd table and resolve fd.* fields on later events. dup* events
 * describe the duplicated file in the kernel, so they resolve even for fds opened before the
 * sensor started.
 */
#include "vigil.bpf.h"

_Static_assert(VGL_A_DUP_OLDFD == VGL_A_DUP3_OLDFD && VGL_A_DUP2_OLDFD == VGL_A_DUP3_OLDFD, "dup slots");
_Static_assert(VGL_A_DUP_NEWFD == VGL_A_DUP3_NEWFD && VGL_A_DUP2_NEWFD == VGL_A_DUP3_NEWFD, "dup slots");
_Static_assert(VGL_A_DUP_FLAGS == VGL_A_DUP3_FLAGS && VGL_A_DUP2_FLAGS == VGL_A_DUP3_FLAGS, "dup slots");

SEC("tracepoint")
int vgl_sys_exit_fd(struct trace_event_raw_sys_exit *ctx)
{
	VGL_EXIT_PROLOGUE(ctx);
	u64 *a = st.args;
	switch (st.kind) {
	case VGL_K_DUP:
	case VGL_K_DUP2:
	case VGL_K_DUP3:
		/* dup, dup2 and dup3 share one layout */
		e->args[VGL_A_DUP3_OLDFD] = a[0];
		e->args[VGL_A_DUP3_NEWFD] = st.kind == VGL_K_DUP ? e->res : a[1];
		e->args[VGL_A_DUP3_FLAGS] = st.kind == VGL_K_DUP3 ? a[2] : 0;
		vgl_describe_fd(e, t, e->res >= 0 ? e->res : (long)a[0]);
		break;
	case VGL_K_CLOSE:
		e->args[VGL_A_CLOSE_FD] = a[0];
		break;
	default:
		return 0;
	}
	vgl_submit(e, c);
	return 0;
}
