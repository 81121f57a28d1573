/* loopback.h -- unit-test helpers on 127.0.0.1: a bounded event-loop wait, an in-process HTTP remote, two HTTP clients. */
#ifndef TESTS_LOOPBACK_H
#define TESTS_LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* Generous enough for valgrind on a loaded machine; a passing test never waits this long. */
#define LB_LIMIT_MS 10000

static inline int64_t
lb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void
lb_break(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/*
 * Run the loop in 10 ms slices until cond(arg) holds (cond may be NULL), or
 * until something calls event_base_loopexit() (then *exited is set, when
 * exited is not NULL), or until ms have passed. Returns true when cond held
 * or the loop was told to exit.
 */
static inline bool
lb_wait(struct event_base *base, bool (*cond)(void *), void *arg, int ms, bool *exited)
{
	int64_t end = lb_now_ms() + ms;

	for (;;) {
		struct timeval tv = { 0, 10000 };
		struct event *tick;

		if (cond != NULL && cond(arg))
			return true;
		if (lb_now_ms() >= end)
			return false;
		tick = evtimer_new(base, lb_break, base);
		if (tick == NULL)
			return false;
		evtimer_add(tick, &tv);
		event_base_loop(base, 0);
		event_free(tick);
		if (exited != NULL && event_base_got_exit(base)) {
			*exited = true;
			return true;
		}
	}
}

struct lb_count {
	const int	*n;
	int		 want;
};

static inline bool
lb_count_reached(void *arg)
{
	const struct lb_count *c = arg;

	return *c->n >= c->want;
}

/* lb_wait() until the counter *n reaches want; true when it did. */
static inline bool
lb_wait_count(struct event_base *base, const int *n, int want, bool *exited)
{
	struct lb_count c = { n, want };

	return lb_wait(base, lb_count_reached, &c, LB_LIMIT_MS, exited) && *n >= want;
}

/* Run the loop for ms milliseconds. */
static inline void
lb_run_for(struct event_base *base, int ms)
{
	(void)lb_wait(base, NULL, NULL, ms, NULL);
}

/* The port a bound socket listens on, or -1. */
static inline int
lb_sock_port(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0 || sin.sin_family != AF_INET)
		return -1;
	return ntohs(sin.sin_port);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed: connections are refused). */
static inline int
lb_closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		port = lb_sock_port(fd);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ---- a fake environment for settings_load() ---- */

/* The NULL-terminated name/value pairs lb_getenv() reads. */
static inline const char *const **
lb_env_slot(void)
{
	static const char *const *env;

	return &env;
}

static inline const char *
lb_getenv(const char *name)
{
	const char *const *env = *lb_env_slot();

	for (size_t i = 0; env != NULL && env[i] != NULL; i += 2)
		if (strcmp(env[i], name) == 0)
			return env[i + 1];
	return NULL;
}

/* ---- the remote: an evhttp server on 127.0.0.1:0 answering as scripted ---- */

#define LB_SCRIPT	16
#define LB_URIS		32

struct lb_remote {
	struct evhttp		*http;
	int			 port;
	int			 script[LB_SCRIPT];	/* statuses for the first requests, in order */
	int			 nscript;
	int			 status;	/* after the script; 0 = hold: never answer */
	const char		*retry_after;	/* Retry-After on non-2xx answers, or NULL */
	int			 requests;	/* received */
	int			 held;		/* received and never answered */
	char			 uris[LB_URIS][160];	/* the first LB_URIS request targets */
	struct evkeyvalq	 headers;	/* of the last request */
	size_t			 body_len;	/* of the last request */
	enum evhttp_cmd_type	 method;	/* of the last request */
};

