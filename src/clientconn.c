/* clientconn.c -- each SDK connection below evhttp: whole reads, strict framing, deadlines, its share of the limits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * How it sits under evhttp, with libevent's public API only:
 * - evhttp reads from a socket bufferevent we create (evhttp_set_bevcb); a
 *   callback on its input buffer (the tap) sees every byte as it is read,
 *   before evhttp's read callback parses it;
 * - the tap follows the framing (h1parse.c): a head is checked whole when
 *   its last byte arrives, a body is followed to its exact end. A request
 *   that breaks a rule never reaches evhttp whole: the tap empties the
 *   input, answers the client itself and frees the connection, from a
 *   callback of our own;
 * - the evhttp connection is found through the bufferevent's callback
 *   argument once evhttp has set it up (bufferevent_getcb), and its close
 *   callback tells us when the connection ends, whoever ends it. Until then
 *   a reference keeps the bufferevent alive for us.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "admission.h"
#include "clientconn.h"
#include "h1parse.h"
#include "ratelog.h"
#include "request.h"
#include "settings.h"
#include "tcp.h"

#define LIBEVENT_READ	4096		/* what one libevent read takes at most */
#define READ_MAX	(1 << 20)	/* one whole read of a body at most */
#define CHUNK_READ	(64 << 10)	/* one read while a chunked body streams */
#define LINE_MAX_LEN	64		/* a chunk-size line */
#define RATE_WINDOW_NS	(10LL * 1000 * 1000 * 1000)
#define LATE_NS		(1000LL * 1000 * 1000)	/* a timer this late ran after a freeze */
#define CLOSE_AFTER_NS	(5LL * 1000 * 1000 * 1000)	/* a refused client that does not read */
#define PIPELINE_MAX	16		/* requests framed ahead of evhttp */

struct clients {
	struct admission	*adm;		/* borrowed */
	uint64_t		 max_head;
	uint64_t		 max_body;
	uint64_t		 min_rate;
	int64_t			 head_timeout_ns;
	struct conn		**by_fd;	/* owned array: attached connections by socket */
	size_t			 nfd;
	struct ratelog		 refused_log;
};

enum cstate {
	C_HEAD,		/* a request head */
	C_LENGTH,	/* a Content-Length body */
	C_CHUNK_SIZE,	/* a chunk-size line */
	C_CHUNK_DATA,	/* chunk data */
	C_CHUNK_END,	/* the CRLF after chunk data */
	C_TRAILER,	/* trailer lines after the last chunk, up to the empty line */
	C_REFUSED	/* answered here; nothing more is looked at */
};

enum ctimer { T_NONE, T_ATTACH, T_HEAD, T_RATE, T_ANSWER, T_CLOSE };

struct conn {
	struct clients			*cl;		/* borrowed */
	struct bufferevent		*bev;		/* evhttp's; referenced by us until attached */
	struct evhttp_connection	*evcon;		/* borrowed, once attached */
	struct event			*timer;		/* owned */
	struct evbuffer_cb_entry	*tap;		/* on bev's input */
	struct admission_waiter		 waiter;
	int				 fd;
	enum cstate			 state;
	enum ctimer			 timer_kind;
	int64_t				 timer_due;	/* CLOCK_MONOTONIC ns */
	int64_t				 close_by;	/* a refused connection is freed by then */
	char				*head;		/* owned: the head being received */
	size_t				 head_len;
	size_t				 head_cap;
	char				 line[LINE_MAX_LEN + 2];	/* a chunk-size line, or the CRLF after data */
	size_t				 line_len;
	size_t				 trailer;	/* trailer bytes so far */
	uint64_t			 left;		/* body or chunk bytes to come */
	uint64_t			 body;		/* body bytes of this request so far */
	uint64_t			 reserved;	/* room reserved for this request's body */
	uint64_t			 msg;		/* bytes of this request so far */
	uint64_t			 window_bytes;	/* body bytes in the rate window */
	int64_t				 window_start;
	size_t				 fields[PIPELINE_MAX];	/* head fields of framed requests, oldest first */
	int				 nfields;
	int				 status;	/* the refusal */
	const char			*reason;
	bool				 in_tap;
	bool				 paused;	/* waiting for room: not reading */
};

static void conn_end(struct conn *c);

static void
arm(struct conn *c, enum ctimer kind, int64_t ns)
{
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000), .tv_usec = (suseconds_t)(ns % 1000000000 / 1000) };

	c->timer_kind = kind;
	c->timer_due = relay_now_ns() + ns;
	evtimer_add(c->timer, &tv);
}

