/* pyroscope-sink.c -- a local Pyroscope-compatible sink that records and answers ingest requests. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "request.h"
#include "emulator/sinkconn.h"

#define SINK_MAX_HEADERS (1024L * 1024L)
#define SINK_FIELD_MAX 512

struct options {
	char host[256];
	long port;
	const char *port_file;
	const char *dir;
	const char *tls_cert;
	const char *tls_key;
	long status;
	long fail;
	long fail_status;
	long reset;       /* the first N requests get a TCP reset instead of an answer */
	long retry_after; /* -1: no Retry-After header */
	long delay_ms;
	long rtt_ms;      /* a remote this far away: added per round trip, set-up included */
	const char *stats_file;
	long max_body;
	int close_conn;
	int quiet;
	long interim_code;	/* 0: none; else this 1xx status before every answer */
	long interim_count;
	int echo;		/* a failure answer's body repeats the request's head */
};

struct answer {
	int status;       /* 0: reset the connection, no answer */
	int echo;         /* --echo */
	int failing; /* gets Retry-After */
	int push;    /* a Connect unary call */
};

/* An answer waiting for its --delay-ms timer. */
struct pending {
	TAILQ_ENTRY(pending) link;
	struct sink *sink;
	struct evhttp_request *req;
	struct event *timer;
	struct answer ans;
};

/* A request waiting for its answer to be sent, for DIR/req-NNN.time. */
struct timing {
	TAILQ_ENTRY(timing) link;
	struct sink *sink;
	unsigned long n;
	unsigned long conn;	/* 0: unknown */
	double first_byte;	/* epoch ms; 0: unknown */
	double received;
};

struct sink {
	struct options opt;
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl_ctx;
	struct sink_conns *conns;
	TAILQ_HEAD(timing_list, timing) timings;
	struct event *sigint;
	struct event *sigterm;
	unsigned long count;
	TAILQ_HEAD(pending_list, pending) pending;
};

