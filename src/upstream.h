/* upstream.h -- the forwarder: the queue, upload slots over kept-alive connections, retries. */
#ifndef RELAY_UPSTREAM_H
#define RELAY_UPSTREAM_H

#include <stddef.h>

#include "ledger.h"
#include "request.h"
#include "settings.h"

struct event_base;
struct upstream;

/*
 * A forwarder to cfg->remote with cfg->num_workers uploads in flight at most.
 * Every request it takes ends in `ledger` (borrowed). NULL with *reterr
 * (malloc'd) on failure.
 */
struct upstream *upstream_new(struct event_base *base, const struct relay_settings *cfg,
	    struct ledger *ledger, char **reterr);
/*
 * Drop whatever is still queued or in flight (each counted and logged as
 * dropped at shutdown) and free everything; NULL-safe.
 */
void	upstream_free(struct upstream *up);
/*
 * Take ownership of an accepted request and queue it. Returns 0, or -E2BIG
 * when it can never fit in the queue's byte budget (then it was handed to the
 * ledger as dropped). Requests pushed out of a full queue end there too.
 */
int	upstream_submit(struct upstream *up, struct relay_req *rr);
/*
 * Stop starting uploads. Uploads in flight are cancelled and go back to the
 * head of the queue, to be sent again after upstream_resume(): nothing stays
 * in flight across a Lambda freeze.
 */
void	upstream_pause(struct upstream *up);
void	upstream_resume(struct upstream *up);
/*
 * Make what the first connection to the remote needs (connector_warm): once
 * the relay is up, in dev mode; once its registration and first event/next are
 * out, in Lambda mode (the lifecycle's call).
 */
void	upstream_warm(struct upstream *up);
/* Requests queued (including those waiting for a retry) or in flight. */
size_t	upstream_pending(const struct upstream *up);
/*
 * Call cb(arg) each time the forwarder becomes idle (nothing queued or in
 * flight); NULL to stop. One owner: the stop-signal drain in dev mode, the
 * Lambda lifecycle in Lambda mode.
 */
void	upstream_on_idle(struct upstream *up, void (*cb)(void *), void *arg);

#endif
