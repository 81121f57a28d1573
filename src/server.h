/* server.h -- the local evhttp listener SDKs upload to. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include "chain.h"
#include "settings.h"
#include "stats.h"
#include "upstream.h"

struct event_base;
struct server;

/*
 * Listen on every cfg->listen address. Addresses that cannot be bound are
 * logged and skipped; *ret_bound tells how many were bound. NULL on OOM.
 * Each complete request runs through `chain`, is counted in `stats`, handed
 * to `up` and answered at once.
 */
struct server *server_new(struct event_base *base, const struct relay_settings *cfg,
	    struct chain *chain, struct relay_stats *stats, struct upstream *up, int *ret_bound);
/* Close the listeners and every client connection; NULL-safe. */
void	server_free(struct server *srv);

#endif
