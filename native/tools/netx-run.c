/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netx-run: standalone driver of the network enforcer (bpf/enforce_net.bpf.c) for tests, standing
 * in for the loader: it does exactly what the loader does with its `attach-cgroup` and
 * `map-update vnet_scopes` commands, and prints VGL_K_NET_DECISION records as JSON lines.
 * Not part of the loader build. Build (see tests/policy/net-kernel.test.ts):
 *   clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ibuild -Ibpf -c bpf/maps.bpf.c -o T/maps.o
 *   clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ibuild -Ibpf -c bpf/enforce_net.bpf.c -o T/enet.o
 *   bpftool gen object T/netx.o T/maps.o T/enet.o
 *   cc -O2 -Ibpf -o build/netx-run native/tools/netx-run.c -lbpf -lelf -lz
 *
 * Usage: netx-run OBJECT. Commands on stdin, one per line, each answered "OK <verb>" or
 * "ERR <verb> <message>":
 *   attach <cgroup-v2-dir>     attach every vnet_* program to that cgroup
 *   host-mntns <inode>         global_cfg.host_mntns (enables the host pseudo-scope, key 0)
 *   load <netx-file>           apply a `netx 1` table (src/policy/compile.ts NetRuleSet.text):
 *                              write every scope, then delete the scopes it no longer lists
 *   quit
 * Output: "READY" once loaded, then "N {json}" per decision record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vigil_abi.h"

#define MAX_LINKS 256
#define MAX_KEYS 4096

static struct bpf_object *obj;
static struct bpf_link *links[MAX_LINKS];
static int nlinks;
static unsigned long long keys[MAX_KEYS];
static int nkeys;

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len < sizeof(struct vgl_event))
		return 0;
	const struct vgl_event *e = data;
	if (e->hdr.kind != VGL_K_NET_DECISION)
		return 0;
	char addr[INET6_ADDRSTRLEN] = "";
	if (e->args[VGL_A_NET_DECISION_FAMILY] == AF_INET) {
		unsigned int a = (unsigned int)e->args[VGL_A_NET_DECISION_IP4];
		inet_ntop(AF_INET, &a, addr, sizeof(addr));
	} else if (e->args[VGL_A_NET_DECISION_FAMILY] == AF_INET6) {
		unsigned long long w[2] = {e->args[VGL_A_NET_DECISION_IP6A], e->args[VGL_A_NET_DECISION_IP6B]};
		inet_ntop(AF_INET6, w, addr, sizeof(addr));
	}
	char comm[VGL_COMM_LEN + 1] = {0};
	memcpy(comm, e->comm, VGL_COMM_LEN);
	printf("N {\"action\":%llu,\"policy\":%llu,\"entry\":%llu,\"gen\":%llu,\"family\":%llu,\"proto\":%llu,\"port\":%llu,\"addr\":\"%s\","
	       "\"hook\":%llu,\"scope\":%llu,\"socktype\":%llu,\"posture\":%llu,\"res\":%lld,\"pid\":%u,\"cgroup\":%llu,"
	       "\"comm\":\"%s\"}\n",
	       (unsigned long long)e->args[VGL_A_NET_DECISION_ACTION], (unsigned long long)(e->args[VGL_A_NET_DECISION_POLICY] & 0xffff),
	       (unsigned long long)((e->args[VGL_A_NET_DECISION_POLICY] >> VGL_ND_ENTRY_SHIFT) & 0xffff),
	       (unsigned long long)(e->args[VGL_A_NET_DECISION_SCOPE] >> VGL_ND_GEN_SHIFT), (unsigned long long)e->args[VGL_A_NET_DECISION_FAMILY],
	       (unsigned long long)e->args[VGL_A_NET_DECISION_PROTO], (unsigned long long)e->args[VGL_A_NET_DECISION_PORT], addr, (unsigned long long)e->args[VGL_A_NET_DECISION_HOOK],
	       (unsigned long long)(e->args[VGL_A_NET_DECISION_SCOPE] & 0xffffffffu), (unsigned long long)e->args[VGL_A_NET_DECISION_SOCKTYPE], (unsigned long long)e->args[VGL_A_NET_DECISION_POSTURE],
	       (long long)e->res, e->pid, (unsigned long long)e->cgroup_id, comm);
	fflush(stdout);
	return 0;
}

