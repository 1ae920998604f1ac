/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fanotify_enforcer.c: the fanotify permission-event enforcer (file opens and execs) of Vigil
 * policies. See fanotify_enforcer.h for the API, the decision-table format and the fail mode.
 *
 * Design:
 * - One fanotify group (FAN_CLASS_CONTENT, FAN_REPORT_TID) per scope, i.e. per selected
 *   container, marked with FAN_MARK_MOUNT on the container's root mount (/proc/<pid>/root).
 *   The group an event arrives on IS its scope: no per-event lookup of namespaces or cgroups,
 *   and accesses through other mounts (the host, other containers) generate no event at all.
 *   Only the event kinds a scope needs are marked (a scope with exec rules only costs nothing
 *   on plain opens).
 * - One decision thread polls every group plus an eventfd used for table swaps and stop. It
 *   answers the kernel first, then builds and emits the report.
 * - Tables are parsed and marked on the caller's thread; the decision thread adopts the new
 *   table between two batches of events (so the swap is atomic for the decisions) and closes
 *   the groups the new table no longer uses; groups of unchanged scopes are carried over.
 * - Latency: log-linear histogram (8 sub-buckets per power of two, 12.5% resolution) of the
 *   time from read() of the event to write() of the response.
 */
#define _GNU_SOURCE
#include "fanotify_enforcer.h"
#include "../bpf/vigil_abi.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

_Static_assert(FANX_KIND_DECISION == VGL_K_DECISION, "decision kind must match vigil_abi.h");

#ifndef FAN_REPORT_TID
#define FAN_REPORT_TID 0x00000100
#endif

enum { OP_EXEC = 1, OP_OPEN = 2 };
enum { M_PATH = 1, M_DIR = 2, M_RDIR = 3, M_GLOB = 4 };
#define FX_GLOB_MAX 255 /* tokens (characters, '?', '*', '**') of a glob: bounds glob_match()'s state */
static int glob_tokens(const char *p, uint16_t *tk);
enum { A_ALLOW = 1, A_AUDIT = 2, A_BLOCK = 3 };
enum { P_NONE = 0, P_AUDIT = 2, P_BLOCK = 3 };

struct fx_rule {
	uint8_t op, match, action, ro;
	uint16_t pidx;
	char *label;
	char *target;
	size_t tlen;
	uint16_t *glob; /* M_GLOB: the target's tokens (glob_tokens), made once at load */
	int nglob;
	char **from;
	int nfrom;
};

struct fx_scope {
	int sid;
	char *mark;
	char *key;
	char *name;
	uint8_t exec_posture, open_posture;
	uint64_t mask;
	int fd; /* fanotify group, -1 when the scope needs no mark */
	struct fx_rule *rules;
	int nrules;
	char *allow_names; /* JSON array text of policy names with Allow rules (for posture reports) */
};

struct fx_policy {
	int used;
	char *name;
	char *action;
	int severity;
	char *message;
};

struct fx_table {
	struct fx_policy *pol; /* indexed by pidx */
	int npol;
	struct fx_scope *scopes;
	int nscopes;
	int nrules;
};

/* ---- global state ---- */
static pthread_mutex_t g_load_mu = PTHREAD_MUTEX_INITIALIZER; /* serializes loads, start, stop */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;      /* protects g_pending and the cond */
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct fx_table *g_cur;     /* owned by the decision thread while it runs */
static struct fx_table *g_pending; /* handed over by a load */
static fanx_emit_fn g_emit;
static int g_fail_closed_exec;
static int g_started;
static int g_thread_running;
static pthread_t g_thread;
static int g_wake_fd = -1;
static atomic_int g_stop;

#define LAT_BUCKETS (64 * 8)
static _Atomic uint64_t g_lat[LAT_BUCKETS];
static _Atomic uint64_t g_lat_max;
static struct {
	_Atomic uint64_t events, exec_events, open_events, allowed, denied, audited, errors, emitted;
	_Atomic uint64_t table_loads, table_errors, scopes, rules;
} g_st;

/* ---- small helpers ---- */
static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned lat_bucket(uint64_t ns)
{
	if (ns < 8)
		return (unsigned)ns;
	unsigned e = 63 - (unsigned)__builtin_clzll(ns); /* >= 3 */
	unsigned sub = (unsigned)((ns >> (e - 3)) & 7);
	unsigned idx = (e - 2) * 8 + sub;
	return idx < LAT_BUCKETS ? idx : LAT_BUCKETS - 1;
}

static uint64_t lat_bucket_value(unsigned idx)
{
	if (idx < 16)
		return idx < 8 ? idx : 8 + (idx - 8);
	unsigned e = idx / 8 + 2, sub = idx % 8;
	uint64_t lo = (1ull << e) + ((uint64_t)sub << (e - 3));
	return lo + (1ull << (e - 3)) / 2; /* middle of the bucket */
}

