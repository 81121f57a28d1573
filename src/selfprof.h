/* selfprof.h -- PYROSCOPE_SELF_PROFILING: the relay's own CPU profile, sent through its own pipeline. */
#ifndef RELAY_SELFPROF_H
#define RELAY_SELFPROF_H

#include <stdint.h>

#include "ledger.h"
#include "server.h"
#include "settings.h"

#define SELFPROF_HZ		100	/* samples per second of CPU time */
#define SELFPROF_WINDOW_S	15	/* seconds per profile, as the original's pyroscope-go */
#define SELFPROF_NAME		"pyroscope.lambda.extension.cpu"

struct event_base;
struct selfprof;

/*
 * When cfg->self_profiling: sample the relay's CPU (sampler.h) and, every
 * SELFPROF_WINDOW_S seconds with samples, hand the window's folded stacks to
 * `srv` as an /ingest upload named SELFPROF_NAME{} (server_submit_own: the
 * chain adds credentials, tenant, headers, session id and labels). They go
 * to the server's forwarder, or, with cfg->adhoc_address, to a forwarder of
 * their own for that address (same settings otherwise), counted in `ledger`.
 * Call after the server (and the Lambda extension) are up; every pointer is
 * borrowed and must outlive selfprof_stop(). NULL when off, or when it
 * cannot start (logged; the relay runs on without it).
 */
struct selfprof *selfprof_start(struct event_base *base, const struct relay_settings *cfg,
	    struct server *srv, struct ledger *ledger);
/*
 * Stop sampling and queue the last, partial window: at a stop signal, and at
 * Lambda's SHUTDOWN before the drain counts what is pending. Idempotent;
 * NULL-safe.
 */
void	selfprof_finish(struct selfprof *sp);
/*
 * Finish, then, with an ad-hoc forwarder, run the loop until it has sent
 * what it holds or `drain_ms` is over (what is left is dropped and counted),
 * and free everything. Before the server and the main forwarder are freed.
 * NULL-safe.
 */
void	selfprof_stop(struct selfprof *sp, int64_t drain_ms);

#endif