static void
disarm(struct conn *c)
{
	c->timer_kind = T_NONE;
	evtimer_del(c->timer);
}

/* Run the timer's callback from the loop at once, as `kind`. */
static void
soon(struct conn *c, enum ctimer kind)
{
	evtimer_del(c->timer);
	c->timer_kind = kind;
	event_active(c->timer, EV_TIMEOUT, 0);
}

/* The request's room goes back (it is complete, or the connection is gone). */
static void
unreserve(struct conn *c)
{
	if (c->waiter.waiting)
		admission_cancel(c->cl->adm, &c->waiter);
	else if (c->reserved > 0)
		admission_unreserve(c->cl->adm, c->reserved);
	c->reserved = 0;
}

/* Refuse: nothing more is looked at; the answer and the close come from the loop. */
static void
refuse(struct conn *c, int status, const char *reason)
{
	if (c->state == C_REFUSED)
		return;
	c->state = C_REFUSED;
	c->status = status;
	c->reason = reason;
	unreserve(c);
	bufferevent_disable(c->bev, EV_READ);
	soon(c, T_ANSWER);
}

static void
message_done(struct conn *c)
{
	unreserve(c);
	c->msg = 0;
	c->body = 0;
	c->head_len = 0;
	c->state = C_HEAD;
	disarm(c);
}

/*
 * A body starts: beyond the connection's own share, its room is reserved
 * first (all of a declared length; for a chunked body the largest allowed).
 * Without room yet, the connection stops reading until it is granted.
 */
static void
body_starts(struct conn *c, size_t head_len, uint64_t body)
{
	uint64_t total = head_len + body;

	c->window_bytes = 0;
	c->window_start = relay_now_ns();
	arm(c, T_RATE, RATE_WINDOW_NS);
	if (total <= ADMISSION_OWN_SHARE)
		return;
	c->reserved = total - ADMISSION_OWN_SHARE;
	if (!admission_reserve(c->cl->adm, &c->waiter, c->reserved)) {
		c->paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* The head is whole in c->head[0..len): check it, and follow its body. */
static void
head_done(struct conn *c, size_t len)
{
	struct h1_head h;
	const char *reason;
	int status = h1_parse_head(c->head, len, &h, &reason);

	if (status != 0) {
		refuse(c, status, reason);
		return;
	}
	if (h.has_length && h.length > c->cl->max_body) {
		refuse(c, 413, "body larger than PYROSCOPE_MAX_BODY_SIZE");
		return;
	}
	if (c->nfields == PIPELINE_MAX) {
		refuse(c, 400, "too many requests sent ahead of their answers");
		return;
	}
	c->fields[c->nfields++] = h.nfields;
	if (h.chunked) {
		c->state = C_CHUNK_SIZE;
		c->line_len = 0;
		body_starts(c, len, c->cl->max_body);
	} else if (h.length > 0) {
		c->state = C_LENGTH;
		c->left = h.length;
		body_starts(c, len, h.length);
	} else {
		message_done(c);
	}
}

/* Append to c->head (the head, or a trailer line, being received). -ENOMEM after refusing. */
static int
append(struct conn *c, const char *p, size_t n)
{
	if (c->head_len + n > c->head_cap) {
		size_t cap = c->head_cap ? c->head_cap : 1024;
		char *grown;

		while (cap < c->head_len + n)
			cap *= 2;
		if ((grown = realloc(c->head, cap)) == NULL) {
			refuse(c, 500, "out of memory");
			return -ENOMEM;
		}
		c->head = grown;
		c->head_cap = cap;
	}
	memcpy(c->head + c->head_len, p, n);
	c->head_len += n;
	return 0;
}

/* Head bytes: kept until the empty line that ends the head. Returns the bytes of p used. */
static size_t
feed_head(struct conn *c, const char *p, size_t n)
{
	size_t before = c->head_len, from = before > 3 ? before - 3 : 0, take = n, len;
	const char *end;

	if (before == 0 && c->timer_kind != T_HEAD)
		arm(c, T_HEAD, c->cl->head_timeout_ns);
	if (before + take > c->cl->max_head)
		take = c->cl->max_head - before;
	if (append(c, p, take) < 0)
		return n;
	end = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
	if (end == NULL) {
		if (c->head_len >= c->cl->max_head)
			refuse(c, 400, "request head larger than PYROSCOPE_MAX_HEADER_SIZE");
		return take;
	}
	len = (size_t)(end + 4 - c->head);
	head_done(c, len);
	c->head_len = 0;
	return len - before;	/* the rest belongs to the body or the next request */
}

/* Bytes up to and with CRLF into c->line; true once the line is whole (without its CRLF in line_len). */
static bool
feed_line(struct conn *c, const char *p, size_t n, size_t max, size_t *used)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->line_len == max + 2) {
			*used = i;
			return false;
		}
		c->line[c->line_len++] = p[i];
		if (c->line_len >= 2 && c->line[c->line_len - 2] == '\r' && c->line[c->line_len - 1] == '\n') {
			*used = i + 1;
			c->line_len -= 2;
			return true;
		}
	}
	*used = n;
	return false;
}

