/* settings.c -- reads every PYROSCOPE_* variable once into struct relay_settings. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "golayout.h"
#include "hdr.h"
#include "parse.h"
#include "settings.h"

#define DEFAULT_TIMEOUT_NS	(10LL * 1000 * 1000 * 1000)
#define DEFAULT_FLUSH_NS	(1000LL * 1000 * 1000)
#define DEFAULT_BUSY_INTERVAL_NS (1000LL * 1000 * 1000)
#define DEFAULT_WARMUP_INVOKES	5
#define MAX_WARMUP_INVOKES	1000000
#define DEFAULT_RETRY_ATTEMPTS	5
#define MAX_RETRY_ATTEMPTS	100
#define DEFAULT_RETRY_AGE_NS	(300LL * 1000 * 1000 * 1000)
#define DEFAULT_KEEPALIVE_IDLE_NS (30LL * 1000 * 1000 * 1000)
#define DEFAULT_WORKERS		5
#define MAX_WORKERS		256
#define DEFAULT_MAX_BODY	(8ULL << 20)
#define DEFAULT_MAX_HEADER	(64ULL << 10)
#define DEFAULT_QUEUE_PROFILES	256
#define DEFAULT_QUEUE_BYTES	(16ULL << 20)
#define MIN_LAMBDA_QUEUE_BYTES	(4ULL << 20)
#define MAX_LAMBDA_QUEUE_BYTES	(64ULL << 20)
#define MIN_HEADER_BYTES	1024
#define MAX_QUEUE_PROFILES	100000
#define MAX_HEADER_VALUE	8192
#define DEFAULT_HEADER_TIMEOUT_NS (10LL * 1000 * 1000 * 1000)
#define DEFAULT_BODY_MIN_RATE	1024
#define MAX_CONNECTIONS		65536

struct loader {
	struct relay_settings	*s;
	const char		*(*getenv_fn)(const char *);
	int			 oom;
};

/* Record a problem; the text says what was wrong and what happens instead. */
static void __attribute__((format(printf, 2, 3)))
problem(struct loader *l, const char *fmt, ...)
{
	struct settings_problem *grown;
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	grown = text ? realloc(l->s->problems, (l->s->nproblems + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free(text);
		l->oom = 1;
		return;
	}
	grown[l->s->nproblems++].text = text;
	l->s->problems = grown;
}

/* The first reason nothing can be sent wins; later ones are problems already. */
static void
block_sending(struct loader *l, const char *why)
{
	if (l->s->unsendable != NULL)
		return;
	l->s->unsendable = strdup(why);
	if (l->s->unsendable == NULL)
		l->oom = 1;
}

/* Unset and empty mean "use the default", as in the original (getEnvStrOr). */
static const char *
env(struct loader *l, const char *name)
{
	const char *v = l->getenv_fn(name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

static char *
dup_or_default(struct loader *l, const char *name, const char *def)
{
	const char *v = env(l, name);
	char *copy = strdup(v ? v : def);

	if (copy == NULL)
		l->oom = 1;
	return copy;
}

static bool
load_bool(struct loader *l, const char *name)
{
	const char *v = env(l, name);
	bool b = false;

	if (v != NULL && parse_bool(v, &b) < 0)
		problem(l, "%s: invalid boolean '%s' (want true/false, 1/0, t/f), using 'false'", name, v);
	return b;
}

static uint64_t
load_size(struct loader *l, const char *name, uint64_t def, uint64_t min, uint64_t max)
{
	const char *v = env(l, name);
	uint64_t n;

	if (v == NULL)
		return def;
	if (parse_size(v, &n) < 0 || n < min || n > max) {
		problem(l, "%s: invalid size '%s' (want %llu to %llu bytes, units KiB/MiB/GiB allowed), using '%llu'",
		    name, v, (unsigned long long)min, (unsigned long long)max, (unsigned long long)def);
		return def;
	}
	return n;
}

/*
 * A Go duration. Unset or empty: `def`; 0 also means `def` when
 * zero_is_default (the original's rule for PYROSCOPE_TIMEOUT); a negative
 * value, or 0 otherwise, is invalid.
 */
static int64_t
load_duration(struct loader *l, const char *name, int64_t def, bool zero_is_default)
{
	const char *v = env(l, name);
	char shown[32];
	int64_t n;

	if (v == NULL)
		return def;
	if (parse_duration(v, &n) < 0 || n < 0 || (n == 0 && !zero_is_default)) {
		format_duration(def, shown, sizeof(shown));
		problem(l, "%s: invalid duration '%s' (want a positive Go duration such as 10s, 500ms or 2m), using '%s'",
		    name, v, shown);
		return def;
	}
	return n == 0 ? def : n;
}

/* A decimal integer in [min, max]. Unset or empty: `def`; 0 also when zero_is_default. */
static int64_t
load_int(struct loader *l, const char *name, int64_t def, int64_t min, int64_t max, bool zero_is_default)
{
	const char *v = env(l, name);
	int64_t n;

	if (v == NULL)
		return def;
	if (parse_int(v, &n) == 0 && n == 0 && zero_is_default)
		return def;
	if (parse_int(v, &n) < 0 || n < min || n > max) {
		problem(l, "%s: invalid number '%s' (want %lld to %lld), using '%lld'", name, v,
		    (long long)min, (long long)max, (long long)def);
		return def;
	}
	return n;
}

static void
load_logging(struct loader *l)
{
	struct relay_settings *s = l->s;
	const char *v;

	s->log_level = LOG_INFO;
	v = env(l, "PYROSCOPE_LOG_LEVEL");
	if (v != NULL && log_level_parse(v, &s->log_level) < 0)
		problem(l, "PYROSCOPE_LOG_LEVEL: unknown level '%s' (want panic, fatal, error, warn, info, debug or trace), using 'info'", v);

	s->log_format = LOG_FORMAT_TEXT;
	v = env(l, "PYROSCOPE_LOG_FORMAT");
	if (v != NULL && strcmp(v, "json") == 0)
		s->log_format = LOG_FORMAT_JSON;
	else if (v != NULL && strcmp(v, "text") != 0)
		problem(l, "PYROSCOPE_LOG_FORMAT: unknown format '%s' (want text or json), using 'text'", v);

	s->log_timestamp_format = dup_or_default(l, "PYROSCOPE_LOG_TIMESTAMP_FORMAT", GOLAYOUT_RFC3339);
	s->log_timestamp_disable = load_bool(l, "PYROSCOPE_LOG_TIMESTAMP_DISABLE");
	s->log_time_key = dup_or_default(l, "PYROSCOPE_LOG_TIMESTAMP_FIELD_NAME", "time");
	s->log_level_key = dup_or_default(l, "PYROSCOPE_LOG_LEVEL_FIELD_NAME", "level");
	s->log_msg_key = dup_or_default(l, "PYROSCOPE_LOG_MSG_FIELD_NAME", "msg");
	s->log_error_key = dup_or_default(l, "PYROSCOPE_LOG_LOGRUS_ERROR_FIELD_NAME", "logrus_error");
	/* Accepted and inert, as in the original: the relay only says so. */
	s->log_inert_key_set = env(l, "PYROSCOPE_LOG_FUNC_FIELD_NAME") != NULL ||
	    env(l, "PYROSCOPE_LOG_FILE_FIELD_NAME") != NULL;
}

static void
load_remote(struct loader *l)
{
	struct relay_settings *s = l->s;
	char *err = NULL;

	s->remote_address = dup_or_default(l, "PYROSCOPE_REMOTE_ADDRESS", SETTINGS_DEFAULT_REMOTE);
	if (s->remote_address == NULL)
		return;
	if (remote_url_parse(s->remote_address, &s->remote, &err) < 0) {
		/* The address may carry a password: name the problem, never the value. */
		problem(l, "PYROSCOPE_REMOTE_ADDRESS: unusable address (%s); profiles cannot be sent and will be counted as dropped",
		    err ? err : "out of memory");
		block_sending(l, "PYROSCOPE_REMOTE_ADDRESS is unusable");
		free(err);
	}
}

/* The self-profiler's own remote, as the original's pyroscope-go read it; never another fallback. */
static void
load_adhoc(struct loader *l)
{
	struct relay_settings *s = l->s;
	const char *v = env(l, "PYROSCOPE_ADHOC_SERVER_ADDRESS");
	char *err = NULL;

	if (v == NULL)
		return;
	if ((s->adhoc_address = strdup(v)) == NULL) {
		l->oom = 1;
		return;
	}
	if (remote_url_parse(s->adhoc_address, &s->adhoc_remote, &err) < 0) {
		problem(l, "PYROSCOPE_ADHOC_SERVER_ADDRESS: unusable address (%s); self-profiles cannot be sent and will be counted as dropped",
		    err ? err : "out of memory");
		free(err);
	}
}

/*
 * The proxy to `remote`, into *proxy: the variable for the remote's scheme,
 * unless NO_PROXY names the remote (then the proxy variable is not even read,
 * as in curl). An unusable proxy URL is treated like an unusable address:
 * going around the proxy would take another path to the network than the one
 * configured, and may not reach the remote at all; so what goes there is
 * counted and logged as dropped, and --check-config fails. `what` names the
 * address's variable; the main remote's problem blocks sending, the ad-hoc
 * address's makes that address unusable.
 */
static void
load_proxy(struct loader *l, struct remote_url *remote, struct proxy_config *proxy, const char *what)
{
	const char *name, *no_name, *v, *list;
	char *err = NULL, why[64];
	int rc;

	if (remote->host == NULL)
		return;
	if ((v = proxyenv_get(remote->https, l->getenv_fn, &name)) == NULL)
		return;
	list = proxyenv_no_proxy(l->getenv_fn, &no_name);
	if (list != NULL && proxyenv_bypass(list, remote->host, remote->port)) {
		proxy->var = name;
		proxy->no_proxy_var = no_name;
		return;
	}
	rc = proxyenv_parse(v, proxy, &err);
	if (rc == -ENOMEM) {
		l->oom = 1;
	} else if (rc < 0) {
		/* The URL may carry a password: name the problem, never the value. */
		problem(l, "%s: unusable proxy URL (%s); what goes to %s cannot be sent and will be counted as dropped",
		    name, err ? err : "out of memory", what);
		if (remote == &l->s->remote) {
			snprintf(why, sizeof(why), "%s is unusable", name);
			block_sending(l, why);
		} else {
			remote_url_clear(remote);
		}
	}
	proxy->var = name;
	free(err);
}

/* A secret or header-bound value must fit in a header line. */
static char *
load_header_value(struct loader *l, const char *name, bool secret)
{
	const char *v = env(l, name);
	char *copy;

	if (v == NULL)
		return NULL;
	if (!hdr_value_valid(v)) {
		if (secret)
			problem(l, "%s: value contains a control character (value not shown); profiles cannot be sent and will be counted as dropped", name);
		else
			problem(l, "%s: value '%s' contains a control character; profiles cannot be sent and will be counted as dropped", name, v);
		block_sending(l, "a credential or tenant value is unusable");
		return NULL;
	}
	copy = strdup(v);
	if (copy == NULL)
		l->oom = 1;
	return copy;
}

static int
add_custom_header(struct loader *l, const char *name, const char *value)
{
	struct custom_header *h;

	if (!hdr_name_valid(name)) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: invalid header name '%s'", name);
		return -EINVAL;
	}
	if (hdr_is_relay_owned(name)) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: header '%s' is set by the relay itself and cannot be configured", name);
		return -EINVAL;
	}
	if (!hdr_value_valid(value) || strlen(value) > MAX_HEADER_VALUE) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: value of header '%s' contains a control character or is longer than %d bytes",
		    name, MAX_HEADER_VALUE);
		return -EINVAL;
	}
	if (l->s->nheaders == SETTINGS_MAX_HEADERS) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: more than %d headers", SETTINGS_MAX_HEADERS);
		return -EINVAL;
	}
	h = &l->s->headers[l->s->nheaders];
	h->name = strdup(name);
	h->value = strdup(value);
	l->s->nheaders++;
	if (h->name == NULL || h->value == NULL) {
		l->oom = 1;
		return -ENOMEM;
	}
	return 0;
}

