/* Sensor-overhead workload 2 (bench/sensor-overhead.ts): fork + exec of /bin/true + wait, in a loop.
 * Usage: fork_exec ITERATIONS [PROGRAM]. Prints one JSON line: ops, seconds, ops_per_sec. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ITERATIONS [PROGRAM]\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	const char *prog = argc > 2 ? argv[2] : "/bin/true";
	double t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "child %s failed\n", prog);
			return 1;
		}
	}
	double s = now() - t0;
	printf("{\"workload\":\"fork_exec\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", n, s, n / s);
	return 0;
}