static void lat_record(uint64_t ns)
{
	atomic_fetch_add_explicit(&g_lat[lat_bucket(ns)], 1, memory_order_relaxed);
	uint64_t m = atomic_load_explicit(&g_lat_max, memory_order_relaxed);
	while (ns > m && !atomic_compare_exchange_weak(&g_lat_max, &m, ns))
		;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes one %-encoded token into a new string; "-" decodes to "". NULL on bad encoding. */
static char *tok_decode(const char *s, size_t n)
{
	if (n == 1 && s[0] == '-')
		return strdup("");
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0) {
				free(out);
				return NULL;
			}
			out[j++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = 0;
	if (strlen(out) != j) { /* embedded NUL */
		free(out);
		return NULL;
	}
	return out;
}

/* ---- table parsing ---- */
static void table_free(struct fx_table *t, bool close_fds)
{
	if (!t)
		return;
	for (int i = 0; i < t->npol; i++) {
		free(t->pol[i].name);
		free(t->pol[i].action);
		free(t->pol[i].message);
	}
	free(t->pol);
	for (int i = 0; i < t->nscopes; i++) {
		struct fx_scope *s = &t->scopes[i];
		if (close_fds && s->fd >= 0)
			close(s->fd);
		for (int r = 0; r < s->nrules; r++) {
			struct fx_rule *ru = &s->rules[r];
			free(ru->label);
			free(ru->target);
			free(ru->glob);
			for (int k = 0; k < ru->nfrom; k++)
				free(ru->from[k]);
			free(ru->from);
		}
		free(s->rules);
		free(s->mark);
		free(s->key);
		free(s->name);
		free(s->allow_names);
	}
	free(t->scopes);
	free(t);
}

#define MAXTOK 12
static int split(char *line, char **tok, size_t *tlen)
{
	int n = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == MAXTOK)
			return -1;
		tok[n] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		tlen[n] = (size_t)(p - tok[n]);
		n++;
	}
	return n;
}

static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	if (n == 0 || n > 20)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

static int tokeq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int parse_posture(const char *s, size_t n)
{
	if (tokeq(s, n, "none"))
		return P_NONE;
	if (tokeq(s, n, "audit"))
		return P_AUDIT;
	if (tokeq(s, n, "block"))
		return P_BLOCK;
	return -1;
}

static struct fx_scope *find_scope(struct fx_table *t, int sid)
{
	for (int i = 0; i < t->nscopes; i++)
		if (t->scopes[i].sid == sid)
			return &t->scopes[i];
	return NULL;
}

static void json_str(char **p, char *end, const char *s);