/*
 * json-c cuts a name at an escaped NUL ("\u0000") and values are used as C
 * strings: refuse the escape rather than send a shortened name or value.
 */
static bool
json_has_nul(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '\\')
			continue;
		if (strncmp(s + 1, "u0000", 5) == 0)
			return true;
		if (s[1] != '\0')
			s++;		/* the escaped character */
	}
	return false;
}

/*
 * Strict JSON, as Go's encoding/json reads it: no trailing text, trailing
 * comma or single quote. NULL with *jerr set, or with l->oom set.
 */
static json_object *
parse_json_strict(struct loader *l, const char *s, enum json_tokener_error *jerr)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root;

	if (tok == NULL) {
		l->oom = 1;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, s, -1);
	*jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (*jerr != json_tokener_success) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* PYROSCOPE_HTTP_HEADERS: a JSON object of string values, applied to every upload. */
static void
load_custom_headers(struct loader *l)
{
	const char *v = env(l, "PYROSCOPE_HTTP_HEADERS");
	enum json_tokener_error jerr = json_tokener_success;
	json_object *root;
	int bad = 0;

	if (v == NULL)
		return;
	if (json_has_nul(v)) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: holds a NUL (\\u0000), which no header name or value can; profiles cannot be sent and will be counted as dropped");
		block_sending(l, "PYROSCOPE_HTTP_HEADERS is unusable");
		return;
	}
	root = parse_json_strict(l, v, &jerr);
	if (l->oom)
		return;
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: not a JSON object of strings (%s); profiles cannot be sent and will be counted as dropped",
		    root == NULL ? json_tokener_error_desc(jerr) : "top level is not an object");
		json_object_put(root);
		block_sending(l, "PYROSCOPE_HTTP_HEADERS is unusable");
		return;
	}
	json_object_object_foreach(root, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			problem(l, "PYROSCOPE_HTTP_HEADERS: value of '%s' is not a string", key);
			bad = 1;
			continue;
		}
		if (add_custom_header(l, key, json_object_get_string(val)) < 0)
			bad = 1;
	}
	json_object_put(root);
	if (bad) {
		problem(l, "PYROSCOPE_HTTP_HEADERS: refused; profiles cannot be sent and will be counted as dropped");
		block_sending(l, "PYROSCOPE_HTTP_HEADERS is unusable");
	}
}

