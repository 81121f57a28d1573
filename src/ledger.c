/* ledger.c -- the end of every request's life, and the accounting that goes with it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "ledger.h"

void
ledger_init(struct ledger *l, struct chain *chain)
{
	memset(l, 0, sizeof(*l));
	l->chain = chain;
}

void
ledger_received(struct ledger *l, const struct relay_req *rr)
{
	stats_received(&l->stats, rr);
}

void
ledger_finish(struct ledger *l, struct relay_req *rr, enum relay_outcome outcome)
{
	rr->outcome = outcome;
	stats_finished(&l->stats, rr);
	if (l->chain != NULL)
		chain_done(l->chain, rr);
	relay_req_free(rr);
}

void
ledger_attempt(struct ledger *l, double seconds)
{
	stats_observe_latency(&l->stats, seconds);
}

void
ledger_retry(struct ledger *l)
{
	l->stats.retried++;
}

void
ledger_gauges(struct ledger *l, uint64_t in_flight, uint64_t held_bytes)
{
	l->stats.in_flight = in_flight;
	l->stats.queued_bytes = held_bytes;
}