static struct fx_table *table_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct fx_table *t = calloc(1, sizeof(*t));
	if (!t) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	int lineno = 0, saw_header = 0, saw_end = 0, cap_scopes = 0;
	size_t pos = 0;
	char *line = NULL;
	while (pos < len) {
		size_t e = pos;
		while (e < len && text[e] != '\n')
			e++;
		lineno++;
		free(line);
		line = NULL;
		if (memchr(text + pos, 0, e - pos)) {
			seterr(err, errlen, "line %d: NUL byte in table", lineno);
			goto fail;
		}
		line = strndup(text + pos, e - pos);
		pos = e + 1;
		if (!line)
			goto oom;
		char *tok[MAXTOK];
		size_t tl[MAXTOK];
		int n = split(line, tok, tl);
		if (n < 0) {
			seterr(err, errlen, "line %d: too many fields", lineno);
			goto fail;
		}
		if (n == 0 || tok[0][0] == '#')
			continue;
		if (saw_end) {
			seterr(err, errlen, "line %d: content after 'end'", lineno);
			goto fail;
		}
		if (!saw_header) {
			unsigned long v;
			if (n != 2 || !tokeq(tok[0], tl[0], "fanx") || parse_uint(tok[1], tl[1], 1000, &v)) {
				seterr(err, errlen, "line %d: expected header 'fanx %d'", lineno, FANX_TABLE_VERSION);
				goto fail;
			}
			if (v != FANX_TABLE_VERSION) {
				seterr(err, errlen, "line %d: unsupported table version %lu (want %d)", lineno, v, FANX_TABLE_VERSION);
				goto fail;
			}
			saw_header = 1;
			continue;
		}
		if (tokeq(tok[0], tl[0], "end")) {
			if (n != 1) {
				seterr(err, errlen, "line %d: 'end' takes no fields", lineno);
				goto fail;
			}
			saw_end = 1;
			continue;
		}
		if (tokeq(tok[0], tl[0], "policy")) {
			unsigned long idx, sev;
			if (n != 6) {
				seterr(err, errlen, "line %d: policy: expected 5 fields, got %d", lineno, n - 1);
				goto fail;
			}
			if (parse_uint(tok[1], tl[1], 65535, &idx) || parse_uint(tok[4], tl[4], 100, &sev)) {
				seterr(err, errlen, "line %d: policy: bad index or severity", lineno);
				goto fail;
			}
			if ((int)idx >= t->npol) {
				struct fx_policy *np = realloc(t->pol, (idx + 1) * sizeof(*np));
				if (!np)
					goto oom;
				memset(np + t->npol, 0, (idx + 1 - (size_t)t->npol) * sizeof(*np));
				t->pol = np;
				t->npol = (int)idx + 1;
			}
			struct fx_policy *p = &t->pol[idx];
			if (p->used) {
				seterr(err, errlen, "line %d: policy %lu defined twice", lineno, idx);
				goto fail;
			}
			p->used = 1;
			p->name = tok_decode(tok[2], tl[2]);
			p->action = tok_decode(tok[3], tl[3]);
			p->message = tok_decode(tok[5], tl[5]);
			p->severity = (int)sev;
			if (!p->name || !p->action || !p->message) {
				seterr(err, errlen, "line %d: policy: bad %%-encoding", lineno);
				goto fail;
			}
			continue;
		}
		if (tokeq(tok[0], tl[0], "scope")) {
			unsigned long sid;
			if (n != 7) {
				seterr(err, errlen, "line %d: scope: expected 6 fields, got %d", lineno, n - 1);
				goto fail;
			}
			if (parse_uint(tok[1], tl[1], 65535, &sid)) {
				seterr(err, errlen, "line %d: scope: bad id", lineno);
				goto fail;
			}
			if (find_scope(t, (int)sid)) {
				seterr(err, errlen, "line %d: scope %lu defined twice", lineno, sid);
				goto fail;
			}
			int ep = parse_posture(tok[4], tl[4]), op = parse_posture(tok[5], tl[5]);
			if (ep < 0 || op < 0) {
				seterr(err, errlen, "line %d: scope: posture must be none|audit|block", lineno);
				goto fail;
			}
			if (t->nscopes == cap_scopes) {
				cap_scopes = cap_scopes ? cap_scopes * 2 : 8;
				struct fx_scope *ns = realloc(t->scopes, (size_t)cap_scopes * sizeof(*ns));
				if (!ns)
					goto oom;
				t->scopes = ns;
			}
			struct fx_scope *s = &t->scopes[t->nscopes++];
			memset(s, 0, sizeof(*s));
			s->fd = -1;
			s->sid = (int)sid;
			s->exec_posture = (uint8_t)ep;
			s->open_posture = (uint8_t)op;
			s->mark = tok_decode(tok[2], tl[2]);
			s->key = tok_decode(tok[3], tl[3]);
			s->name = tok_decode(tok[6], tl[6]);
			if (!s->mark || !s->key || !s->name) {
				seterr(err, errlen, "line %d: scope: bad %%-encoding", lineno);
				goto fail;
			}
			if (s->mark[0] != '/') {
				seterr(err, errlen, "line %d: scope: mark path must be absolute", lineno);
				goto fail;
			}
			continue;
		}
		if (tokeq(tok[0], tl[0], "rule")) {
			unsigned long sid, pidx;
			if (n != 10) {
				seterr(err, errlen, "line %d: rule: expected 9 fields, got %d", lineno, n - 1);
				goto fail;
			}
			if (parse_uint(tok[1], tl[1], 65535, &sid) || parse_uint(tok[6], tl[6], 65535, &pidx)) {
				seterr(err, errlen, "line %d: rule: bad scope or policy index", lineno);
				goto fail;
			}
			struct fx_scope *s = find_scope(t, (int)sid);
			if (!s) {
				seterr(err, errlen, "line %d: rule: unknown scope %lu", lineno, sid);
				goto fail;
			}
			if ((int)pidx >= t->npol || !t->pol[pidx].used) {
				seterr(err, errlen, "line %d: rule: unknown policy %lu", lineno, pidx);
				goto fail;
			}
			struct fx_rule r = {0};
			r.pidx = (uint16_t)pidx;
			if (tokeq(tok[2], tl[2], "exec"))
				r.op = OP_EXEC;
			else if (tokeq(tok[2], tl[2], "open"))
				r.op = OP_OPEN;
			if (tokeq(tok[3], tl[3], "path"))
				r.match = M_PATH;
			else if (tokeq(tok[3], tl[3], "dir"))
				r.match = M_DIR;
			else if (tokeq(tok[3], tl[3], "rdir"))
				r.match = M_RDIR;
			else if (tokeq(tok[3], tl[3], "glob"))
				r.match = M_GLOB;
			if (tokeq(tok[4], tl[4], "allow"))
				r.action = A_ALLOW;
			else if (tokeq(tok[4], tl[4], "audit"))
				r.action = A_AUDIT;
			else if (tokeq(tok[4], tl[4], "block"))
				r.action = A_BLOCK;
			int mode = tokeq(tok[5], tl[5], "ro") ? 1 : tokeq(tok[5], tl[5], "rw") ? 0 : -1;
			if (!r.op || !r.match || !r.action || mode < 0) {
				seterr(err, errlen, "line %d: rule: expected <exec|open> <path|dir|rdir|glob> <allow|audit|block> <ro|rw>", lineno);
				goto fail;
			}
			r.ro = (uint8_t)mode;
			r.label = tok_decode(tok[7], tl[7]);
			r.target = tok_decode(tok[8], tl[8]);
			if (!r.label || !r.target || r.target[0] != '/') {
				free(r.label);
				free(r.target);
				seterr(err, errlen, "line %d: rule: target must be an absolute path", lineno);
				goto fail;
			}
			r.tlen = strlen(r.target);
			if (r.match == M_GLOB) {
				uint16_t tk[FX_GLOB_MAX];
				int n = glob_tokens(r.target, tk);
				if (n < 0) {
					free(r.label);
					free(r.target);
					seterr(err, errlen, "line %d: rule: a glob may hold at most %d characters and wildcards", lineno, FX_GLOB_MAX);
					goto fail;
				}
				r.glob = malloc(((size_t)n + 1) * sizeof(*r.glob));
				if (!r.glob) {
					free(r.label);
					free(r.target);
					goto oom;
				}
				memcpy(r.glob, tk, (size_t)n * sizeof(*r.glob));
				r.nglob = n;
			}
			if ((r.match == M_DIR || r.match == M_RDIR) && r.target[r.tlen - 1] != '/') {
				free(r.label);
				free(r.target);
				seterr(err, errlen, "line %d: rule: directory target must end with '/'", lineno);
				goto fail;
			}
			if (!(tl[9] == 1 && tok[9][0] == '-')) {
				const char *f = tok[9];
				size_t fl = tl[9], st = 0;
				for (size_t i = 0; i <= fl; i++) {
					if (i == fl || f[i] == ',') {
						char *d = tok_decode(f + st, i - st);
						char **nf = d ? realloc(r.from, (size_t)(r.nfrom + 1) * sizeof(char *)) : NULL;
						if (!d || !nf || d[0] != '/') {
							free(d);
							if (nf)
								r.from = nf;
							for (int k = 0; k < r.nfrom; k++)
								free(r.from[k]);
							free(r.from);
							free(r.label);
							free(r.target);
							free(r.glob);
							seterr(err, errlen, "line %d: rule: fromSource entries must be absolute paths", lineno);
							goto fail;
						}
						r.from = nf;
						r.from[r.nfrom++] = d;
						st = i + 1;
					}
				}
			}
			struct fx_rule *nr = realloc(s->rules, (size_t)(s->nrules + 1) * sizeof(*nr));
			if (!nr) {
				free(r.label);
				free(r.target);
				free(r.glob);
				for (int k = 0; k < r.nfrom; k++)
					free(r.from[k]);
				free(r.from);
				goto oom;
			}
			s->rules = nr;
			s->rules[s->nrules++] = r;
			t->nrules++;
			if (r.op == OP_EXEC)
				s->mask |= FAN_OPEN_EXEC_PERM;
			else
				s->mask |= FAN_OPEN_PERM;
			continue;
		}
		seterr(err, errlen, "line %d: unknown directive '%.*s'", lineno, (int)(tl[0] > 32 ? 32 : tl[0]), tok[0]);
		goto fail;
	}
	free(line);
	line = NULL;
	if (!saw_header) {
		seterr(err, errlen, "empty table: expected header 'fanx %d'", FANX_TABLE_VERSION);
		goto fail;
	}
	if (!saw_end) {
		seterr(err, errlen, "line %d: table truncated: missing 'end'", lineno);
		goto fail;
	}
	/* postures need their event kind marked even when every rule is of the other kind */
	for (int i = 0; i < t->nscopes; i++) {
		struct fx_scope *s = &t->scopes[i];
		if (s->exec_posture != P_NONE)
			s->mask |= FAN_OPEN_EXEC_PERM;
		if (s->open_posture != P_NONE)
			s->mask |= FAN_OPEN_PERM;
		/* names of the policies defining allow-lists, for DefaultPosture reports */
		char buf[1024], *p = buf, *end = buf + sizeof(buf) - 2;
		*p++ = '[';
		int first = 1;
		for (int r = 0; r < s->nrules; r++) {
			if (s->rules[r].action != A_ALLOW)
				continue;
			const char *nm = t->pol[s->rules[r].pidx].name;
			int dup = 0;
			for (int q = 0; q < r; q++)
				if (s->rules[q].action == A_ALLOW && s->rules[q].pidx == s->rules[r].pidx)
					dup = 1;
			if (dup || end - p < 300)
				continue;
			if (!first)
				*p++ = ',';
			first = 0;
			json_str(&p, end, nm);
		}
		*p++ = ']';
		*p = 0;
		s->allow_names = strdup(buf);
		if (!s->allow_names)
			goto oom;
	}
	return t;
