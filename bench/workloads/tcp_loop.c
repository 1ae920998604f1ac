/* Sensor-overhead workload 3 (bench/sensor-overhead.ts): TCP connect/accept loop on 127.0.0.1.
 * One thread: socket + connect (the loopback handshake completes in the kernel), accept, then
 * close both. The client closes with SO_LINGER 0 (RST) so no TIME_WAIT accumulates and repeated
 * runs never exhaust the ephemeral ports. Usage: tcp_loop ITERATIONS. Prints one JSON line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
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
	if (argc != 2) {
		fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
		return 2;
	}
	long n = atol(argv[1]);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
		perror("listen socket");
		return 1;
	}
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0) {
			perror("socket");
			return 1;
		}
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("connect");
			return 1;
		}
		int s = accept(ls, NULL, NULL);
		if (s < 0) {
			perror("accept");
			return 1;
		}
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
		close(s);
	}
	double s = now() - t0;
	printf("{\"workload\":\"tcp\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", n, s, n / s);
	return 0;
}
