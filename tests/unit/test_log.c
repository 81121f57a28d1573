/* test_log.c -- log lines byte for byte against what logrus v1.9.3 writes. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

#define T0	1738231200LL	/* 2025-01-30T10:00:00Z */
#define SVC	"pyroscope-lambda-ext-main"
#define TIME	"time=\"2025-01-30T10:00:00Z\" "
#define NF(a)	(sizeof(a) / sizeof((a)[0]))

/* Format one line at T0 and compare it; frees the line. */
static void
line_is(enum log_level level, const struct log_field *f, size_t n, long nsec,
    const char *msg, const char *want, const char *desc)
{
	char	*got = log_format_line(level, f, n, T0, nsec, msg);

	is_str(got, want, desc);
	free(got);
}

/* The configuration of the original extension, plus whatever a test changes. */
static struct log_config
main_config(enum log_format format)
{
	struct log_config c = { .level = LOG_DEBUG, .format = format, .svc = SVC };

	return c;
}

static void
configure(const struct log_config *c)
{
	if (log_configure(c) != 0)
		ok(0, "log_configure failed");
}

static void
test_defaults(void)
{
	is_int(log_current_level, LOG_INFO, "level is info before log_configure");
	line_is(LOG_WARNING, NULL, 0, 0,
	    "invalid value for env var 'PYROSCOPE_TIMEOUT': 'abc' defaulting to '10s'",
	    TIME "level=warning msg=\"invalid value for env var 'PYROSCOPE_TIMEOUT': "
	    "'abc' defaulting to '10s'\"\n", "defaults: text, RFC 3339, no svc");
	ok(log_format_line(LOG_INFO, NULL, 0, T0, 1000000000L, "x") == NULL,
	    "nanoseconds out of range give no line");
}

static void
test_text_lines(void)
{
	struct log_config	 c = main_config(LOG_FORMAT_TEXT);
	struct log_field	 orch[] = { { "comp", "orchestrator" } };
	struct log_field	 path[] = { { "path", "/ingest" } };
	struct log_field	 empty[] = { { "k", "" } };
	struct log_field	 order[] = { { "svc", "override" }, { "a", "3" }, { "_", "2" }, { "B", "1" } };

	configure(&c);
	is_int(log_current_level, LOG_DEBUG, "log_configure sets the level");
	line_is(LOG_DEBUG, orch, NF(orch), 0, "Starting queue",
	    TIME "level=debug msg=\"Starting queue\" comp=orchestrator svc=" SVC "\n",
	    "debug line with a comp field");
	line_is(LOG_INFO, NULL, 0, 0, "Received signal: 'terminated'. Exiting\n",
	    TIME "level=info msg=\"Received signal: 'terminated'. Exiting\\n\" svc=" SVC "\n",
	    "a newline in the message is written as \\n");
	line_is(LOG_ERROR, path, NF(path), 0,
	    "Failed to relay request: response not ok: status code: '401'. body: 'invalid credentials\n'",
	    TIME "level=error msg=\"Failed to relay request: response not ok: status code: '401'. "
	    "body: 'invalid credentials\\n'\" path=/ingest svc=" SVC "\n", "error line with a path");
	line_is(LOG_INFO, empty, NF(empty), 0, "", TIME "level=info k= svc=" SVC "\n",
	    "an empty message omits msg; an empty value is written as nothing");
	line_is(LOG_INFO, order, NF(order), 0, "order",
	    TIME "level=info msg=order B=1 _=2 a=3 svc=override\n",
	    "fields sorted by byte order; a given svc field wins");
	line_is(LOG_TRACE, NULL, 0, 0, "t", TIME "level=trace msg=t svc=" SVC "\n",
	    "trace level name");
	line_is(LOG_PANIC, NULL, 0, 0, "p", TIME "level=panic msg=p svc=" SVC "\n",
	    "panic level name");
	log_reset();
}

static void
test_text_quoting(void)
{
	struct log_field	 f[] = {
		{ "a", "a b" }, { "b", "a-._/@^+Z9" }, { "c", "tab\there" },
		{ "d", "say \"hi\"" }, { "e", "back\\slash" }
	};

	line_is(LOG_INFO, f, NF(f), 0, "q",
	    TIME "level=info msg=q a=\"a b\" b=a-._/@^+Z9 c=\"tab\\there\" "
	    "d=\"say \\\"hi\\\"\" e=\"back\\\\slash\"\n", "%q of space, tab, quote, backslash");
	line_is(LOG_INFO, NULL, 0, 0,
	    "caf\xc3\xa9 \xc2\x85 \xc2\xa0 \xef\xbb\xbf \xe2\x80\xa8 \xf3\xa0\x80\x81 \xf0\x9f\x98\x80",
	    TIME "level=info msg=\"caf\xc3\xa9 \\u0085 \\u00a0 \\ufeff \\u2028 \\U000e0001 "
	    "\xf0\x9f\x98\x80\"\n", "%q keeps printable UTF-8 and escapes the rest as \\u/\\U");
	line_is(LOG_INFO, NULL, 0, 0, "\x01\x7f\a\b\f\r\v\x1b",
	    TIME "level=info msg=\"\\x01\\x7f\\a\\b\\f\\r\\v\\x1b\"\n", "%q of control characters");
	line_is(LOG_INFO, NULL, 0, 0, "\xff\xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\x80",
	    TIME "level=info msg=\"\\xff\\xc3( \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 \\xc0\\x80\"\n",
	    "%q of invalid UTF-8, surrogates, overlong forms and values past U+10FFFF");
}