enum { OPT_LISTEN = 256, OPT_PORT_FILE, OPT_DIR, OPT_STATUS, OPT_FAIL, OPT_FAIL_STATUS,
	OPT_RETRY_AFTER, OPT_DELAY_MS, OPT_CLOSE, OPT_TLS_CERT, OPT_TLS_KEY, OPT_MAX_BODY,
	OPT_QUIET, OPT_RESET, OPT_RTT_MS, OPT_STATS_FILE, OPT_INTERIM, OPT_ECHO, OPT_HELP };

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "fail", required_argument, NULL, OPT_FAIL },
	{ "fail-status", required_argument, NULL, OPT_FAIL_STATUS },
	{ "retry-after", required_argument, NULL, OPT_RETRY_AFTER },
	{ "delay-ms", required_argument, NULL, OPT_DELAY_MS },
	{ "close", no_argument, NULL, OPT_CLOSE },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "interim", required_argument, NULL, OPT_INTERIM },
	{ "echo", no_argument, NULL, OPT_ECHO },
	{ "reset", required_argument, NULL, OPT_RESET },
	{ "rtt-ms", required_argument, NULL, OPT_RTT_MS },
	{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
	"usage: pyroscope-sink [options]\n"
	"  --listen HOST:PORT   listen address (default 127.0.0.1:4041; [::1]:PORT for IPv6;\n"
	"                       port 0 picks a free port)\n"
	"  --port-file FILE     write the bound port number to FILE\n"
	"  --dir DIR            store each request as DIR/req-NNN.head and DIR/req-NNN.body;\n"
	"                       DIR/req-NNN.time once answered: first_byte_ms, received_ms,\n"
	"                       answered_ms (epoch ms) and conn\n"
	"  --status CODE        status of every answer (default 200)\n"
	"  --fail N             answer the first N requests with --fail-status (default 0)\n"
	"  --fail-status CODE   status of injected failures (default 503)\n"
	"  --retry-after SECS   add Retry-After: SECS to failure answers\n"
	"  --delay-ms MS        wait MS milliseconds before each answer\n"
	"  --rtt-ms MS          a remote MS ms away: each answer waits one round trip, the\n"
	"                       first on a connection also its set-up (TCP 1, TLS 1.3 or\n"
	"                       resumed 1, full TLS 1.2 2 round trips)\n"
	"  --stats-file FILE    JSON totals (connections, requests, TLS handshakes full and\n"
	"                       resumed, versions, bytes on the wire), rewritten as\n"
	"                       connections close; a line per closed connection on stdout\n"
	"  --close              close the connection after each answer\n"
	"  --reset N            the first N requests get a TCP reset instead of an answer\n"
	"  --tls-cert FILE      PEM certificate chain; serve HTTPS (needs --tls-key)\n"
	"  --tls-key FILE       PEM private key\n"
	"  --max-body BYTES     largest accepted request body (default 67108864)\n"
	"  --quiet              do not print a line per request\n"
	"  --interim CODE[xN]   send N (default 1) interim answers CODE (100-199) before every answer\n"
	"  --echo               a failure answer's body repeats the request's head, secrets and all\n"
	"  --help               show this help\n";

/* Prints "sink: MESSAGE" on stderr; returns -1 so callers can `return errf(...)`. */
__attribute__((format(printf, 1, 2)))
static int errf(const char *fmt, ...)
{
	va_list ap;

	fputs("sink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_num(const char *name, const char *text, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || errno != 0 || end == text || *end != '\0' ||
	    v < min || v > max)
		return errf("invalid value '%s' for --%s (expected %ld..%ld)", text, name, min, max);
	*out = v;
	return 0;
}

static int parse_listen(const char *text, struct options *opt)
{
	const char *host = text, *port, *rb;
	size_t len;

	if (text[0] == '[') {
		rb = strchr(text, ']');
		if (rb == NULL || rb[1] != ':')
			return errf("invalid value '%s' for --listen (expected [HOST]:PORT)", text);
		host = text + 1;
		len = (size_t)(rb - host);
		port = rb + 2;
	} else {
		port = strrchr(text, ':');
		if (port == NULL)
			return errf("invalid value '%s' for --listen (expected HOST:PORT)", text);
		len = (size_t)(port - text);
		port++;
		if (memchr(text, ':', len) != NULL)
			return errf("invalid value '%s' for --listen (IPv6 needs brackets)", text);
	}
	if (len == 0 || len >= sizeof(opt->host))
		return errf("invalid value '%s' for --listen (bad host)", text);
	memcpy(opt->host, host, len);
	opt->host[len] = '\0';
	return parse_num("listen", port, 0, 65535, &opt->port);
}

/* CODE or CODExN */
static int parse_interim(const char *arg, struct options *opt)
{
	char code[8];
	const char *x = strchr(arg, 'x');
	size_t n = x != NULL ? (size_t)(x - arg) : strlen(arg);

	if (n == 0 || n >= sizeof(code))
		return errf("invalid value '%s' for --interim (want CODE or CODExN)", arg);
	memcpy(code, arg, n);
	code[n] = '\0';
	opt->interim_count = 1;
	if (parse_num("interim", code, 100, 199, &opt->interim_code) != 0)
		return -1;
	return x != NULL ? parse_num("interim", x + 1, 1, 100000, &opt->interim_count) : 0;
}

static int apply_option(int c, const char *arg, struct options *opt)
{
	switch (c) {
	case OPT_LISTEN: return parse_listen(arg, opt);
	case OPT_PORT_FILE: opt->port_file = arg; return 0;
	case OPT_DIR: opt->dir = arg; return 0;
	case OPT_STATUS: return parse_num("status", arg, 200, 599, &opt->status);
	case OPT_FAIL: return parse_num("fail", arg, 0, LONG_MAX, &opt->fail);
	case OPT_FAIL_STATUS: return parse_num("fail-status", arg, 200, 599, &opt->fail_status);
	case OPT_RESET: return parse_num("reset", arg, 0, LONG_MAX, &opt->reset);
	case OPT_RETRY_AFTER: return parse_num("retry-after", arg, 0, INT_MAX, &opt->retry_after);
	case OPT_DELAY_MS: return parse_num("delay-ms", arg, 0, 3600000L, &opt->delay_ms);
	case OPT_RTT_MS: return parse_num("rtt-ms", arg, 0, 60000L, &opt->rtt_ms);
	case OPT_STATS_FILE: opt->stats_file = arg; return 0;
	case OPT_CLOSE: opt->close_conn = 1; return 0;
	case OPT_TLS_CERT: opt->tls_cert = arg; return 0;
	case OPT_TLS_KEY: opt->tls_key = arg; return 0;
	case OPT_MAX_BODY: return parse_num("max-body", arg, 0, 1L << 40, &opt->max_body);
	case OPT_QUIET: opt->quiet = 1; return 0;
	case OPT_INTERIM: return parse_interim(arg, opt);
	case OPT_ECHO: opt->echo = 1; return 0;
	default: return -1;
	}
}

/* Returns 0 to run, 1 after --help, -1 on a bad command line. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	int c;

	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, ":", long_options, NULL);
		if (c == -1)
			break;
		if (c == OPT_HELP) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == ':')
			return errf("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			return errf("unknown option '%s'", argv[optind - 1]);
		if (apply_option(c, optarg, opt) != 0)
			return -1;
	}
	if (optind < argc)
		return errf("unexpected argument '%s'", argv[optind]);
	if ((opt->tls_cert == NULL) != (opt->tls_key == NULL))
		return errf("options '--tls-cert' and '--tls-key' go together");
	return 0;
}

static int hex_value(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = strchr(digits, tolower((unsigned char)c));

	return (c != '\0' && p != NULL) ? (int)(p - digits) : -1;
}

/* URL-decodes s[0..n) ('+' is a space) into out, truncating to outsz - 1 bytes;
 * control bytes become '?' so a value cannot break the one-line log format. */
static void url_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i = 0, o = 0;

	while (i < n && o + 1 < outsz) {
		char c = s[i++];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 <= n && hex_value(s[i]) >= 0 && hex_value(s[i + 1]) >= 0) {
			c = (char)(hex_value(s[i]) * 16 + hex_value(s[i + 1]));
			i += 2;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		out[o++] = c;
	}
	out[o] = '\0';
}

