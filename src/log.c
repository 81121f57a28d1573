/* log.c -- logrus-compatible log lines (text or JSON) written to stderr. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "golayout.h"
#include "gostr.h"
#include "fdio.h"
#include "log.h"

/*
 * The configured strings: the four keys logrus' FieldMap renames, in the order
 * its prefixFieldClashes visits them, then the layout and the svc value.
 * NULL means the default.
 */
enum { S_TIME, S_MSG, S_LEVEL, S_ERROR, NKEYS, S_LAYOUT = NKEYS, S_SVC, NSTRS };

static const char *const key_defaults[NKEYS] = { "time", "msg", "level", "logrus_error" };

static const char *const level_names[] = {
	"panic", "fatal", "error", "warning", "info", "debug", "trace"
};

enum log_level log_current_level = LOG_INFO;

/* The whole log configuration; all zero is logrus' default logger. */
static struct {
	enum log_format	 format;
	bool		 timestamp_disable;
	char		*str[NSTRS];
} log_cfg;

/* ---- configuration ------------------------------------------------------- */

int
log_configure(const struct log_config *cfg)
{
	const char	*src[NSTRS];
	char		*dup[NSTRS] = { NULL };
	int		 i;

	if (cfg == NULL || cfg->level < LOG_PANIC || cfg->level > LOG_TRACE)
		return -EINVAL;
	src[S_TIME] = cfg->time_key;
	src[S_MSG] = cfg->msg_key;
	src[S_LEVEL] = cfg->level_key;
	src[S_ERROR] = cfg->error_key;
	src[S_LAYOUT] = cfg->timestamp_layout;
	src[S_SVC] = cfg->svc;
	for (i = 0; i < NSTRS; i++) {
		if (src[i] == NULL)
			continue;
		dup[i] = strdup(src[i]);
		if (dup[i] == NULL) {
			while (i-- > 0)
				free(dup[i]);
			return -ENOMEM;
		}
	}
	log_reset();
	memcpy(log_cfg.str, dup, sizeof(dup));
	log_cfg.format = cfg->format;
	log_cfg.timestamp_disable = cfg->timestamp_disable;
	log_current_level = cfg->level;
	tzset();
	return 0;
}

void
log_reset(void)
{
	int	 i;

	for (i = 0; i < NSTRS; i++)
		free(log_cfg.str[i]);
	memset(&log_cfg, 0, sizeof(log_cfg));
	log_current_level = LOG_INFO;
}