static size_t
feed_chunk_size(struct conn *c, const char *p, size_t n)
{
	size_t used;
	uint64_t size;

	if (!feed_line(c, p, n, LINE_MAX_LEN, &used)) {
		if (c->line_len > LINE_MAX_LEN)
			refuse(c, 400, "malformed chunk size");
		return used;
	}
	if (h1_parse_chunk_size(c->line, c->line_len, &size) < 0) {
		refuse(c, 400, "malformed chunk size");
		return used;
	}
	if (size > c->cl->max_body - c->body) {
		refuse(c, 413, "body larger than PYROSCOPE_MAX_BODY_SIZE");
		return used;
	}
	c->body += size;
	c->left = size;
	c->line_len = 0;
	c->trailer = 0;
	c->head_len = 0;
	c->state = size > 0 ? C_CHUNK_DATA : C_TRAILER;
	return used;
}

static size_t
feed_chunk_end(struct conn *c, const char *p, size_t n)
{
	size_t used = 0;

	while (used < n && c->line_len < 2)
		c->line[c->line_len++] = p[used++];
	if (c->line_len < 2)
		return used;
	if (c->line[0] != '\r' || c->line[1] != '\n') {
		refuse(c, 400, "chunk data not followed by CRLF");
		return used;
	}
	c->line_len = 0;
	c->state = C_CHUNK_SIZE;
	return used;
}

/* Trailer lines: each must be a valid field; they are not forwarded (see clients_head_fields). */
static size_t
feed_trailer(struct conn *c, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl != NULL ? (size_t)(nl - p) + 1 : n;

	if (c->trailer + take > c->cl->max_head) {
		refuse(c, 400, "trailer larger than PYROSCOPE_MAX_HEADER_SIZE");
		return n;
	}
	if (append(c, p, take) < 0)
		return n;
	c->trailer += take;
	if (nl == NULL)
		return take;
	if (c->head_len < 2 || c->head[c->head_len - 2] != '\r')
		refuse(c, 400, "a bare LF in the trailer");
	else if (c->head_len == 2)
		message_done(c);
	else if (!h1_field_line_valid(c->head, c->head_len - 2))
		refuse(c, 400, "a malformed trailer field");
	c->head_len = 0;
	return take;
}

static size_t
feed_body(struct conn *c, size_t n)
{
	if (n > c->left)
		n = (size_t)c->left;
	c->left -= n;
	c->window_bytes += n;
	if (c->state == C_LENGTH) {
		c->body += n;
		if (c->left == 0)
			message_done(c);
	} else if (c->left == 0) {
		c->state = C_CHUNK_END;
		c->line_len = 0;
	}
	return n;
}

/* Follow the framing over n new bytes. */
static void
feed(struct conn *c, const char *p, size_t n)
{
	while (n > 0 && c->state != C_REFUSED) {
		size_t used = 0;

		switch (c->state) {
		case C_HEAD:		used = feed_head(c, p, n); break;
		case C_LENGTH:
		case C_CHUNK_DATA:	used = feed_body(c, n); break;
		case C_CHUNK_SIZE:	used = feed_chunk_size(c, p, n); break;
		case C_CHUNK_END:	used = feed_chunk_end(c, p, n); break;
		case C_TRAILER:		used = feed_trailer(c, p, n); break;
		case C_REFUSED:		used = n; break;
		}
		c->msg += used;
		p += used;
		n -= used;
	}
}

/* The last n bytes of buf, piece by piece. */
static void
feed_tail(struct conn *c, struct evbuffer *buf, size_t n)
{
	struct evbuffer_ptr ptr;
	struct evbuffer_iovec v[8];
	size_t len = evbuffer_get_length(buf);
	int got;

	if (evbuffer_ptr_set(buf, &ptr, len - n, EVBUFFER_PTR_SET) < 0)
		return;
	while (n > 0 && c->state != C_REFUSED && (got = evbuffer_peek(buf, (ev_ssize_t)n, &ptr, v, 8)) > 0) {
		for (int i = 0; i < got && i < 8 && n > 0; i++) {
			size_t k = v[i].iov_len < n ? v[i].iov_len : n;

			feed(c, v[i].iov_base, k);
			n -= k;
			if (evbuffer_ptr_set(buf, &ptr, k, EVBUFFER_PTR_ADD) < 0)
				n = 0;
		}
	}
}

