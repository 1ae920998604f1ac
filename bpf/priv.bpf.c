/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * priv.bpf.c: exit program of the privilege and escape family (set*id, capset, ptrace, mount,
 * umount2, init_module, finit_module, bpf, memfd_create, unshare, setns, kill, prctl). These
 * syscalls are rare, so attaching them costs almost nothing. Every kind fills the slots the kind
 * table (src/abi/kinds-table.ts) names, through the generated VGL_A_<KIND>_<SLOT>.
 */
#include "vigil.bpf.h"

#define VGL_PR_SET_NAME 15
#define VGL_PR_GET_NAME 16
#define VGL_PR_GET_CHILD_SUBREAPER 37
#define VGL_TASK_COMM_LEN 16

SEC("tracepoint")
int vgl_sys_exit_priv(struct trace_event_raw_sys_exit *ctx)
{
	VGL_EXIT_PROLOGUE(ctx);
	u64 *a = st.args;
	switch (st.kind) {
	case VGL_K_SETUID:
		e->args[VGL_A_SETUID_UID] = a[0];
		break;
	case VGL_K_SETGID:
		e->args[VGL_A_SETGID_GID] = a[0];
		break;
	case VGL_K_SETRESUID:
		e->args[VGL_A_SETRESUID_RUID] = a[0];
		e->args[VGL_A_SETRESUID_EUID] = a[1];
		e->args[VGL_A_SETRESUID_SUID] = a[2];
		break;
	case VGL_K_SETRESGID:
		e->args[VGL_A_SETRESGID_RGID] = a[0];
		e->args[VGL_A_SETRESGID_EGID] = a[1];
		e->args[VGL_A_SETRESGID_SGID] = a[2];
		break;
	case VGL_K_PTRACE:
		e->args[VGL_A_PTRACE_REQUEST] = a[0];
		e->args[VGL_A_PTRACE_PID] = a[1];
		break;
	case VGL_K_BPF:
		e->args[VGL_A_BPF_CMD] = a[0];
		break;
	case VGL_K_UNSHARE:
		e->args[VGL_A_UNSHARE_FLAGS] = a[0];
		break;
	case VGL_K_KILL:
		e->args[VGL_A_KILL_PID] = a[0];
		e->args[VGL_A_KILL_SIG] = a[1];
		break;
	case VGL_K_CAPSET: {
		const struct cred *cred = BPF_CORE_READ(t, cred);
		e->args[VGL_A_CAPSET_CAP_EFFECTIVE] = BPF_CORE_READ(cred, cap_effective.val);
		e->args[VGL_A_CAPSET_CAP_PERMITTED] = BPF_CORE_READ(cred, cap_permitted.val);
		e->args[VGL_A_CAPSET_CAP_INHERITABLE] = BPF_CORE_READ(cred, cap_inheritable.val);
		break;
	}
	case VGL_K_MOUNT:
		/* (dev_name, dir_name, type, flags, data) */
		e->args[VGL_A_MOUNT_FLAGS] = a[3];
		vgl_put_user_str(e, (const void *)a[0], 1024);
		vgl_put_user_str(e, (const void *)a[1], 1024);
		vgl_put_user_str(e, (const void *)a[2], 64);
		break;
	case VGL_K_UMOUNT2:
		e->args[VGL_A_UMOUNT2_FLAGS] = a[1];
		vgl_put_user_str(e, (const void *)a[0], 1024);
		break;
	case VGL_K_INIT_MODULE:
		/* (image, len, uargs) */
		e->args[VGL_A_INIT_MODULE_LENGTH] = a[1];
		vgl_put_user_str(e, (const void *)a[2], 1024);
		break;
	case VGL_K_FINIT_MODULE:
		/* (fd, uargs, flags) */
		e->args[VGL_A_FINIT_MODULE_FD] = a[0];
		e->args[VGL_A_FINIT_MODULE_FLAGS] = a[2];
		vgl_put_user_str(e, (const void *)a[1], 1024);
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_MEMFD_CREATE:
		e->args[VGL_A_MEMFD_CREATE_FLAGS] = a[1];
		vgl_put_user_str(e, (const void *)a[0], 256);
		break;
	case VGL_K_SETNS:
		e->args[VGL_A_SETNS_FD] = a[0];
		e->args[VGL_A_SETNS_NSTYPE] = a[1];
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_PRCTL: {
		/* (option, arg2, ...), as Falco reports it: arg2 as a string for the name options (read at
		 * exit, so PR_GET_NAME shows the name returned), as the int it points to for
		 * PR_GET_CHILD_SUBREAPER, else arg2 itself */
		int option = (int)a[0];
		e->args[VGL_A_PRCTL_OPTION] = (s64)option;
		if (option == VGL_PR_SET_NAME || option == VGL_PR_GET_NAME) {
			e->args[VGL_A_PRCTL_ARG2_INT] = 0;
			vgl_put_user_str(e, (const void *)a[1], VGL_TASK_COMM_LEN);
		} else {
			if (option == VGL_PR_GET_CHILD_SUBREAPER) {
				int v = 0;
				bpf_probe_read_user(&v, sizeof(v), (const void *)a[1]);
				e->args[VGL_A_PRCTL_ARG2_INT] = (s64)v;
			} else {
				e->args[VGL_A_PRCTL_ARG2_INT] = a[1];
			}
			vgl_put_empty(e);
		}
		break;
	}
	default:
		return 0;
	}
	vgl_submit(e, c);
	return 0;
}
