/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enforce_net.bpf.c: network enforcement of Vigil policies with cgroup BPF programs. A program
 * returning 0 makes the syscall fail with EPERM; 1 lets it through.
 *
 *   vnet_connect4/6   (cgroup/connect4, connect6)   network.matchEgress, dir=egress
 *   vnet_sendmsg4/6   (cgroup/sendmsg4, sendmsg6)   same rules for unconnected UDP sends
 *   vnet_bind4/6      (cgroup/bind4, bind6)         network.matchBind, dir=bind
 *   vnet_sock_create  (cgroup/sock_create)          network.matchProtocols and the net_raw
 *                                                   capability (raw/packet sockets)
 *
 * Rules live in vnet_scopes, one value per container keyed by its cgroup v2 id (u64), written
 * whole by user space (src/policy/compile.ts encodes it; the loader writes it with
 * `map-update vnet_scopes <key> <value>`). A hash-map update replaces the element at once (the
 * map is not preallocated, so a reader keeps the old element until its RCU grace period ends):
 * a program sees the old or the new rules of a container, never a mix. Key 0 is the host
 * pseudo-scope: used for tasks with no container scope that run in the host mount namespace
 * (global_cfg.host_mntns).
 *
 * Attach point: the programs may be attached to each selected container's cgroup v2 directory
 * (inherited by its sub-cgroups; only that container pays), or once at the unified root (every
 * socket pays one hash lookup). A task is matched by its own cgroup id, then by its ancestors'
 * (for nested cgroups inside a container).
 *
 * Decisions that are reported (Block, Audit, default posture) go to the shared ring buffer as
 * VGL_K_NET_DECISION events; their arg slots are VGL_A_NET_DECISION_* (the kind table), packed as VGL_ND_* in vigil_abi.h says. A decision names what
 * decided it: the policy index and the matched entry (the rule's `entry`, or the protocol class's
 * `proto_entry`), with the scope index and the generation of the table it came from, so user space
 * names the rule from the table that was in force and never evaluates the rules again.
 *   res: -1 (EPERM) when denied, 0 when only reported.
 */
#include "vigil.bpf.h"
#include <bpf/bpf_endian.h>

#define VNET_AF_INET 2
#define VNET_AF_INET6 10
#define VNET_AF_PACKET 17
#define VNET_SOCK_STREAM 1
#define VNET_SOCK_DGRAM 2
#define VNET_SOCK_RAW 3

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, u64);
	__type(value, struct vnet_scope);
} vnet_scopes SEC(".maps");

/* Verdict of one evaluation. */
struct vnet_verdict {
	u8 deny;
	u8 report;   /* 0: nothing to report, else the action reported */
	u8 posture;
	u16 policy;
	u16 entry;   /* matched entry (VGL_ND_NO_ENTRY: the posture decided) */
};

static __always_inline struct vnet_scope *vnet_scope_of_current(void)
{
	u64 id = bpf_get_current_cgroup_id();
	struct vnet_scope *s = bpf_map_lookup_elem(&vnet_scopes, &id);
	if (s)
		return s;
	/* nested cgroups inside a container: the deepest ancestor that has a scope */
	for (int l = 8; l >= 1; l--) {
		u64 a = bpf_get_current_ancestor_cgroup_id(l);
		if (!a || a == id)
			continue;
		s = bpf_map_lookup_elem(&vnet_scopes, &a);
		if (s)
			return s;
	}
	u64 host = 0;
	s = bpf_map_lookup_elem(&vnet_scopes, &host);
	if (!s)
		return NULL;
	u32 zero = 0;
	struct vgl_global_cfg *g = bpf_map_lookup_elem(&global_cfg, &zero);
	if (!g || !g->host_mntns)
		return NULL;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum) != g->host_mntns)
		return NULL;
	return s;
}

static __always_inline void vnet_report(const struct vnet_scope *s, const struct vnet_verdict *v, u8 hook, u8 family,
					u32 proto, u16 port, const u32 *addr, u32 socktype)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vgl_event *e = vgl_begin_raw(VGL_K_NET_DECISION, t);
	if (!e)
		return;
	e->hdr.flags |= VGL_F_POLICY;
	e->res = v->deny ? -1 : 0;
	e->args[VGL_A_NET_DECISION_ACTION] = v->report;
	e->args[VGL_A_NET_DECISION_POLICY] = v->policy | ((u64)v->entry << VGL_ND_ENTRY_SHIFT);
	e->args[VGL_A_NET_DECISION_FAMILY] = family;
	e->args[VGL_A_NET_DECISION_PROTO] = proto;
	e->args[VGL_A_NET_DECISION_PORT] = port;
	e->args[VGL_A_NET_DECISION_IP4] = family == VNET_AF_INET ? addr[0] : 0;
	e->args[VGL_A_NET_DECISION_HOOK] = hook;
	e->args[VGL_A_NET_DECISION_SCOPE] = s->scope_idx | ((u64)s->gen << VGL_ND_GEN_SHIFT);
	if (family == VNET_AF_INET6) {
		e->args[VGL_A_NET_DECISION_IP6A] = ((u64)addr[1] << 32) | addr[0];
		e->args[VGL_A_NET_DECISION_IP6B] = ((u64)addr[3] << 32) | addr[2];
	}
	e->args[VGL_A_NET_DECISION_SOCKTYPE] = socktype;
	e->args[VGL_A_NET_DECISION_POSTURE] = v->posture;
	vgl_submit(e, vgl_counters(VGL_K_NET_DECISION));
}