/* Finds the first query parameter named key; returns 1 and its decoded value, or 0. */
static int query_param(const char *query, const char *key, char *out, size_t outsz)
{
	char name[64];

	while (query != NULL && *query != '\0') {
		const char *end = strchr(query, '&');
		size_t len = end ? (size_t)(end - query) : strlen(query);
		const char *eq = memchr(query, '=', len);
		size_t klen = eq ? (size_t)(eq - query) : len;

		url_decode(query, klen, name, sizeof(name));
		if (strcmp(name, key) == 0) {
			url_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, out, outsz);
			return 1;
		}
		query = end ? end + 1 : NULL;
	}
	return 0;
}

/* Copies the request path without query into out, control bytes as '?'. */
static void request_path(struct evhttp_request *req, char *out, size_t outsz)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t i, len;

	if (path == NULL)
		path = "";
	len = strcspn(path, "?#");
	if (len >= outsz)
		len = outsz - 1;
	for (i = 0; i < len; i++)
		out[i] = ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) ? '?' : path[i];
	out[len] = '\0';
}

static const char *request_ctype(struct evhttp_request *req)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
}

/* Moves buf (drained as it goes) into tmp, then renames tmp to path, so readers
 * see all or nothing. */
static int write_file_atomic(const char *tmp, const char *path, struct evbuffer *buf)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return errf("cannot create %s: %s", tmp, strerror(errno));
	while (rc == 0 && evbuffer_get_length(buf) > 0) {
		if (evbuffer_write(buf, fd) < 0)
			rc = -1;
	}
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc == 0)
		return 0;
	errf("cannot write %s: %s", path, strerror(errno));
	if (unlink(tmp) != 0 && errno != ENOENT)
		errf("cannot remove %s: %s", tmp, strerror(errno));
	return -1;
}