const char *
settings_flush_strategy_name(enum flush_strategy f)
{
	switch (f) {
	case FLUSH_ADAPTIVE:		return "adaptive";
	case FLUSH_END_OF_INVOKE:	return "end-of-invoke";
	case FLUSH_START_OF_INVOKE:	return "start-of-invoke";
	case FLUSH_BACKGROUND:		return "background";
	}
	return "unknown";
}

/*
 * PYROSCOPE_FLUSH_STRATEGY picks the strategy; adaptive (the default) is
 * tuned by PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL and _WARMUP. The original's
 * PYROSCOPE_FLUSH_ON_INVOKE=true asked that each invoke's profiles be sent by
 * the start of the next invoke; every strategy but background does that
 * already, so it changes nothing, and an explicit strategy always wins (it is
 * only validated, in load_forwarding). AWS_LAMBDA_INITIALIZATION_TYPE tells
 * Lambda Managed Instances, where no strategy applies: there is no INVOKE
 * event and no freeze.
 */
static void
load_flush(struct loader *l)
{
	struct relay_settings *s = l->s;
	const char *v = env(l, "PYROSCOPE_FLUSH_STRATEGY");

	s->flush_strategy = FLUSH_ADAPTIVE;
	if (v != NULL) {
		int found = 0;

		for (int f = FLUSH_ADAPTIVE; f <= FLUSH_BACKGROUND; f++)
			if (strcmp(v, settings_flush_strategy_name((enum flush_strategy)f)) == 0) {
				s->flush_strategy = (enum flush_strategy)f;
				found = 1;
			}
		if (!found)
			problem(l, "PYROSCOPE_FLUSH_STRATEGY: unknown strategy '%s' (want adaptive, end-of-invoke, start-of-invoke or background), using 'adaptive'", v);
	}
	s->flush_timeout_ns = load_duration(l, "PYROSCOPE_FLUSH_TIMEOUT", DEFAULT_FLUSH_NS, false);
	s->flush_busy_interval_ns = load_duration(l, "PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL",
	    DEFAULT_BUSY_INTERVAL_NS, false);
	s->flush_warmup_invokes = (int)load_int(l, "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", DEFAULT_WARMUP_INVOKES,
	    1, MAX_WARMUP_INVOKES, false);
	v = l->getenv_fn("AWS_LAMBDA_INITIALIZATION_TYPE");
	s->managed_instances = v != NULL && strcmp(v, "lambda-managed-instances") == 0;
}

