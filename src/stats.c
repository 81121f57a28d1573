/* stats.c -- counters for received, delivered and dropped profiles, and their summary line. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "stats.h"

const double stats_latency_bounds[STATS_LATENCY_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

void
stats_observe_latency(struct relay_stats *st, double seconds)
{
	for (int i = 0; i < STATS_LATENCY_BUCKETS; i++)
		if (seconds <= stats_latency_bounds[i])
			st->latency_buckets[i]++;
	st->latency_count++;
	st->latency_sum += seconds;
}

void
stats_received(struct relay_stats *st, const struct relay_req *rr)
{
	st->received++;
	st->received_bytes += rr->body_len;
}

void
stats_finished(struct relay_stats *st, const struct relay_req *rr)
{
	if (rr->outcome == RELAY_DELIVERED) {
		st->delivered++;
		st->delivered_bytes += rr->body_len;
	} else if (rr->outcome > RELAY_DELIVERED && rr->outcome < RELAY_OUTCOME_COUNT) {
		st->dropped[rr->outcome]++;
		st->dropped_bytes += rr->body_len;
	}
}

uint64_t
stats_dropped_total(const struct relay_stats *st)
{
	uint64_t n = 0;

	for (int i = RELAY_DELIVERED + 1; i < RELAY_OUTCOME_COUNT; i++)
		n += st->dropped[i];
	return n;
}

uint64_t
stats_queued(const struct relay_stats *st)
{
	return st->received - st->delivered - stats_dropped_total(st) - st->in_flight;
}

const char *
stats_reason_name(enum relay_outcome o)
{
	switch (o) {
	case RELAY_PENDING:		return "pending";
	case RELAY_DELIVERED:		return "delivered";
	case RELAY_DROPPED_QUEUE_FULL:	return "queue_full";
	case RELAY_DROPPED_REJECTED:	return "rejected";
	case RELAY_DROPPED_FAILED:	return "failed";
	case RELAY_DROPPED_UNSENDABLE:	return "unsendable";
	case RELAY_DROPPED_SHUTDOWN:	return "shutdown";
	case RELAY_DROPPED_INTERNAL:	return "internal";
	case RELAY_DROPPED_TOO_LARGE:	return "too_large";
	case RELAY_DROPPED_TOO_OLD:	return "too_old";
	case RELAY_OUTCOME_COUNT:	break;
	}
	return "unknown";
}

void
stats_summary(const struct relay_stats *st, char *buf, size_t size)
{
	size_t off;
	int n;

	n = snprintf(buf, size, "received=%llu delivered=%llu dropped=%llu",
	    (unsigned long long)st->received, (unsigned long long)st->delivered,
	    (unsigned long long)stats_dropped_total(st));
	off = n < 0 ? 0 : (size_t)n;
	for (int i = RELAY_DELIVERED + 1; i < RELAY_OUTCOME_COUNT && off < size; i++) {
		n = snprintf(buf + off, size - off, " dropped_%s=%llu",
		    stats_reason_name((enum relay_outcome)i), (unsigned long long)st->dropped[i]);
		off += n < 0 ? 0 : (size_t)n;
	}
	if (off < size)
		snprintf(buf + off, size - off, " retried=%llu queued=%llu in_flight=%llu",
		    (unsigned long long)st->retried, (unsigned long long)stats_queued(st),
		    (unsigned long long)st->in_flight);
}
