/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * syscall.bpf.c: the per-syscall tier. One program is attached to the `syscalls:sys_enter_<name>`
 * tracepoint of each syscall that some rule, policy or option needs (never to the generic
 * raw_syscalls hook: a per-syscall tracepoint costs only the syscalls it watches). It stashes the
 * arguments by thread id; the family's exit program (file/net/fd/priv.bpf.c) completes the event
 * at `sys_exit_<name>` with the result and everything only known after the call.
 */
#include "vigil.bpf.h"

SEC("tracepoint")
int vgl_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	u32 nr = (u32)ctx->id;
	u32 *kp = bpf_map_lookup_elem(&sys_kind, &nr);
	if (!kp || !*kp)
		return 0;
	u32 kind = *kp;
	struct vgl_kind_counters *c = vgl_counters(kind);
	if (c)
		__sync_fetch_and_add(&c->seen, 1);
	struct vgl_kind_cfg *cfg = vgl_cfg(kind);
	u64 pidtgid = bpf_get_current_pid_tgid();
	if (!cfg || !cfg->enabled || vgl_is_ignored(pidtgid >> 32)) {
		if (c)
			__sync_fetch_and_add(&c->filtered, 1);
		return 0;
	}
	if (cfg->flags & VGL_KC_ONLY_CONTAINERS) {
		u32 zero = 0;
		struct vgl_global_cfg *g = bpf_map_lookup_elem(&global_cfg, &zero);
		struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
		if (g && BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum) == g->host_mntns) {
			if (c)
				__sync_fetch_and_add(&c->filtered, 1);
			return 0;
		}
	}
	struct vgl_stash st = {};
	/* one load per argument: the verifier rejects loads through a moved ctx pointer */
	st.args[0] = BPF_CORE_READ(ctx, args[0]);
	st.args[1] = BPF_CORE_READ(ctx, args[1]);
	st.args[2] = BPF_CORE_READ(ctx, args[2]);
	st.args[3] = BPF_CORE_READ(ctx, args[3]);
	st.args[4] = BPF_CORE_READ(ctx, args[4]);
	st.args[5] = BPF_CORE_READ(ctx, args[5]);
	st.kind = kind;
	st.nr = nr;
	st.ts = bpf_ktime_get_boot_ns();
	u32 tid = (u32)pidtgid;
	bpf_map_update_elem(&stash, &tid, &st, BPF_ANY);
	return 0;
}
