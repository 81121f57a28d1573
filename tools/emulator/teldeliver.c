/* teldeliver.c -- one Telemetry API subscriber: buffering, batched POSTs, retry with backoff. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "teldeliver.h"
#include "util.h"

#define RETRY_FIRST_MS	100
#define RETRY_MAX_MS	2000
#define RETRY_ATTEMPTS	8	/* then the batch is dropped (counted) */

struct trec {
	struct trec	*next;
	double		 at;		/* monotonic ms it was buffered */
	size_t		 len;
	char		 text[];
};

struct tel_sub {
	struct event_base *base;		/* borrowed */
	char		*host;			/* owned: Host header value */
	char		*path;			/* owned */
	int		 port;
	long		 max_items, max_bytes, timeout_ms, io_timeout_ms;

	struct trec	*head, *tail;		/* owned FIFO */
	size_t		 nq, qbytes;

	struct evhttp_connection *conn;		/* owned */
	struct evhttp_request *inflight;	/* owned by conn while set */
	char		*batch;			/* owned: the batch being delivered */
	size_t		 batch_len, batch_items;
	int		 attempts;
	struct event	*flush_timer;		/* buffering timeoutMs */
	struct event	*retry_timer;		/* backoff */
	int		 paused;
	int		 due;			/* a flush or retry came due while paused */
	int		 stopped;

	struct tel_sub_stats st;
};

static void post_batch(struct tel_sub *s);
static void maybe_flush(struct tel_sub *s);

static void
arm(struct event *ev, double ms)
{
	struct timeval tv;
	long long us;

	if (ms < 0)
		ms = 0;
	us = (long long)(ms * 1000.0);
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	if (event_add(ev, &tv) != 0)
		emu_warnx("cannot arm a telemetry timer");
}

static void
drop_batch(struct tel_sub *s)
{
	s->st.dropped += s->batch_items;
	free(s->batch);
	s->batch = NULL;
	s->batch_len = s->batch_items = 0;
	s->attempts = 0;
}

static void
on_failure(struct tel_sub *s, int code)
{
	long backoff;

	s->st.failures++;
	s->attempts++;
	if (s->attempts >= RETRY_ATTEMPTS) {
		emu_warnx("telemetry: giving up on %zu records for 127.0.0.1:%d%s after %d attempts "
		    "(last status %d)", s->batch_items, s->port, s->path, s->attempts, code);
		drop_batch(s);
		maybe_flush(s);
		return;
	}
	backoff = RETRY_FIRST_MS << (s->attempts - 1);
	if (backoff > RETRY_MAX_MS)
		backoff = RETRY_MAX_MS;
	arm(s->retry_timer, (double)backoff);
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct tel_sub *s = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	s->inflight = NULL;
	if (code >= 200 && code < 300) {
		s->st.batches++;
		s->st.records += s->batch_items;
		free(s->batch);
		s->batch = NULL;
		s->batch_len = s->batch_items = 0;
		s->attempts = 0;
		maybe_flush(s);
		return;
	}
	on_failure(s, code);
}

static void
post_batch(struct tel_sub *s)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;

	if (s->conn == NULL) {
		s->conn = evhttp_connection_base_new(s->base, NULL, "127.0.0.1", (ev_uint16_t)s->port);
		if (s->conn == NULL) {
			on_failure(s, 0);
			return;
		}
		evhttp_connection_set_retries(s->conn, 0);
	}
	{
		struct timeval tv = { s->io_timeout_ms / 1000, (s->io_timeout_ms % 1000) * 1000 };
		evhttp_connection_set_timeout_tv(s->conn, &tv);
	}
	req = evhttp_request_new(on_done, s);
	if (req == NULL) {
		on_failure(s, 0);
		return;
	}
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", s->host) != 0 ||
	    evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), s->batch, s->batch_len) != 0) {
		evhttp_request_free(req);
		on_failure(s, 0);
		return;
	}
	s->inflight = req;
	if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, s->path) != 0) {
		/* The connection freed req; report unless on_done already ran. */
		if (s->inflight == req) {
			s->inflight = NULL;
			on_failure(s, 0);
		}
	}
}

/* Moves up to maxItems records / maxBytes (at least one) into a JSON array. */
static int
build_batch(struct tel_sub *s)
{
	size_t total = 2, n = 0, o = 0;
	struct trec *r;
	char *buf;

	for (r = s->head; r != NULL && (long)n < s->max_items; r = r->next) {
		if (n > 0 && (long)(total + r->len + 1) > s->max_bytes)
			break;
		total += r->len + (n > 0 ? 1 : 0);
		n++;
	}
	buf = malloc(total + 1);
	if (buf == NULL)
		return -1;
	buf[o++] = '[';
	while (n-- > 0) {
		r = s->head;
		if (o > 1)
			buf[o++] = ',';
		memcpy(buf + o, r->text, r->len);
		o += r->len;
		s->head = r->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->nq--;
		s->qbytes -= r->len;
		s->batch_items++;
		free(r);
	}
	buf[o++] = ']';
	buf[o] = '\0';
	s->batch = buf;
	s->batch_len = o;
	s->attempts = 0;
	return 0;
}

