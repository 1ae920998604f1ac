// SPDX-License-Identifier: Apache-2.0
/*
 * vigil-loader: the thin native helper process between the kernel and the Node sensor.
 *
 * It loads the CO-RE eBPF object (build/vigil.skel.h), attaches exactly the hooks the sensor
 * asks for, and copies ring-buffer records unchanged to stdout as framed binary records (the ABI
 * in bpf/vigil_abi.h). It knows no event semantics: which syscalls exist, their numbers, kinds and
 * argument layouts all come from the TypeScript side (src/sensor/kinds.ts) as commands, so the
 * loader stays small and the policy of what to capture is data.
 *
 * Control: one command per line on stdin, `<id> <verb> [args...]`; each gets a VGL_K_REPLY
 * record "<id> ok|err <text>". Verbs:
 *   attach-tp <prog> <tp-category> <tp-name>    attach a tracepoint program (per-syscall tier)
 *   attach-btf <prog>                           attach a tp_btf / raw_tp program (its own target)
 *   detach <link-id>                            detach what an attach returned
 *   map-update <map> <hex-key> <hex-value>      generic map write (kind_cfg, sys_kind, ...)
 *   map-delete <map> <hex-key>
 *   attach-cgroup <prog> <cgroup-dir>           attach a cgroup BPF program (enforcement)
 *   stats                                       emit a VGL_K_STATS record now
 *   caps                                        emit the capability aggregation (VGL_K_CAPS)
 *   fanx-table <nbytes>                         followed by nbytes of table text (fanotify enforcer)
 *   fanx-stats                                  fanotify enforcer counters as key=value pairs
 *   quit
 * The loader exits when stdin closes (the sensor died): links are dropped with the process, and
 * the fanotify fd closes, which the kernel treats as "allow" for pending permission events.
 *
 * Why a helper process and not an N-API addon: see docs/architecture.md (crash isolation, no
 * dependency on the Node event loop for kernel I/O or enforcement decisions).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vigil_abi.h"
#include "vigil.skel.h"
#include "vigil_enforce.skel.h"

/* The fanotify enforcer (native/fanotify_enforcer.c) is linked when present; weak references keep
 * the loader buildable and working without it (file/exec enforcement is then reported missing). */
typedef void (*fanx_emit_fn)(uint16_t kind, const void *payload, uint32_t len);
int fanx_start(fanx_emit_fn emit, int fail_closed_exec) __attribute__((weak));
int fanx_load_table(const char *text, size_t len, char *err, size_t errlen) __attribute__((weak));
void fanx_stop(void) __attribute__((weak));
#include "fanotify_enforcer.h" /* struct fanx_stats */
void fanx_get_stats(struct fanx_stats *out) __attribute__((weak));

#define OUTBUF_SIZE (1 << 20)
#define MAX_LINKS 1024

static struct vigil *skel;
static struct vigil_enforce *eskel; /* NULL when the enforcement object did not load */
static char enforce_err[256] = "not loaded";

static struct bpf_program *find_prog(const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, name);
	if (!p && eskel)
		p = bpf_object__find_program_by_name(eskel->obj, name);
	return p;
}

static struct bpf_map *find_map(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, name);
	if (!m && eskel)
		m = bpf_object__find_map_by_name(eskel->obj, name);
	return m;
}
static struct ring_buffer *rb;
static struct bpf_link *links[MAX_LINKS];
static int ncpu;

/* ---- output: framed records to stdout, shared with the fanotify thread ---- */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char outbuf[OUTBUF_SIZE];
static size_t outlen;
static unsigned long long records_read, bytes_read;

static void write_all(const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) {
		ssize_t w = write(1, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* the sensor is gone: nothing to report to */
			_exit(0);
		}
		b += w;
		n -= (size_t)w;
	}
}

static void out_flush_locked(void)
{
	if (outlen) {
		write_all(outbuf, outlen);
		outlen = 0;
	}
}

