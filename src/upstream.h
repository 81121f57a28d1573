/* upstream.h -- the forwarder: queue, upload slots over kept-alive connections, final accounting. */
#ifndef RELAY_UPSTREAM_H
#define RELAY_UPSTREAM_H

#include <stddef.h>

#include "chain.h"
#include "request.h"
#include "settings.h"
#include "stats.h"

struct event_base;
struct upstream;

/*
 * A forwarder to cfg->remote with cfg->num_workers uploads in flight at most.
 * `chain` gets each request's on_done, `stats` the accounting; both borrowed.
 * NULL with *reterr (malloc'd) on failure.
 */
struct upstream *upstream_new(struct event_base *base, const struct relay_settings *cfg,
	    struct chain *chain, struct relay_stats *stats, char **reterr);
/*
 * Drop whatever is still queued or in flight (each counted and logged as
 * dropped at shutdown) and free everything; NULL-safe.
 */
void	upstream_free(struct upstream *up);
/*
 * Take ownership of an accepted request and queue it. Returns 0, or -E2BIG
 * when it can never fit in the queue's byte budget (then it is finished as
 * dropped). Requests pushed out of a full queue are finished as dropped here.
 */
int	upstream_submit(struct upstream *up, struct relay_req *rr);
/* Finish a request that will not be sent: account it, run on_done, free it. */
void	upstream_finish(struct upstream *up, struct relay_req *rr, enum relay_outcome outcome);
/*
 * Stop starting uploads. Uploads in flight are cancelled and go back to the
 * head of the queue, to be sent again after upstream_resume(): nothing stays
 * in flight across a Lambda freeze.
 */
void	upstream_pause(struct upstream *up);
void	upstream_resume(struct upstream *up);
/* Requests queued (including those waiting for a retry) or in flight. */
size_t	upstream_pending(const struct upstream *up);
/* Call cb(arg) each time the forwarder becomes idle (nothing queued or in flight); NULL to stop. */
void	upstream_on_idle(struct upstream *up, void (*cb)(void *), void *arg);

#endif