static inline void
lb_remote_cb(struct evhttp_request *req, void *arg)
{
	struct lb_remote *r = arg;
	const struct evkeyval *h;
	int n = r->requests++, status;

	if (n < LB_URIS)
		snprintf(r->uris[n], sizeof(r->uris[n]), "%s", evhttp_request_get_uri(req));
	evhttp_clear_headers(&r->headers);
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		evhttp_add_header(&r->headers, h->key, h->value);
	r->body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	r->method = evhttp_request_get_command(req);
	status = n < r->nscript ? r->script[n] : r->status;
	if (status == 0) {
		r->held++;	/* libevent frees it with its connection */
		return;
	}
	if ((status < 200 || status > 299) && r->retry_after != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", r->retry_after);
	evhttp_send_reply(req, status, status < 300 ? "OK" : "Nope", NULL);
}

/* Listen on 127.0.0.1:0 and answer `status` (0: hold every request). 0 or -1. */
static inline int
lb_remote_start(struct lb_remote *r, struct event_base *base, int status)
{
	struct evhttp_bound_socket *bs;

	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->headers);
	r->status = status;
	if ((r->http = evhttp_new(base)) == NULL)
		return -1;
	evhttp_set_gencb(r->http, lb_remote_cb, r);
	bs = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
	if (bs == NULL)
		return -1;
	r->port = lb_sock_port(evhttp_bound_socket_get_fd(bs));
	return r->port > 0 ? 0 : -1;
}

static inline void
lb_remote_stop(struct lb_remote *r)
{
	if (r->http != NULL)
		evhttp_free(r->http);
	r->http = NULL;
	evhttp_clear_headers(&r->headers);
}

static inline const char *
lb_remote_header(struct lb_remote *r, const char *name)
{
	return evhttp_find_header(&r->headers, name);
}

/* ---- an evhttp client ---- */

struct lb_reply {
	struct event_base	*base;
	bool			 done;
	int			 status;	/* -1: no answer */
	char			 body[16384];	/* NUL-terminated, cut at the size */
	char			 ctype[128];
};

static inline void
lb_reply_cb(struct evhttp_request *req, void *arg)
{
	struct lb_reply *r = arg;

	r->done = true;
	r->status = -1;
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		return;
	r->status = evhttp_request_get_response_code(req);
	{
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		ev_ssize_t n = evbuffer_copyout(in, r->body, sizeof(r->body) - 1);
		const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");

		r->body[n > 0 ? n : 0] = '\0';
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct != NULL ? ct : "");
	}
}

static inline bool
lb_reply_done(void *arg)
{
	return ((struct lb_reply *)arg)->done;
}

/*
 * Send one request to 127.0.0.1:port with the NULL-terminated name/value pairs
 * in `headers` and `body`, and run the loop until it is answered (bounded).
 * The status, or -1 when there was no answer.
 */
static inline int
lb_request(struct event_base *base, int port, enum evhttp_cmd_type method, const char *uri,
    const char *const *headers, const void *body, size_t len, struct lb_reply *ret)
{
	struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", (ev_uint16_t)port);
	struct evhttp_request *req;

	memset(ret, 0, sizeof(*ret));
	ret->base = base;
	ret->status = -1;
	if (conn == NULL || (req = evhttp_request_new(lb_reply_cb, ret)) == NULL) {
		if (conn != NULL)
			evhttp_connection_free(conn);
		return -1;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "localhost");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
		evhttp_add_header(evhttp_request_get_output_headers(req), headers[i], headers[i + 1]);
	if (body != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	if (evhttp_make_request(conn, req, method, uri) == 0)
		(void)lb_wait(base, lb_reply_done, ret, LB_LIMIT_MS, NULL);
	evhttp_connection_free(conn);
	return ret->status;
}

/*
 * Write raw bytes to 127.0.0.1:port and read until the answer's head is
 * complete or the connection closes (bounded), running the loop meanwhile.
 * The answer's status, or -1.
 */
static inline int
lb_raw(struct event_base *base, int port, const char *bytes, size_t len, char *resp, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons((uint16_t)port) };
	int64_t end = lb_now_ms() + LB_LIMIT_MS;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	size_t got = 0;

	resp[0] = '\0';
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || write(fd, bytes, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	while (lb_now_ms() < end && got + 1 < size && strstr(resp, "\r\n\r\n") == NULL) {
		ssize_t n;

		lb_run_for(base, 10);
		n = recv(fd, resp + got, size - got - 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		if (n > 0) {
			got += (size_t)n;
			resp[got] = '\0';
		}
	}
	close(fd);
	if (strncmp(resp, "HTTP/1.", 7) == 0 && strlen(resp) >= 12)
		status = (int)strtol(resp + 9, NULL, 10);
	return status;
}

#endif
