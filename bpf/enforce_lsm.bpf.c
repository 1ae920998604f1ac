/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce_lsm.bpf.c: the BPF-LSM enforcement path (file_open, bprm_check_security,
 * socket_connect). It is the fail-closed alternative to the fanotify enforcer: a pinned LSM
 * program keeps denying while user space restarts, and the decision is taken in the kernel.
 *
 * Only loaded where /sys/kernel/security/lsm lists "bpf". On the reference host it does not
 * (CONFIG_BPF_LSM=y but bpf is not in the active LSM list, so attaching an LSM program fails):
 * the loader must keep these programs out of the load there, e.g.
 *   bpf_program__set_autoload(skel->progs.vlsm_file_open, false) (and the two others)
 * unless the lsm list contains bpf. tests/policy/lsm-kernel.test.ts is the test that needs it
 * (it skips, naming the missing LSM, everywhere else).
 *
 * Rules are keyed by (cgroup id, inode, device) rather than by path: LSM hooks see the inode
 * directly, and resolving a path per access in BPF would cost far more than fanotify does. User
 * space resolves the policy paths of each container to inodes (through /proc/<pid>/root) when it
 * writes vlsm_files; a replaced file gets a new inode and must be re-resolved (the fanotify path
 * has no such limitation, which is one reason it is the default here).
 */
#include "vigil.bpf.h"

#define VLSM_OP_OPEN 1
#define VLSM_OP_EXEC 2
#define VLSM_A_AUDIT 2
#define VLSM_A_BLOCK 3
#define VLSM_EPERM 1

struct vlsm_file_key {
	u64 cgroup_id;
	u64 ino;
	u32 dev;
	u32 op; /* VLSM_OP_* */
};

struct vlsm_val {
	u8 action; /* VLSM_A_* */
	u8 pad;
	u16 policy;
	u32 pad2;
};

struct vlsm_port_key {
	u64 cgroup_id;
	u32 port; /* host order */
	u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vlsm_file_key);
	__type(value, struct vlsm_val);
} vlsm_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vlsm_port_key);
	__type(value, struct vlsm_val);
} vlsm_ports SEC(".maps");

static __always_inline int vlsm_report(u16 kind_action, u16 policy, u64 ino, u32 op, bool deny)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vgl_event *e = vgl_begin_raw(VGL_K_NET_DECISION, t);
	if (!e)
		return 0;
	/* reuses the decision kind: hook = 16 + op marks an LSM file decision */
	e->hdr.flags |= VGL_F_POLICY;
	e->res = deny ? -VLSM_EPERM : 0;
	e->args[VGL_A_NET_DECISION_ACTION] = kind_action;
	e->args[VGL_A_NET_DECISION_POLICY] = policy;
	e->args[VGL_A_NET_DECISION_INO] = ino;
	e->args[VGL_A_NET_DECISION_HOOK] = 16 + op;
	vgl_submit(e, vgl_counters(VGL_K_NET_DECISION));
	return 0;
}

static __always_inline int vlsm_check_file(struct file *f, u32 op)
{
	struct vlsm_file_key k = {};
	k.cgroup_id = bpf_get_current_cgroup_id();
	k.ino = BPF_CORE_READ(f, f_inode, i_ino);
	k.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	k.op = op;
	struct vlsm_val *v = bpf_map_lookup_elem(&vlsm_files, &k);
	if (!v)
		return 0;
	bool deny = v->action == VLSM_A_BLOCK;
	vlsm_report(v->action, v->policy, k.ino, op, deny);
	return deny ? -VLSM_EPERM : 0;
}

SEC("lsm/file_open")
int BPF_PROG(vlsm_file_open, struct file *file)
{
	return vlsm_check_file(file, VLSM_OP_OPEN);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(vlsm_bprm_check, struct linux_binprm *bprm)
{
	return vlsm_check_file(BPF_CORE_READ(bprm, file), VLSM_OP_EXEC);
}

SEC("lsm/socket_connect")
int BPF_PROG(vlsm_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen)
{
	u16 family = BPF_CORE_READ(address, sa_family);
	struct vlsm_port_key k = {};
	k.cgroup_id = bpf_get_current_cgroup_id();
	k.family = family;
	if (family == 2) {
		struct sockaddr_in *in = (struct sockaddr_in *)address;
		u16 p = BPF_CORE_READ(in, sin_port);
		k.port = (u16)((p >> 8) | (p << 8));
	} else if (family == 10) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)address;
		u16 p = BPF_CORE_READ(in6, sin6_port);
		k.port = (u16)((p >> 8) | (p << 8));
	} else {
		return 0;
	}
	struct vlsm_val *v = bpf_map_lookup_elem(&vlsm_ports, &k);
	if (!v)
		return 0;
	bool deny = v->action == VLSM_A_BLOCK;
	vlsm_report(v->action, v->policy, k.port, 3, deny);
	return deny ? -VLSM_EPERM : 0;
}