static void
test_text_keys(void)
{
	struct log_config	 c = main_config(LOG_FORMAT_TEXT);
	struct log_field	 clash[] = {
		{ "msg", "x" }, { "time", "y" }, { "level", "z" }, { "logrus_error", "w" }
	};
	struct log_field	 renamed[] = { { "message", "data" }, { "comp", "c" } };

	configure(&c);
	line_is(LOG_INFO, clash, NF(clash), 0, "clash",
	    TIME "level=info msg=clash fields.level=z fields.logrus_error=w fields.msg=x "
	    "fields.time=y svc=" SVC "\n", "clashing fields become fields.<key>");
	c.time_key = "@timestamp";
	c.msg_key = "message";
	c.level_key = "severity";
	configure(&c);
	line_is(LOG_INFO, renamed, NF(renamed), 0, "renamed",
	    "@timestamp=\"2025-01-30T10:00:00Z\" severity=info message=renamed comp=c "
	    "fields.message=data svc=" SVC "\n", "renamed keys, and a clash with a renamed key");
	c = main_config(LOG_FORMAT_TEXT);
	c.timestamp_disable = true;
	configure(&c);
	line_is(LOG_INFO, NULL, 0, 0, "no time", "level=info msg=\"no time\" svc=" SVC "\n",
	    "timestamp disabled");
	c = main_config(LOG_FORMAT_TEXT);
	c.timestamp_layout = "2006-01-02 15:04:05.000";
	configure(&c);
	line_is(LOG_INFO, NULL, 0, 5000000, "layout",
	    "time=\"2025-01-30 10:00:00.005\" level=info msg=layout svc=" SVC "\n",
	    "a custom Go layout");
	c.timestamp_layout = "";
	configure(&c);
	line_is(LOG_INFO, NULL, 0, 0, "x", TIME "level=info msg=x svc=" SVC "\n",
	    "an empty layout means RFC 3339, as in logrus");
	log_reset();
}

static void
test_json(void)
{
	struct log_config	 c = main_config(LOG_FORMAT_JSON);
	struct log_field	 renamed[] = { { "message", "data" }, { "comp", "c" } };
	struct log_field	 clash[] = { { "msg", "x" }, { "time", "y" }, { "level", "z" } };

	configure(&c);
	line_is(LOG_INFO, NULL, 0, 0, "Starting relay",
	    "{\"level\":\"info\",\"msg\":\"Starting relay\",\"svc\":\"" SVC "\","
	    "\"time\":\"2025-01-30T10:00:00Z\"}\n", "JSON line, keys sorted");
	line_is(LOG_INFO, NULL, 0, 0, "",
	    "{\"level\":\"info\",\"msg\":\"\",\"svc\":\"" SVC "\",\"time\":\"2025-01-30T10:00:00Z\"}\n",
	    "JSON keeps an empty msg");
	line_is(LOG_INFO, clash, NF(clash), 0, "clash",
	    "{\"fields.level\":\"z\",\"fields.msg\":\"x\",\"fields.time\":\"y\",\"level\":\"info\","
	    "\"msg\":\"clash\",\"svc\":\"" SVC "\",\"time\":\"2025-01-30T10:00:00Z\"}\n",
	    "JSON field clashes");
	line_is(LOG_INFO, NULL, 0, 0,
	    "<a href=\"x\">&</a>\n\r\t\b\f\x01\x1b\x7f\\ caf\xc3\xa9 \xc2\x85 \xe2\x80\xa8\xe2\x80\xa9",
	    "{\"level\":\"info\",\"msg\":\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e"
	    "\\n\\r\\t\\b\\f\\u0001\\u001b\x7f\\\\ caf\xc3\xa9 \xc2\x85 \\u2028\\u2029\",\"svc\":\"" SVC
	    "\",\"time\":\"2025-01-30T10:00:00Z\"}\n", "JSON HTML and control escapes (Go 1.22)");
	line_is(LOG_INFO, NULL, 0, 0, "\xff\xed\xa0\x80 ok",
	    "{\"level\":\"info\",\"msg\":\"\\ufffd\\ufffd\\ufffd\\ufffd ok\",\"svc\":\"" SVC
	    "\",\"time\":\"2025-01-30T10:00:00Z\"}\n", "JSON: each invalid UTF-8 byte is U+FFFD");
	c.time_key = "@timestamp";
	c.msg_key = "message";
	c.level_key = "severity";
	c.timestamp_disable = true;
	configure(&c);
	line_is(LOG_INFO, renamed, NF(renamed), 0, "renamed",
	    "{\"comp\":\"c\",\"fields.message\":\"data\",\"message\":\"renamed\",\"severity\":\"info\","
	    "\"svc\":\"" SVC "\"}\n", "JSON renamed keys, timestamp disabled");
	log_reset();
	is_int(log_current_level, LOG_INFO, "log_reset restores level info");
	line_is(LOG_INFO, NULL, 0, 0, "back", TIME "level=info msg=back\n",
	    "log_reset restores text, default keys and no svc");
}

