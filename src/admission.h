/* admission.h -- what all local clients together may hold: connections, and bytes of requests being received. */
#ifndef RELAY_ADMISSION_H
#define RELAY_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct event_base;
struct evconnlistener;
struct relay_settings;

/* A connection waiting for room for its request's body; served in arrival order. */
struct admission_waiter {
	TAILQ_ENTRY(admission_waiter)	 link;
	uint64_t			 need;
	bool				 waiting;
	void				(*granted)(struct admission_waiter *w);
};

struct admission;

/*
 * Limits from cfg: at most cfg->max_connections client connections (0: the
 * descriptor limit less a reserve for the remote, the Lambda API, telemetry
 * and the listeners), and cfg->receive_max_bytes of requests being received
 * (at least one largest request). NULL on OOM.
 */
struct admission *admission_new(struct event_base *base, const struct relay_settings *cfg);
void	admission_free(struct admission *a);
/*
 * Watch a listener: it stops accepting while the connection cap is reached,
 * and backs off (100 ms, doubling up to 1 s) when accept() fails for want of
 * descriptors or memory, with one log line a second at most. -ENOMEM.
 */
int	admission_add_listener(struct admission *a, struct evconnlistener *lev);
/* A client connection was accepted / has closed. */
void	admission_opened(struct admission *a);
void	admission_closed(struct admission *a);
/* The connection cap in force, and the connections open now. */
uint64_t admission_max_connections(const struct admission *a);
uint64_t admission_connections(const struct admission *a);

/*
 * Bytes of requests being received: every connection may hold
 * ADMISSION_OWN_SHARE bytes of its current request (its head, a small body)
 * without asking; a larger request first reserves the rest of what it
 * declared (a chunked one: the largest body allowed). Returns true when the
 * room was reserved at once; else w waits, first come first served, and
 * w->granted(w) runs once it has the room. Every request that fits the
 * budget alone is served eventually: reserved requests end (or are cut off
 * by the deadlines) and give their room back.
 */
#define ADMISSION_OWN_SHARE	(64 << 10)
bool	admission_reserve(struct admission *a, struct admission_waiter *w, uint64_t need);
/* Give back a reservation (the request is complete, or gone). */
void	admission_unreserve(struct admission *a, uint64_t n);
/* Stop waiting (the connection is gone); NULL-safe when not waiting. */
void	admission_cancel(struct admission *a, struct admission_waiter *w);
/* Bytes reserved now, all connections together. */
uint64_t admission_reserved(const struct admission *a);

#endif
