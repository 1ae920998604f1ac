/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * net.bpf.c: exit program of the network family (socket, connect, accept, accept4, bind, listen,
 * sendto, sendmsg). The socket tuple is read from the kernel's struct sock after the call, so
 * both the local and the remote address are the ones the kernel actually used; the address the
 * process passed (connect/bind/sendto/sendmsg) travels too, as raw sockaddr bytes.
 * sendto/sendmsg on connected sockets (no destination address) are filtered here: the tuple is
 * already known from connect.
 */
#include "vigil.bpf.h"

#define VGL_SOCKADDR_MAX 112

struct vgl_user_msghdr {
	void *msg_name;
	int msg_namelen;
};

/*
 * The in-kernel port filter: the destination the process passed (sockaddr_in and sockaddr_in6
 * both keep the port at offset 2) must be a listed port, or, with VGL_KC_PORT_OR_CONTAINER, the
 * process must be in a container. src/detect/kernel-filter.ts `admits()` mirrors this.
 */
static __always_inline bool vgl_port_admitted(const void *dest, u32 kind, u32 flags, struct task_struct *t)
{
	struct {
		u16 family;
		u16 port;
	} sa = {};
	if (bpf_probe_read_user(&sa, sizeof(sa), dest) == 0 && (sa.family == VGL_AF_INET || sa.family == VGL_AF_INET6)) {
		u32 key = VGL_PORT_KEY(kind, vgl_bswap16(sa.port));
		if (bpf_map_lookup_elem(&net_ports, &key))
			return true;
	}
	if (flags & VGL_KC_PORT_OR_CONTAINER) {
		u32 zero = 0;
		struct vgl_global_cfg *g = bpf_map_lookup_elem(&global_cfg, &zero);
		return !g || t->nsproxy->mnt_ns->ns.inum != g->host_mntns;
	}
	return false;
}

_Static_assert(VGL_A_CONNECT_FD == VGL_A_BIND_FD, "connect/bind slots");
_Static_assert(VGL_A_ACCEPT_LFD == VGL_A_ACCEPT4_LFD && VGL_A_ACCEPT_FLAGS == VGL_A_ACCEPT4_FLAGS, "accept slots");

SEC("tracepoint")
int vgl_sys_exit_net(struct trace_event_raw_sys_exit *ctx)
{
	struct vgl_call st;
	struct vgl_kind_counters *c = NULL;
	struct task_struct *t = NULL;
	if (!vgl_exit_call(ctx, &st, &c, &t))
		return 0;
	u64 *a = st.args;
	/* sends on connected sockets (no destination) are filtered before any event is assembled:
	 * a busy TCP service makes one per request */
	struct vgl_user_msghdr mh = {};
	if (st.kind == VGL_K_SENDMSG)
		bpf_probe_read_user(&mh, sizeof(mh), (const void *)a[1]);
	if ((st.kind == VGL_K_SENDTO && !a[4]) || (st.kind == VGL_K_SENDMSG && !mh.msg_name)) {
		if (c)
			__sync_fetch_and_add(&c->filtered, 1);
		return 0;
	}
	if (st.flags & VGL_KC_PORT_FILTER) {
		const void *dest = st.kind == VGL_K_CONNECT ? (const void *)a[1] :
				   st.kind == VGL_K_SENDTO  ? (const void *)a[4] :
				   st.kind == VGL_K_SENDMSG ? mh.msg_name : NULL;
		if (dest && !vgl_port_admitted(dest, st.kind, st.flags, t)) {
			if (c)
				__sync_fetch_and_add(&c->filtered, 1);
			return 0;
		}
	}
	struct vgl_event *e = vgl_exit_event(ctx, &st, t);
	if (!e)
		return 0;
	switch (st.kind) {
	case VGL_K_SOCKET:
		e->args[VGL_A_SOCKET_DOMAIN] = a[0];
		e->args[VGL_A_SOCKET_TYPE] = a[1];
		e->args[VGL_A_SOCKET_PROTO] = a[2];
		if (e->res >= 0)
			vgl_describe_fd(e, t, e->res);
		else
			vgl_put_empty(e);
		break;
	case VGL_K_CONNECT:
	case VGL_K_BIND: {
		/* connect and bind share one layout */
		e->args[VGL_A_CONNECT_FD] = a[0];
		u32 alen = (u32)a[2];
		if (alen > VGL_SOCKADDR_MAX)
			alen = VGL_SOCKADDR_MAX;
		vgl_put_bytes(e, (const void *)a[1], alen, true, 0);
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	}
	case VGL_K_SENDTO: {
		e->args[VGL_A_SENDTO_FD] = a[0];
		u32 alen = (u32)a[5];
		if (alen > VGL_SOCKADDR_MAX)
			alen = VGL_SOCKADDR_MAX;
		vgl_put_bytes(e, (const void *)a[4], alen, true, 0);
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	}
	case VGL_K_SENDMSG: {
		e->args[VGL_A_SENDMSG_FD] = a[0];
		u32 alen = (u32)mh.msg_namelen;
		if (alen > VGL_SOCKADDR_MAX)
			alen = VGL_SOCKADDR_MAX;
		vgl_put_bytes(e, mh.msg_name, alen, true, 0);
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	}
	case VGL_K_ACCEPT:
	case VGL_K_ACCEPT4:
		/* accept and accept4 share one layout */
		e->args[VGL_A_ACCEPT4_LFD] = a[0];
		e->args[VGL_A_ACCEPT4_FLAGS] = st.kind == VGL_K_ACCEPT4 ? a[3] : 0;
		if (e->res >= 0)
			vgl_describe_fd(e, t, e->res);
		else
			vgl_describe_fd(e, t, (long)a[0]);
		break;
	case VGL_K_LISTEN:
		e->args[VGL_A_LISTEN_FD] = a[0];
		e->args[VGL_A_LISTEN_BACKLOG] = a[1];
		vgl_describe_fd(e, t, (long)a[0]);
		break;
	default:
		return 0;
	}
	vgl_submit(e, c);
	return 0;
}
