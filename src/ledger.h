/* ledger.h -- the end of every request's life, and the accounting that goes with it. */
#ifndef RELAY_LEDGER_H
#define RELAY_LEDGER_H

#include <stdint.h>

#include "chain.h"
#include "request.h"
#include "stats.h"

/*
 * Every profile the server accepts is entered here (ledger_received) and ends
 * here (ledger_finish), delivered or dropped with a reason: the server and the
 * forwarder hand requests over, nobody else frees one. So at every moment
 * received = delivered + dropped + queued + in flight.
 */
struct ledger {
	struct relay_stats	 stats;
	struct chain		*chain;		/* borrowed: on_done hooks */
};

void	ledger_init(struct ledger *l, struct chain *chain);
/* A profile was accepted from a client (before the chain runs). */
void	ledger_received(struct ledger *l, const struct relay_req *rr);
/*
 * The end of rr's life: count the outcome, run the modules' on_done hooks and
 * free it. The caller has released whatever else rr held (queue budget, slot).
 */
void	ledger_finish(struct ledger *l, struct relay_req *rr, enum relay_outcome outcome);
/* One upload attempt ended after `seconds` (answered or not). */
void	ledger_attempt(struct ledger *l, double seconds);
/* A failed upload goes back to the queue for another attempt. */
void	ledger_retry(struct ledger *l);
/* The forwarder's gauges: uploads in flight, and bytes held for waiting and in-flight profiles. */
void	ledger_gauges(struct ledger *l, uint64_t in_flight, uint64_t held_bytes);

#endif
