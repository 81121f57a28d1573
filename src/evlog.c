/* evlog.c -- libevent's own warnings, routed through log.c, rate limited. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <event2/event.h>

#include "evlog.h"
#include "ratelog.h"

/* One kind of line per libevent severity: a flood of one warning stays one line a second. */
static struct ratelog evlog_rate[4];

static void
on_libevent_log(int severity, const char *msg)
{
	static const struct log_field field = { "lib", "libevent" };
	enum log_level level;
	int i;

	switch (severity) {
	case EVENT_LOG_ERR:	level = LOG_ERROR; i = 3; break;
	case EVENT_LOG_WARN:	level = LOG_WARNING; i = 2; break;
	case EVENT_LOG_MSG:	level = LOG_INFO; i = 1; break;
	default:		level = LOG_DEBUG; i = 0; break;
	}
	ratelog_log(&evlog_rate[i], level, &field, 1, "%s", msg);
}

void
evlog_route(void)
{
	event_set_log_callback(on_libevent_log);
}
