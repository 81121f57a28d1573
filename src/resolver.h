/* resolver.h -- the remote's address, resolved ahead of the first upload and cached. */
#ifndef RELAY_RESOLVER_H
#define RELAY_RESOLVER_H

struct event_base;
struct evdns_base;
struct resolver;

/*
 * Resolve `host` at once (asynchronously, with evdns) so that the first upload
 * does not wait for DNS: in Lambda the lookup overlaps the runtime's init.
 * An IP literal needs no lookup. NULL on OOM.
 */
struct resolver *resolver_new(struct evdns_base *dns, const char *host, int port);
/*
 * What to connect to: the cached IP address while it is fresh (5 minutes),
 * else the host name (evhttp then resolves it itself, and a new lookup starts
 * in the background). TLS names and the Host header keep using the name.
 */
const char *resolver_address(struct resolver *r);
/* A connection to the cached address failed: forget it and look it up again. */
void	resolver_forget(struct resolver *r);
/*
 * Free r. A lookup still pending is cancelled and r is freed by its callback,
 * which evdns runs from the loop: run the loop once more (EVLOOP_NONBLOCK)
 * before freeing the evdns base. NULL-safe.
 */
void	resolver_free(struct resolver *r);

#endif
