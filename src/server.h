/* server.h -- the local evhttp listener SDKs upload to. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include "chain.h"
#include "settings.h"
#include "ledger.h"
#include "upstream.h"

struct event_base;
struct server;

/* Listening sockets opened ahead of the server, one per cfg->listen address (-1: none). */
struct server_listeners {
	int	fd[SETTINGS_MAX_LISTEN];
};

/* None opened ahead. */
void	server_listeners_init(struct server_listeners *ls);
/*
 * Open the sockets of the cfg->listen addresses that are IP literals first
 * thing: a Lambda extension registers as soon as they exist, and builds the
 * rest meanwhile. One that cannot be opened is left to server_new, which
 * tries again and says why it fails.
 */
void	server_listen_early(const struct relay_settings *cfg, struct server_listeners *ls);
/* Close what server_new did not take over. */
void	server_listeners_close(struct server_listeners *ls);
/*
 * Listen on every cfg->listen address, on the sockets in `early` (taken
 * over; NULL: none opened ahead). Addresses that cannot be bound are
 * logged and skipped; *ret_bound tells how many were bound. NULL on OOM.
 * Each complete request is entered in `ledger`, runs through `chain`, is
 * handed to `up` and answered at once; the relay's own endpoints read the
 * ledger's counters.
 */
struct server *server_new(struct event_base *base, const struct relay_settings *cfg,
	    struct server_listeners *early, struct chain *chain, struct ledger *ledger, struct upstream *up,
	    int *ret_bound);
/*
 * A profile the relay makes itself (the self-profiler's) takes the SDKs' way:
 * counted as received, run through the chain (credentials, tenant, headers,
 * labels), queued on `up`, or on the server's forwarder when `up` is NULL.
 * Takes ownership of rr (path, query, headers and body set; its id is
 * assigned here). 0; -EIO when a module failed, -E2BIG when it can never fit
 * in the queue: either way it was counted as dropped.
 */
int	server_submit_own(struct server *srv, struct upstream *up, struct relay_req *rr);
/* Close the listeners and every client connection; NULL-safe. */
void	server_free(struct server *srv);

#endif