/*
 * Evaluates the address rules of one direction. A Block match denies at once; otherwise an
 * Allow match allows (an Audit match is still reported); with no Allow match, the posture of
 * an allow-list applies; an Audit match alone only reports.
 * The rule scan runs under bpf_loop so the verifier checks the body once instead of unrolling
 * 32 iterations of branches (which exceeds its 1M-instruction budget).
 */
struct vnet_eval_ctx {
	const struct vnet_scope *s;
	u32 addr[4];
	u16 port;
	u8 dir;
	u8 family;
	u8 proto;
	int allow;
	int audit;
	int block;
};

static long vnet_eval_one(u64 i, void *arg)
{
	struct vnet_eval_ctx *c = arg;
	if (i >= VNET_MAX_RULES)
		return 1;
	const struct vnet_rule *r = &c->s->rules[i];
	if (r->dir != c->dir)
		return 0;
	if (r->family && r->family != c->family)
		return 0;
	if (r->proto && r->proto != c->proto)
		return 0;
	if (c->port < r->port_lo || c->port > r->port_hi)
		return 0;
	if ((c->addr[0] & r->mask[0]) != r->net[0])
		return 0;
	if (c->family == VNET_AF_INET6 &&
	    ((c->addr[1] & r->mask[1]) != r->net[1] || (c->addr[2] & r->mask[2]) != r->net[2] ||
	     (c->addr[3] & r->mask[3]) != r->net[3]))
		return 0;
	if (r->action == VNET_A_BLOCK) {
		c->block = (int)i;
		return 1; /* nothing overrides a Block */
	}
	if (r->action == VNET_A_ALLOW && c->allow < 0)
		c->allow = (int)i;
	if (r->action == VNET_A_AUDIT && c->audit < 0)
		c->audit = (int)i;
	return 0;
}

/* The verdict of rule i: its policy and entry (both "posture" when i is out of range). */
static __always_inline void vnet_rule_verdict(const struct vnet_scope *s, int i, struct vnet_verdict *v)
{
	if (i < 0 || i >= VNET_MAX_RULES) {
		v->policy = VNET_POLICY_POSTURE;
		v->entry = VGL_ND_NO_ENTRY;
		return;
	}
	v->policy = s->rules[i].policy;
	v->entry = s->rules[i].entry;
}

static __always_inline struct vnet_verdict vnet_eval_addr(const struct vnet_scope *s, u8 dir, u8 posture, u8 family,
							   const u32 *addr, u16 port, u8 proto)
{
	struct vnet_verdict v = { .entry = VGL_ND_NO_ENTRY };
	struct vnet_eval_ctx c = {
		.s = s, .port = port, .dir = dir, .family = family, .proto = proto, .allow = -1, .audit = -1, .block = -1,
	};
	c.addr[0] = addr[0];
	c.addr[1] = addr[1];
	c.addr[2] = addr[2];
	c.addr[3] = addr[3];
	u32 n = s->n;
	if (n > VNET_MAX_RULES)
		n = VNET_MAX_RULES;
	bpf_loop(n, vnet_eval_one, &c, 0);
	if (c.block >= 0) {
		v.deny = 1;
		v.report = VNET_A_BLOCK;
		vnet_rule_verdict(s, c.block, &v);
		return v;
	}
	if (c.allow < 0 && posture) {
		v.posture = 1;
		v.policy = VNET_POLICY_POSTURE;
		v.report = posture == VNET_A_BLOCK ? VNET_A_BLOCK : VNET_A_AUDIT;
		v.deny = posture == VNET_A_BLOCK;
		return v;
	}
	if (c.audit >= 0) {
		v.report = VNET_A_AUDIT;
		vnet_rule_verdict(s, c.audit, &v);
	}
	return v;
}

/* Reads the destination (or bind) address of a sock_addr context; IPv4-mapped IPv6 addresses
 * are evaluated as IPv4 so a v4 rule also covers a dual-stack socket. */
static __always_inline u8 vnet_ctx_addr(struct bpf_sock_addr *ctx, bool v6, u32 *addr)
{
	if (!v6) {
		addr[0] = ctx->user_ip4;
		return VNET_AF_INET;
	}
	addr[0] = ctx->user_ip6[0];
	addr[1] = ctx->user_ip6[1];
	addr[2] = ctx->user_ip6[2];
	addr[3] = ctx->user_ip6[3];
	if (addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff)) {
		addr[0] = addr[3];
		addr[1] = addr[2] = addr[3] = 0;
		return VNET_AF_INET;
	}
	return VNET_AF_INET6;
}

