/* bench-seq.c -- timed sequential uploads on one kept-alive connection; optionally also the remote. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, memmem */
#endif

/*
 * An SDK's view of a relay: one client connection (TCP_NODELAY, as the Go and
 * Node.js SDKs set it), one upload at a time, each timed from its first byte
 * written to the last byte of the answer ("sdk"). With --remote the tool is
 * also the remote the relay forwards to: it accepts any number of connections,
 * answers every request "200" on a kept-alive connection, and times each upload
 * from its first byte written by the client to its last body byte read by the
 * remote ("delivery"). Then the next upload starts only when the previous one
 * has been answered and has arrived, so nothing queues.
 *
 * Output, one line per series (microseconds, nearest-rank percentiles):
 *   sdk n=N p50_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=..
 *   delivery n=N ...
 */

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_REMOTE_CONNS	64
#define RESP_MAX		(1024 * 1024)
#define HEAD_MAX		(64 * 1024)

struct options {
	struct sockaddr_in target;
	struct sockaddr_in remote;
	int		has_remote;
	long		count;
	long		warmup;
	long		size;
	long		interval_ms;
	long		timeout_ms;
	const char	*path;
	const char	*ctype;
};

/* A connection the remote accepted: a head being read, then a body being counted. */
struct rconn {
	int		fd;
	char		head[HEAD_MAX];
	size_t		head_len;
	long long	body_left;	/* -1: reading the head */
};

struct client {
	int		fd;
	char		*req;		/* head + body, sent as one buffer */
	size_t		req_len;
	size_t		sent;
	char		*resp;
	size_t		resp_len;
	int		done;		/* the answer is complete */
	int		status;
	int		close_after;	/* Connection: close */
};

struct bench {
	struct options	opt;
	struct client	cl;
	int		lfd;		/* the remote's listener, or -1 */
	struct rconn	*rc[MAX_REMOTE_CONNS];
	long		arrived;	/* uploads the remote has read in full */
	long		requests;	/* every request the remote read */
};

enum { OPT_TARGET = 256, OPT_REMOTE, OPT_COUNT, OPT_WARMUP, OPT_SIZE, OPT_INTERVAL,
	OPT_TIMEOUT, OPT_PATH, OPT_CTYPE, OPT_HELP };

static const struct option long_options[] = {
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "remote", required_argument, NULL, OPT_REMOTE },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "content-type", required_argument, NULL, OPT_CTYPE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
	"usage: bench-seq --target 127.0.0.1:PORT [options]\n"
	"  --target IP:PORT      where the uploads go (the relay, or a proxy)\n"
	"  --remote IP:PORT      also be the remote, listening there; report when each upload arrives\n"
	"  --count N             timed uploads (default 200)\n"
	"  --warmup N            untimed uploads first (default 5)\n"
	"  --size BYTES          body size (default 16384)\n"
	"  --interval-ms MS      pause between uploads (default 0)\n"
	"  --timeout-ms MS       longest wait for one upload (default 10000)\n"
	"  --path PATH           request target (default /ingest?name=bench.cpu%7B%7D&spyName=gospy&format=pprof)\n"
	"  --content-type TYPE   default application/octet-stream\n";

__attribute__((format(printf, 1, 2)))
static int
errf(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-seq: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
parse_num(const char *name, const char *text, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || v < min || v > max)
		return errf("invalid value '%s' for --%s (expected %ld..%ld)", text, name, min, max);
	*out = v;
	return 0;
}

