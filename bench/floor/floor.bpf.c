/* The overhead FLOOR for bench/sensor-overhead.ts: the cheapest possible programs on exactly the
 * hooks the sensor's default mode attaches. Each program only increments a per-CPU counter, so
 * what remains of the slowdown is the cost of the hooks themselves (the syscall tracepoint slow
 * path, the BPF trampoline/dispatch), which no sensor built on these hooks can go below.
 * One generic tracepoint program (attached by floor.c to every syscall tracepoint given: the sys_exit_X the sensor uses) and
 * one tp_btf program per BTF tracepoint of the plan (sched exec/fork/exit, cap_capable). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* slot 0: syscall tracepoints, 1: sched exec, 2: fork, 3: exit, 4: cap_capable */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} floor_hits SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&floor_hits, &slot);
	if (v)
		(*v)++;
}

SEC("tracepoint")
int floor_tp(void *ctx)
{
	bump(0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int floor_sched_exec(__u64 *ctx)
{
	bump(1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int floor_sched_fork(__u64 *ctx)
{
	bump(2);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int floor_sched_exit(__u64 *ctx)
{
	bump(3);
	return 0;
}

SEC("tp_btf/cap_capable")
int floor_cap_capable(__u64 *ctx)
{
	bump(4);
	return 0;
}