/* Stores buf as DIR/req-NNN.EXT by way of the hidden DIR/.req-NNN.EXT.tmp. */
static int store_file(const char *dir, unsigned long n, const char *ext, struct evbuffer *buf)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int a = snprintf(path, sizeof(path), "%s/req-%03lu.%s", dir, n, ext);
	int b = snprintf(tmp, sizeof(tmp), "%s/.req-%03lu.%s.tmp", dir, n, ext);

	if (a < 0 || (size_t)a >= sizeof(path) || b < 0 || (size_t)b >= sizeof(tmp))
		return errf("path too long under %s", dir);
	return write_file_atomic(tmp, path, buf);
}

/* DIR/req-NNN.head: "METHOD URI" then each header as received. */
static int store_head(const char *dir, unsigned long n, struct evhttp_request *req)
{
	struct evbuffer *head = evbuffer_new();
	const struct evkeyval *h;
	int rc;

	if (head == NULL)
		return errf("out of memory");
	rc = evbuffer_add_printf(head, "%s %s\n", relay_req_method_name(evhttp_request_get_command(req)),
	    evhttp_request_get_uri(req)) < 0 ? -1 : 0;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
		if (rc == 0 && evbuffer_add_printf(head, "%s: %s\n", h->key, h->value) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = store_file(dir, n, "head", head);
	else
		errf("out of memory");
	evbuffer_free(head);
	return rc;
}

static void log_request(unsigned long n, struct evhttp_request *req, size_t bytes,
    const struct answer *ans)
{
	const char *ctype = request_ctype(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *f = "folded";
	char path[1024], app[SINK_FIELD_MAX], format[SINK_FIELD_MAX];

	request_path(req, path, sizeof(path));
	if (query_param(query, "name", app, sizeof(app)))
		app[strcspn(app, "{")] = '\0';
	else
		memcpy(app, "-", sizeof("-"));
	if (ans->push)
		f = "push";
	else if (ctype != NULL && strncasecmp(ctype, "multipart/form-data", 19) == 0)
		f = "multipart";
	if (!query_param(query, "format", format, sizeof(format)))
		memcpy(format, f, strlen(f) + 1);
	printf("sink: #%lu %s %s app=%s format=%s bytes=%zu status=%d\n", n,
	    relay_req_method_name(evhttp_request_get_command(req)), path, app, format,
	    bytes, ans->status);
	if (fflush(stdout) != 0)
		clearerr(stdout);
}

/* The Connect error code Pyroscope would use for an HTTP status. */
static const char *connect_code(int status)
{
	switch (status) {
	case 400: return "invalid_argument";
	case 401: return "unauthenticated";
	case 403: return "permission_denied";
	case 404: return "unimplemented";
	case 413: return "resource_exhausted";
	case 429: case 502: case 503: case 504: return "unavailable";
	default: return status >= 500 ? "internal" : "unknown";
	}
}

static void add_header(struct evkeyvalq *headers, const char *name, const char *value)
{
	if (evhttp_add_header(headers, name, value) != 0)
		errf("cannot add header %s", name);
}

/* Fills the answer body (body may be NULL); returns its Content-Type. */
static const char *answer_body(struct evhttp_request *req, const struct answer *ans,
    struct evbuffer *body)
{
	const char *ctype = "text/plain";
	int rc = 0;

	if (ans->status == 200 && ans->push) {
		ctype = request_ctype(req);
		if (ctype == NULL)
			ctype = "application/proto";
		if (body != NULL && strcasestr(ctype, "json") != NULL)
			rc = evbuffer_add(body, "{}", 2);
	} else if ((ans->status < 200 || ans->status >= 300) && ans->echo && body != NULL) {
		const struct evkeyval *h;

		rc = evbuffer_add_printf(body, "%s %s\n", relay_req_method_name(evhttp_request_get_command(req)),
		    evhttp_request_get_uri(req)) < 0;
		TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
			if (evbuffer_add_printf(body, "%s: %s\n", h->key, h->value) < 0)
				rc = -1;
	} else if (ans->status < 200 || ans->status >= 300) {
		ctype = "application/json";
		if (body != NULL && evbuffer_add_printf(body, "{\"code\":\"%s\",\"message\":\"%s\"}",
		    connect_code(ans->status), "sink: injected failure") < 0)
			rc = -1;
	}
	if (rc != 0)
		errf("cannot build the answer body");
	return ctype;
}

static void send_answer(const struct sink *s, struct evhttp_request *req, const struct answer *ans)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	char num[32];
	int len;

	if (body == NULL)
		errf("out of memory, answering without a body");
	add_header(out, "Content-Type", answer_body(req, ans, body));
	if (ans->failing && s->opt.retry_after >= 0) {
		len = snprintf(num, sizeof(num), "%ld", s->opt.retry_after);
		if (len > 0 && (size_t)len < sizeof(num))
			add_header(out, "Retry-After", num);
	}
	if (s->opt.close_conn)
		add_header(out, "Connection", "close");
	/* Interim answers go straight to the connection, ahead of the final one. */
	for (long i = 0; i < s->opt.interim_count && s->opt.interim_code > 0; i++)
		evbuffer_add_printf(bufferevent_get_output(evhttp_connection_get_bufferevent(
		    evhttp_request_get_connection(req))), "HTTP/1.1 %ld Interim\r\nLink: </x.css>; rel=preload\r\n\r\n",
		    s->opt.interim_code);
	/* libevent 2.1 has no phrase for 429; NULL lets it pick one for the others. */
	evhttp_send_reply(req, ans->status, ans->status == 429 ? "Too Many Requests" : NULL, body);
	if (body != NULL)
		evbuffer_free(body);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&p->sink->pending, p, link);
	/* If the client left, libevent kept the request for us and frees it here. */
	send_answer(p->sink, p->req, &p->ans);
	event_free(p->timer);
	free(p);
}