static int
parse_addr(const char *name, const char *text, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : 0;
	long port;

	if (colon == NULL || len == 0 || len >= sizeof(host))
		return errf("invalid value '%s' for --%s (expected IPv4:PORT)", text, name);
	memcpy(host, text, len);
	host[len] = '\0';
	if (parse_num(name, colon + 1, 0, 65535, &port) < 0)
		return -1;
	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return errf("invalid value '%s' for --%s (expected IPv4:PORT)", text, name);
	return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a bad command line. */
static int
parse_args(int argc, char **argv, struct options *o)
{
	int c, has_target = 0, rc = 0;

	opterr = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET: rc = parse_addr("target", optarg, &o->target); has_target = 1; break;
		case OPT_REMOTE: rc = parse_addr("remote", optarg, &o->remote); o->has_remote = 1; break;
		case OPT_COUNT: rc = parse_num("count", optarg, 1, 10000000, &o->count); break;
		case OPT_WARMUP: rc = parse_num("warmup", optarg, 0, 10000000, &o->warmup); break;
		case OPT_SIZE: rc = parse_num("size", optarg, 0, 256L << 20, &o->size); break;
		case OPT_INTERVAL: rc = parse_num("interval-ms", optarg, 0, 3600000, &o->interval_ms); break;
		case OPT_TIMEOUT: rc = parse_num("timeout-ms", optarg, 1, 3600000, &o->timeout_ms); break;
		case OPT_PATH: o->path = optarg; break;
		case OPT_CTYPE: o->ctype = optarg; break;
		case OPT_HELP: fputs(usage_text, stdout); return 1;
		case ':': return errf("option '%s' needs a value", argv[optind - 1]);
		default: return errf("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (rc != 0)
		return -1;
	if (optind < argc)
		return errf("unexpected argument '%s'", argv[optind]);
	if (!has_target)
		return errf("--target is required (see --help)");
	return 0;
}

static int
set_nonblock_nodelay(int fd)
{
	int one = 1, fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* Blocking connect, then non-blocking with TCP_NODELAY; returns the fd or -1. */
static int
client_connect(const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errf("socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		errf("cannot connect to %s:%u: %s", inet_ntoa(sin->sin_addr),
		    ntohs(sin->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	if (set_nonblock_nodelay(fd) < 0) {
		errf("cannot set socket options: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
remote_listen(const struct sockaddr_in *sin)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return errf("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0 || listen(fd, 128) < 0) {
		errf("cannot listen on %s:%u: %s", inet_ntoa(sin->sin_addr), ntohs(sin->sin_port),
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Finds header NAME in an HTTP head (after the first line); returns its value (not
 * terminated) and its length in *len, or NULL. */
static const char *
find_header(const char *head, size_t head_len, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = memchr(head, '\n', head_len), *end = head + head_len;

	while (p != NULL && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
		const char *v;

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
			v = line + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = (size_t)(eol - v);
			while (*len > 0 && (v[*len - 1] == '\r' || v[*len - 1] == ' '))
				(*len)--;
			return v;
		}
		p = eol < end ? eol : NULL;
	}
	return NULL;
}

/* Parses a decimal value of length len; returns -1 unless it is one. */
static long long
parse_len(const char *v, size_t len)
{
	long long n = 0;

	if (len == 0 || len > 15)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* 1 when buf[0..len) holds a whole chunked body, 0 when more is needed, -1 when malformed. */
static int
chunked_complete(const char *buf, size_t len)
{
	size_t off = 0;

	for (;;) {
		const char *eol = memchr(buf + off, '\n', len - off);
		unsigned long long n = 0;
		size_t i;

		if (eol == NULL)
			return 0;
		for (i = off; buf[i] != '\r' && buf[i] != '\n' && buf[i] != ';'; i++) {
			int d = (buf[i] >= '0' && buf[i] <= '9') ? buf[i] - '0' :
			    (buf[i] | 0x20) >= 'a' && (buf[i] | 0x20) <= 'f' ? (buf[i] | 0x20) - 'a' + 10 : -1;
			if (d < 0 || n > (1ULL << 40))
				return -1;
			n = n * 16 + (unsigned)d;
		}
		off = (size_t)(eol - buf) + 1;
		if (n == 0) {	/* trailers, then an empty line */
			for (;;) {
				eol = memchr(buf + off, '\n', len - off);
				if (eol == NULL)
					return 0;
				if (eol == buf + off || (eol == buf + off + 1 && buf[off] == '\r'))
					return 1;
				off = (size_t)(eol - buf) + 1;
			}
		}
		if (len - off < n + 2)
			return 0;
		off += n + 2;
	}
}

/* Checks whether the client's answer is complete; -1 when it cannot be read. */
static int
client_check_answer(struct client *cl)
{
	const char *end = cl->resp_len ? memmem(cl->resp, cl->resp_len, "\r\n\r\n", 4) : NULL;
	size_t head_len, vlen;
	const char *v;
	long long cl_len;

	if (end == NULL)
		return cl->resp_len >= HEAD_MAX ? errf("answer head too large") : 0;
	head_len = (size_t)(end - cl->resp) + 4;
	if (cl->resp_len < 12 || strncmp(cl->resp, "HTTP/1.", 7) != 0)
		return errf("not an HTTP answer");
	cl->status = (int)parse_len(cl->resp + 9, 3);
	v = find_header(cl->resp, head_len, "Connection", &vlen);
	cl->close_after = v != NULL && vlen == 5 && strncasecmp(v, "close", 5) == 0;
	v = find_header(cl->resp, head_len, "Transfer-Encoding", &vlen);
	if (v != NULL && vlen == 7 && strncasecmp(v, "chunked", 7) == 0) {
		int rc = chunked_complete(cl->resp + head_len, cl->resp_len - head_len);
		if (rc < 0)
			return errf("malformed chunked answer");
		cl->done = rc;
		return 0;
	}
	v = find_header(cl->resp, head_len, "Content-Length", &vlen);
	cl_len = v ? parse_len(v, vlen) : 0;
	if (cl_len < 0)
		return errf("bad Content-Length in the answer");
	cl->done = cl->resp_len >= head_len + (size_t)cl_len;
	return 0;
}

static int
client_on_event(struct client *cl, short revents)
{
	ssize_t n;

	if ((revents & POLLOUT) && cl->sent < cl->req_len) {
		n = send(cl->fd, cl->req + cl->sent, cl->req_len - cl->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return errf("sending the upload: %s", strerror(errno));
		if (n > 0)
			cl->sent += (size_t)n;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (cl->resp_len == RESP_MAX)
			return errf("answer larger than %d bytes", RESP_MAX);
		n = recv(cl->fd, cl->resp + cl->resp_len, RESP_MAX - cl->resp_len, 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return errf("reading the answer: %s", strerror(errno));
		if (n == 0)
			return errf("the target closed the connection before answering");
		if (n > 0) {
			cl->resp_len += (size_t)n;
			return client_check_answer(cl);
		}
	}
	return 0;
}

static void
rconn_close(struct bench *b, int i)
{
	close(b->rc[i]->fd);
	free(b->rc[i]);
	b->rc[i] = NULL;
}

static void
remote_accept(struct bench *b)
{
	for (;;) {
		int fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC), i;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_REMOTE_CONNS && b->rc[i] != NULL; i++)
			;
		if (i == MAX_REMOTE_CONNS || set_nonblock_nodelay(fd) < 0 ||
		    (b->rc[i] = calloc(1, sizeof(*b->rc[i]))) == NULL) {
			errf("remote: refusing a connection (table full or no memory)");
			close(fd);
			continue;
		}
		*b->rc[i] = (struct rconn){ .fd = fd, .body_left = -1 };
	}
}

/* Reads what connection i has; a request read in full is answered and counted.
 * Returns -1 when the connection was closed. */
static int
remote_read(struct bench *b, int i, int64_t *arrived_at)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct rconn *c = b->rc[i];
	char buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	size_t off = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		rconn_close(b, i);
		return -1;
	}
	while (off < (size_t)n) {
		if (c->body_left < 0) {	/* the head, byte by byte up to its end */
			char *end;
			size_t vlen;
			const char *v;

			if (c->head_len == sizeof(c->head)) {
				errf("remote: request head too large; closing the connection");
				rconn_close(b, i);
				return -1;
			}
			c->head[c->head_len++] = buf[off++];
			if (c->head_len < 4 || memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) != 0)
				continue;
			end = c->head + c->head_len;
			v = find_header(c->head, (size_t)(end - c->head), "Content-Length", &vlen);
			c->body_left = v ? parse_len(v, vlen) : 0;
			if (c->body_left < 0 || find_header(c->head, c->head_len, "Transfer-Encoding", &vlen)) {
				errf("remote: a request without a usable Content-Length; closing the connection");
				rconn_close(b, i);
				return -1;
			}
		} else {
			size_t take = (size_t)n - off;

			if ((long long)take > c->body_left)
				take = (size_t)c->body_left;
			c->body_left -= (long long)take;
			off += take;
		}
		if (c->body_left == 0) {	/* a whole request: answer it */
			*arrived_at = now_ns();
			b->requests++;
			b->arrived++;
			c->body_left = -1;
			c->head_len = 0;
			if (send(c->fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(answer) - 1) {
				errf("remote: cannot answer: %s", strerror(errno));
				rconn_close(b, i);
				return -1;
			}
		}
	}
	return 0;
}

/* One upload: returns 0 with its times, or -1. */
static int
upload_once(struct bench *b, int64_t *sdk_ns, int64_t *delivery_ns)
{
	struct client *cl = &b->cl;
	struct pollfd pfd[MAX_REMOTE_CONNS + 2];
	int map[MAX_REMOTE_CONNS + 2];
	long arrived0 = b->arrived;
	int64_t t0, t_answer = 0, t_arrived = 0, deadline;

	if (cl->fd < 0 && (cl->fd = client_connect(&b->opt.target)) < 0)
		return -1;
	cl->sent = 0;
	cl->resp_len = 0;
	cl->done = 0;
	t0 = now_ns();
	deadline = t0 + (int64_t)b->opt.timeout_ms * 1000000;
	if (client_on_event(cl, POLLOUT) < 0)	/* the first write now: the upload starts here */
		return -1;
	for (;;) {
		int n = 0, rc, ms;
		int64_t left;

		if (cl->done && t_answer == 0)
			t_answer = now_ns();
		if (t_answer != 0 && (!b->opt.has_remote || b->arrived > arrived0))
			break;
		left = deadline - now_ns();
		if (left <= 0)
			return errf("no %s within %ld ms", t_answer ? "arrival at the remote" : "answer",
			    b->opt.timeout_ms);
		ms = (int)(left / 1000000) + 1;
		if (!cl->done) {
			pfd[n] = (struct pollfd){ .fd = cl->fd,
			    .events = (short)(POLLIN | (cl->sent < cl->req_len ? POLLOUT : 0)) };
			map[n++] = -2;
		}
		if (b->lfd >= 0) {
			pfd[n] = (struct pollfd){ .fd = b->lfd, .events = POLLIN };
			map[n++] = -1;
		}
		for (int i = 0; i < MAX_REMOTE_CONNS; i++)
			if (b->rc[i] != NULL) {
				pfd[n] = (struct pollfd){ .fd = b->rc[i]->fd, .events = POLLIN };
				map[n++] = i;
			}
		rc = poll(pfd, (nfds_t)n, ms);
		if (rc < 0 && errno != EINTR)
			return errf("poll: %s", strerror(errno));
		for (int k = 0; rc > 0 && k < n; k++) {
			if (pfd[k].revents == 0)
				continue;
			if (map[k] == -2) {
				if (client_on_event(cl, pfd[k].revents) < 0)
					return -1;
			} else if (map[k] == -1) {
				remote_accept(b);
			} else if (b->rc[map[k]] != NULL) {
				int64_t at = 0;
				long before = b->arrived;

				remote_read(b, map[k], &at);
				if (before == arrived0 && b->arrived > arrived0)
					t_arrived = at;
			}
		}
	}
	if (cl->status < 200 || cl->status > 299)
		return errf("the target answered %d", cl->status);
	if (cl->close_after) {
		close(cl->fd);
		cl->fd = -1;
	}
	*sdk_ns = t_answer - t0;
	*delivery_ns = b->opt.has_remote ? t_arrived - t0 : 0;
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double
pct_us(const int64_t *v, long n, double p)
{
	long k = (long)((p / 100.0) * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

static void
report(const char *name, int64_t *v, long n)
{
	double sum = 0;

	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	for (long i = 0; i < n; i++)
		sum += (double)v[i];
	printf("%s n=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n", name, n,
	    pct_us(v, n, 50), pct_us(v, n, 90), pct_us(v, n, 99), pct_us(v, n, 100),
	    sum / (double)n / 1000.0);
}

static int
build_request(struct bench *b)
{
	const struct options *o = &b->opt;
	char head[4096];
	int hl = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
	    "User-Agent: bench-seq\r\nContent-Type: %s\r\nContent-Length: %ld\r\n\r\n",
	    o->path, inet_ntoa(o->target.sin_addr), ntohs(o->target.sin_port), o->ctype, o->size);

	if (hl < 0 || (size_t)hl >= sizeof(head))
		return errf("request head too long");
	b->cl.req_len = (size_t)hl + (size_t)o->size;
	if ((b->cl.req = malloc(b->cl.req_len)) == NULL || (b->cl.resp = malloc(RESP_MAX)) == NULL)
		return errf("out of memory");
	memcpy(b->cl.req, head, (size_t)hl);
	for (long i = 0; i < o->size; i++)	/* not all one byte, so nothing along the way can shrink it */
		b->cl.req[hl + i] = (char)('a' + (i * 7 + i / 97) % 26);
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b = {
		.opt = {
			.count = 200, .warmup = 5, .size = 16384, .timeout_ms = 10000,
			.path = "/ingest?name=bench.cpu%7B%7D&spyName=gospy&format=pprof",
			.ctype = "application/octet-stream",
		},
		.cl = { .fd = -1 },
		.lfd = -1,
	};
	int64_t *sdk, *del;
	int rc = parse_args(argc, argv, &b.opt);
	long total;

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (build_request(&b) < 0)
		return 1;
	if (b.opt.has_remote && (b.lfd = remote_listen(&b.opt.remote)) < 0)
		return 1;
	total = b.opt.warmup + b.opt.count;
	sdk = calloc((size_t)b.opt.count, sizeof(*sdk));
	del = calloc((size_t)b.opt.count, sizeof(*del));
	if (sdk == NULL || del == NULL) {
		errf("out of memory");
		return 1;
	}
	for (long i = 0; i < total; i++) {
		int64_t s = 0, d = 0;

		if (upload_once(&b, &s, &d) < 0) {
			errf("upload %ld of %ld failed", i + 1, total);
			return 1;
		}
		if (i >= b.opt.warmup) {
			sdk[i - b.opt.warmup] = s;
			del[i - b.opt.warmup] = d;
		}
		if (b.opt.interval_ms > 0)
			nanosleep(&(struct timespec){ .tv_sec = b.opt.interval_ms / 1000,
			    .tv_nsec = (b.opt.interval_ms % 1000) * 1000000 }, NULL);
	}
	report("sdk", sdk, b.opt.count);
	if (b.opt.has_remote) {
		report("delivery", del, b.opt.count);
		printf("remote requests=%ld\n", b.requests);
	}
	for (int i = 0; i < MAX_REMOTE_CONNS; i++)
		if (b.rc[i] != NULL)
			rconn_close(&b, i);
	if (b.lfd >= 0)
		close(b.lfd);
	if (b.cl.fd >= 0)
		close(b.cl.fd);
	free(sdk);
	free(del);
	free(b.cl.req);
	free(b.cl.resp);
	return 0;
}