static void
test_levels(void)
{
	static const struct { const char *in; enum log_level want; } good[] = {
		{ "panic", LOG_PANIC }, { "FATAL", LOG_FATAL }, { "Error", LOG_ERROR },
		{ "warn", LOG_WARNING }, { "WARNING", LOG_WARNING }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG }, { "TrAcE", LOG_TRACE }, { "\xc4\xb0NFO", LOG_INFO },
	};
	static const char *const bad[] = { "", "verbose", "infos", "warnings", " info", "inf" };
	enum log_level	 lv;
	size_t		 i;

	for (i = 0; i < NF(good); i++) {
		lv = LOG_PANIC;
		is_int(log_level_parse(good[i].in, &lv), 0, good[i].in);
		is_int(lv, good[i].want, "  parsed to the right level");
	}
	for (i = 0; i < NF(bad); i++) {
		lv = LOG_DEBUG;
		is_int(log_level_parse(bad[i], &lv), -EINVAL, bad[i]);
		is_int(lv, LOG_DEBUG, "  and leaves the result alone");
	}
	is_int(log_level_parse(NULL, &lv), -EINVAL, "NULL level string");
	is_str(log_level_name(LOG_WARNING), "warning", "LOG_WARNING is named warning");
	is_str(log_level_name((enum log_level)42), "unknown", "an unknown level");
}

/* Run log_vfields with stderr sent to a file; returns what was written (malloc'd). */
static char *capture(int *errno_after, enum log_level level, const struct log_field *f,
    size_t n, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static char *
capture(int *errno_after, enum log_level level, const struct log_field *f, size_t n,
    const char *fmt, ...)
{
	FILE	*tmp = tmpfile();
	char	*buf = NULL;
	off_t	 len;
	int	 saved;
	va_list	 ap;

	*errno_after = -1;
	if (tmp == NULL)
		return NULL;
	saved = dup(STDERR_FILENO);
	if (saved >= 0 && dup2(fileno(tmp), STDERR_FILENO) >= 0) {
		va_start(ap, fmt);
		errno = ENOENT;
		log_vfields(level, f, n, fmt, ap);
		*errno_after = errno;
		va_end(ap);
		dup2(saved, STDERR_FILENO);
	}
	if (saved >= 0)
		close(saved);
	len = lseek(fileno(tmp), 0, SEEK_END);
	if (len >= 0 && fseek(tmp, 0, SEEK_SET) == 0)
		buf = calloc(1, (size_t)len + 1);
	if (buf != NULL && fread(buf, 1, (size_t)len, tmp) != (size_t)len)
		buf[0] = '\0';
	fclose(tmp);
	return buf;
}

static void
test_write(void)
{
	struct log_config	 c = main_config(LOG_FORMAT_TEXT);
	struct log_field	 f[] = { { "comp", "x" } };
	static const char	 tail[] = "\" level=info msg=\"hello world\" comp=x svc=" SVC "\n";
	static const char	 big_head[] = "\" level=error msg=", big_tail[] = " svc=" SVC "\n";
	char			*out, *big;
	int			 err;

	configure(&c);
	out = capture(&err, LOG_INFO, f, NF(f), "hello %s", "world");
	/* time="2025-01-30T10:00:00Z" is 26 bytes up to the Z; the clock decides the digits. */
	ok(out != NULL && strncmp(out, "time=\"", 6) == 0 && strlen(out) == 26 + strlen(tail) &&
	    out[25] == 'Z' && strcmp(out + 26, tail) == 0, "log_vfields writes one line to stderr");
	is_int(err, ENOENT, "log_vfields preserves errno");
	free(out);
	big = malloc(10001);
	if (big != NULL) {
		memset(big, 'a', 10000);
		big[10000] = '\0';
		out = capture(&err, LOG_ERROR, NULL, 0, "%s", big);
		ok(out != NULL && strlen(out) == 26 + strlen(big_head) + 10000 + strlen(big_tail) &&
		    strncmp(out + 26, big_head, strlen(big_head)) == 0 && strstr(out, big) != NULL,
		    "a 10000-byte message is written whole");
		free(out);
		free(big);
	}
	c.level = LOG_INFO;
	configure(&c);
	out = capture(&err, LOG_DEBUG, NULL, 0, "%s", "hidden");
	is_str(out, "", "a line above the configured level is not written");
	free(out);
	log_reset();
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_defaults();
	test_text_lines();
	test_text_quoting();
	test_text_keys();
	test_json();
	test_levels();
	test_write();
	return done_testing();
}
