/* upstream.c -- the forwarder: the queue, upload slots over kept-alive connections, retries. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * libevent rules this file lives by:
 * - after evhttp_make_request() the connection owns the outbound request; the
 *   done callback's request is freed by libevent when the callback returns;
 * - a connection is never freed inside one of its own callbacks: a slot whose
 *   connection failed is marked stale and replaced from the dispatch event;
 * - a TLS connection is never reconnected by evhttp (its SSL object cannot be
 *   reused), so any connection that closed is replaced, never revived;
 * - bodies go out by reference (evbuffer_add_buffer_reference): held once in
 *   memory, still there if the upload has to be tried again;
 * - evhttp takes any 1xx answer as final but 100, after which it reads on:
 *   interim answers are turned into a 100 in the head callback (the one use
 *   of evhttp_request's public struct).
 *
 * Retries: a failure without an answer on a connection that had already served
 * an upload (stale after a freeze or a remote idle timeout) is retried once at
 * once on a fresh connection; connection errors, timeouts, 408, 429 and 5xx
 * other than 501 are retried with exponential backoff and jitter (Retry-After
 * honoured) while attempts and age allow; other answers are final.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>	/* response_code: see on_response_head() */

#include "connector.h"
#include "ledger.h"
#include "log.h"
#include "proxy.h"
#include "queue.h"
#include "redact.h"
#include "ratelog.h"
#include "retry.h"
#include "tcp.h"
#include "upstream.h"

#define LOG_BODY_HEAD		256
#define LOG_BODY_SLACK		1024	/* read past what is shown, for secrets cut at the end */

struct slot {
	struct upstream			*up;		/* borrowed: owner */
	struct evhttp_connection	*conn;		/* owned; NULL until first used */
	struct relay_req		*rr;		/* owned while in flight, else NULL */
	struct evhttp_request		*req;		/* owned by conn while in flight */
	struct event			*timer;		/* owned: bounds the whole upload */
	int				 error;		/* evhttp_request_error + 1, or 0 */
	int				 head_status;	/* status of the answer's head, once read */
	bool				 stale;		/* replace conn before the next upload */
	bool				 reused;	/* conn has completed an upload before */
	bool				 nodelay;	/* TCP_NODELAY is set on conn's socket */
	int64_t				 idle_since;	/* CLOCK_MONOTONIC ns: conn's last answer (or its start) */
};

struct upstream {
	struct event_base		*base;		/* borrowed */
	const struct relay_settings	*cfg;		/* borrowed */
	struct ledger			*ledger;	/* borrowed: where every request ends */
	struct connector		*connector;	/* owned: new connections to the remote */
	struct event			*kick;		/* owned: deferred dispatch */
	struct event			*retry_timer;	/* owned: wakes dispatch for backoffs */
	struct relay_queue		 queue;		/* owns the queued requests */
	struct slot			*slots;		/* owned array */
	int				 nslots;
	int				 busy;
	struct timeval			 timeout;
	struct ratelog			 drops[RELAY_OUTCOME_COUNT];
	struct ratelog			 retry_log;
	bool				 paused;
	void				(*idle_cb)(void *);	/* one owner: the drain or the lifecycle */
	void				*idle_arg;
};

static void
update_gauges(struct upstream *up)
{
	ledger_gauges(up->ledger, (uint64_t)up->busy, up->queue.bytes);
}