static void answer_later(struct sink *s, struct evhttp_request *req, const struct answer *ans,
    long delay_ms)
{
	struct pending *p = calloc(1, sizeof(*p));
	struct timeval tv;

	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	if (p != NULL)
		p->timer = evtimer_new(s->base, on_delay, p);
	if (p == NULL || p->timer == NULL || evtimer_add(p->timer, &tv) != 0) {
		errf("cannot delay the answer, answering now");
		if (p != NULL && p->timer != NULL)
			event_free(p->timer);
		free(p);
		send_answer(s, req, ans);
		return;
	}
	p->sink = s;
	p->req = req;
	p->ans = *ans;
	TAILQ_INSERT_TAIL(&s->pending, p, link);
}

/* Deferred out of the request callback: a connection is not freed inside its own callbacks. */
static void reset_connection(evutil_socket_t fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	evutil_socket_t sock = bev != NULL ? bufferevent_getfd(bev) : -1;

	(void)fd;
	(void)what;
	if (sock >= 0)
		(void)setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	evhttp_connection_free(evcon);	/* frees the unanswered request too; RST on close */
}

/* DIR/req-NNN.time, once the answer is written out. */
static void on_answered(struct evhttp_request *req, void *arg)
{
	struct timing *t = arg;
	struct evbuffer *buf = evbuffer_new();

	(void)req;
	TAILQ_REMOVE(&t->sink->timings, t, link);
	if (buf == NULL || evbuffer_add_printf(buf, "first_byte_ms %.3f\nreceived_ms %.3f\n"
	    "answered_ms %.3f\nconn %lu\n", t->first_byte, t->received, sconn_now_ms(),
	    t->conn) < 0)
		errf("out of memory, no time file for request %lu", t->n);
	else
		(void)store_file(t->sink->opt.dir, t->n, "time", buf);
	if (buf != NULL)
		evbuffer_free(buf);
	free(t);
}

