/* clientconn.c -- each SDK connection below evhttp: whole reads, strict framing, deadlines, its share of the limits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * How it sits under evhttp, with libevent's public API only:
 * - evhttp reads from a socket bufferevent we create (evhttp_set_bevcb); a
 *   callback on its input buffer (the tap) sees every byte as it is read,
 *   before evhttp's read callback parses it;
 * - the tap follows the framing (h1frame.c): a head is checked whole when
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
#include "h1frame.h"
#include "ratelog.h"
#include "request.h"
#include "settings.h"
#include "tcp.h"

#define LIBEVENT_READ	4096		/* what one libevent read takes at most */
#define READ_MAX	(1 << 20)	/* one whole read of a body at most */
#define CHUNK_READ	(64 << 10)	/* one read while a chunked body streams */
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

enum ctimer { T_NONE, T_ATTACH, T_HEAD, T_RATE, T_ANSWER, T_CLOSE };

struct conn {
	struct clients			*cl;		/* borrowed */
	struct bufferevent		*bev;		/* evhttp's; referenced by us until attached */
	struct evhttp_connection	*evcon;		/* borrowed, once attached */
	struct event			*timer;		/* owned */
	struct evbuffer_cb_entry	*tap;		/* on bev's input */
	struct admission_waiter		 waiter;
	int				 fd;
	struct h1frame			 frame;
	enum ctimer			 timer_kind;
	int64_t				 timer_due;	/* CLOCK_MONOTONIC ns */
	int64_t				 close_by;	/* a refused connection is freed by then */
	uint64_t			 reserved;	/* room reserved for this request's body */
	uint64_t			 window_bytes;	/* body bytes in the rate window */
	int64_t				 window_start;
	size_t				 fields[PIPELINE_MAX];	/* head fields of framed requests, oldest first */
	int				 nfields;
	int				 status;	/* the refusal */
	const char			*reason;
	bool				 refused;	/* answered here; nothing more is looked at */
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
	if (c->refused)
		return;
	c->refused = true;
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

/* A head is whole and valid: remember its fields for evhttp's turn, and follow its body. */
static void
head_done(struct conn *c)
{
	const struct h1frame *f = &c->frame;

	if (c->nfields == PIPELINE_MAX) {
		refuse(c, 400, "too many requests sent ahead of their answers");
		return;
	}
	c->fields[c->nfields++] = f->head.nfields;
	if (f->phase != H1F_HEAD)
		body_starts(c, f->head_size, f->head.chunked ? f->max_body : f->head.length);
}

static bool
in_body_data(const struct conn *c)
{
	return c->frame.phase == H1F_LENGTH || c->frame.phase == H1F_CHUNK_DATA;
}

/* Follow the framing over n new bytes. */
static void
feed(struct conn *c, const char *p, size_t n)
{
	while (n > 0 && !c->refused) {
		uint64_t body_before = c->frame.body_total;
		unsigned ev;
		size_t used;

		/* The head's time starts with its first byte. */
		if (c->frame.phase == H1F_HEAD && c->frame.len == 0 && c->timer_kind != T_HEAD)
			arm(c, T_HEAD, c->cl->head_timeout_ns);
		used = h1frame_feed(&c->frame, p, n, &ev);
		c->window_bytes += c->frame.body_total - body_before;
		p += used;
		n -= used;
		if (ev & H1F_REFUSE)
			refuse(c, c->frame.status, c->frame.reason);
		if (ev & H1F_HEAD_DONE)
			head_done(c);
		if ((ev & H1F_MSG_DONE) && !c->refused)
			message_done(c);
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
	while (n > 0 && !c->refused && (got = evbuffer_peek(buf, (ev_ssize_t)n, &ptr, v, 8)) > 0) {
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
	uint64_t want = c->frame.phase == H1F_LENGTH ? c->frame.left : CHUNK_READ;
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
	while (n == LIBEVENT_READ && !c->paused && !c->refused && in_body_data(c)) {
		n = read_whole(c, buf);
		feed_tail(c, buf, n);
	}
	if (c->refused)
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
	if (!c->refused && c->timer_kind == T_ATTACH)
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
	h1frame_clear(&c->frame);
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
	h1frame_init(&c->frame, cl->max_head, cl->max_body);
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