static void __attribute__((format(printf, 4, 5)))
log_drop(struct upstream *up, enum relay_outcome why, const struct relay_req *rr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ratelog_vlog(&up->drops[why], LOG_ERROR, (&(struct log_field){ "path", rr->path }), 1, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
log_retry(struct upstream *up, const struct relay_req *rr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ratelog_vlog(&up->retry_log, LOG_WARNING, (&(struct log_field){ "path", rr->path }), 1, fmt, ap);
	va_end(ap);
}

/* A request leaves the forwarder (out of the queue or a slot): release its budget, hand it to the ledger. */
static void
finish(struct upstream *up, struct relay_req *rr, enum relay_outcome outcome)
{
	if (rr->cost > 0)
		queue_release(&up->queue, rr);
	update_gauges(up);	/* the counters and gauges add up at every moment */
	ledger_finish(up->ledger, rr, outcome);
}

static bool
timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void
kick(struct upstream *up)
{
	event_active(up->kick, 0, 0);
}

/*
 * "response not ok: status code: '500'. body: '<start of the answer>'" (the
 * original's wording), with anything secret the remote echoed taken out. More
 * than is shown is read, so that a secret cut at the end is still found.
 */
static void
describe_answer(struct upstream *up, struct relay_req *rr, struct evhttp_request *req, char *buf, size_t size)
{
	struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
	char head[LOG_BODY_HEAD + LOG_BODY_SLACK], shown[LOG_BODY_HEAD + 1];
	ev_ssize_t n = in ? evbuffer_copyout(in, head, sizeof(head)) : 0;

	redact(up->cfg, rr, head, n > 0 ? (size_t)n : 0, shown, sizeof(shown));
	snprintf(buf, size, "response not ok: status code: '%d'. body: '%s'", rr->status, shown);
}

/*
 * The upload failed with `why`; decide between a retry and a drop. Returns
 * true when rr went back to the queue.
 */
static bool
maybe_retry(struct upstream *up, struct relay_req *rr, struct evhttp_request *req, bool fresh_now,
    const char *why)
{
	int64_t now = relay_now_ns(), delay, age;

	if (fresh_now && !rr->fresh_retry) {
		rr->fresh_retry = true;
		delay = 0;
	} else if ((rr->status <= 0 || retry_status_retryable(rr->status) ||
	    proxy_refused(connector_proxy(up->connector), rr->status)) && rr->reached < up->cfg->retry_max_attempts) {
		delay = retry_after_ns(req ? evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Retry-After") : NULL, time(NULL));
		if (delay < 0)
			delay = retry_backoff_ns(rr->attempts, (double)random() / RAND_MAX);
	} else {
		return false;
	}
	age = (int64_t)(relay_req_age_ms(rr) * 1e6);
	if (age + delay > up->cfg->retry_max_age_ns) {
		log_drop(up, RELAY_DROPPED_TOO_OLD, rr,
		    "Failed to relay request: %s; a retry would exceed PYROSCOPE_RETRY_MAX_AGE, dropping the profile", why);
		finish(up, rr, RELAY_DROPPED_TOO_OLD);
		return true;
	}
	rr->not_before = now + delay;
	ledger_retry(up->ledger);
	queue_return(&up->queue, rr);
	log_retry(up, rr, "Upload failed: %s; retrying in %lld ms (attempt %d; %d of %d reached the remote)", why,
	    (long long)(delay / 1000000), rr->attempts + 1, rr->reached, up->cfg->retry_max_attempts);
	return true;
}

/*
 * TCP_NODELAY on the slot's socket, once it exists: evhttp creates it inside
 * evhttp_make_request (at once for an IP address, after the lookup for a
 * name), and writes the request only once connected, so setting it right
 * after evhttp_make_request comes before the first byte; for a name, it comes
 * at the first answer.
 */
static void
set_nodelay(struct slot *s)
{
	int fd;

	if (s->nodelay || s->conn == NULL)
		return;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(s->conn));
	if (fd >= 0 && tcp_nodelay(fd) == 0)
		s->nodelay = true;
}

/* An upload ended: with an answer (req != NULL, status > 0) or without. */
static void
complete(struct slot *s, struct evhttp_request *req, int saved_errno)
{
	struct upstream *up = s->up;
	struct relay_req *rr = s->rr;
	bool was_reused = s->reused, timed_out = s->error - 1 == EVREQ_HTTP_TIMEOUT;
	char why[400];

	evtimer_del(s->timer);
	s->rr = NULL;
	s->req = NULL;
	up->busy--;
	ledger_attempt(up->ledger, (double)(relay_now_ns() - rr->attempt_started) / 1e9);
	rr->status = req ? evhttp_request_get_response_code(req) : 0;
	/* A proxy that refused (407) and closed before the end of its answer: the head is the answer. */
	if (rr->status == 0 && proxy_refused(connector_proxy(up->connector), s->head_status)) {
		rr->status = s->head_status;
		s->stale = true;
	}
	if (rr->status > 0) {
		set_nodelay(s);
		s->idle_since = relay_now_ns();
	}
	if (rr->status >= 200 && rr->status < 300) {
		s->reused = true;
		log_f(LOG_TRACE, (&(struct log_field){ "path", rr->path }), 1,
		    "Successfully relayed request to remote");
		finish(up, rr, RELAY_DELIVERED);
	} else if (rr->status > 0) {
		s->reused = true;
		describe_answer(up, rr, req, why, sizeof(why));
		/* The proxy refused it (407): the remote never saw it, as when it is down. */
		if (proxy_refused(connector_proxy(up->connector), rr->status)) {
			snprintf(why, sizeof(why), "the proxy %s answered '407 Proxy Authentication Required' "
			    "(check the credentials in %s)", up->cfg->proxy.display, up->cfg->proxy.var);
			if (up->cfg->retry_max_attempts > 1)
				rr->reached--;
		}
		if (!maybe_retry(up, rr, req, false, why)) {
			log_drop(up, RELAY_DROPPED_REJECTED, rr, "Failed to relay request: %s; dropping the profile", why);
			finish(up, rr, RELAY_DROPPED_REJECTED);
		}
	} else {
		s->stale = true;
		/*
		 * Never connected (to the remote, or through the proxy: a tunnel failed
		 * since the upload started): the remote did not see it. Unless retries
		 * are off, that does not count; the profile waits for the remote
		 * (bounded by its age and the budget, where fresh profiles push old
		 * ones out).
		 */
		if ((s->error == 0 || proxy_failed_since(connector_proxy(up->connector), rr->attempt_started, NULL, 0)) &&
		    up->cfg->retry_max_attempts > 1)
			rr->reached--;
		connector_forget(up->connector);	/* the address may have moved: look it up again */
		connector_describe_failure(up->connector, s->conn, s->error, rr->attempt_started, saved_errno,
		    why, sizeof(why));
		/* A kept-alive connection that died (freeze, remote idle close): once more, fresh. */
		if (!maybe_retry(up, rr, NULL, was_reused && !timed_out, why)) {
			log_drop(up, RELAY_DROPPED_FAILED, rr, "Failed to relay request: %s; dropping the profile", why);
			finish(up, rr, RELAY_DROPPED_FAILED);
		}
	}
	s->error = 0;
	update_gauges(up);
	kick(up);
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	complete(arg, req, errno);
}

/*
 * An interim answer (1xx but 101: 102 Processing, 103 Early Hints) is not the
 * upload's answer: evhttp would take it as final. Made a 100, evhttp reads on
 * for the final answer on the same request, which keeps the connection in
 * step; its fields are cleared so the final answer's stand alone.
 */
static int
on_response_head(struct evhttp_request *req, void *arg)
{
	struct slot *s = arg;
	int code = evhttp_request_get_response_code(req);

	if (code >= 200)
		s->head_status = code;
	if (code > 100 && code < 200 && code != 101) {
		req->response_code = 100;
		evhttp_clear_headers(evhttp_request_get_input_headers(req));
		/*
		 * After a 100 evhttp waits for its (empty) output to drain before it
		 * reads on. A socket reports that by itself; a TLS connection writes
		 * nothing, so it is told (deferred: once evhttp waits for it).
		 */
		if (connector_is_tls(s->up->connector))
			bufferevent_trigger(evhttp_connection_get_bufferevent(s->conn), EV_WRITE,
			    BEV_TRIG_DEFER_CALLBACKS);
	}
	return 0;
}

static void
on_request_error(enum evhttp_request_error err, void *arg)
{
	struct slot *s = arg;

	s->error = (int)err + 1;
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;

	(void)fd;
	(void)what;
	if (s->req == NULL)
		return;
	evhttp_cancel_request(s->req);	/* frees it and resets the connection; no callback */
	s->req = NULL;
	s->error = (int)EVREQ_HTTP_TIMEOUT + 1;
	s->stale = true;
	complete(s, NULL, 0);
}

static void
on_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct slot *s = arg;

	(void)conn;
	s->stale = true;	/* evhttp would reconnect it; we replace it instead */
}

static int
add_request_headers(struct upstream *up, struct relay_req *rr, struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const struct evkeyval *h;
	char len[24];

	TAILQ_FOREACH(h, &rr->headers, next)
		if (evhttp_add_header(out, h->key, h->value) < 0)
			return -EINVAL;
	if (evhttp_add_header(out, "Host", up->cfg->remote.authority) < 0 ||
	    proxy_add_headers(connector_proxy(up->connector), out) < 0)
		return -EINVAL;
	if (rr->body_len > 0 || rr->method == EVHTTP_REQ_POST || rr->method == EVHTTP_REQ_PUT ||
	    rr->method == EVHTTP_REQ_PATCH) {
		snprintf(len, sizeof(len), "%zu", rr->body_len);
		if (evhttp_add_header(out, "Content-Length", len) < 0)
			return -EINVAL;
	}
	return 0;
}

static char *
upstream_uri(struct upstream *up, const struct relay_req *rr)
{
	char *path = path_join(up->cfg->remote.base_path, rr->path);
	char *uri = NULL;

	if (path == NULL)
		return NULL;
	if (rr->query == NULL)
		return proxy_request_target(connector_proxy(up->connector), path);
	if (asprintf(&uri, "%s?%s", path, rr->query) < 0)
		uri = NULL;
	free(path);
	return proxy_request_target(connector_proxy(up->connector), uri);
}

/* Start uploading rr on slot s; on failure rr is finished here. */
static void
start(struct slot *s, struct relay_req *rr)
{
	struct upstream *up = s->up;
	struct evhttp_request *req = NULL;
	char *uri = NULL;

	/*
	 * A connection idle for long (a Lambda freeze, a quiet host) has most
	 * likely been closed by the remote: a fresh one (its TLS session resumed)
	 * costs less than finding out with a failed upload.
	 */
	if (s->conn != NULL && relay_now_ns() - s->idle_since > up->cfg->keepalive_max_idle_ns)
		s->stale = true;
	if (s->stale || s->conn == NULL) {
		if (s->conn != NULL)
			evhttp_connection_free(s->conn);
		s->stale = false;
		s->reused = false;
		s->nodelay = false;
		s->conn = connector_open(up->connector);
		if (s->conn == NULL)
			goto fail;
		s->idle_since = relay_now_ns();
		evhttp_connection_set_closecb(s->conn, on_conn_close, s);
	}
	req = evhttp_request_new(on_response, s);
	uri = upstream_uri(up, rr);
	if (req == NULL || uri == NULL || add_request_headers(up, rr, req) < 0 ||
	    evbuffer_add_buffer_reference(evhttp_request_get_output_buffer(req), rr->body) < 0)
		goto fail;
	evhttp_request_set_error_cb(req, on_request_error);
	evhttp_request_set_header_cb(req, on_response_head);
	rr->attempts++;
	rr->reached++;
	rr->attempt_started = relay_now_ns();
	s->rr = rr;
	s->req = req;
	s->error = 0;
	s->head_status = 0;
	up->busy++;
	evtimer_add(s->timer, &up->timeout);
	log_f(LOG_DEBUG, (&(struct log_field){ "path", rr->path }), 1, "Making request to %s%s%s%s",
	    uri[0] != '/' ? "" : up->cfg->remote.https ? "https://" : "http://",
	    uri[0] != '/' ? "" : up->cfg->remote.authority, uri, proxy_via(connector_proxy(up->connector)));
	if (evhttp_make_request(s->conn, req, rr->method, uri) != 0 && s->rr == rr) {
		/*
		 * The connection could not even start. libevent 2.1 freed req, except
		 * after a failed socket setup, where it cannot be told apart from the
		 * freed case: a rare leak is taken over a possible double free.
		 */
		s->req = NULL;
		s->stale = true;
		complete(s, NULL, errno);
	} else {
		set_nodelay(s);
	}
	free(uri);
	return;
fail:
	if (req != NULL)
		evhttp_request_free(req);
	free(uri);
	log_drop(up, RELAY_DROPPED_INTERNAL, rr, "Cannot prepare the upload (out of memory?); dropping the profile");
	finish(up, rr, RELAY_DROPPED_INTERNAL);
}

static void
dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	int64_t wait = -1;

	(void)fd;
	(void)what;
	for (int i = 0; i < up->nslots && !up->paused && up->queue.count > 0; i++) {
		struct relay_req *rr;

		if (up->slots[i].rr != NULL)
			continue;
		rr = queue_take(&up->queue, relay_now_ns(), &wait);
		if (rr == NULL)
			break;
		start(&up->slots[i], rr);
	}
	if (!up->paused && wait >= 0) {
		struct timeval tv = { .tv_sec = (time_t)(wait / 1000000000),
			.tv_usec = (suseconds_t)(wait % 1000000000 / 1000) + 1 };

		evtimer_add(up->retry_timer, &tv);
	}
	update_gauges(up);
	if (up->queue.count == 0 && up->busy == 0 && up->idle_cb != NULL)
		up->idle_cb(up->idle_arg);
}