static __always_inline int vnet_sock_addr(struct bpf_sock_addr *ctx, bool v6, u8 dir, u8 hook)
{
	struct vnet_scope *s = vnet_scope_of_current();
	if (!s)
		return 1;
	u32 addr[4] = {};
	u8 family = vnet_ctx_addr(ctx, v6, addr);
	u16 port = bpf_ntohs((u16)ctx->user_port);
	u8 proto = (u8)ctx->protocol;
	u8 posture = dir == VNET_DIR_EGRESS ? s->posture_egress : s->posture_bind;
	struct vnet_verdict v = vnet_eval_addr(s, dir, posture, family, addr, port, proto);
	if (v.report)
		vnet_report(s, &v, hook, family, proto, port, addr, ctx->type);
	return v.deny ? 0 : 1;
}

SEC("cgroup/connect4")
int vnet_connect4(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, false, VNET_DIR_EGRESS, VNET_HOOK_CONNECT);
}

SEC("cgroup/connect6")
int vnet_connect6(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, true, VNET_DIR_EGRESS, VNET_HOOK_CONNECT);
}

SEC("cgroup/sendmsg4")
int vnet_sendmsg4(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, false, VNET_DIR_EGRESS, VNET_HOOK_SENDMSG);
}

SEC("cgroup/sendmsg6")
int vnet_sendmsg6(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, true, VNET_DIR_EGRESS, VNET_HOOK_SENDMSG);
}

SEC("cgroup/bind4")
int vnet_bind4(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, false, VNET_DIR_BIND, VNET_HOOK_BIND);
}

SEC("cgroup/bind6")
int vnet_bind6(struct bpf_sock_addr *ctx)
{
	return vnet_sock_addr(ctx, true, VNET_DIR_BIND, VNET_HOOK_BIND);
}

/*
 * Socket creation: protocol classes of the new socket. A socket may be in two classes (a raw
 * ICMP socket is raw and icmp); a Block of either denies; otherwise an Allow of either allows;
 * otherwise the posture of a protocol allow-list applies. Sockets of other families (unix,
 * netlink, ...) are not network protocols in the policy sense and always pass.
 */
SEC("cgroup/sock_create")
int vnet_sock_create(struct bpf_sock *sk)
{
	u32 family = sk->family, type = sk->type, proto = sk->protocol;
	u8 c1 = 0, c2 = 0;
	if (family == VNET_AF_INET || family == VNET_AF_INET6) {
		if (proto == 1 || proto == 58)
			c1 = VNET_C_ICMP;
		else if (type == VNET_SOCK_STREAM && (proto == 0 || proto == 6))
			c1 = VNET_C_TCP;
		else if (type == VNET_SOCK_DGRAM && (proto == 0 || proto == 17))
			c1 = VNET_C_UDP;
		if (type == VNET_SOCK_RAW)
			c2 = VNET_C_RAW;
	} else if (family == VNET_AF_PACKET) {
		c2 = VNET_C_RAW;
	} else {
		return 1;
	}
	if (!c1 && !c2)
		return 1;
	struct vnet_scope *s = vnet_scope_of_current();
	if (!s)
		return 1;
	u8 a1 = c1 ? s->proto_action[c1 & 7] : 0, a2 = c2 ? s->proto_action[c2 & 7] : 0;
	struct vnet_verdict v = { .entry = VGL_ND_NO_ENTRY };
	if (a1 == VNET_A_BLOCK || a2 == VNET_A_BLOCK) {
		u8 c = a1 == VNET_A_BLOCK ? c1 : c2;
		v.deny = 1;
		v.report = VNET_A_BLOCK;
		v.policy = s->proto_policy[c & 7];
		v.entry = s->proto_entry[c & 7];
	} else if (a1 != VNET_A_ALLOW && a2 != VNET_A_ALLOW && s->posture_proto) {
		v.posture = 1;
		v.policy = VNET_POLICY_POSTURE;
		v.deny = s->posture_proto == VNET_A_BLOCK;
		v.report = v.deny ? VNET_A_BLOCK : VNET_A_AUDIT;
	} else if (a1 == VNET_A_AUDIT || a2 == VNET_A_AUDIT) {
		u8 c = a1 == VNET_A_AUDIT ? c1 : c2;
		v.report = VNET_A_AUDIT;
		v.policy = s->proto_policy[c & 7];
		v.entry = s->proto_entry[c & 7];
	}
	if (v.report) {
		u32 addr[4] = {};
		vnet_report(s, &v, VNET_HOOK_SOCK_CREATE, (u8)family, proto, 0, addr, type);
	}
	return v.deny ? 0 : 1;
}