oom:
	seterr(err, errlen, "out of memory");
fail:
	free(line);
	table_free(t, false);
	return NULL;
}

/* ---- JSON ---- */
static void json_raw(char **p, char *end, const char *s)
{
	while (*s && *p < end)
		*(*p)++ = *s++;
}

static void json_str(char **p, char *end, const char *s)
{
	if (*p < end)
		*(*p)++ = '"';
	for (; s && *s && *p < end - 7; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			*(*p)++ = '\\';
			*(*p)++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*p += snprintf(*p, 8, "\\u%04x", c);
		} else {
			*(*p)++ = (char)c; /* UTF-8 passes through; invalid bytes are the kernel's path bytes */
		}
	}
	if (*p < end)
		*(*p)++ = '"';
}

static void json_fmt(char **p, char *end, const char *fmt, ...)
{
	if (*p >= end)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(*p, (size_t)(end - *p), fmt, ap);
	va_end(ap);
	if (n > 0)
		*p += (n < end - *p) ? n : (end - *p);
}

/* ---- per-event context ---- */
struct fx_ev {
	int tid;
	int fd;
	int op;
	const char *path;
	char exe[PATH_MAX];
	int exe_state; /* 0 unknown, 1 ok, -1 failed */
	int write_state; /* 0 unknown, 1 write, 2 read-only */
};

static const char *ev_exe(struct fx_ev *e)
{
	if (e->exe_state == 0) {
		char lnk[64];
		snprintf(lnk, sizeof(lnk), "/proc/%d/exe", e->tid);
		ssize_t n = readlink(lnk, e->exe, sizeof(e->exe) - 1);
		if (n <= 0) {
			e->exe_state = -1;
			e->exe[0] = 0;
		} else {
			e->exe[n] = 0;
			e->exe_state = 1;
		}
	}
	return e->exe_state > 0 ? e->exe : NULL;
}

/*
 * Whether the pending open asks for write access. fanotify does not pass the open flags, but
 * the opener is blocked inside its syscall waiting for our answer, so /proc/<tid>/syscall shows
 * the syscall number and its arguments. Anything that is not a recognisable open is treated as
 * a write (the conservative reading for readOnly rules).
 */