/* Stop the upload on s without an answer (no callback comes); the request is the caller's again. */
static struct relay_req *
slot_cancel(struct upstream *up, struct slot *s)
{
	struct relay_req *rr = s->rr;

	evtimer_del(s->timer);
	evhttp_cancel_request(s->req);	/* no callback; the connection is reset */
	s->stale = true;
	s->rr = NULL;
	s->req = NULL;
	s->error = 0;
	up->busy--;
	return rr;
}

void
upstream_pause(struct upstream *up)
{
	up->paused = true;
	evtimer_del(up->retry_timer);
	for (int i = 0; i < up->nslots; i++) {
		struct relay_req *rr;

		if (up->slots[i].rr == NULL)
			continue;
		rr = slot_cancel(up, &up->slots[i]);
		rr->attempts--;		/* not a failure: it will simply go again */
		rr->reached--;
		queue_return(&up->queue, rr);
	}
	update_gauges(up);
}

/*
 * The oldest upload in flight that is a retry: after a failure, it is only
 * trying again (often, to reconnect), and gives its place to a fresh profile.
 */
static struct slot *
retry_in_flight(struct upstream *up)
{
	struct slot *oldest = NULL;

	for (int i = 0; i < up->nslots; i++) {
		struct slot *s = &up->slots[i];

		if (s->rr != NULL && s->rr->attempts > 1 && (oldest == NULL ||
		    timespec_before(&s->rr->accepted, &oldest->rr->accepted)))
			oldest = s;
	}
	return oldest;
}

