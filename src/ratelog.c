/* ratelog.c -- log lines of one kind at most once a second, counting what was held back. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "ratelog.h"

#define RATELOG_INTERVAL 1	/* seconds */

void
ratelog_vlog(struct ratelog *rl, enum log_level level, const struct log_field *fields, size_t nfields,
    const char *fmt, va_list ap)
{
	time_t now = time(NULL);
	char msg[1024];

	if (!log_enabled(level))
		return;
	if (now - rl->last < RATELOG_INTERVAL) {
		rl->suppressed++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (rl->suppressed > 0)
		log_fields(level, fields, nfields, "%s (%llu more like this since the last report)",
		    msg, (unsigned long long)rl->suppressed);
	else
		log_fields(level, fields, nfields, "%s", msg);
	rl->last = now;
	rl->suppressed = 0;
}

void
ratelog_log(struct ratelog *rl, enum log_level level, const struct log_field *fields, size_t nfields,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ratelog_vlog(rl, level, fields, nfields, fmt, ap);
	va_end(ap);
}
