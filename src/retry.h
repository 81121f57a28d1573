/* retry.h -- the retry policy: which answers are worth another upload, and when. */
#ifndef RELAY_RETRY_H
#define RELAY_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* 408, 429 and 5xx other than 501: the remote may accept the same upload later. */
bool	retry_status_retryable(int status);
/*
 * A Retry-After value: delta-seconds or an HTTP date (IMF-fixdate), relative
 * to `now` (seconds since the epoch). Nanoseconds to wait, or -1 when absent,
 * malformed or longer than a day.
 */
int64_t	retry_after_ns(const char *value, time_t now);
/*
 * Exponential backoff with jitter before upload number attempts + 1: a random
 * point in the upper half of 500 ms * 2^(attempts-1), capped at 30 s.
 * `unit` in [0, 1] is the random draw.
 */
int64_t	retry_backoff_ns(int attempts, double unit);

#endif