static void out_flush(void)
{
	pthread_mutex_lock(&out_mu);
	out_flush_locked();
	pthread_mutex_unlock(&out_mu);
}

static void out_append_locked(const void *p, size_t n)
{
	if (outlen + n > OUTBUF_SIZE)
		out_flush_locked();
	if (n > OUTBUF_SIZE) {
		write_all(p, n);
		return;
	}
	memcpy(outbuf + outlen, p, n);
	outlen += n;
}

/* Emits a loader record: frame header + payload. Thread-safe. */
static void emit(uint16_t kind, const void *payload, uint32_t len)
{
	struct vgl_frame f = { .len = (u32)(sizeof(f) + len), .kind = kind, .flags = 0 };
	pthread_mutex_lock(&out_mu);
	out_append_locked(&f, sizeof(f));
	out_append_locked(payload, len);
	pthread_mutex_unlock(&out_mu);
}

static void emit_text(uint16_t kind, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	emit(kind, buf, (uint32_t)n);
}

static void emit_decision(uint16_t kind, const void *payload, uint32_t len)
{
	emit(kind, payload, len);
	out_flush(); /* decisions are rare and wanted at once */
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	records_read++;
	bytes_read += size;
	pthread_mutex_lock(&out_mu);
	out_append_locked(data, size);
	pthread_mutex_unlock(&out_mu);
	return 0;
}

/* ---- start-up checks: each failure is one line on stderr and exit 2 ---- */
static void die(const char *code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", code, buf);
	exit(2);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("VIGIL_LOADER_VERBOSE"))
		return vfprintf(stderr, fmt, args);
	return 0;
}

static void ensure_tracefs(void)
{
	struct stat st;
	if (stat("/sys/kernel/tracing/events", &st) == 0 || stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0 && errno != EBUSY)
		die("VIGIL_E_KERNEL_FEATURE", "tracefs is not mounted and mounting it at /sys/kernel/tracing failed: %s (mount -t tracefs nodev /sys/kernel/tracing)", strerror(errno));
}

static int bpf_lsm_active(void)
{
	char buf[512] = {0};
	FILE *f = fopen("/sys/kernel/security/lsm", "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
		if (strcmp(tok, "bpf") == 0)
			return 1;
	return 0;
}

static unsigned long ns_inode(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	return st.st_ino;
}

/* The host mount namespace: init's, or ours when init's is not readable (a sandboxed pid 1). */
static unsigned long host_mntns_inode(void)
{
	unsigned long ino = ns_inode("/proc/1/ns/mnt");
	return ino ? ino : ns_inode("/proc/self/ns/mnt");
}

/* ---- commands ---- */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, unsigned char *out, size_t want)
{
	size_t n = strlen(s);
	if (n != want * 2)
		return -1;
	for (size_t i = 0; i < want; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int store_link(struct bpf_link *l)
{
	for (int i = 1; i < MAX_LINKS; i++) {
		if (!links[i]) {
			links[i] = l;
			return i;
		}
	}
	bpf_link__destroy(l);
	return -1;
}

static void emit_stats(void)
{
	static struct vgl_stats s;
	memset(&s, 0, sizeof(s));
	s.events_read = records_read;
	s.bytes_read = bytes_read;
	s.ncpu = (u64)ncpu;
	struct vgl_kind_counters *vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return;
	int fd = bpf_map__fd(skel->maps.counters);
	for (u32 k = 0; k < VGL_K_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals) != 0)
			continue;
		for (int c = 0; c < ncpu; c++) {
			s.seen[k] += vals[c].seen;
			s.filtered[k] += vals[c].filtered;
			s.emitted[k] += vals[c].emitted;
			s.dropped[k] += vals[c].dropped;
		}
		s.ringbuf_drops += s.dropped[k];
	}
	free(vals);
	emit(VGL_K_STATS, &s, sizeof(s));
}

