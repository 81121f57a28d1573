/* admission.c -- what all local clients together may hold: connections, and bytes of requests being received. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>
#include <event2/listener.h>

#include "admission.h"
#include "log.h"
#include "ratelog.h"
#include "settings.h"

#define FD_RESERVE		32		/* descriptors kept for the remote, Lambda API, telemetry, listeners */
#define AUTO_MAX_CONNECTIONS	4096
#define MIN_CONNECTIONS		8
#define BACKOFF_FIRST_MS	100
#define BACKOFF_MAX_MS		1000
#define TRIM_AFTER		(4 << 20)	/* give memory back after a burst this large */
#define TRIM_DELAY_MS		200		/* once the connections are really freed */
#define MAX_LISTENERS		16

struct admission {
	struct evconnlistener	*listeners[MAX_LISTENERS];	/* borrowed: owned by evhttp */
	int			 nlisteners;
	struct event		*backoff;		/* owned: re-enables accepting */
	struct event		*trim;			/* owned: gives memory back after a burst */
	int			 backoff_ms;		/* 0: not backing off */
	bool			 at_cap;
	uint64_t		 max_connections;
	uint64_t		 connections;
	uint64_t		 receive_max;
	uint64_t		 reserved;
	uint64_t		 peak;			/* largest `reserved` since memory was last given back */
	TAILQ_HEAD(, admission_waiter) waiters;
	struct ratelog		 accept_log;
	struct ratelog		 cap_log;
};

/*
 * evhttp owns its listeners' callback argument, so the accept-error callback
 * finds its admission here, by listener.
 */
static struct {
	struct evconnlistener	*lev;
	struct admission	*a;
} watched[MAX_LISTENERS];

static struct admission *
admission_of(struct evconnlistener *lev)
{
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (watched[i].lev == lev)
			return watched[i].a;
	return NULL;
}

/*
 * Each worker may hold a connection to the remote and one being replaced;
 * through a CONNECT tunnel each of those also takes the tunnel's two sockets.
 */
static uint64_t
auto_max_connections(const struct relay_settings *cfg)
{
	struct rlimit rl;
	uint64_t per_worker = cfg->proxy.host != NULL && cfg->remote.https ? 6 : 2;
	uint64_t reserve = FD_RESERVE + per_worker * (uint64_t)cfg->num_workers, n = AUTO_MAX_CONNECTIONS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur > reserve + MIN_CONNECTIONS ? rl.rlim_cur - reserve : MIN_CONNECTIONS;
	return n < AUTO_MAX_CONNECTIONS ? n : AUTO_MAX_CONNECTIONS;
}

/* Accept again, unless the cap or a backoff says not yet. */
static void
listeners_update(struct admission *a)
{
	bool accept = !a->at_cap && a->backoff_ms == 0;

	for (int i = 0; i < a->nlisteners; i++) {
		if (accept)
			evconnlistener_enable(a->listeners[i]);
		else
			evconnlistener_disable(a->listeners[i]);
	}
}

static void
on_backoff_over(evutil_socket_t fd, short what, void *arg)
{
	struct admission *a = arg;

	(void)fd;
	(void)what;
	a->backoff_ms = 0;
	listeners_update(a);
}

/*
 * accept() failed. Out of descriptors or memory: stop accepting for a while
 * instead of retrying in a busy loop, and say so at most once a second.
 * Anything else (a client that reset before accept) is not the relay's concern.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct admission *a = admission_of(lev);
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv;

	(void)arg;
	if (a == NULL || (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM))
		return;
	a->backoff_ms = a->backoff_ms == 0 ? BACKOFF_FIRST_MS :
	    (a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2);
	ratelog_log(&a->accept_log, LOG_WARNING, NULL, 0,
	    "Cannot accept a client connection: %s (%llu open); pausing accepts for %d ms",
	    strerror(err), (unsigned long long)a->connections, a->backoff_ms);
	tv.tv_sec = a->backoff_ms / 1000;
	tv.tv_usec = a->backoff_ms % 1000 * 1000;
	evtimer_add(a->backoff, &tv);
	listeners_update(a);
}

/* A burst of large requests is over: give its memory back to the system. */
static void
on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct admission *a = arg;

	(void)fd;
	(void)what;
	if (a->reserved > 0)
		return;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	a->peak = 0;
}