/* Go's strings.ToLower also maps U+0130 (capital I with dot above) to 'i'. */
int
log_level_parse(const char *s, enum log_level *ret)
{
	char	 low[8];
	size_t	 n = 0, i;

	if (s == NULL)
		return -EINVAL;
	for (; *s != '\0' && n < sizeof(low) - 1; s++) {
		if ((unsigned char)s[0] == 0xc4 && (unsigned char)s[1] == 0xb0) {
			low[n++] = 'i';
			s++;
		} else if (*s >= 'A' && *s <= 'Z')
			low[n++] = (char)(*s - 'A' + 'a');
		else
			low[n++] = *s;
	}
	low[n] = '\0';
	if (*s != '\0')
		return -EINVAL;
	if (strcmp(low, "warn") == 0) {
		*ret = LOG_WARNING;
		return 0;
	}
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(low, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
log_level_name(enum log_level level)
{
	if (level < LOG_PANIC || level > LOG_TRACE)
		return "unknown";
	return level_names[level];
}

/* ---- one line: its parts and its data fields (with Go map semantics) ----- */

struct kv {
	const char	*key;
	const char	*value;
};

struct line {
	const char	*key[NKEYS];		/* resolved key names */
	const char	*time, *level, *msg;
	char		*renamed[NKEYS];	/* "fields.<key>" after a clash */
	struct kv	*data;
	size_t		 n;
};

static struct kv *
data_find(struct line *ln, const char *key)
{
	size_t	 i;

	for (i = 0; i < ln->n; i++) {
		if (strcmp(ln->data[i].key, key) == 0)
			return &ln->data[i];
	}
	return NULL;
}

/* data[key] = value */
static void
data_set(struct line *ln, const char *key, const char *value)
{
	struct kv	*e = data_find(ln, key);

	if (e == NULL) {
		e = &ln->data[ln->n++];
		e->key = key;
	}
	e->value = value;
}

/* logrus' prefixFieldClashes for key k: data["fields."+key] = data[key]; delete(data, key). */
static bool
data_prefix_clash(struct line *ln, int k)
{
	static const char prefix[] = "fields.";
	struct kv	*e = data_find(ln, ln->key[k]);
	const char	*value;
	size_t		 klen = strlen(ln->key[k]);

	if (e == NULL)
		return true;
	ln->renamed[k] = malloc(sizeof(prefix) + klen);
	if (ln->renamed[k] == NULL)
		return false;
	memcpy(ln->renamed[k], prefix, sizeof(prefix) - 1);
	memcpy(ln->renamed[k] + sizeof(prefix) - 1, ln->key[k], klen + 1);
	value = e->value;
	*e = ln->data[--ln->n];
	data_set(ln, ln->renamed[k], value);
	return true;
}

/*
 * The svc field, then the caller's fields (a later one wins, as WithFields
 * does), then the clash renames; room is left for the three keys JSON adds.
 */
static bool
data_build(struct line *ln, const struct log_field *fields, size_t n)
{
	size_t	 i;
	int	 k;

	if (n > SIZE_MAX / sizeof(struct kv) - 4)
		return false;
	ln->data = calloc(n + 4, sizeof(struct kv));
	if (ln->data == NULL)
		return false;
	if (log_cfg.str[S_SVC] != NULL)
		data_set(ln, "svc", log_cfg.str[S_SVC]);
	for (i = 0; i < n; i++) {
		if (fields[i].key != NULL)
			data_set(ln, fields[i].key, fields[i].value != NULL ? fields[i].value : "");
	}
	for (k = 0; k < NKEYS; k++) {
		if (!data_prefix_clash(ln, k))
			return false;
	}
	return true;
}

static int
kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* ---- the two formatters -------------------------------------------------- */

/*
 * One key=value. Like logrus, every key (data keys too) goes through the same
 * switch, which tests the time, level, msg and error keys first.
 */
static void
text_pair(FILE *f, const struct line *ln, const char *key, const char *data_value, bool first)
{
	const char	*v = data_value != NULL ? data_value : "";

	if (strcmp(key, ln->key[S_TIME]) == 0)
		v = ln->time;
	else if (strcmp(key, ln->key[S_LEVEL]) == 0)
		v = ln->level;
	else if (strcmp(key, ln->key[S_MSG]) == 0)
		v = ln->msg;
	else if (strcmp(key, ln->key[S_ERROR]) == 0)
		v = "";
	fprintf(f, "%s%s=", first ? "" : " ", key);
	gostr_text_value(f, v);
}

static void
format_text(FILE *f, struct line *ln)
{
	size_t	 i;

	qsort(ln->data, ln->n, sizeof(struct kv), kv_cmp);
	if (!log_cfg.timestamp_disable)
		text_pair(f, ln, ln->key[S_TIME], NULL, true);
	text_pair(f, ln, ln->key[S_LEVEL], NULL, log_cfg.timestamp_disable);
	if (ln->msg[0] != '\0')
		text_pair(f, ln, ln->key[S_MSG], NULL, false);
	for (i = 0; i < ln->n; i++)
		text_pair(f, ln, ln->data[i].key, ln->data[i].value, false);
	fputc('\n', f);
}

static void
format_json(FILE *f, struct line *ln)
{
	size_t	 i;

	if (!log_cfg.timestamp_disable)
		data_set(ln, ln->key[S_TIME], ln->time);
	data_set(ln, ln->key[S_MSG], ln->msg);
	data_set(ln, ln->key[S_LEVEL], ln->level);
	qsort(ln->data, ln->n, sizeof(struct kv), kv_cmp);
	fputc('{', f);
	for (i = 0; i < ln->n; i++) {
		if (i > 0)
			fputc(',', f);
		gostr_json_string(f, ln->data[i].key);
		fputc(':', f);
		gostr_json_string(f, ln->data[i].value);
	}
	fputs("}\n", f);
}

/* The timestamp in the configured layout (logrus uses RFC 3339 for ""); NULL on failure. */
static char *
format_time(long long sec, long nsec)
{
	const char	*layout = log_cfg.str[S_LAYOUT];
	time_t		 t = (time_t)sec;
	struct tm	 tm;
	char		*s;
	int		 n;

	if (layout == NULL || layout[0] == '\0')
		layout = GOLAYOUT_RFC3339;
	if ((long long)t != sec || localtime_r(&t, &tm) == NULL)
		return NULL;
	n = golayout_format(NULL, 0, layout, &tm, nsec);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s != NULL && golayout_format(s, (size_t)n + 1, layout, &tm, nsec) != n) {
		free(s);
		s = NULL;
	}
	return s;
}

char *
log_format_line(enum log_level level, const struct log_field *fields, size_t nfields,
    long long now_sec, long now_nsec, const char *msg)
{
	struct line	 ln = { .level = log_level_name(level), .msg = msg != NULL ? msg : "" };
	char		*out = NULL, *ts;
	size_t		 len = 0;
	FILE		*f = NULL;
	bool		 ok = false;
	int		 k;

	ts = format_time(now_sec, now_nsec);
	ln.time = ts;
	for (k = 0; k < NKEYS; k++)
		ln.key[k] = log_cfg.str[k] != NULL ? log_cfg.str[k] : key_defaults[k];
	if (ts != NULL && data_build(&ln, fields, nfields))
		f = open_memstream(&out, &len);
	if (f != NULL) {
		if (log_cfg.format == LOG_FORMAT_JSON)
			format_json(f, &ln);
		else
			format_text(f, &ln);
		ok = !ferror(f);
		ok = fclose(f) == 0 && ok;
	}
	if (!ok) {
		free(out);
		out = NULL;
	}
	for (k = 0; k < NKEYS; k++)
		free(ln.renamed[k]);
	free(ln.data);
	free(ts);
	return out;
}

/* ---- output -------------------------------------------------------------- */

void
log_vfields(enum log_level level, const struct log_field *fields, size_t nfields,
    const char *fmt, va_list ap)
{
	int		 saved_errno = errno;
	char		*msg = NULL, *line;
	struct timespec	 now;
	va_list		 aq;
	int		 n;

	if (!log_enabled(level) || fmt == NULL)
		goto out;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		goto out;
	msg = malloc((size_t)n + 1);
	if (msg == NULL || vsnprintf(msg, (size_t)n + 1, fmt, ap) != n)
		goto out;
	if (clock_gettime(CLOCK_REALTIME, &now) != 0)
		goto out;
	line = log_format_line(level, fields, nfields, (long long)now.tv_sec, now.tv_nsec, msg);
	if (line != NULL)
		(void)fd_write_all(STDERR_FILENO, line, strlen(line));	/* one write(2): lines stay whole */
	free(line);
out:
	free(msg);
	errno = saved_errno;
}

void
log_fields(enum log_level level, const struct log_field *fields, size_t nfields,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vfields(level, fields, nfields, fmt, ap);
	va_end(ap);
}