/* Starts timing req (numbered n) for its .time file; the answer's delay for --rtt-ms. */
static long time_request(struct sink *s, struct evhttp_request *req, unsigned long n)
{
	struct sink_conn *c = s->conns != NULL ? sconns_of_request(s->conns, req) : NULL;
	struct timing *t;
	long delay = s->opt.delay_ms;

	if (c != NULL && s->opt.rtt_ms > 0)
		delay += s->opt.rtt_ms * (1 + sconn_setup_round_trips(c));
	else if (s->opt.rtt_ms > 0)
		delay += s->opt.rtt_ms;
	if (s->opt.dir == NULL)
		return delay;
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		errf("out of memory, no time file for request %lu", n);
		return delay;
	}
	t->sink = s;
	t->n = n;
	t->conn = c != NULL ? sconn_id(c) : 0;
	t->first_byte = c != NULL ? sconn_take_first_byte(c) : 0;
	t->received = sconn_now_ms();
	TAILQ_INSERT_TAIL(&s->timings, t, link);
	evhttp_request_set_on_complete_cb(req, on_answered, t);
	return delay;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sink *s = arg;
	unsigned long n = ++s->count;
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t bytes = evbuffer_get_length(body);
	char path[1024];
	size_t len;
	struct answer ans;
	long delay = time_request(s, req, n);

	request_path(req, path, sizeof(path));
	len = strlen(path);
	ans.push = len >= 5 && strcmp(path + len - 5, "/Push") == 0;
	ans.failing = n <= (unsigned long)s->opt.fail;
	ans.echo = s->opt.echo;
	ans.status = (int)(ans.failing ? s->opt.fail_status : s->opt.status);
	if (s->opt.status < 200 || s->opt.status >= 300)
		ans.failing = 1;
	if (n <= (unsigned long)s->opt.reset)
		ans.status = 0;
	/* .body first (this drains the body), .head last: a reader waiting for .head
	 * sees everything. */
	if (s->opt.dir != NULL)
		(void)store_file(s->opt.dir, n, "body", body);
	if (!s->opt.quiet)
		log_request(n, req, bytes, &ans);
	if (s->opt.dir != NULL)
		(void)store_head(s->opt.dir, n, req);
	if (n <= (unsigned long)s->opt.reset) {
		if (event_base_once(s->base, -1, EV_TIMEOUT, reset_connection,
		    evhttp_request_get_connection(req), NULL) < 0)
			send_answer(s, req, &ans);
		return;
	}
	if (delay > 0)
		answer_later(s, req, &ans, delay);
	else
		send_answer(s, req, &ans);
}

static int tls_error(const char *what, const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	return errf("%s %s: %s", what, file, buf);
}

static int setup_tls(struct sink *s)
{
	s->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (s->ssl_ctx == NULL)
		return tls_error("cannot create the TLS context", "");
	if (SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION) != 1)
		return tls_error("cannot set the TLS minimum version", "");
	if (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, s->opt.tls_cert) != 1)
		return tls_error("cannot load certificate", s->opt.tls_cert);
	if (SSL_CTX_use_PrivateKey_file(s->ssl_ctx, s->opt.tls_key, SSL_FILETYPE_PEM) != 1)
		return tls_error("cannot load private key", s->opt.tls_key);
	if (SSL_CTX_check_private_key(s->ssl_ctx) != 1)
		return tls_error("private key does not match", s->opt.tls_cert);
	return 0;
}

/* mkdir -p DIR */
static int make_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir), i;

	if (len == 0 || len >= sizeof(path))
		return errf("invalid value '%s' for --dir", dir);
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return errf("cannot create %s: %s", path, strerror(errno));
		path[i] = dir[i];
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return errf("invalid value '%s' for --dir (not a directory)", dir);
	return 0;
}

static int write_port_file(const char *file, const char *port)
{
	char tmp[PATH_MAX];
	struct evbuffer *buf;
	int len = snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	int rc;

	if (len < 0 || (size_t)len >= sizeof(tmp))
		return errf("invalid value '%s' for --port-file", file);
	buf = evbuffer_new();
	if (buf == NULL)
		return errf("out of memory");
	if (evbuffer_add_printf(buf, "%s\n", port) > 0)
		rc = write_file_atomic(tmp, file, buf);
	else
		rc = errf("out of memory");
	evbuffer_free(buf);
	return rc;
}