struct admission *
admission_new(struct event_base *base, const struct relay_settings *cfg)
{
	struct admission *a = calloc(1, sizeof(*a));
	uint64_t largest = cfg->max_body_bytes + cfg->max_header_bytes;

	if (a == NULL)
		return NULL;
	a->backoff = evtimer_new(base, on_backoff_over, a);
	a->trim = evtimer_new(base, on_trim, a);
	if (a->backoff == NULL || a->trim == NULL) {
		admission_free(a);
		return NULL;
	}
	a->max_connections = cfg->max_connections > 0 ? cfg->max_connections :
	    auto_max_connections(cfg);
	/* One largest request must always fit, or it would wait forever. */
	a->receive_max = cfg->receive_max_bytes > largest ? cfg->receive_max_bytes : largest;
	TAILQ_INIT(&a->waiters);
	return a;
}

void
admission_free(struct admission *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (watched[i].a == a) {
			watched[i].a = NULL;
			watched[i].lev = NULL;
		}
	if (a->backoff != NULL)
		event_free(a->backoff);
	if (a->trim != NULL)
		event_free(a->trim);
	free(a);
}

int
admission_add_listener(struct admission *a, struct evconnlistener *lev)
{
	int slot = -1;

	for (int i = 0; i < MAX_LISTENERS && slot < 0; i++)
		if (watched[i].lev == NULL)
			slot = i;
	if (a->nlisteners == MAX_LISTENERS || slot < 0)
		return -ENOMEM;
	a->listeners[a->nlisteners++] = lev;
	watched[slot].lev = lev;
	watched[slot].a = a;
	evconnlistener_set_error_cb(lev, on_accept_error);
	return 0;
}

void
admission_opened(struct admission *a)
{
	a->connections++;
	if (a->connections >= a->max_connections && !a->at_cap) {
		a->at_cap = true;
		ratelog_log(&a->cap_log, LOG_WARNING, NULL, 0,
		    "%llu client connections open, the most allowed (PYROSCOPE_MAX_CONNECTIONS); new ones wait",
		    (unsigned long long)a->connections);
		listeners_update(a);
	}
	if (a->backoff_ms > 0) {
		/* An accept worked again: the next failure starts the backoff over. */
		a->backoff_ms = 0;
	}
}

void
admission_closed(struct admission *a)
{
	a->connections--;
	if (a->at_cap && a->connections < a->max_connections) {
		a->at_cap = false;
		listeners_update(a);
	}
}

uint64_t
admission_max_connections(const struct admission *a)
{
	return a->max_connections;
}

uint64_t
admission_connections(const struct admission *a)
{
	return a->connections;
}

bool
admission_reserve(struct admission *a, struct admission_waiter *w, uint64_t need)
{
	if (TAILQ_EMPTY(&a->waiters) && a->reserved + need <= a->receive_max) {
		a->reserved += need;
		if (a->reserved > a->peak)
			a->peak = a->reserved;
		return true;
	}
	w->need = need;
	w->waiting = true;
	TAILQ_INSERT_TAIL(&a->waiters, w, link);
	return false;
}

void
admission_unreserve(struct admission *a, uint64_t n)
{
	struct admission_waiter *w;

	a->reserved = n <= a->reserved ? a->reserved - n : 0;
	while ((w = TAILQ_FIRST(&a->waiters)) != NULL && a->reserved + w->need <= a->receive_max) {
		TAILQ_REMOVE(&a->waiters, w, link);
		w->waiting = false;
		a->reserved += w->need;
		if (a->reserved > a->peak)
			a->peak = a->reserved;
		w->granted(w);
	}
	if (a->reserved == 0 && a->peak >= TRIM_AFTER) {
		struct timeval tv = { 0, TRIM_DELAY_MS * 1000 };

		evtimer_add(a->trim, &tv);
	}
}

void
admission_cancel(struct admission *a, struct admission_waiter *w)
{
	if (!w->waiting)
		return;
	TAILQ_REMOVE(&a->waiters, w, link);
	w->waiting = false;
}

uint64_t
admission_reserved(const struct admission *a)
{
	return a->reserved;
}
