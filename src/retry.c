/* retry.c -- the retry policy: which answers are worth another upload, and when. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

#define BACKOFF_BASE_NS	(500LL * 1000 * 1000)
#define BACKOFF_MAX_NS	(30LL * 1000 * 1000 * 1000)
#define RETRY_AFTER_MAX	86400

bool
retry_status_retryable(int status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599 && status != 501);
}

int64_t
retry_after_ns(const char *value, time_t now)
{
	struct tm tm;
	int64_t secs;
	char *end;

	if (value == NULL || *value == '\0')
		return -1;
	if (*value >= '0' && *value <= '9') {
		errno = 0;
		secs = strtoll(value, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	} else {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
			return -1;
		secs = (int64_t)(timegm(&tm) - now);
		if (secs < 0)
			secs = 0;
	}
	return secs > RETRY_AFTER_MAX ? -1 : secs * 1000000000;
}

int64_t
retry_backoff_ns(int attempts, double unit)
{
	int64_t d = BACKOFF_BASE_NS;

	for (int i = 1; i < attempts && d < BACKOFF_MAX_NS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_NS)
		d = BACKOFF_MAX_NS;
	if (unit < 0)
		unit = 0;
	if (unit > 1)
		unit = 1;
	return d / 2 + (int64_t)(unit * (double)(d / 2));
}