/*
 * libevent reads 4 KiB at a time: when it just did, the rest of a body is
 * most likely there, and is read in one system call (no more than the
 * body's end, and 1 MiB). Returns the bytes read.
 */
static size_t
read_whole(struct conn *c, struct evbuffer *buf)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	uint64_t want = c->state == C_LENGTH ? c->left : CHUNK_READ;
	int n;
	ssize_t r;

	if (want > READ_MAX)
		want = READ_MAX;
	if (c->fd < 0 || want == 0 || (n = evbuffer_reserve_space(buf, (ev_ssize_t)want, v, 2)) <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if (iov[0].iov_len >= want) {
		iov[0].iov_len = (size_t)want;
		n = 1;
	} else {
		iov[1].iov_len = (size_t)want - iov[0].iov_len;
	}
	r = readv(c->fd, iov, n);
	if (r < 0)
		r = 0;	/* EAGAIN; an error or EOF is libevent's to see on its next read */
	for (int i = 0; i < n; i++) {
		v[i].iov_len = (size_t)r < iov[i].iov_len ? (size_t)r : iov[i].iov_len;
		r -= (ssize_t)v[i].iov_len;
	}
	evbuffer_commit_space(buf, v, n);
	return v[0].iov_len + (n == 2 ? v[1].iov_len : 0);
}

static void
granted(struct admission_waiter *w)
{
	struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, waiter));

	c->paused = false;
	c->window_start = relay_now_ns();	/* waiting for room is not slowness */
	c->window_bytes = 0;
	bufferevent_enable(c->bev, EV_READ);
}

/* The tap: bytes were read into bev's input, evhttp has not seen them yet. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	size_t n = info->n_added;

	if (n == 0 || c->in_tap)
		return;
	c->in_tap = true;
	feed_tail(c, buf, n);
	while (n == LIBEVENT_READ && !c->paused && (c->state == C_LENGTH || c->state == C_CHUNK_DATA)) {
		n = read_whole(c, buf);
		feed_tail(c, buf, n);
	}
	if (c->state == C_REFUSED)
		evbuffer_drain(buf, evbuffer_get_length(buf));	/* evhttp never sees the rest */
	c->in_tap = false;
}

/* The refusal, whole, then the connection is freed (its close callback ends ours). */
static void
answer(struct conn *c)
{
	const char *phrase = h1_reason_phrase(c->status);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char msg[512];
	int len;

	ratelog_log(&c->cl->refused_log, LOG_WARNING, NULL, 0,
	    "Refused a client request: %s (answered %d, connection closed)", c->reason, c->status);
	len = snprintf(msg, sizeof(msg),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    c->status, phrase, strlen(c->reason) + 1, c->reason);
	if (len < 0 || (size_t)len >= sizeof(msg))
		len = 0;
	if (evbuffer_get_length(out) == 0 && c->fd >= 0) {
		/* Nothing of evhttp's waits to go out: one write, then the connection goes. */
		(void)send(c->fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
		evhttp_connection_free(c->evcon);
		return;
	}
	/* An answer of evhttp's is still going out: ours follows it, then the close. */
	evbuffer_add(out, msg, (size_t)len);
	bufferevent_enable(c->bev, EV_WRITE);
	c->close_by = relay_now_ns() + CLOSE_AFTER_NS;
	arm(c, T_CLOSE, 20 * 1000 * 1000);
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	conn_end(arg);
}

/* evhttp has set the connection up: find it, and learn when it ends. */
static void
attach(struct conn *c)
{
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *evcon = NULL;

	bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &evcon);
	if (evcon == NULL) {		/* evhttp already gave the connection up */
		conn_end(c);
		return;
	}
	c->evcon = evcon;
	c->fd = bufferevent_getfd(c->bev);
	if (c->fd >= 0 && (size_t)c->fd >= c->cl->nfd) {
		size_t n = c->cl->nfd ? c->cl->nfd : 64;
		struct conn **grown;

		while (n <= (size_t)c->fd)
			n *= 2;
		if ((grown = realloc(c->cl->by_fd, n * sizeof(*grown))) != NULL) {
			memset(grown + c->cl->nfd, 0, (n - c->cl->nfd) * sizeof(*grown));
			c->cl->by_fd = grown;
			c->cl->nfd = n;
		}
	}
	if (c->fd >= 0 && (size_t)c->fd < c->cl->nfd)
		c->cl->by_fd[c->fd] = c;
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	if (c->state != C_REFUSED && c->timer_kind == T_ATTACH)
		arm(c, T_HEAD, c->cl->head_timeout_ns);	/* a connection is opened to send a request */
	bufferevent_decref(c->bev);	/* the close callback is ours now */
}