static int ev_is_write(struct fx_ev *e)
{
	if (e->write_state)
		return e->write_state == 1;
	e->write_state = 1;
	char pth[64], buf[512];
	snprintf(pth, sizeof(pth), "/proc/%d/syscall", e->tid);
	int fd = open(pth, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	long nr;
	unsigned long long a[6] = {0};
	if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) < 4)
		return 1;
	unsigned long long flags;
	if (0) {
	}
#ifdef SYS_open
	else if (nr == SYS_open)
		flags = a[1];
#endif
#ifdef SYS_creat
	else if (nr == SYS_creat)
		return 1;
#endif
	else if (nr == SYS_openat)
		flags = a[2];
#ifdef SYS_openat2
	else if (nr == SYS_openat2) {
		uint64_t how_flags = 0;
		struct iovec l = {&how_flags, sizeof(how_flags)}, r = {(void *)(uintptr_t)a[2], sizeof(how_flags)};
		if (process_vm_readv(e->tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(how_flags))
			return 1;
		flags = how_flags;
	}
#endif
	else
		return 1;
	if ((flags & O_ACCMODE) == O_RDONLY && !(flags & (O_TRUNC | O_CREAT)))
		e->write_state = 2;
	return e->write_state == 1;
}

enum { G_ANY1 = 0x100, G_STAR = 0x101, G_DSTAR = 0x102 };

/* Tokens of a glob: a byte, G_ANY1 ('?'), G_STAR ('*') or G_DSTAR ('**', any longer run of '*'
 * too). Returns the count, or -1 when there are more than FX_GLOB_MAX. */
static int glob_tokens(const char *p, uint16_t *tk)
{
	int n = 0;
	while (*p) {
		if (n >= FX_GLOB_MAX)
			return -1;
		if (*p == '*') {
			int run = 0;
			while (*p == '*') {
				p++;
				run++;
			}
			tk[n++] = run > 1 ? G_DSTAR : G_STAR;
		} else {
			tk[n++] = *p == '?' ? G_ANY1 : (uint8_t)*p;
			p++;
		}
	}
	return n;
}

/* a star state also stands for the state after it (the star matched nothing) */
static void glob_closure(const uint16_t *tk, int n, uint8_t *st)
{
	for (int i = 0; i < n; i++)
		if (st[i] && (tk[i] == G_STAR || tk[i] == G_DSTAR))
			st[i + 1] = 1;
}

/*
 * AppArmor-style glob (KubeArmor's matchPatterns): '*' is any run of characters within one path
 * segment, '**' any run across segments, '?' one character other than '/'; everything else is
 * literal. Matched as an NFA over the pattern's positions, so the work is at most
 * (path length x pattern tokens) steps whatever the pattern, never exponential backtracking.
 */
static bool glob_match(const uint16_t *tk, int n, const char *s, size_t len)
{
	uint8_t a[FX_GLOB_MAX + 1], b[FX_GLOB_MAX + 1];
	if (n < 0 || n > FX_GLOB_MAX)
		return false;
	uint8_t *cur = a, *nxt = b;
	memset(cur, 0, (size_t)n + 1);
	cur[0] = 1;
	glob_closure(tk, n, cur);
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		bool any = false;
		memset(nxt, 0, (size_t)n + 1);
		for (int i = 0; i < n; i++) {
			if (!cur[i])
				continue;
			uint16_t t = tk[i];
			if (t == G_DSTAR || (t == G_STAR && c != '/'))
				nxt[i] = 1;
			else if ((t == G_ANY1 && c != '/') || t == c)
				nxt[i + 1] = 1;
			else
				continue;
			any = true;
		}
		if (!any)
			return false;
		glob_closure(tk, n, nxt);
		uint8_t *x = cur;
		cur = nxt;
		nxt = x;
	}
	return cur[n];
}

static bool path_match(const struct fx_rule *r, const char *path, size_t plen)
{
	switch (r->match) {
	case M_PATH:
		return plen == r->tlen && memcmp(path, r->target, plen) == 0;
	case M_GLOB:
		return glob_match(r->glob, r->nglob, path, plen);
	case M_DIR:
	case M_RDIR:
		/* the directory itself ("/etc/ssl" for "/etc/ssl/") */
		if (plen + 1 == r->tlen && memcmp(path, r->target, plen) == 0)
			return true;
		if (plen <= r->tlen || memcmp(path, r->target, r->tlen) != 0)
			return false;
		if (r->match == M_RDIR)
			return true;
		return memchr(path + r->tlen, '/', plen - r->tlen) == NULL;
	}
	return false;
}

static bool from_match(const struct fx_rule *r, struct fx_ev *e)
{
	if (!r->nfrom)
		return true;
	const char *exe = ev_exe(e);
	if (!exe)
		return false;
	for (int i = 0; i < r->nfrom; i++)
		if (strcmp(exe, r->from[i]) == 0)
			return true;
	return false;
}

static bool is_elf_interpreter(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return (strncmp(b, "ld-", 3) == 0 && strstr(b, ".so") != NULL) || strncmp(b, "ld-musl-", 8) == 0;
}

enum { V_ALLOW = 0, V_DENY = 1 };
struct fx_verdict {
	int verdict;
	int report;               /* 0 none, else A_AUDIT/A_BLOCK */
	const struct fx_rule *rule; /* NULL: default posture */
};