static int hexbytes(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != n * 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static int cmd_attach(const char *dir, char *err, size_t errlen)
{
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
	{
		if (strncmp(bpf_program__name(p), "vnet_", 5) != 0)
			continue;
		struct bpf_link *l = bpf_program__attach_cgroup(p, cg);
		if (!l) {
			snprintf(err, errlen, "attach %s: %s", bpf_program__name(p), strerror(errno));
			close(cg);
			return -1;
		}
		if (nlinks < MAX_LINKS)
			links[nlinks++] = l;
	}
	close(cg);
	return 0;
}

static int cmd_load(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "open %s: %s", file, strerror(errno));
		return -1;
	}
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "vnet_scopes");
	size_t vsz = bpf_map__value_size(m);
	unsigned char *val = malloc(vsz);
	unsigned long long newkeys[MAX_KEYS];
	int nnew = 0, rc = 0, header = 0, end = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!header) {
			if (strcmp(line, "netx 1") != 0) {
				snprintf(err, errlen, "expected header 'netx 1'");
				rc = -1;
				break;
			}
			header = 1;
			continue;
		}
		if (strcmp(line, "end") == 0) {
			end = 1;
			break;
		}
		char cg[32], hex[8192], name[256];
		if (sscanf(line, "scope %31s %8191s %255s", cg, hex, name) < 2 || hexbytes(hex, val, vsz) < 0) {
			snprintf(err, errlen, "bad line: %.60s", line);
			rc = -1;
			break;
		}
		unsigned long long k = strtoull(cg, NULL, 10);
		if (bpf_map__update_elem(m, &k, sizeof(k), val, vsz, BPF_ANY) < 0) {
			snprintf(err, errlen, "update %llu: %s", k, strerror(errno));
			rc = -1;
			break;
		}
		if (nnew < MAX_KEYS)
			newkeys[nnew++] = k;
	}
	free(line);
	fclose(f);
	free(val);
	if (rc == 0 && !end) {
		snprintf(err, errlen, "table truncated: missing 'end'");
		rc = -1;
	}
	if (rc < 0)
		return rc;
	for (int i = 0; i < nkeys; i++) {
		int keep = 0;
		for (int j = 0; j < nnew; j++)
			if (newkeys[j] == keys[i])
				keep = 1;
		if (!keep)
			bpf_map__delete_elem(m, &keys[i], sizeof(keys[i]), 0);
	}
	memcpy(keys, newkeys, sizeof(newkeys[0]) * (size_t)nnew);
	nkeys = nnew;
	return 0;
}

static int cmd_host(const char *ino, char *err, size_t errlen)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "global_cfg");
	if (!m) {
		snprintf(err, errlen, "no global_cfg map");
		return -1;
	}
	unsigned int k = 0;
	unsigned char v[64] = {0};
	size_t vsz = bpf_map__value_size(m);
	if (vsz > sizeof(v) || bpf_map__lookup_elem(m, &k, sizeof(k), v, vsz, 0) < 0) {
		snprintf(err, errlen, "global_cfg lookup: %s", strerror(errno));
		return -1;
	}
	unsigned int h = (unsigned int)strtoul(ino, NULL, 10);
	memcpy(v, &h, sizeof(h)); /* host_mntns is the first field */
	if (bpf_map__update_elem(m, &k, sizeof(k), v, vsz, BPF_ANY) < 0) {
		snprintf(err, errlen, "global_cfg update: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: netx-run OBJECT\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* only the enforcement programs: other programs in the object stay unloaded */
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, strncmp(bpf_program__name(p), "vnet_", 5) == 0);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 1;
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_record, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "ring buffer: %s\n", strerror(errno));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	char line[4096];
	size_t len = 0;
	for (;;) {
		struct pollfd pf[2] = {{.fd = 0, .events = POLLIN}, {.fd = ring_buffer__epoll_fd(rb), .events = POLLIN}};
		if (poll(pf, 2, 200) < 0 && errno != EINTR)
			break;
		ring_buffer__poll(rb, 0);
		if (!(pf[0].revents & (POLLIN | POLLHUP)))
			continue;
		ssize_t n = read(0, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		char *nl;
		while ((nl = memchr(line, '\n', len))) {
			*nl = 0;
			char err[512] = "", verb[32] = "", arg[3000] = "";
			sscanf(line, "%31s %2999s", verb, arg);
			int rc = 0;
			if (strcmp(verb, "attach") == 0)
				rc = cmd_attach(arg, err, sizeof(err));
			else if (strcmp(verb, "load") == 0)
				rc = cmd_load(arg, err, sizeof(err));
			else if (strcmp(verb, "host-mntns") == 0)
				rc = cmd_host(arg, err, sizeof(err));
			else if (strcmp(verb, "quit") == 0)
				goto out;
			else {
				rc = -1;
				snprintf(err, sizeof(err), "unknown command");
			}
			if (rc == 0)
				printf("OK %s\n", verb);
			else
				printf("ERR %s %s\n", verb, err);
			fflush(stdout);
			size_t used = (size_t)(nl - line) + 1;
			memmove(line, nl + 1, len - used);
			len -= used;
		}
	}
out:
	ring_buffer__poll(rb, 0);
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