void
upstream_resume(struct upstream *up)
{
	up->paused = false;
	kick(up);
}

/* Profiles pushed out of the queue to make room: counted and logged as dropped. */
static void
drop_evicted(struct upstream *up, struct relay_req_list *evicted)
{
	struct relay_req *old;

	while ((old = TAILQ_FIRST(evicted)) != NULL) {
		TAILQ_REMOVE(evicted, old, link);
		log_drop(up, RELAY_DROPPED_QUEUE_FULL, old,
		    "Request queue is full, dropping the oldest profile (%.0f ms old) to make room",
		    relay_req_age_ms(old));
		finish(up, old, RELAY_DROPPED_QUEUE_FULL);
	}
}

/*
 * Fresh profiles are worth more: a new one pushes out the oldest waiting
 * ones, then retries in flight, and is refused only when first uploads in
 * flight hold the whole budget.
 */
int
upstream_submit(struct upstream *up, struct relay_req *rr)
{
	struct relay_req_list evicted = TAILQ_HEAD_INITIALIZER(evicted);
	struct relay_req *old;
	struct slot *victim;
	int rc;

	if (up->cfg->unsendable != NULL) {
		log_drop(up, RELAY_DROPPED_UNSENDABLE, rr,
		    "Cannot relay request: %s (see the configuration errors at startup); dropping the profile",
		    up->cfg->unsendable);
		finish(up, rr, RELAY_DROPPED_UNSENDABLE);
		return 0;
	}
	rc = queue_push(&up->queue, rr, &evicted);
	if (rc == -E2BIG) {
		log_drop(up, RELAY_DROPPED_TOO_LARGE, rr,
		    "Request of %zu bytes does not fit in the queue budget of %llu bytes; dropping the profile",
		    rr->body_len, (unsigned long long)up->queue.max_bytes);
		finish(up, rr, RELAY_DROPPED_TOO_LARGE);
		return rc;
	}
	drop_evicted(up, &evicted);
	while (rc == -ENOSPC && (victim = retry_in_flight(up)) != NULL) {
		old = slot_cancel(up, victim);
		log_drop(up, RELAY_DROPPED_QUEUE_FULL, old,
		    "Request queue is full: a retry in flight (%.0f ms old) gives its place to a fresh profile",
		    relay_req_age_ms(old));
		finish(up, old, RELAY_DROPPED_QUEUE_FULL);
		rc = queue_push(&up->queue, rr, &evicted);
		drop_evicted(up, &evicted);
	}
	if (rc == -ENOSPC) {
		log_drop(up, RELAY_DROPPED_QUEUE_FULL, rr,
		    "Request queue is full with first uploads in flight; dropping the new profile");
		finish(up, rr, RELAY_DROPPED_QUEUE_FULL);
		kick(up);
		return 0;
	}
	update_gauges(up);
	kick(up);
	return 0;
}

