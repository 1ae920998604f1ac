/* Runs a workload and reports its CPU time (bench/lib/method.ts): forks, execs COMMAND ARGS...,
 * waits, then prints one JSON line on stdout with the user and system CPU seconds of every
 * descendant it waited for, directly or through the workload's own waits (getrusage
 * RUSAGE_CHILDREN). Exits with the workload's status (128+signal when it was killed).
 * Usage: rusage_run COMMAND [ARGS...] */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	fflush(stdout);
	printf("{\"rusage_user_s\":%ld.%06ld,\"rusage_sys_s\":%ld.%06ld}\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
	       (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