/* Emits the capability aggregation, then forgets entries of processes that are gone. */
static void emit_caps(void)
{
	int fd = bpf_map__fd(skel->maps.cap_agg);
	size_t cap = 4096, n = 0;
	struct vgl_cap_rec *recs = malloc(cap * sizeof(*recs));
	struct vgl_cap_key *dead = malloc(cap * sizeof(*dead));
	size_t ndead = 0;
	if (!recs || !dead) {
		free(recs);
		free(dead);
		return;
	}
	struct vgl_cap_key key, next;
	struct vgl_cap_val val;
	int more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more) {
		key = next;
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(fd, &key, &val) != 0)
			continue;
		if (n == cap) {
			emit(VGL_K_CAPS, recs, (uint32_t)(n * sizeof(*recs)));
			n = 0;
		}
		recs[n++] = (struct vgl_cap_rec){ .k = key, .v = val };
		if (kill((pid_t)key.pid, 0) != 0 && errno == ESRCH && ndead < cap)
			dead[ndead++] = key;
	}
	if (n)
		emit(VGL_K_CAPS, recs, (uint32_t)(n * sizeof(*recs)));
	else
		emit(VGL_K_CAPS, recs, 0);
	for (size_t i = 0; i < ndead; i++)
		bpf_map_delete_elem(fd, &dead[i]);
	free(recs);
	free(dead);
}

static char *stdin_buf;
static size_t stdin_len, stdin_cap;
static size_t pending_table; /* bytes of a fanx-table body still to read */
static char pending_table_id[32];

static void reply(const char *id, int ok, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_text(VGL_K_REPLY, "%s %s %s", id, ok ? "ok" : "err", msg);
	out_flush();
}