static int bind_listener(struct sink *s)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int rc;

	bound = evhttp_bind_socket_with_handle(s->http, s->opt.host, (ev_uint16_t)s->opt.port);
	if (bound == NULL)
		return errf("cannot listen on %s port %ld: %s", s->opt.host, s->opt.port,
		    strerror(errno));
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sslen) != 0)
		return errf("getsockname: %s", strerror(errno));
	rc = getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	if (rc != 0)
		return errf("getnameinfo: %s", gai_strerror(rc));
	if (s->opt.port_file != NULL && write_port_file(s->opt.port_file, port) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		errf("listening on [%s]:%s", host, port);
	else
		errf("listening on %s:%s", host, port);
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sink *s = arg;

	(void)what;
	errf("signal %d, stopping", (int)sig);
	if (event_base_loopbreak(s->base) != 0)
		errf("cannot stop the event loop");
}

static int setup_signals(struct sink *s)
{
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return errf("cannot ignore SIGPIPE: %s", strerror(errno));
	s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
	s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
	if (s->sigint == NULL || s->sigterm == NULL ||
	    evsignal_add(s->sigint, NULL) != 0 || evsignal_add(s->sigterm, NULL) != 0)
		return errf("cannot install the signal handlers");
	return 0;
}

static int sink_start(struct sink *s)
{
	if (s->opt.dir != NULL && make_dir(s->opt.dir) != 0)
		return -1;
	s->base = event_base_new();
	if (s->base == NULL)
		return errf("cannot create the event base");
	if (setup_signals(s) != 0)
		return -1;
	s->http = evhttp_new(s->base);
	if (s->http == NULL)
		return errf("cannot create the HTTP server");
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)s->opt.max_body);
	evhttp_set_max_headers_size(s->http, SINK_MAX_HEADERS);
	evhttp_set_gencb(s->http, on_request, s);
	if (s->opt.tls_cert != NULL && setup_tls(s) != 0)
		return -1;
	/* Every connection through the observer: first bytes, wire bytes, handshakes. */
	s->conns = sconns_new(s->ssl_ctx, s->opt.stats_file, s->opt.quiet);
	if (s->conns == NULL)
		return errf("out of memory");
	evhttp_set_bevcb(s->http, sconns_make_bev, s->conns);
	return bind_listener(s);
}

static void sink_free(struct sink *s)
{
	struct pending *p;

	while (!TAILQ_EMPTY(&s->pending)) {
		p = TAILQ_FIRST(&s->pending);
		TAILQ_REMOVE(&s->pending, p, link);
		event_free(p->timer);
		/* A request whose client left is ours; the others go with their connection. */
		if (evhttp_request_get_connection(p->req) == NULL)
			evhttp_request_free(p->req);
		free(p);
	}
	if (s->http != NULL)
		evhttp_free(s->http);
	/* Answers never written (the client left): their timing records. */
	while (!TAILQ_EMPTY(&s->timings)) {
		struct timing *t = TAILQ_FIRST(&s->timings);
		TAILQ_REMOVE(&s->timings, t, link);
		free(t);
	}
	sconns_free(s->conns);
	if (s->ssl_ctx != NULL)
		SSL_CTX_free(s->ssl_ctx);
	if (s->sigint != NULL)
		event_free(s->sigint);
	if (s->sigterm != NULL)
		event_free(s->sigterm);
	if (s->base != NULL)
		event_base_free(s->base);
	libevent_global_shutdown();
}

int main(int argc, char **argv)
{
	struct sink s = { .opt = { .host = "127.0.0.1", .port = 4041, .status = 200,
		.fail_status = 503, .retry_after = -1, .max_body = 64L * 1024L * 1024L } };
	int rc;

	TAILQ_INIT(&s.pending);
	TAILQ_INIT(&s.timings);
	rc = parse_args(argc, argv, &s.opt);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	rc = 1;
	if (sink_start(&s) == 0) {
		if (event_base_dispatch(s.base) >= 0)
			rc = 0;
		else
			errf("the event loop failed");
	}
	sink_free(&s);
	return rc;
}
