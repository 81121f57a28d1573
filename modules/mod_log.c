/* mod_log.c -- per-request access lines at debug (outcome) and trace (acceptance). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "log.h"
#include "modules.h"
#include "stats.h"

static enum relay_rc
log_on_request(struct relay_req *rr, void *state)
{
	char bytes[24];
	const struct log_field f[] = {
		{ "method", relay_req_method_name(rr->method) },
		{ "path", rr->path },
		{ "bytes", bytes },
	};

	(void)state;
	if (!log_enabled(LOG_TRACE))
		return RELAY_NEXT;
	snprintf(bytes, sizeof(bytes), "%zu", rr->body_len);
	log_fields(LOG_TRACE, f, 3, "Accepted request for relay");
	return RELAY_NEXT;
}

static void
log_on_done(const struct relay_req *rr, void *state)
{
	char bytes[24], status[12], ms[32], attempts[12];
	const struct log_field f[] = {
		{ "method", relay_req_method_name(rr->method) },
		{ "path", rr->path },
		{ "bytes", bytes },
		{ "status", status },
		{ "duration_ms", ms },
		{ "attempts", attempts },
		{ "outcome", stats_reason_name(rr->outcome) },
	};

	(void)state;
	if (!log_enabled(LOG_DEBUG))
		return;
	snprintf(bytes, sizeof(bytes), "%zu", rr->body_len);
	snprintf(status, sizeof(status), "%d", rr->status);
	snprintf(ms, sizeof(ms), "%.1f", relay_req_age_ms(rr));
	snprintf(attempts, sizeof(attempts), "%d", rr->attempts);
	log_fields(LOG_DEBUG, f, sizeof(f) / sizeof(f[0]),
	    rr->outcome == RELAY_DELIVERED ? "Relayed request to remote" : "Request not relayed");
	return;
}

const struct relay_module mod_log = {
	.name = "log",
	.on_request = log_on_request,
	.on_done = log_on_done,
};