static void
load_forwarding(struct loader *l)
{
	struct relay_settings *s = l->s;

	s->timeout_ns = load_duration(l, "PYROSCOPE_TIMEOUT", DEFAULT_TIMEOUT_NS, true);
	s->num_workers = (int)load_int(l, "PYROSCOPE_NUM_WORKERS", DEFAULT_WORKERS, 1, MAX_WORKERS, true);
	s->retry_max_attempts = (int)load_int(l, "PYROSCOPE_RETRY_MAX_ATTEMPTS", DEFAULT_RETRY_ATTEMPTS, 1,
	    MAX_RETRY_ATTEMPTS, false);
	s->retry_max_age_ns = load_duration(l, "PYROSCOPE_RETRY_MAX_AGE", DEFAULT_RETRY_AGE_NS, false);
	s->keepalive_max_idle_ns = load_duration(l, "PYROSCOPE_KEEPALIVE_MAX_IDLE", DEFAULT_KEEPALIVE_IDLE_NS, false);
	/* Checked only: every strategy but background already flushes each invoke (see load_flush). */
	(void)load_bool(l, "PYROSCOPE_FLUSH_ON_INVOKE");
	s->self_profiling = load_bool(l, "PYROSCOPE_SELF_PROFILING");
	if (s->self_profiling) {
		load_adhoc(l);
		load_proxy(l, &s->adhoc_remote, &s->adhoc_proxy, "PYROSCOPE_ADHOC_SERVER_ADDRESS");
	}
	load_flush(l);
}

