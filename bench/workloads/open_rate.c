/* Rate-limited open loop (bench/sensor-drops.ts): open/read/close of one small file at a fixed rate,
 * paced every millisecond against the wall clock (behind schedule, it catches up at full speed).
 * Usage: open_rate OPS_PER_SEC SECONDS PATH. Prints one JSON line: ops, seconds, ops_per_sec. */
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
	if (argc != 4) {
		fprintf(stderr, "usage: %s OPS_PER_SEC SECONDS PATH\n", argv[0]);
		return 2;
	}
	double rate = atof(argv[1]);
	double secs = atof(argv[2]);
	const char *path = argv[3];
	long total = (long)(rate * secs);
	char buf[256];
	long done = 0;
	double t0 = now();
	struct timespec tick = { 0, 1000000 };
	while (done < total) {
		long due = (long)((now() - t0) * rate) + 1;
		if (due > total)
			due = total;
		for (; done < due; done++) {
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
		nanosleep(&tick, NULL);
	}
	double s = now() - t0;
	printf("{\"workload\":\"open_rate\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", done, s, done / s);
	return 0;
}