static void
on_rate_check(struct conn *c, int64_t now)
{
	double secs = (double)(now - c->window_start) / 1e9;

	if (!c->paused && secs > 0 && (double)c->window_bytes < (double)c->cl->min_rate * secs) {
		refuse(c, 408, "request body slower than PYROSCOPE_BODY_MIN_RATE");
		return;
	}
	c->window_bytes = 0;
	c->window_start = now;
	arm(c, T_RATE, RATE_WINDOW_NS);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int64_t now = relay_now_ns();

	(void)fd;
	(void)what;
	/* Late by more than a second: the process was frozen (Lambda). That time was nobody's. */
	if ((c->timer_kind == T_HEAD || c->timer_kind == T_RATE) && now - c->timer_due > LATE_NS) {
		c->window_start = now;
		c->window_bytes = 0;
		arm(c, c->timer_kind, c->timer_kind == T_HEAD ? c->cl->head_timeout_ns : RATE_WINDOW_NS);
		return;
	}
	switch (c->timer_kind) {
	case T_ATTACH:
		attach(c);
		break;
	case T_HEAD:
		refuse(c, 408, "request head not complete within PYROSCOPE_HEADER_TIMEOUT");
		break;
	case T_RATE:
		on_rate_check(c, now);
		break;
	case T_ANSWER:
		if (c->evcon == NULL)
			attach(c);	/* refused before evhttp was set up: attach first */
		if (c->evcon != NULL)
			answer(c);
		break;
	case T_CLOSE:
		/* Once evhttp's answer and ours are out, or the client would not read them. */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 && now < c->close_by)
			arm(c, T_CLOSE, 20 * 1000 * 1000);
		else
			evhttp_connection_free(c->evcon);
		break;
	case T_NONE:
		break;
	}
}

/* The connection is gone (evhttp's close callback, or it never started). */
static void
conn_end(struct conn *c)
{
	if (c->tap != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->tap);
	if (c->evcon == NULL)
		bufferevent_decref(c->bev);
	if (c->fd >= 0 && (size_t)c->fd < c->cl->nfd && c->cl->by_fd[c->fd] == c)
		c->cl->by_fd[c->fd] = NULL;
	unreserve(c);
	admission_closed(c->cl->adm);
	event_free(c->timer);
	free(c->head);
	free(c);
}

struct bufferevent *
clients_bevcb(struct event_base *base, void *arg)
{
	struct clients *cl = arg;
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cl = cl;
	c->fd = -1;
	c->waiter.granted = granted;
	c->timer = evtimer_new(base, on_timer, c);
	c->bev = bufferevent_socket_new(base, -1, 0);	/* evhttp closes the socket */
	if (c->timer == NULL || c->bev == NULL ||
	    (c->tap = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c)) == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	tcp_tune_bufferevent(c->bev);
	bufferevent_incref(c->bev);	/* until attach(): evhttp may give it up before */
	admission_opened(cl->adm);
	soon(c, T_ATTACH);
	return c->bev;
}

size_t
clients_head_fields(struct clients *cl, struct bufferevent *bev)
{
	int fd = bufferevent_getfd(bev);
	struct conn *c = fd >= 0 && (size_t)fd < cl->nfd ? cl->by_fd[fd] : NULL;
	size_t n;

	if (c == NULL || c->bev != bev || c->nfields == 0)
		return SIZE_MAX;
	n = c->fields[0];
	memmove(c->fields, c->fields + 1, (size_t)(c->nfields - 1) * sizeof(c->fields[0]));
	c->nfields--;
	return n;
}

struct clients *
clients_new(const struct relay_settings *cfg, struct admission *adm)
{
	struct clients *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return NULL;
	cl->adm = adm;
	cl->max_head = cfg->max_header_bytes;
	cl->max_body = cfg->max_body_bytes;
	cl->min_rate = cfg->body_min_rate;
	cl->head_timeout_ns = cfg->header_timeout_ns;
	return cl;
}

void
clients_free(struct clients *cl)
{
	if (cl == NULL)
		return;
	free(cl->by_fd);
	free(cl);
}