static void handle_command(char *line)
{
	char *save = NULL;
	char *id = strtok_r(line, " ", &save);
	char *verb = strtok_r(NULL, " ", &save);
	if (!id || !verb)
		return;
	if (strcmp(verb, "attach-tp") == 0) {
		char *pname = strtok_r(NULL, " ", &save), *cat = strtok_r(NULL, " ", &save), *name = strtok_r(NULL, " ", &save);
		struct bpf_program *p = pname ? find_prog(pname) : NULL;
		if (!p || !cat || !name)
			return reply(id, 0, "usage: attach-tp <prog> <category> <name> (unknown program?)");
		struct bpf_link *l = bpf_program__attach_tracepoint(p, cat, name);
		if (!l)
			return reply(id, 0, "attach %s:%s: %s", cat, name, strerror(errno));
		int li = store_link(l);
		return reply(id, li > 0, "%d", li);
	}
	if (strcmp(verb, "attach-btf") == 0) {
		char *pname = strtok_r(NULL, " ", &save);
		struct bpf_program *p = pname ? find_prog(pname) : NULL;
		if (!p)
			return reply(id, 0, "unknown program %s", pname ? pname : "");
		struct bpf_link *l = bpf_program__attach(p);
		if (!l)
			return reply(id, 0, "attach %s: %s", pname, strerror(errno));
		int li = store_link(l);
		return reply(id, li > 0, "%d", li);
	}
	if (strcmp(verb, "attach-cgroup") == 0) {
		char *pname = strtok_r(NULL, " ", &save), *dir = strtok_r(NULL, " ", &save);
		struct bpf_program *p = pname ? find_prog(pname) : NULL;
		if (!p || !dir)
			return reply(id, 0, "usage: attach-cgroup <prog> <cgroup-dir>");
		int cfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (cfd < 0)
			return reply(id, 0, "open %s: %s", dir, strerror(errno));
		struct bpf_link *l = bpf_program__attach_cgroup(p, cfd);
		int err = errno;
		close(cfd);
		if (!l)
			return reply(id, 0, "attach %s to %s: %s", pname, dir, strerror(err));
		int li = store_link(l);
		return reply(id, li > 0, "%d", li);
	}
	if (strcmp(verb, "detach") == 0) {
		char *s = strtok_r(NULL, " ", &save);
		int li = s ? atoi(s) : 0;
		if (li <= 0 || li >= MAX_LINKS || !links[li])
			return reply(id, 0, "no link %s", s ? s : "");
		bpf_link__destroy(links[li]);
		links[li] = NULL;
		return reply(id, 1, "%d", li);
	}
	if (strcmp(verb, "map-update") == 0 || strcmp(verb, "map-delete") == 0) {
		int upd = verb[4] == 'u';
		char *mname = strtok_r(NULL, " ", &save), *hk = strtok_r(NULL, " ", &save), *hv = upd ? strtok_r(NULL, " ", &save) : NULL;
		struct bpf_map *m = mname ? find_map(mname) : NULL;
		if (!m || !hk || (upd && !hv))
			return reply(id, 0, "usage: %s <map> <hex-key>%s", verb, upd ? " <hex-value>" : "");
		unsigned char k[256], v[4096];
		size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
		if (ks > sizeof(k) || vs > sizeof(v) || parse_hex(hk, k, ks) != 0 || (upd && parse_hex(hv, v, vs) != 0))
			return reply(id, 0, "%s: key must be %zu bytes and value %zu bytes, in hex", mname, ks, vs);
		int r = upd ? bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY) : bpf_map_delete_elem(bpf_map__fd(m), k);
		if (r != 0)
			return reply(id, 0, "%s %s: %s", verb, mname, strerror(errno));
		return reply(id, 1, "");
	}
	if (strcmp(verb, "stats") == 0) {
		emit_stats();
		return reply(id, 1, "");
	}
	if (strcmp(verb, "caps") == 0) {
		emit_caps();
		return reply(id, 1, "");
	}
	if (strcmp(verb, "fanx-table") == 0) {
		char *s = strtok_r(NULL, " ", &save);
		long n = s ? atol(s) : -1;
		if (n < 0 || n > (64 << 20))
			return reply(id, 0, "usage: fanx-table <nbytes>");
		pending_table = (size_t)n;
		snprintf(pending_table_id, sizeof(pending_table_id), "%s", id);
		if (n == 0) {
			pending_table = (size_t)-1; /* handled below as empty */
		}
		return;
	}
	if (strcmp(verb, "fanx-stats") == 0) {
		if (!fanx_get_stats)
			return reply(id, 0, "fanotify enforcer not built into this loader");
		struct fanx_stats s;
		memset(&s, 0, sizeof(s));
		fanx_get_stats(&s);
		return reply(id, 1,
			     "events=%llu exec_events=%llu open_events=%llu allowed=%llu denied=%llu audited=%llu errors=%llu "
			     "emitted=%llu table_loads=%llu table_errors=%llu scopes=%llu rules=%llu lat_count=%llu "
			     "lat_p50_ns=%llu lat_p99_ns=%llu lat_max_ns=%llu running=%d fail_closed_exec=%d",
			     (unsigned long long)s.events, (unsigned long long)s.exec_events, (unsigned long long)s.open_events,
			     (unsigned long long)s.allowed, (unsigned long long)s.denied, (unsigned long long)s.audited,
			     (unsigned long long)s.errors, (unsigned long long)s.emitted, (unsigned long long)s.table_loads,
			     (unsigned long long)s.table_errors, (unsigned long long)s.scopes, (unsigned long long)s.rules,
			     (unsigned long long)s.lat_count, (unsigned long long)s.lat_p50_ns, (unsigned long long)s.lat_p99_ns,
			     (unsigned long long)s.lat_max_ns, s.running, s.fail_closed_exec);
	}
	if (strcmp(verb, "quit") == 0) {
		reply(id, 1, "bye");
		out_flush();
		exit(0);
	}
	reply(id, 0, "unknown command %s", verb);
}

