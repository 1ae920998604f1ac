/* Loader of the overhead FLOOR (floor.bpf.c) for bench/sensor-overhead.ts.
 * Usage: floor HOOK...   where HOOK is CATEGORY:NAME for a tracepoint (syscalls:sys_exit_openat)
 * or btf:NAME for a BTF tracepoint (btf:sched_process_exec, btf:cap_capable).
 * Attaches the counting programs to every hook given (a hook that does not exist on this kernel is
 * reported on stderr and skipped), prints "ready ATTACHED" on stdout, then on SIGUSR1 prints
 * "hits N" (the total of every counter) and exits on SIGINT/SIGTERM or when stdin closes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop, dump;

static void on_stop(int sig) { stop = 1; }
static void on_usr1(int sig) { dump = 1; }

static unsigned long long total_hits(struct floor_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return 0;
	unsigned long long *vals = calloc(ncpu, sizeof(*vals)), sum = 0;
	int fd = bpf_map__fd(skel->maps.floor_hits);
	for (__u32 slot = 0; slot < 5; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
	}
	free(vals);
	return sum;
}

static int silent(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(silent);
	struct floor_bpf *skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: cannot load floor.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	struct bpf_link **links = calloc(argc, sizeof(*links));
	int attached = 0;
	for (int i = 1; i < argc; i++) {
		char *spec = argv[i], *colon = strchr(spec, ':');
		if (!colon) {
			fprintf(stderr, "floor: bad hook \"%s\" (want CATEGORY:NAME or btf:NAME)\n", spec);
			return 2;
		}
		*colon = 0;
		const char *name = colon + 1;
		struct bpf_link *l = NULL;
		if (strcmp(spec, "btf") == 0) {
			struct bpf_program *p = NULL;
			if (!strcmp(name, "sched_process_exec")) p = skel->progs.floor_sched_exec;
			else if (!strcmp(name, "sched_process_fork")) p = skel->progs.floor_sched_fork;
			else if (!strcmp(name, "sched_process_exit")) p = skel->progs.floor_sched_exit;
			else if (!strcmp(name, "cap_capable")) p = skel->progs.floor_cap_capable;
			if (!p) {
				fprintf(stderr, "floor: no floor program for btf:%s\n", name);
				return 2;
			}
			l = bpf_program__attach(p);
		} else {
			l = bpf_program__attach_tracepoint(skel->progs.floor_tp, spec, name);
		}
		if (!l) {
			fprintf(stderr, "floor: %s:%s not attached: %s\n", spec, name, strerror(errno));
			continue;
		}
		links[attached++] = l;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGUSR1, on_usr1);
	signal(SIGPIPE, SIG_IGN);
	printf("ready %d\n", attached);
	fflush(stdout);
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	while (!stop) {
		if (dump) {
			dump = 0;
			printf("hits %llu\n", total_hits(skel));
			fflush(stdout);
		}
		int r = poll(&pfd, 1, 200);
		if (r > 0) {
			char b[64];
			ssize_t n = read(0, b, sizeof(b));
			if (n <= 0)
				break; /* stdin closed: the benchmark is gone */
		}
	}
	printf("hits %llu\n", total_hits(skel));
	fflush(stdout);
	for (int i = 0; i < attached; i++)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return 0;
}
