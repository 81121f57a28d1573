/* test_retry.c -- the retry policy: retryable statuses, Retry-After, backoff bounds. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "retry.h"
#include "tap.h"

#define S 1000000000LL

int
main(void)
{
	static const struct { int status; bool retry; } statuses[] = {
		{ 200, false }, { 301, false }, { 400, false }, { 401, false }, { 403, false },
		{ 404, false }, { 408, true }, { 413, false }, { 422, false }, { 429, true },
		{ 500, true }, { 501, false }, { 502, true }, { 503, true }, { 504, true }, { 599, true },
	};
	time_t now = 1784000000;	/* 2026-07-14T03:33:20Z */

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char desc[64];

		snprintf(desc, sizeof(desc), "status %d %s", statuses[i].status,
		    statuses[i].retry ? "is retried" : "is final");
		ok(retry_status_retryable(statuses[i].status) == statuses[i].retry, desc);
	}
	is_int(retry_after_ns("0", now), 0, "Retry-After: 0");
	is_int(retry_after_ns("7", now), 7 * S, "Retry-After: 7");
	is_int(retry_after_ns("86400", now), 86400 * S, "a day at most");
	is_int(retry_after_ns("86401", now), -1, "longer than a day is ignored");
	is_int(retry_after_ns("7s", now), -1, "trailing garbage ignored");
	is_int(retry_after_ns("", now), -1, "empty ignored");
	is_int(retry_after_ns(NULL, now), -1, "absent");
	is_int(retry_after_ns("99999999999999999999", now), -1, "overflow ignored");
	is_int(retry_after_ns("Tue, 14 Jul 2026 03:33:50 GMT", now), 30 * S, "an HTTP date 30 s ahead");
	is_int(retry_after_ns("Tue, 14 Jul 2026 03:00:00 GMT", now), 0, "a date in the past: at once");
	is_int(retry_after_ns("tomorrow", now), -1, "not a date");
	is_int(retry_backoff_ns(1, 0), S / 4, "first retry: at least 250 ms");
	is_int(retry_backoff_ns(1, 1), S / 2, "first retry: at most 500 ms");
	is_int(retry_backoff_ns(2, 1), S, "doubles: 1 s");
	is_int(retry_backoff_ns(4, 1), 4 * S, "4 s after the fourth attempt");
	is_int(retry_backoff_ns(20, 1), 30 * S, "capped at 30 s");
	is_int(retry_backoff_ns(20, 0), 15 * S, "jitter stays in the upper half");
	is_int(retry_backoff_ns(1000, 0.5), 22500000000LL, "no overflow for large counts");
	return done_testing();
}
