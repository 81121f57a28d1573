/* stats.h -- the relay's accounting: every received profile ends delivered or dropped by reason. */
#ifndef RELAY_STATS_H
#define RELAY_STATS_H

#include <stdint.h>

#include "request.h"

/* Upper bounds (seconds) of the upstream latency histogram buckets; +Inf is implied. */
#define STATS_LATENCY_BUCKETS 10
extern const double stats_latency_bounds[STATS_LATENCY_BUCKETS];

struct relay_stats {
	uint64_t	received;		/* profiles accepted from clients */
	uint64_t	received_bytes;
	uint64_t	delivered;
	uint64_t	delivered_bytes;
	uint64_t	dropped[RELAY_OUTCOME_COUNT];	/* indexed by the RELAY_DROPPED_* outcome */
	uint64_t	dropped_bytes;
	uint64_t	retried;		/* uploads started again after a failure */
	uint64_t	queued_bytes;		/* gauge: held for waiting and in-flight profiles (bodies plus overhead) */
	uint64_t	in_flight;		/* gauge */
	/* every upload attempt's duration, answered or not */
	uint64_t	latency_buckets[STATS_LATENCY_BUCKETS];	/* cumulative counts per bound */
	uint64_t	latency_count;
	double		latency_sum;
};

/* A profile was received (before it is queued). */
void	stats_received(struct relay_stats *st, const struct relay_req *rr);
/* A profile reached its final outcome (rr->outcome is set). */
void	stats_finished(struct relay_stats *st, const struct relay_req *rr);
/* One upload attempt took `seconds`. */
void	stats_observe_latency(struct relay_stats *st, double seconds);
/* Sum of every dropped[] entry. */
uint64_t stats_dropped_total(const struct relay_stats *st);
/* Profiles waiting to be sent (retries included): received and not yet finished nor in flight. */
uint64_t stats_queued(const struct relay_stats *st);
/* The stable name of an outcome ("queue_full", "rejected", ...), for logs and metrics. */
const char *stats_reason_name(enum relay_outcome o);
/* One line "received=N delivered=N dropped=N (...) queued=N in_flight=N"; writes into buf. */
void	stats_summary(const struct relay_stats *st, char *buf, size_t size);

#endif
