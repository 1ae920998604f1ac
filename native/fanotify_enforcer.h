/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fanotify_enforcer.h: file-open and exec enforcement of Vigil policies with fanotify permission
 * events (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM). Linked into build/vigil-loader; the loader calls
 * the four functions below. The decision is made on a dedicated pthread from an in-memory
 * decision table and never waits on Node.
 *
 * Integration (loader side):
 *   fanx_start(emit, fail_closed_exec)  once at start; cheap, starts no thread and marks nothing.
 *   fanx_load_table(text, len, err, n)  whenever the sensor pushes a new table (the text produced
 *                                       by src/policy/compile.ts); atomic: on error the old table
 *                                       stays in force and `err` says why (line number included).
 *   fanx_get_stats(&s)                  for the periodic stats record.
 *   fanx_stop()                         at shutdown; closing the groups allows everything pending.
 * Decisions worth reporting (Block, Audit, default-posture denials/audits) are passed to `emit`
 * with kind FANX_KIND_DECISION (== VGL_K_DECISION, 0x8004) and a UTF-8 JSON payload:
 *   {"policy":{"name":"web-lockdown","action":"Block","rule":"file.matchPaths[0]","severity":7,
 *    "message":"..."},"evt":{"type":"openat"|"execve","res":-1|0},
 *    "proc":{"pid":123,"tid":123,"exe":"/bin/cat"},"fd":{"name":"/etc/shadow"},
 *    "container":{"name":"a","scope":"mntns:4026532177"},"ts":<CLOCK_BOOTTIME ns>}
 * res is -1 (EPERM) when the access was denied, 0 when it was only reported. A denial by the
 * default posture of an allow-list carries policy.name "DefaultPosture" and rule "posture"
 * (as KubeArmor reports it); policy.allowList then names the policies that define the list.
 * emit is called on the decision thread after the kernel has been answered, so a slow consumer
 * delays later decisions but never the one being reported.
 *
 * ---- Decision table text format, version 1 ----
 * Line based, '\n' separated; '#' starts a comment line; blank lines are ignored. Tokens are
 * separated by one or more spaces. Inside a token, bytes <= 0x20, >= 0x7f, '%' and ',' are
 * written %XX (hex). A lone "-" token means "empty".
 *
 *   fanx 1                                   first line, mandatory
 *   policy <pidx> <name> <action> <severity> <message>
 *       pidx: 0..65535, referenced by rules; action: Allow|Audit|Block (the policy's default)
 *   scope <sid> <mark-path> <key> <exec-posture> <open-posture> <name>
 *       sid: 0..65535 (unique); mark-path: a path on the mount to mark with FAN_MARK_MOUNT,
 *       normally /proc/<container root pid>/root; key: "mntns:<inode>" or "cgroup:<id>" (used to
 *       keep the fanotify group of a scope across reloads and reported in decisions);
 *       posture: none|audit|block, applied to accesses of that kind matched by no rule when the
 *       scope has Allow rules of that kind ("none": there is no allow-list, unmatched = allowed);
 *       name: container name for reports.
 *   rule <sid> <op> <match> <action> <mode> <pidx> <label> <target> <from>
 *       op: exec|open; match: path (exact) | dir (direct children and the dir itself) |
 *       rdir (everything below, recursively, and the dir itself) | glob (AppArmor-style pattern:
 *       '*' within a segment, '**' across segments, '?' one non-'/' character; at most 255
 *       characters and wildcards); dir targets end with '/';
 *       action: allow|audit|block; mode: ro (readOnly: Allow matches only reads, Audit/Block
 *       match only writes) | rw (any open); label: rule name for reports (e.g.
 *       file.matchDirectories[1]); from: "-" or comma-separated executable paths (fromSource:
 *       the rule matches only when the accessing process runs one of them).
 *   end                                      last line, mandatory (detects truncated input)
 *
 * Evaluation of one access (op = exec when the event carries FAN_OPEN_EXEC_PERM, else open),
 * over the rules of the scope whose mark produced the event:
 *   a matching Block rule denies (EPERM); else a matching Allow rule allows; else, if the posture
 *   for op is block the access is denied, audit it is allowed and reported; else allowed. A
 *   matching Audit rule never changes the verdict, it only adds a report. ELF interpreters
 *   (ld-*.so*, ld-musl-*) opened by the kernel during exec are evaluated as opens, not execs.
 *
 * Fail mode: fanotify is fail-open by construction. When the loader dies, the kernel closes the
 * groups and answers FAN_ALLOW to every pending and future event: no workload hangs, nothing
 * is enforced until the loader is back. fail_closed_exec=1 only changes what happens when this
 * enforcer cannot decide an exec (unresolvable path, /proc read failure): deny instead of
 * allow. Open events are always failed open.
 */
#ifndef VIGIL_FANOTIFY_ENFORCER_H
#define VIGIL_FANOTIFY_ENFORCER_H

#include <stddef.h>
#include <stdint.h>

#define FANX_KIND_DECISION 0x8004 /* VGL_K_DECISION in bpf/vigil_abi.h */
#define FANX_TABLE_VERSION 1

typedef void (*fanx_emit_fn)(uint16_t kind, const void *payload, uint32_t len); /* thread-safe, provided by the loader */

struct fanx_stats {
	uint64_t events;        /* permission events answered */
	uint64_t exec_events;
	uint64_t open_events;
	uint64_t allowed;
	uint64_t denied;
	uint64_t audited;       /* allowed and reported */
	uint64_t errors;        /* events answered without a full decision (see fail mode) */
	uint64_t emitted;       /* decision records passed to emit */
	uint64_t table_loads;   /* successful fanx_load_table calls */
	uint64_t table_errors;  /* rejected tables */
	uint64_t scopes;        /* scopes marked by the current table */
	uint64_t rules;         /* rules in the current table */
	uint64_t lat_count;     /* decisions timed */
	uint64_t lat_p50_ns;    /* decision latency: event read -> response written */
	uint64_t lat_p99_ns;
	uint64_t lat_max_ns;
	int32_t running;        /* 1 while the decision thread runs */
	int32_t fail_closed_exec;
};

int  fanx_start(fanx_emit_fn emit, int fail_closed_exec);   /* 0 or -errno; starts the thread lazily when first table has rules */
int  fanx_load_table(const char *text, size_t len, char *err, size_t errlen); /* atomic swap; on error old table stays */
void fanx_get_stats(struct fanx_stats *out);               /* counters + decision latency p50/p99 in ns */
void fanx_stop(void);

#endif /* VIGIL_FANOTIFY_ENFORCER_H */
