/* Sensor-overhead workload 1 (bench/sensor-overhead.ts): open/read/close loop on one small file.
 * Usage: open_loop ITERATIONS PATH. Prints one JSON line: ops, seconds, ops_per_sec. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	if (argc != 3) {
		fprintf(stderr, "usage: %s ITERATIONS PATH\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	const char *path = argv[2];
	char buf[256];
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		if (read(fd, buf, sizeof(buf)) < 0) {
			perror("read");
			return 1;
		}
		close(fd);
	}
	double s = now() - t0;
	printf("{\"workload\":\"open\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", n, s, n / s);
	return 0;
}