static struct fx_verdict decide(const struct fx_scope *s, struct fx_ev *e)
{
	struct fx_verdict v = {V_ALLOW, 0, NULL};
	const struct fx_rule *blk = NULL, *alw = NULL, *aud = NULL;
	size_t plen = strlen(e->path);
	for (int i = 0; i < s->nrules; i++) {
		const struct fx_rule *r = &s->rules[i];
		if (r->op != e->op)
			continue;
		if ((r->action == A_BLOCK && blk) || (r->action == A_ALLOW && alw) || (r->action == A_AUDIT && aud))
			continue;
		if (!path_match(r, e->path, plen))
			continue;
		if (!from_match(r, e))
			continue;
		if (r->ro && e->op == OP_OPEN) {
			bool w = ev_is_write(e);
			if (r->action == A_ALLOW ? w : !w)
				continue;
		}
		if (r->action == A_BLOCK) {
			blk = r;
			break; /* nothing overrides a Block */
		}
		if (r->action == A_ALLOW)
			alw = r;
		else
			aud = r;
	}
	if (blk) {
		v.verdict = V_DENY;
		v.report = A_BLOCK;
		v.rule = blk;
		return v;
	}
	int posture = e->op == OP_EXEC ? s->exec_posture : s->open_posture;
	if (!alw && posture == P_BLOCK) {
		v.verdict = V_DENY;
		v.report = A_BLOCK;
		return v;
	}
	if (aud) {
		v.report = A_AUDIT;
		v.rule = aud;
	} else if (!alw && posture == P_AUDIT) {
		v.report = A_AUDIT;
	}
	return v;
}

static int read_tgid(int tid)
{
	char pth[64], buf[1024];
	snprintf(pth, sizeof(pth), "/proc/%d/status", tid);
	int fd = open(pth, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tid;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return tid;
	buf[n] = 0;
	char *p = strstr(buf, "\nTgid:");
	return p ? atoi(p + 6) : tid;
}

static void report(const struct fx_table *t, const struct fx_scope *s, struct fx_ev *e, const struct fx_verdict *v)
{
	if (!g_emit)
		return;
	char buf[3 * PATH_MAX + 2048];
	char *p = buf, *end = buf + sizeof(buf) - 1;
	const char *action = v->report == A_BLOCK ? "Block" : "Audit";
	json_raw(&p, end, "{\"policy\":{\"name\":");
	if (v->rule) {
		const struct fx_policy *pol = &t->pol[v->rule->pidx];
		json_str(&p, end, pol->name);
		json_raw(&p, end, ",\"action\":");
		json_str(&p, end, action);
		json_raw(&p, end, ",\"rule\":");
		json_str(&p, end, v->rule->label);
		json_fmt(&p, end, ",\"severity\":%d", pol->severity);
		if (pol->message && pol->message[0]) {
			json_raw(&p, end, ",\"message\":");
			json_str(&p, end, pol->message);
		}
	} else {
		json_raw(&p, end, "\"DefaultPosture\",\"action\":");
		json_str(&p, end, action);
		json_raw(&p, end, ",\"rule\":\"posture\",\"allowList\":");
		json_raw(&p, end, s->allow_names ? s->allow_names : "[]");
	}
	json_fmt(&p, end, "},\"evt\":{\"type\":\"%s\",\"res\":%d},", e->op == OP_EXEC ? "execve" : "openat",
		 v->verdict == V_DENY ? -1 : 0);
	int tgid = read_tgid(e->tid);
	json_fmt(&p, end, "\"proc\":{\"pid\":%d,\"tid\":%d,\"exe\":", tgid, e->tid);
	const char *exe = ev_exe(e);
	json_str(&p, end, exe ? exe : "");
	json_raw(&p, end, "},\"fd\":{\"name\":");
	json_str(&p, end, e->path);
	json_raw(&p, end, "},\"container\":{\"name\":");
	json_str(&p, end, s->name);
	json_raw(&p, end, ",\"scope\":");
	json_str(&p, end, s->key);
	json_fmt(&p, end, "},\"ts\":%llu}", (unsigned long long)now_ns(CLOCK_BOOTTIME));
	*p = 0;
	g_emit(FANX_KIND_DECISION, buf, (uint32_t)(p - buf));
	atomic_fetch_add(&g_st.emitted, 1);
}

static void respond(int gfd, int efd, uint32_t resp)
{
	struct fanotify_response r = {.fd = efd, .response = resp};
	for (;;) {
		ssize_t n = write(gfd, &r, sizeof(r));
		if (n == (ssize_t)sizeof(r) || (n < 0 && errno != EINTR))
			return;
	}
}

static void handle_group(const struct fx_table *t, const struct fx_scope *s)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	for (;;) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n <= 0)
			return; /* EAGAIN: drained */
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0)
				continue;
			if (!(m->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM))) {
				close(m->fd);
				continue;
			}
			struct fx_ev e = {.tid = m->pid, .fd = m->fd};
			char lnk[64], path[PATH_MAX];
			snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", m->fd);
			ssize_t pl = readlink(lnk, path, sizeof(path) - 1);
			e.op = (m->mask & FAN_OPEN_EXEC_PERM) ? OP_EXEC : OP_OPEN;
			struct fx_verdict v = {V_ALLOW, 0, NULL};
			if (pl <= 0) {
				/* cannot name the file: fail open, except exec under fail_closed_exec */
				atomic_fetch_add(&g_st.errors, 1);
				if (e.op == OP_EXEC && g_fail_closed_exec)
					v.verdict = V_DENY;
				respond(s->fd, m->fd, v.verdict == V_DENY ? FAN_DENY : FAN_ALLOW);
				close(m->fd);
				continue;
			}
			path[pl] = 0;
			e.path = path;
			if (e.op == OP_EXEC && is_elf_interpreter(path))
				e.op = OP_OPEN;
			v = decide(s, &e);
			/* a reported decision names the process's exe: read it while the opener still waits
			 * (after the answer a denied process may exit before the report is built) */
			if (v.report)
				(void)ev_exe(&e);
			respond(s->fd, m->fd, v.verdict == V_DENY ? FAN_DENY : FAN_ALLOW);
			uint64_t t1 = now_ns(CLOCK_MONOTONIC);
			close(m->fd);
			lat_record(t1 - t0);
			atomic_fetch_add(&g_st.events, 1);
			atomic_fetch_add(e.op == OP_EXEC ? &g_st.exec_events : &g_st.open_events, 1);
			if (v.verdict == V_DENY)
				atomic_fetch_add(&g_st.denied, 1);
			else
				atomic_fetch_add(&g_st.allowed, 1);
			if (v.report == A_AUDIT && v.verdict == V_ALLOW)
				atomic_fetch_add(&g_st.audited, 1);
			if (v.report)
				report(t, s, &e, &v);
		}
	}
}

