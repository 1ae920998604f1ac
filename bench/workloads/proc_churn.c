/* Process-churn workload (bench/sensor-rss.ts): N short-lived processes, one after the other, in a
 * mix that exercises every per-process structure of the sensor:
 *   - most: fork + exec of PROGRAM (/bin/true) with a short argv;
 *   - every 10th: a long argv (64 arguments of 64 bytes) and a long environment (64 variables);
 *   - every 10th (offset 3): the child opens FDS files under /etc (kept open across the exec, so
 *     the sensor's fd table of that process fills) before it execs;
 *   - every 10th (offset 6): a fork without exec (the child exits at once);
 *   - every 50th (offset 8): a child that forks + execs a grandchild (two levels of ancestry).
 * Usage: proc_churn N [PROGRAM] [FDS]. Prints one JSON line: processes, seconds, per_sec. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define LONG_N 64
static char long_args[LONG_N][65];
static char long_env[LONG_N][80];

static int wait_ok(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s N [PROGRAM] [FDS]\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	const char *prog = argc > 2 ? argv[2] : "/bin/true";
	int fds = argc > 3 ? atoi(argv[3]) : 32;
	for (int i = 0; i < LONG_N; i++) {
		memset(long_args[i], 'a' + i % 26, 64);
		long_args[i][64] = 0;
		snprintf(long_env[i], sizeof long_env[i], "VIGIL_CHURN_VAR_%02d=%.*s", i, 56, long_args[i]);
	}
	char *long_argv[LONG_N + 2];
	char *long_envp[LONG_N + 1];
	long_argv[0] = (char *)prog;
	for (int i = 0; i < LONG_N; i++) {
		long_argv[i + 1] = long_args[i];
		long_envp[i] = long_env[i];
	}
	long_argv[LONG_N + 1] = NULL;
	long_envp[LONG_N] = NULL;
	char *short_argv[] = {(char *)prog, NULL};
	char *short_envp[] = {"PATH=/usr/bin:/bin", NULL};
	static const char *files[] = {"/etc/hostname", "/etc/passwd", "/etc/group", "/etc/hosts"};

	long procs = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int variant = i % 10;
		int grand = i % 50 == 8;
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			if (variant == 6)
				_exit(0);
			if (grand) {
				pid_t g = fork();
				if (g < 0)
					_exit(1);
				if (g == 0) {
					execve(prog, short_argv, short_envp);
					_exit(127);
				}
				_exit(wait_ok(g) ? 0 : 1);
			}
			if (variant == 3)
				for (int k = 0; k < fds; k++)
					if (open(files[k % 4], O_RDONLY) < 0)
						_exit(126);
			if (variant == 0)
				execve(prog, long_argv, long_envp);
			else
				execve(prog, short_argv, short_envp);
			_exit(127);
		}
		if (!wait_ok(pid)) {
			fprintf(stderr, "child %ld (variant %d) failed\n", i, variant);
			return 1;
		}
		procs += grand ? 2 : 1;
	}
	double s = now() - t0;
	printf("{\"workload\":\"proc_churn\",\"processes\":%ld,\"seconds\":%.6f,\"per_sec\":%.1f}\n", procs, s, procs / s);
	return 0;
}
