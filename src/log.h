/* log.h -- logrus-compatible log lines (text or JSON) written to stderr. */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* logrus levels, most severe first; a line is written when its level <= the configured one. */
enum log_level {
	LOG_PANIC = 0,
	LOG_FATAL,
	LOG_ERROR,
	LOG_WARNING,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE
};

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Everything the formatter needs; strings are copied by log_configure(). */
struct log_config {
	enum log_level	 level;
	enum log_format	 format;
	const char	*timestamp_layout;	/* Go reference layout; NULL = RFC 3339 */
	bool		 timestamp_disable;
	const char	*time_key;		/* NULL = "time" */
	const char	*level_key;		/* NULL = "level" */
	const char	*msg_key;		/* NULL = "msg" */
	const char	*error_key;		/* NULL = "logrus_error" (never emitted) */
	const char	*svc;			/* value of the "svc" field; NULL = no field */
};

/* One extra key=value pair on a line (e.g. comp=controller, path=/ingest). */
struct log_field {
	const char	*key;
	const char	*value;
};

/* The configured level; read by the macros so disabled lines cost one compare. */
extern enum log_level log_current_level;

/*
 * Install a configuration. Until the first call, lines use logrus' defaults:
 * text, level info, RFC 3339 timestamps, no svc field. Returns 0, or -ENOMEM
 * (the previous configuration stays).
 */
int	log_configure(const struct log_config *cfg);
/* Free what log_configure() copied and go back to the defaults. */
void	log_reset(void);

/* logrus.ParseLevel: case-insensitive panic|fatal|error|warn|warning|info|debug|trace. 0 or -EINVAL. */
int	log_level_parse(const char *s, enum log_level *ret);
/* The lowercase logrus name ("warning" for LOG_WARNING). */
const char *log_level_name(enum log_level level);

/*
 * Write one line at `level` with optional fields (sorted by key in the output,
 * as logrus does; the svc field is added). The message is printf-formatted.
 * Never fails visibly: on OOM the line is written truncated or dropped.
 */
void	log_fields(enum log_level level, const struct log_field *fields, size_t nfields,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	log_vfields(enum log_level level, const struct log_field *fields, size_t nfields,
	    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Format one line into a malloc'd string (with the trailing newline) instead of
 * writing it; `now` is the timestamp (seconds, nanoseconds). For tests and for
 * log_vfields itself. NULL on OOM.
 */
char	*log_format_line(enum log_level level, const struct log_field *fields, size_t nfields,
	    long long now_sec, long now_nsec, const char *msg);

#define log_enabled(l)	((l) <= log_current_level)
#define LOG_AT_(l, ...)	do { if (log_enabled(l)) log_fields((l), NULL, 0, __VA_ARGS__); } while (0)
#define log_error(...)	LOG_AT_(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	LOG_AT_(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	LOG_AT_(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	LOG_AT_(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...)	LOG_AT_(LOG_TRACE, __VA_ARGS__)
/* With fields: log_f(LOG_DEBUG, fields, n, fmt, ...). */
#define log_f(l, f, n, ...) do { if (log_enabled(l)) log_fields((l), (f), (n), __VA_ARGS__); } while (0)

#endif