void
upstream_warm(struct upstream *up)
{
	connector_warm(up->connector);
}

size_t
upstream_pending(const struct upstream *up)
{
	return (size_t)up->queue.count + (size_t)up->busy;
}

void
upstream_on_idle(struct upstream *up, void (*cb)(void *), void *arg)
{
	up->idle_cb = cb;
	up->idle_arg = arg;
	if (cb != NULL)
		kick(up);	/* report at once if already idle */
}

struct upstream *
upstream_new(struct event_base *base, const struct relay_settings *cfg, struct ledger *ledger,
    char **reterr)
{
	struct upstream *up = calloc(1, sizeof(*up));

	*reterr = NULL;
	if (up == NULL)
		return NULL;
	up->base = base;
	up->cfg = cfg;
	up->ledger = ledger;
	up->timeout.tv_sec = (time_t)(cfg->timeout_ns / 1000000000);
	up->timeout.tv_usec = (suseconds_t)(cfg->timeout_ns % 1000000000 / 1000);
	queue_init(&up->queue, cfg->queue_max_profiles, cfg->queue_max_bytes);
	up->nslots = cfg->num_workers;
	up->slots = calloc((size_t)up->nslots, sizeof(*up->slots));
	up->kick = event_new(base, -1, 0, dispatch, up);
	up->retry_timer = evtimer_new(base, dispatch, up);
	up->connector = connector_new(base, cfg, &up->timeout);
	if (up->slots == NULL || up->kick == NULL || up->retry_timer == NULL || up->connector == NULL)
		goto fail;
	srandom((unsigned)relay_now_ns() ^ (unsigned)getpid());
	for (int i = 0; i < up->nslots; i++) {
		up->slots[i].up = up;
		up->slots[i].timer = evtimer_new(base, on_timeout, &up->slots[i]);
		if (up->slots[i].timer == NULL)
			goto fail;
	}
	return up;
fail:
	upstream_free(up);
	return NULL;
}

void
upstream_free(struct upstream *up)
{
	struct relay_req *rr;

	if (up == NULL)
		return;
	for (int i = 0; up->slots != NULL && i < up->nslots; i++) {
		struct slot *s = &up->slots[i];

		if (s->rr != NULL) {
			log_drop(up, RELAY_DROPPED_SHUTDOWN, s->rr,
			    "Upload still in flight at shutdown; dropping the profile");
			finish(up, s->rr, RELAY_DROPPED_SHUTDOWN);
			s->rr = NULL;
			up->busy--;
		}
		if (s->conn != NULL)
			evhttp_connection_free(s->conn);	/* frees an in-flight request too */
		if (s->timer != NULL)
			event_free(s->timer);
	}
	while ((rr = queue_pop(&up->queue)) != NULL) {
		log_drop(up, RELAY_DROPPED_SHUTDOWN, rr, "Profile still queued at shutdown; dropping it");
		finish(up, rr, RELAY_DROPPED_SHUTDOWN);
	}
	update_gauges(up);
	free(up->slots);
	if (up->kick != NULL)
		event_free(up->kick);
	if (up->retry_timer != NULL)
		event_free(up->retry_timer);
	connector_free(up->connector);
	free(up);
}
