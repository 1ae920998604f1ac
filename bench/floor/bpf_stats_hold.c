/* Keeps the kernel's BPF run-time statistics (run_cnt, run_time_ns per program) on while it runs,
 * for bench/lib/method.ts: BPF_ENABLE_STATS returns an fd the kernel counts as one reference, so
 * unlike the kernel.bpf_stats_enabled sysctl, another process switching the sysctl off (another
 * benchmark on this shared machine) does not switch our statistics off.
 * Prints "held" once enabled, exits when stdin closes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

int main(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "bpf_stats_hold: BPF_ENABLE_STATS: %s\n", strerror(-fd));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	char b[64];
	while (read(0, b, sizeof(b)) > 0)
		;
	close(fd);
	return 0;
}