static void apply_table(const char *text, size_t len)
{
	char err[1024] = {0};
	if (!fanx_load_table) {
		reply(pending_table_id, 0, "fanotify enforcer not built into this loader");
		return;
	}
	int r = fanx_load_table(text, len, err, sizeof(err));
	if (r != 0)
		reply(pending_table_id, 0, "%s", err[0] ? err : strerror(-r));
	else
		reply(pending_table_id, 1, "table loaded");
}

/* Reads what stdin has; dispatches whole lines and table bodies. Returns 0 on EOF. */
static int read_stdin(void)
{
	if (stdin_cap - stdin_len < 65536) {
		stdin_cap = stdin_cap ? stdin_cap * 2 : 131072;
		stdin_buf = realloc(stdin_buf, stdin_cap);
		if (!stdin_buf)
			die("VIGIL_E_INTERNAL", "out of memory");
	}
	ssize_t n = read(0, stdin_buf + stdin_len, stdin_cap - stdin_len - 1);
	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	stdin_len += (size_t)n;
	size_t pos = 0;
	for (;;) {
		if (pending_table == (size_t)-1) {
			pending_table = 0;
			apply_table("", 0);
			continue;
		}
		if (pending_table) {
			if (stdin_len - pos < pending_table)
				break;
			apply_table(stdin_buf + pos, pending_table);
			pos += pending_table;
			pending_table = 0;
			continue;
		}
		char *nl = memchr(stdin_buf + pos, '\n', stdin_len - pos);
		if (!nl)
			break;
		*nl = 0;
		handle_command(stdin_buf + pos);
		pos = (size_t)(nl - stdin_buf) + 1;
	}
	memmove(stdin_buf, stdin_buf + pos, stdin_len - pos);
	stdin_len -= pos;
	return 1;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

int main(int argc, char **argv)
{
	int fail_closed_exec = 0;
	unsigned long rb_mb = 16;
	long wake_ms = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fail-closed-exec") == 0)
			fail_closed_exec = 1;
		else if (strcmp(argv[i], "--ringbuf-mb") == 0 && i + 1 < argc)
			rb_mb = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--wakeup-ms") == 0 && i + 1 < argc)
			wake_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--probe") == 0)
			; /* load, report, exit: used by `vigil status --probe` and tests */
		else
			die("VIGIL_E_USAGE", "unknown option %s", argv[i]);
	}
	int probe_only = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--probe") == 0)
			probe_only = 1;

	if (geteuid() != 0)
		die("VIGIL_E_NOT_ROOT", "vigil-loader must run as root (it loads eBPF programs); run with sudo");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		die("VIGIL_E_KERNEL_FEATURE", "kernel BTF (/sys/kernel/btf/vmlinux) is missing; Vigil needs CONFIG_DEBUG_INFO_BTF=y");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	libbpf_set_print(libbpf_log);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);
	ensure_tracefs();

	ncpu = libbpf_num_possible_cpus();
	skel = vigil__open();
	if (!skel)
		die("VIGIL_E_BPF_UNAVAILABLE", "cannot open the eBPF object: %s", strerror(errno));
	if (rb_mb < 1 || (rb_mb & (rb_mb - 1)))
		die("VIGIL_E_USAGE", "--ringbuf-mb must be a power of two");
	if (wake_ms < 0 || wake_ms > 1000)
		die("VIGIL_E_USAGE", "--wakeup-ms must be between 0 and 1000");
	bpf_map__set_max_entries(skel->maps.events, (u32)(rb_mb << 20));
	/* batched wakeups: the kernel wakes us only when 1/16 of the ring is waiting, the poll timer
	 * below drains the rest every wake_ms */
	u64 wake_bytes = wake_ms ? (u64)(rb_mb << 20) / 16 : 0;
	skel->rodata->vgl_wake_bytes = wake_bytes;
	int lsm = bpf_lsm_active();
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		if (!lsm && strncmp(sec, "lsm", 3) == 0)
			bpf_program__set_autoload(prog, false);
	}
	int err = vigil__load(skel);
	if (err)
		die("VIGIL_E_BPF_UNAVAILABLE", "the kernel refused the eBPF programs (%s); run with VIGIL_LOADER_VERBOSE=1 for the verifier log", strerror(-err));

	/* enforcement programs: a separate object sharing the capture object's maps by name */
	eskel = vigil_enforce__open();
	if (eskel) {
		eskel->rodata->vgl_wake_bytes = wake_bytes;
		struct bpf_map *m;
		bpf_object__for_each_map(m, eskel->obj) {
			const char *mn = bpf_map__name(m);
			struct bpf_map *shared = strchr(mn, '.') ? NULL : bpf_object__find_map_by_name(skel->obj, mn);
			if (shared)
				bpf_map__reuse_fd(m, bpf_map__fd(shared));
		}
		bpf_object__for_each_program(prog, eskel->obj) {
			const char *sec = bpf_program__section_name(prog);
			if (!lsm && strncmp(sec, "lsm", 3) == 0)
				bpf_program__set_autoload(prog, false);
		}
		int eerr = vigil_enforce__load(eskel);
		if (eerr) {
			snprintf(enforce_err, sizeof(enforce_err), "kernel refused the enforcement programs: %s", strerror(-eerr));
			vigil_enforce__destroy(eskel);
			eskel = NULL;
		} else {
			enforce_err[0] = 0;
		}
	}

	/* global configuration: the host mount namespace, and never report ourselves */
	{
		u32 zero = 0;
		struct vgl_global_cfg g = { .host_mntns = (u32)host_mntns_inode() };
		g.ignore_tgid[0] = (u32)getpid();
		g.ignore_tgid[1] = getenv("VIGIL_LOADER_TRACE_PARENT") ? 0 : (u32)getppid();
		bpf_map_update_elem(bpf_map__fd(skel->maps.global_cfg), &zero, &g, BPF_ANY);
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_ring_record, NULL, NULL);
	if (!rb)
		die("VIGIL_E_BPF_UNAVAILABLE", "cannot create the ring buffer reader: %s", strerror(errno));

	int fanx = -1;
	if (fanx_start)
		fanx = fanx_start(emit_decision, fail_closed_exec);
	/* event timestamps are CLOCK_BOOTTIME; the sensor adds this offset to get wall-clock time */
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	long long boot_offset = ((long long)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	emit_text(VGL_K_HELLO, "abi=%d ncpu=%d lsm=%d fanotify=%d pid=%d boot_offset_ns=%lld host_mntns=%lu enforce=%d enforce_error=%s wakeup_ms=%ld", VGL_ABI_VERSION,
		  ncpu, lsm, fanx == 0, getpid(), boot_offset, host_mntns_inode(), eskel != NULL, eskel ? "-" : enforce_err, wake_ms);
	out_flush();
	if (probe_only)
		return 0;

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
	epoll_ctl(ep, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

	struct timespec last_stats;
	clock_gettime(CLOCK_MONOTONIC, &last_stats);
	while (!stop) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, wake_ms ? (int)wake_ms : 100);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == 2) {
				if (!read_stdin())
					stop = 1;
			}
		}
		ring_buffer__consume(rb);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last_stats.tv_sec >= 1) {
			emit_stats();
			last_stats = now;
		}
		out_flush();
	}
	ring_buffer__consume(rb);
	emit_stats();
	out_flush();
	if (fanx_stop)
		fanx_stop();
	for (int i = 0; i < MAX_LINKS; i++)
		if (links[i])
			bpf_link__destroy(links[i]);
	ring_buffer__free(rb);
	if (eskel)
		vigil_enforce__destroy(eskel);
	vigil__destroy(skel);
	return 0;
}