/* Adopts a pending table (decision thread only); closes the groups the new table dropped. */
static void adopt_pending(void)
{
	pthread_mutex_lock(&g_mu);
	struct fx_table *nt = g_pending, *old = g_cur;
	if (!nt) {
		pthread_mutex_unlock(&g_mu);
		return;
	}
	g_cur = nt;
	g_pending = NULL;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_mu);
	if (old) {
		for (int i = 0; i < old->nscopes; i++) {
			int fd = old->scopes[i].fd;
			bool kept = false;
			for (int j = 0; fd >= 0 && j < nt->nscopes; j++)
				if (nt->scopes[j].fd == fd)
					kept = true;
			if (fd >= 0 && !kept)
				close(fd); /* the kernel allows whatever was still pending on it */
		}
		table_free(old, false);
	}
}

static void *decision_thread(void *arg)
{
	(void)arg;
	struct pollfd *pfd = NULL;
	int cap = 0;
	while (!atomic_load(&g_stop)) {
		adopt_pending();
		struct fx_table *t = g_cur;
		int n = 1 + (t ? t->nscopes : 0);
		if (n > cap) {
			struct pollfd *np = realloc(pfd, (size_t)n * sizeof(*np));
			if (!np) {
				usleep(1000);
				continue;
			}
			pfd = np;
			cap = n;
		}
		pfd[0].fd = g_wake_fd;
		pfd[0].events = POLLIN;
		for (int i = 1; i < n; i++) {
			pfd[i].fd = t->scopes[i - 1].fd; /* -1 entries are ignored by poll */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		int r = poll(pfd, (nfds_t)n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			uint64_t x;
			if (read(g_wake_fd, &x, sizeof(x)) < 0) {
			}
		}
		for (int i = 1; i < n; i++)
			if (pfd[i].revents & POLLIN)
				handle_group(t, &t->scopes[i - 1]);
	}
	free(pfd);
	return NULL;
}

/* ---- public API ---- */
int fanx_start(fanx_emit_fn emit, int fail_closed_exec)
{
	pthread_mutex_lock(&g_load_mu);
	if (g_started) {
		pthread_mutex_unlock(&g_load_mu);
		return -EALREADY;
	}
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		pthread_mutex_unlock(&g_load_mu);
		return -e;
	}
	/* probe: permission events need CAP_SYS_ADMIN and CONFIG_FANOTIFY_ACCESS_PERMISSIONS */
	int probe = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	if (probe < 0) {
		int e = errno;
		close(fd);
		pthread_mutex_unlock(&g_load_mu);
		return -e;
	}
	close(probe);
	g_wake_fd = fd;
	g_emit = emit;
	g_fail_closed_exec = fail_closed_exec ? 1 : 0;
	atomic_store(&g_stop, 0);
	g_started = 1;
	pthread_mutex_unlock(&g_load_mu);
	return 0;
}

static int open_scope_group(struct fx_scope *s, char *err, size_t errlen)
{
	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_REPORT_TID,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		seterr(err, errlen, "scope %d: fanotify_init: %s", s->sid, strerror(e));
		return -e;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, s->mask, AT_FDCWD, s->mark) < 0) {
		int e = errno;
		close(fd);
		seterr(err, errlen, "scope %d: fanotify_mark(%s): %s", s->sid, s->mark, strerror(e));
		return -e;
	}
	s->fd = fd;
	return 0;
}

