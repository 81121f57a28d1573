/* hostile-client.c -- misbehaving local clients for the tests: trickled heads, held bodies, timed uploads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * usage:
 *   hostile-client trickle PORT N SECONDS
 *       N connections, each sending one byte of a request head per second,
 *       for at most SECONDS. Prints "opened=A closed=C last_close_s=T" where
 *       T is the latest time, after its connection opened, at which the relay
 *       closed a connection (-1 if none was closed).
 *   hostile-client hold PORT N LENGTH SECONDS
 *       N connections, each declaring Content-Length: LENGTH and sending all
 *       but its last byte; holds them SECONDS, then closes them all.
 *       Prints "opened=A sent_bytes=B".
 *   hostile-client upload PORT BYTES
 *       One upload of BYTES on a new connection; prints "status=S ms=T".
 * Connections go to 127.0.0.1:PORT. Every wait is bounded.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char HEAD[] = "POST /ingest?name=hostile.cpu HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n";

/* A whole decimal number, or exit 2. */
static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "hostile-client: not a number: '%s'\n", s);
		exit(2);
	}
	return v;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
connect_to(int port, int nonblock)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (nonblock)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
raise_nofile(int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Has the peer closed (or reset) fd? Reads and discards what it sent. */
static int
peer_closed(int fd)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int
trickle(int port, int n, int seconds)
{
	int *fd = calloc((size_t)n, sizeof(*fd)), opened = 0, closed = 0;
	double *opened_at = calloc((size_t)n, sizeof(*opened_at)), start = now_s(), last = -1;
	size_t pos = 0;

	if (fd == NULL || opened_at == NULL) {
		free(fd);
		free(opened_at);
		return 2;
	}
	raise_nofile(n + 64);
	for (int i = 0; i < n; i++) {
		fd[i] = connect_to(port, 1);
		opened_at[i] = now_s();
		if (fd[i] >= 0)
			opened++;
	}
	/* A byte a second on each; closes are looked for ten times a second. */
	for (int tick = 0; now_s() - start < seconds && closed < opened; tick++) {
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0)
				continue;
			if (peer_closed(fd[i])) {
				double t = now_s() - opened_at[i];

				if (t > last)
					last = t;
				close(fd[i]);
				fd[i] = -1;
				closed++;
				continue;
			}
			if (tick % 10 == 0)
				(void)send(fd[i], HEAD + pos % (sizeof(HEAD) - 1), 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (tick % 10 == 0)
			pos++;
		usleep(100000);
	}
	printf("opened=%d closed=%d last_close_s=%.1f\n", opened, closed, last);
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
	free(opened_at);
	return 0;
}

static int
hold(int port, int n, long length, int seconds)
{
	static char chunk[65536];
	int *fd = calloc((size_t)n, sizeof(*fd)), opened = 0;
	long long sent = 0;
	double start = now_s();
	long *left = calloc((size_t)n, sizeof(*left));
	char head[256];
	int hl = snprintf(head, sizeof(head),
	    "POST /ingest?name=held.cpu HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %ld\r\n\r\n", length);

	if (fd == NULL || left == NULL) {
		free(fd);
		free(left);
		return 2;
	}
	memset(chunk, 'h', sizeof(chunk));
	raise_nofile(n + 64);
	for (int i = 0; i < n; i++) {
		fd[i] = connect_to(port, 0);
		if (fd[i] < 0)
			continue;
		opened++;
		if (send(fd[i], head, (size_t)hl, MSG_NOSIGNAL) != hl) {
			close(fd[i]);
			fd[i] = -1;
			continue;
		}
		fcntl(fd[i], F_SETFL, O_NONBLOCK);
		left[i] = length - 1;
	}
	/* Push the bodies (all but the last byte) for as long as the relay reads them. */
	while (now_s() - start < seconds) {
		int progress = 0;

		for (int i = 0; i < n; i++) {
			ssize_t w;

			if (fd[i] < 0 || left[i] == 0)
				continue;
			w = send(fd[i], chunk, (size_t)(left[i] < (long)sizeof(chunk) ? left[i] : (long)sizeof(chunk)),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				left[i] -= w;
				sent += w;
				progress = 1;
			}
		}
		if (!progress)
			usleep(50000);
	}
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	printf("opened=%d sent_bytes=%lld\n", opened, sent);
	free(fd);
	free(left);
	return 0;
}

static int
upload(int port, long bytes)
{
	char head[256], resp[256];
	char *body = malloc((size_t)bytes + 1);
	double start = now_s();
	int fd = connect_to(port, 0), hl, status = 0;
	struct pollfd p;
	ssize_t n;

	if (fd < 0 || body == NULL) {
		printf("status=0 ms=-1\n");
		return 1;
	}
	memset(body, 'u', (size_t)bytes);
	hl = snprintf(head, sizeof(head), "POST /ingest?name=normal.cpu HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n", bytes);
	if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl || send(fd, body, (size_t)bytes, MSG_NOSIGNAL) != bytes) {
		printf("status=0 ms=-1\n");
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 60000) == 1 && (n = recv(fd, resp, sizeof(resp) - 1, 0)) > 0) {
		resp[n] = '\0';
		sscanf(resp, "HTTP/1.%*d %d", &status);
	}
	printf("status=%d ms=%.1f\n", status, (now_s() - start) * 1000);
	close(fd);
	free(body);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "trickle") == 0)
		return trickle((int)num(argv[2]), (int)num(argv[3]), (int)num(argv[4]));
	if (argc == 6 && strcmp(argv[1], "hold") == 0)
		return hold((int)num(argv[2]), (int)num(argv[3]), num(argv[4]), (int)num(argv[5]));
	if (argc == 4 && strcmp(argv[1], "upload") == 0)
		return upload((int)num(argv[2]), num(argv[3]));
	fprintf(stderr, "usage: hostile-client trickle PORT N SECONDS | hold PORT N LENGTH SECONDS | upload PORT BYTES\n");
	return 2;
}