/* "host:port" or "[v6]:port" into *ret; -EINVAL when malformed. */
static int
parse_listen_one(const char *p, size_t len, struct listen_addr *ret)
{
	const char *colon, *host = p;
	size_t hlen;
	char port[8];
	int64_t n;

	if (len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (close == NULL || close + 1 >= p + len || close[1] != ':')
			return -EINVAL;
		host = p + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = memrchr(p, ':', len);
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - p);
		if (memchr(p, ':', hlen) != NULL)
			return -EINVAL;		/* a bare IPv6 literal needs brackets */
	}
	len -= (size_t)(colon + 1 - p);
	if (hlen == 0 || len == 0 || len >= sizeof(port))
		return -EINVAL;
	memcpy(port, colon + 1, len);
	port[len] = '\0';
	if (parse_int(port, &n) < 0 || n < 0 || n > 65535)
		return -EINVAL;
	ret->host = strndup(host, hlen);
	if (ret->host == NULL)
		return -ENOMEM;
	ret->port = (int)n;
	return 0;
}

static int
parse_listen(struct relay_settings *s, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		int rc;

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		if (s->nlisten == SETTINGS_MAX_LISTEN)
			return -EINVAL;
		rc = parse_listen_one(p, len, &s->listen[s->nlisten]);
		if (rc < 0)
			return rc;
		s->nlisten++;
		p += len;
		if (*p == ',')
			p++;
	}
	return s->nlisten > 0 ? 0 : -EINVAL;
}