int fanx_load_table(const char *text, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	pthread_mutex_lock(&g_load_mu);
	if (!g_started) {
		pthread_mutex_unlock(&g_load_mu);
		seterr(err, errlen, "fanx_start was not called");
		return -EINVAL;
	}
	struct fx_table *t = table_parse(text, len, err, errlen);
	if (!t) {
		atomic_fetch_add(&g_st.table_errors, 1);
		pthread_mutex_unlock(&g_load_mu);
		return -EINVAL;
	}
	/* groups: carry over those of identical scopes, create the others */
	struct fx_table *cur = g_cur; /* stable: only a load (holding g_load_mu) replaces it */
	int rc = 0;
	int nmarked = 0;
	for (int i = 0; i < t->nscopes && rc == 0; i++) {
		struct fx_scope *s = &t->scopes[i];
		if (!s->mask)
			continue; /* no rules, no posture: nothing to watch */
		for (int j = 0; cur && j < cur->nscopes; j++) {
			struct fx_scope *o = &cur->scopes[j];
			if (o->fd >= 0 && o->mask == s->mask && strcmp(o->key, s->key) == 0 && strcmp(o->mark, s->mark) == 0) {
				bool taken = false;
				for (int k = 0; k < i; k++)
					if (t->scopes[k].fd == o->fd)
						taken = true;
				if (!taken) {
					s->fd = o->fd;
					break;
				}
			}
		}
		if (s->fd < 0)
			rc = open_scope_group(s, err, errlen);
		if (rc == 0)
			nmarked++;
	}
	if (rc != 0) {
		for (int i = 0; i < t->nscopes; i++) {
			int fd = t->scopes[i].fd;
			bool shared = false;
			for (int j = 0; cur && fd >= 0 && j < cur->nscopes; j++)
				if (cur->scopes[j].fd == fd)
					shared = true;
			if (fd >= 0 && !shared)
				close(fd);
			t->scopes[i].fd = -1;
		}
		table_free(t, false);
		atomic_fetch_add(&g_st.table_errors, 1);
		pthread_mutex_unlock(&g_load_mu);
		return rc;
	}
	if (!g_thread_running && nmarked > 0) {
		atomic_store(&g_stop, 0);
		int e = pthread_create(&g_thread, NULL, decision_thread, NULL);
		if (e != 0) {
			for (int i = 0; i < t->nscopes; i++) {
				int fd = t->scopes[i].fd;
				bool shared = false;
				for (int j = 0; cur && fd >= 0 && j < cur->nscopes; j++)
					if (cur->scopes[j].fd == fd)
						shared = true;
				if (fd >= 0 && !shared)
					close(fd);
			}
			table_free(t, false);
			atomic_fetch_add(&g_st.table_errors, 1);
			seterr(err, errlen, "pthread_create: %s", strerror(e));
			pthread_mutex_unlock(&g_load_mu);
			return -e;
		}
		pthread_setname_np(g_thread, "vigil-fanx");
		g_thread_running = 1;
	}
	if (g_thread_running) {
		pthread_mutex_lock(&g_mu);
		g_pending = t;
		uint64_t one = 1;
		if (write(g_wake_fd, &one, sizeof(one)) < 0) {
		}
		while (g_pending == t)
			pthread_cond_wait(&g_cond, &g_mu);
		pthread_mutex_unlock(&g_mu);
	} else {
		/* no thread (nothing was ever marked): swap in place */
		struct fx_table *old = g_cur;
		g_cur = t;
		table_free(old, true);
	}
	atomic_store(&g_st.scopes, (uint64_t)nmarked);
	atomic_store(&g_st.rules, (uint64_t)t->nrules);
	atomic_fetch_add(&g_st.table_loads, 1);
	pthread_mutex_unlock(&g_load_mu);
	return 0;
}

void fanx_get_stats(struct fanx_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->events = atomic_load(&g_st.events);
	out->exec_events = atomic_load(&g_st.exec_events);
	out->open_events = atomic_load(&g_st.open_events);
	out->allowed = atomic_load(&g_st.allowed);
	out->denied = atomic_load(&g_st.denied);
	out->audited = atomic_load(&g_st.audited);
	out->errors = atomic_load(&g_st.errors);
	out->emitted = atomic_load(&g_st.emitted);
	out->table_loads = atomic_load(&g_st.table_loads);
	out->table_errors = atomic_load(&g_st.table_errors);
	out->scopes = atomic_load(&g_st.scopes);
	out->rules = atomic_load(&g_st.rules);
	out->running = g_thread_running;
	out->fail_closed_exec = g_fail_closed_exec;
	uint64_t total = 0, snap[LAT_BUCKETS];
	for (int i = 0; i < LAT_BUCKETS; i++) {
		snap[i] = atomic_load_explicit(&g_lat[i], memory_order_relaxed);
		total += snap[i];
	}
	out->lat_count = total;
	out->lat_max_ns = atomic_load(&g_lat_max);
	if (!total)
		return;
	uint64_t c50 = (total + 1) / 2, c99 = total - total / 100, acc = 0;
	for (int i = 0; i < LAT_BUCKETS; i++) {
		acc += snap[i];
		if (!out->lat_p50_ns && acc >= c50)
			out->lat_p50_ns = lat_bucket_value((unsigned)i);
		if (acc >= c99) {
			out->lat_p99_ns = lat_bucket_value((unsigned)i);
			break;
		}
	}
}

void fanx_stop(void)
{
	pthread_mutex_lock(&g_load_mu);
	if (!g_started) {
		pthread_mutex_unlock(&g_load_mu);
		return;
	}
	if (g_thread_running) {
		atomic_store(&g_stop, 1);
		uint64_t one = 1;
		if (write(g_wake_fd, &one, sizeof(one)) < 0) {
		}
		pthread_join(g_thread, NULL);
		g_thread_running = 0;
	}
	table_free(g_cur, true); /* closing the groups allows every pending event */
	g_cur = NULL;
	close(g_wake_fd);
	g_wake_fd = -1;
	g_started = 0;
	pthread_mutex_unlock(&g_load_mu);
}