/*
 * The flush timer only wakes this up: libevent counts a timeout from the
 * loop's cached time, which may be behind the clock, so it can fire early;
 * what is sent is decided here, from the clock.
 */
static void
maybe_flush(struct tel_sub *s)
{
	if (s->stopped || s->inflight != NULL || s->batch != NULL || s->head == NULL)
		return;
	/* Lambda's buffering: out timeoutMs after the oldest record was buffered, or when full. */
	if ((long)s->nq < s->max_items && (long)s->qbytes < s->max_bytes &&
	    emu_mono_ms() < s->head->at + (double)s->timeout_ms) {
		if (!event_pending(s->flush_timer, EV_TIMEOUT, NULL))
			arm(s->flush_timer, s->head->at + (double)s->timeout_ms - emu_mono_ms());
		return;
	}
	/* Due while frozen: out right after the thaw (tsub_pause), not before it is due. */
	if (s->paused) {
		s->due = 1;
		return;
	}
	if (event_pending(s->flush_timer, EV_TIMEOUT, NULL))
		(void)event_del(s->flush_timer);
	if (build_batch(s) != 0) {
		emu_warnx("telemetry: out of memory building a batch");
		return;
	}
	post_batch(s);
}

static void
on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	maybe_flush(arg);
}

static void
on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tel_sub *s = arg;

	(void)fd;
	(void)what;
	if (s->batch == NULL || s->stopped)
		return;
	if (s->paused) {
		s->due = 1;
		return;
	}
	post_batch(s);
}

struct tel_sub *
tsub_new(struct event_base *base, const char *host, int port, const char *path, long max_items,
    long max_bytes, long timeout_ms, long io_timeout_ms)
{
	struct tel_sub *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->host = strdup(host);
	s->path = strdup(path);
	s->port = port;
	s->max_items = max_items;
	s->max_bytes = max_bytes;
	s->timeout_ms = timeout_ms;
	s->io_timeout_ms = io_timeout_ms;
	s->flush_timer = evtimer_new(base, on_flush_timer, s);
	s->retry_timer = evtimer_new(base, on_retry_timer, s);
	if (s->host == NULL || s->path == NULL || s->flush_timer == NULL || s->retry_timer == NULL) {
		tsub_free(s);
		return NULL;
	}
	return s;
}

void
tsub_stop(struct tel_sub *s)
{
	struct trec *r;

	if (s == NULL || s->stopped)
		return;
	s->stopped = 1;
	if (s->conn != NULL) {
		/* Frees an in-flight request without calling on_done. */
		evhttp_connection_free(s->conn);
		s->conn = NULL;
		s->inflight = NULL;
	}
	if (s->flush_timer != NULL)
		(void)event_del(s->flush_timer);
	if (s->retry_timer != NULL)
		(void)event_del(s->retry_timer);
	if (s->batch != NULL)
		drop_batch(s);
	while (s->head != NULL) {
		r = s->head;
		s->head = r->next;
		s->st.dropped++;
		free(r);
	}
	s->tail = NULL;
	s->nq = s->qbytes = 0;
}

void
tsub_free(struct tel_sub *s)
{
	if (s == NULL)
		return;
	tsub_stop(s);
	if (s->flush_timer != NULL)
		event_free(s->flush_timer);
	if (s->retry_timer != NULL)
		event_free(s->retry_timer);
	free(s->host);
	free(s->path);
	free(s);
}

void
tsub_push(struct tel_sub *s, const char *record, size_t len)
{
	struct trec *r;

	if (s->stopped)
		return;
	r = malloc(sizeof(*r) + len + 1);
	if (r == NULL) {
		s->st.dropped++;
		emu_warnx("telemetry: out of memory, record dropped");
		return;
	}
	r->next = NULL;
	r->at = emu_mono_ms();
	r->len = len;
	memcpy(r->text, record, len);
	r->text[len] = '\0';
	if (s->tail != NULL)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	s->nq++;
	s->qbytes += len;
	maybe_flush(s);
}

void
tsub_pause(struct tel_sub *s, int paused)
{
	int due;

	if (s->stopped)
		return;
	s->paused = paused;
	if (paused)
		return;
	due = s->due;
	s->due = 0;
	if (!due)
		return;
	/* What came due while frozen goes out right after the thaw. */
	if (s->batch != NULL && s->inflight == NULL) {
		if (event_pending(s->retry_timer, EV_TIMEOUT, NULL))
			(void)event_del(s->retry_timer);
		post_batch(s);
	} else {
		maybe_flush(s);
	}
}

void
tsub_get_stats(const struct tel_sub *s, struct tel_sub_stats *st)
{
	*st = s->st;
	st->queued = s->nq + s->batch_items;
}