static void
clear_listen(struct relay_settings *s)
{
	for (size_t i = 0; i < s->nlisten; i++)
		free(s->listen[i].host);
	s->nlisten = 0;
}

/*
 * Outside Lambda: 16 MiB. In Lambda the budget follows the function's memory
 * like the platform's X-Ray daemon (3%), between 4 MiB (128 MB functions) and
 * 64 MiB: the relay shares the function's memory.
 */
static uint64_t
default_queue_bytes(struct loader *l)
{
	const char *v = env(l, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
	uint64_t budget;
	int64_t mb;

	if (v == NULL || parse_int(v, &mb) < 0 || mb <= 0 || mb > 1 << 20)
		return DEFAULT_QUEUE_BYTES;
	budget = (uint64_t)mb * (1 << 20) * 3 / 100;
	if (budget < MIN_LAMBDA_QUEUE_BYTES)
		budget = MIN_LAMBDA_QUEUE_BYTES;
	if (budget > MAX_LAMBDA_QUEUE_BYTES)
		budget = MAX_LAMBDA_QUEUE_BYTES;
	return budget;
}

static void
load_limits(struct loader *l)
{
	struct relay_settings *s = l->s;
	const char *v = env(l, "PYROSCOPE_LISTEN_ADDRESS");
	int rc;

	rc = parse_listen(s, v ? v : SETTINGS_DEFAULT_LISTEN);
	if (rc < 0 && v != NULL) {
		clear_listen(s);
		problem(l, "PYROSCOPE_LISTEN_ADDRESS: invalid list '%s' (want host:port[,host:port], IPv6 in brackets, at most %d), using '%s'",
		    v, SETTINGS_MAX_LISTEN, SETTINGS_DEFAULT_LISTEN);
		rc = parse_listen(s, SETTINGS_DEFAULT_LISTEN);
	}
	if (rc < 0)
		l->oom = 1;

	s->queue_max_bytes = load_size(l, "PYROSCOPE_QUEUE_MAX_BYTES", default_queue_bytes(l), 64 << 10, 1ULL << 32);
	s->queue_max_profiles = load_size(l, "PYROSCOPE_QUEUE_MAX_PROFILES", DEFAULT_QUEUE_PROFILES, 1, MAX_QUEUE_PROFILES);
	s->max_header_bytes = load_size(l, "PYROSCOPE_MAX_HEADER_SIZE", DEFAULT_MAX_HEADER, MIN_HEADER_BYTES, 1 << 20);
	s->max_body_bytes = load_size(l, "PYROSCOPE_MAX_BODY_SIZE",
	    DEFAULT_MAX_BODY < s->queue_max_bytes ? DEFAULT_MAX_BODY : s->queue_max_bytes, 1, 1ULL << 32);
	if (s->max_body_bytes > s->queue_max_bytes) {
		problem(l, "PYROSCOPE_MAX_BODY_SIZE: %llu is larger than PYROSCOPE_QUEUE_MAX_BYTES (%llu), using %llu",
		    (unsigned long long)s->max_body_bytes, (unsigned long long)s->queue_max_bytes,
		    (unsigned long long)s->queue_max_bytes);
		s->max_body_bytes = s->queue_max_bytes;
	}
}

/*
 * What one local client may hold: connections (a share of the descriptor
 * limit), time to send a head, a minimum body rate, and bytes being received
 * by all clients together (by default the queue's own budget).
 */
static void
load_clients(struct loader *l)
{
	struct relay_settings *s = l->s;

	s->max_connections = (uint64_t)load_int(l, "PYROSCOPE_MAX_CONNECTIONS", 0, 1, MAX_CONNECTIONS, true);
	s->header_timeout_ns = load_duration(l, "PYROSCOPE_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT_NS, false);
	s->body_min_rate = load_size(l, "PYROSCOPE_BODY_MIN_RATE", DEFAULT_BODY_MIN_RATE, 1, 1ULL << 30);
	s->receive_max_bytes = load_size(l, "PYROSCOPE_RECEIVE_MAX_BYTES", s->queue_max_bytes, 64 << 10, 1ULL << 32);
}

/* PYROSCOPE_LAMBDA_LABELS and the values it adds; mod_labels checks the values and logs. */
static void
load_lambda_labels(struct loader *l)
{
	struct relay_settings *s = l->s;
	const char *name = NULL, *version = NULL, *region = NULL;

	s->lambda_labels = load_bool(l, "PYROSCOPE_LAMBDA_LABELS");
	if (s->lambda_labels) {
		name = env(l, "AWS_LAMBDA_FUNCTION_NAME");
		version = env(l, "AWS_LAMBDA_FUNCTION_VERSION");
		region = env(l, "AWS_REGION");
	}
	if ((name != NULL && (s->lambda_function_name = strdup(name)) == NULL) ||
	    (version != NULL && (s->lambda_function_version = strdup(version)) == NULL) ||
	    (region != NULL && (s->lambda_region = strdup(region)) == NULL))
		l->oom = 1;
}

static void
clear_lambda_labels(struct relay_settings *s)
{
	free(s->lambda_function_name);
	free(s->lambda_function_version);
	free(s->lambda_region);
}

int
settings_load(struct relay_settings *ret, const char *(*getenv_fn)(const char *name))
{
	struct loader l = { .s = ret, .getenv_fn = getenv_fn };
	const char *v;

	memset(ret, 0, sizeof(*ret));
	ret->dev_mode = load_bool(&l, "PYROSCOPE_DEV_MODE");
	v = l.getenv_fn("AWS_LAMBDA_RUNTIME_API");
	if (v != NULL && *v != '\0' && (ret->runtime_api = strdup(v)) == NULL)
		l.oom = 1;
	load_logging(&l);
	load_remote(&l);
	load_proxy(&l, &ret->remote, &ret->proxy, "PYROSCOPE_REMOTE_ADDRESS");
	ret->auth_token = load_header_value(&l, "PYROSCOPE_AUTH_TOKEN", true);
	ret->basic_auth_user = load_header_value(&l, "PYROSCOPE_BASIC_AUTH_USER", true);
	ret->basic_auth_password = load_header_value(&l, "PYROSCOPE_BASIC_AUTH_PASSWORD", true);
	ret->tenant_id = load_header_value(&l, "PYROSCOPE_TENANT_ID", false);
	load_custom_headers(&l);
	load_forwarding(&l);
	load_limits(&l);
	load_clients(&l);
	load_lambda_labels(&l);
	if (l.oom) {
		settings_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

void
settings_clear(struct relay_settings *s)
{
	if (s == NULL)
		return;
	free(s->runtime_api);
	free(s->log_timestamp_format);
	free(s->log_time_key);
	free(s->log_level_key);
	free(s->log_msg_key);
	free(s->log_error_key);
	free(s->remote_address);
	remote_url_clear(&s->remote);
	free(s->adhoc_address);
	remote_url_clear(&s->adhoc_remote);
	proxy_config_clear(&s->adhoc_proxy);
	proxy_config_clear(&s->proxy);
	free(s->auth_token);
	free(s->basic_auth_user);
	free(s->basic_auth_password);
	free(s->tenant_id);
	for (size_t i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		free(s->headers[i].value);
	}
	clear_listen(s);
	clear_lambda_labels(s);
	free(s->unsendable);
	for (size_t i = 0; i < s->nproblems; i++)
		free(s->problems[i].text);
	free(s->problems);
	memset(s, 0, sizeof(*s));
}

void
settings_log_config(const struct relay_settings *s, struct log_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->level = s->log_level;
	ret->format = s->log_format;
	ret->timestamp_layout = s->log_timestamp_format;
	ret->timestamp_disable = s->log_timestamp_disable;
	ret->time_key = s->log_time_key;
	ret->level_key = s->log_level_key;
	ret->msg_key = s->log_msg_key;
	ret->error_key = s->log_error_key;
	ret->svc = "pyroscope-lambda-ext-main";
}
