/* ratelog.h -- log lines of one kind at most once a second, counting what was held back. */
#ifndef RELAY_RATELOG_H
#define RELAY_RATELOG_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

/* One kind of line (e.g. "queue full"); zero-initialised. */
struct ratelog {
	time_t		last;		/* when a line of this kind was last written */
	uint64_t	suppressed;	/* held back since */
};

/*
 * Write the line unless one of the same kind went out less than a second ago;
 * then count it, and say how many were held back in the next line written.
 * A flood of drops or retries must not become a flood of lines.
 */
void	ratelog_vlog(struct ratelog *rl, enum log_level level, const struct log_field *fields,
	    size_t nfields, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
void	ratelog_log(struct ratelog *rl, enum log_level level, const struct log_field *fields,
	    size_t nfields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
