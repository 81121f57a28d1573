/* metrics.h -- the relay's counters in the Prometheus text exposition format. */
#ifndef RELAY_METRICS_H
#define RELAY_METRICS_H

#include "stats.h"

struct evbuffer;

/* Append every metric to `out`. 0, or -ENOMEM. */
int	metrics_render(const struct relay_stats *st, struct evbuffer *out);

#endif
