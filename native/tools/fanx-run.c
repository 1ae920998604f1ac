/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fanx-run: standalone driver of the fanotify enforcer (native/fanotify_enforcer.c) for tests and
 * benchmarks, standing in for the loader. Not part of the loader build (native/tools/ is not
 * compiled by the Makefile). Build:
 *   cc -O2 -o build/fanx-run native/tools/fanx-run.c native/fanotify_enforcer.c -lpthread
 *
 * Usage: fanx-run [--fail-closed-exec] TABLE_FILE
 * Loads the table, then prints to stdout, one line each:
 *   READY                      the table is loaded and the marks are in place
 *   D <json>                   a decision record (the VGL_K_DECISION payload)
 *   LOADED | ERROR <message>   answer to a reload
 *   S <json>                   answer to stats
 * Commands on stdin, one per line: "reload [FILE]" (default: the same file), "stats", "quit".
 * EOF on stdin keeps enforcing until SIGTERM/SIGINT (fanx_stop) or SIGKILL (the kernel then
 * allows everything: the fail-open behaviour the tests check).
 */
#define _GNU_SOURCE
#include "../fanotify_enforcer.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void emit(uint16_t kind, const void *payload, uint32_t len)
{
	pthread_mutex_lock(&out_mu);
	if (kind == FANX_KIND_DECISION) {
		fputs("D ", stdout);
		fwrite(payload, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		printf("K %u %u\n", kind, len);
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&out_mu);
	vprintf(fmt, ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
	va_end(ap);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

static int load(const char *path)
{
	size_t len;
	char *text = slurp(path, &len);
	if (!text) {
		say("ERROR cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	char err[512];
	int rc = fanx_load_table(text, len, err, sizeof(err));
	free(text);
	if (rc < 0) {
		say("ERROR %s (%s)\n", err, strerror(-rc));
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	int fail_closed = 0;
	const char *table = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fail-closed-exec") == 0)
			fail_closed = 1;
		else
			table = argv[i];
	}
	if (!table) {
		fprintf(stderr, "usage: fanx-run [--fail-closed-exec] TABLE_FILE\n");
		return 2;
	}
	int rc = fanx_start(emit, fail_closed);
	if (rc < 0) {
		fprintf(stderr, "fanx_start: %s\n", strerror(-rc));
		return 1;
	}
	if (load(table) < 0)
		return 1;
	say("READY\n");
	struct sigaction sa = {0};
	sa.sa_handler = on_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	char line[4096];
	int eof = 0;
	while (!stop) {
		if (eof) {
			pause();
			continue;
		}
		if (!fgets(line, sizeof(line), stdin)) {
			if (errno == EINTR && !feof(stdin)) {
				clearerr(stdin);
				continue;
			}
			eof = 1;
			continue;
		}
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "reload", 6) == 0) {
			const char *p = line[6] == ' ' ? line + 7 : table;
			if (load(p) == 0)
				say("LOADED\n");
		} else if (strcmp(line, "stats") == 0) {
			struct fanx_stats s;
			fanx_get_stats(&s);
			say("S {\"events\":%llu,\"exec\":%llu,\"open\":%llu,\"allowed\":%llu,\"denied\":%llu,\"audited\":%llu,"
			    "\"errors\":%llu,\"emitted\":%llu,\"loads\":%llu,\"tableErrors\":%llu,\"scopes\":%llu,\"rules\":%llu,"
			    "\"latCount\":%llu,\"p50\":%llu,\"p99\":%llu,\"max\":%llu,\"running\":%d}\n",
			    (unsigned long long)s.events, (unsigned long long)s.exec_events, (unsigned long long)s.open_events,
			    (unsigned long long)s.allowed, (unsigned long long)s.denied, (unsigned long long)s.audited,
			    (unsigned long long)s.errors, (unsigned long long)s.emitted, (unsigned long long)s.table_loads,
			    (unsigned long long)s.table_errors, (unsigned long long)s.scopes, (unsigned long long)s.rules,
			    (unsigned long long)s.lat_count, (unsigned long long)s.lat_p50_ns, (unsigned long long)s.lat_p99_ns,
			    (unsigned long long)s.lat_max_ns, s.running);
		} else if (strcmp(line, "quit") == 0) {
			break;
		}
	}
	fanx_stop();
	return 0;
}
