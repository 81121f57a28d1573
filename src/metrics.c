/* metrics.c -- the relay's counters in the Prometheus text exposition format. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>

#include <event2/buffer.h>

#include "metrics.h"

#define P "pyroscope_relay_"

static int
one(struct evbuffer *out, const char *name, const char *type, const char *help, uint64_t v)
{
	return evbuffer_add_printf(out, "# HELP " P "%s %s\n# TYPE " P "%s %s\n" P "%s %llu\n",
	    name, help, name, type, name, (unsigned long long)v) < 0 ? -ENOMEM : 0;
}

static int
dropped(const struct relay_stats *st, struct evbuffer *out)
{
	if (evbuffer_add_printf(out, "# HELP " P "dropped_profiles_total Profiles dropped, by reason.\n"
	    "# TYPE " P "dropped_profiles_total counter\n") < 0)
		return -ENOMEM;
	for (int i = RELAY_DELIVERED + 1; i < RELAY_OUTCOME_COUNT; i++)
		if (evbuffer_add_printf(out, P "dropped_profiles_total{reason=\"%s\"} %llu\n",
		    stats_reason_name((enum relay_outcome)i), (unsigned long long)st->dropped[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int
latency(const struct relay_stats *st, struct evbuffer *out)
{
	if (evbuffer_add_printf(out, "# HELP " P "upstream_request_duration_seconds Duration of each upload attempt to the remote.\n"
	    "# TYPE " P "upstream_request_duration_seconds histogram\n") < 0)
		return -ENOMEM;
	for (int i = 0; i < STATS_LATENCY_BUCKETS; i++)
		if (evbuffer_add_printf(out, P "upstream_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    stats_latency_bounds[i], (unsigned long long)st->latency_buckets[i]) < 0)
			return -ENOMEM;
	if (evbuffer_add_printf(out, P "upstream_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    P "upstream_request_duration_seconds_sum %.6f\n" P "upstream_request_duration_seconds_count %llu\n",
	    (unsigned long long)st->latency_count, st->latency_sum, (unsigned long long)st->latency_count) < 0)
		return -ENOMEM;
	return 0;
}

int
metrics_render(const struct relay_stats *st, struct evbuffer *out)
{
	if (one(out, "received_profiles_total", "counter", "Profiles accepted from clients.", st->received) < 0 ||
	    one(out, "received_bytes_total", "counter", "Body bytes accepted from clients.", st->received_bytes) < 0 ||
	    one(out, "delivered_profiles_total", "counter", "Profiles the remote accepted (2xx).", st->delivered) < 0 ||
	    one(out, "delivered_bytes_total", "counter", "Body bytes the remote accepted.", st->delivered_bytes) < 0 ||
	    dropped(st, out) < 0 ||
	    one(out, "dropped_bytes_total", "counter", "Body bytes dropped.", st->dropped_bytes) < 0 ||
	    one(out, "retries_total", "counter", "Uploads started again after a failure.", st->retried) < 0 ||
	    one(out, "queued_profiles", "gauge", "Profiles waiting to be sent (retries included).", stats_queued(st)) < 0 ||
	    one(out, "queued_bytes", "gauge", "Bytes held for waiting and in-flight profiles.", st->queued_bytes) < 0 ||
	    one(out, "in_flight_profiles", "gauge", "Uploads in flight.", st->in_flight) < 0 ||
	    latency(st, out) < 0)
		return -ENOMEM;
	return 0;
}
