/* fuzz_settings.c -- fuzz target: the whole settings loader (settings.c) and the log lines it configures. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: an environment, as NUL-separated NAME=VALUE strings (a later one
 * wins). settings_load() reads it through its getenv hook. Properties:
 * - it always succeeds, with every value inside its documented range: a
 *   bad value falls back to the default, never a half-parsed one;
 * - every custom header is a valid, non-relay-owned name with a valid value,
 *   and nothing is sendable without a usable remote;
 * - the secrets (token, basic-auth user and password) show in no problem
 *   text: replacing them with other values of the same validity gives the
 *   very same problems;
 * - the logger it configures writes one line: valid JSON in the JSON
 *   format, and in the text format no line break but those of the
 *   configured key names.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "hdr.h"
#include "log.h"
#include "settings.h"

struct var {
	const char	*name;
	const char	*value;
};

static struct var	 env_vars[FUZZ_MAX_STRINGS];
static size_t		 env_n;

/* The getenv hook: the last NAME= of the input wins. */
static const char *
fuzz_getenv(const char *name)
{
	for (size_t i = env_n; i-- > 0;)
		if (strcmp(env_vars[i].name, name) == 0)
			return env_vars[i].value;
	return NULL;
}

static bool
is_secret(const char *name)
{
	return strcmp(name, "PYROSCOPE_AUTH_TOKEN") == 0 ||
	    strcmp(name, "PYROSCOPE_BASIC_AUTH_USER") == 0 ||
	    strcmp(name, "PYROSCOPE_BASIC_AUTH_PASSWORD") == 0;
}

static void
check_ranges(const struct relay_settings *s)
{
	FUZZ_CHECK(s->timeout_ns > 0);
	FUZZ_CHECK(s->num_workers >= 1 && s->num_workers <= 256);
	FUZZ_CHECK(s->retry_max_attempts >= 1 && s->retry_max_attempts <= 100);
	FUZZ_CHECK(s->retry_max_age_ns > 0);
	FUZZ_CHECK(s->flush_timeout_ns > 0);
	FUZZ_CHECK(s->flush_strategy == FLUSH_END_OF_INVOKE ||
	    s->flush_strategy == FLUSH_START_OF_INVOKE || s->flush_strategy == FLUSH_BACKGROUND ||
	    s->flush_strategy == FLUSH_ADAPTIVE);
	FUZZ_CHECK(s->log_level >= LOG_PANIC && s->log_level <= LOG_TRACE);
	FUZZ_CHECK(s->log_timestamp_format != NULL && s->log_time_key != NULL &&
	    s->log_level_key != NULL && s->log_msg_key != NULL && s->log_error_key != NULL &&
	    s->remote_address != NULL);
	FUZZ_CHECK(s->nlisten >= 1 && s->nlisten <= SETTINGS_MAX_LISTEN);
	for (size_t i = 0; i < s->nlisten; i++)
		FUZZ_CHECK(s->listen[i].host != NULL && s->listen[i].host[0] != '\0' &&
		    s->listen[i].port >= 0 && s->listen[i].port <= 65535);
	FUZZ_CHECK(s->queue_max_bytes >= 64 << 10 && s->queue_max_bytes <= 1ULL << 32);
	FUZZ_CHECK(s->queue_max_profiles >= 1 && s->queue_max_profiles <= 100000);
	FUZZ_CHECK(s->max_header_bytes >= 1024 && s->max_header_bytes <= 1 << 20);
	FUZZ_CHECK(s->max_body_bytes >= 1 && s->max_body_bytes <= s->queue_max_bytes);
	FUZZ_CHECK(s->nheaders <= SETTINGS_MAX_HEADERS);
	for (size_t i = 0; i < s->nheaders; i++) {
		FUZZ_CHECK(hdr_name_valid(s->headers[i].name));
		FUZZ_CHECK(!hdr_is_relay_owned(s->headers[i].name));
		FUZZ_CHECK(hdr_value_valid(s->headers[i].value));
	}
	FUZZ_CHECK(s->auth_token == NULL || hdr_value_valid(s->auth_token));
	FUZZ_CHECK(s->basic_auth_user == NULL || hdr_value_valid(s->basic_auth_user));
	FUZZ_CHECK(s->basic_auth_password == NULL || hdr_value_valid(s->basic_auth_password));
	FUZZ_CHECK(s->tenant_id == NULL || hdr_value_valid(s->tenant_id));
	if (s->unsendable == NULL)
		FUZZ_CHECK(s->remote.host != NULL && s->remote.display != NULL);
	/* Every problem is said; a configuration without any problem is sendable unless the remote is. */
	for (size_t i = 0; i < s->nproblems; i++)
		FUZZ_CHECK(s->problems[i].text != NULL && s->problems[i].text[0] != '\0');
	if (s->unsendable != NULL)
		FUZZ_CHECK(s->nproblems > 0);
}

/* The secrets, each replaced by another value of the same validity: the problems must not change. */
static void
check_secrets_hidden(const struct relay_settings *s)
{
	struct var saved[FUZZ_MAX_STRINGS];
	struct relay_settings other;
	bool any = false;

	memcpy(saved, env_vars, sizeof(saved));
	for (size_t i = 0; i < env_n; i++) {
		if (!is_secret(env_vars[i].name) || env_vars[i].value[0] == '\0')
			continue;
		env_vars[i].value = hdr_value_valid(env_vars[i].value) ? "stand-in" : "stand\x01in";
		any = true;
	}
	if (!any)
		return;
	FUZZ_CHECK(settings_load(&other, fuzz_getenv) == 0);
	FUZZ_CHECK(other.nproblems == s->nproblems);
	for (size_t i = 0; i < s->nproblems; i++)
		FUZZ_CHECK(strcmp(other.problems[i].text, s->problems[i].text) == 0);
	FUZZ_CHECK((other.unsendable == NULL) == (s->unsendable == NULL));
	settings_clear(&other);
	memcpy(env_vars, saved, sizeof(saved));
}

static size_t
count_newlines(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* One log line with these settings, the first problem as its message. */
static void
check_log_line(const struct relay_settings *s)
{
	static const struct log_field fields[] = { { "comp", "settings" }, { "path", "/ingest\n" } };
	struct log_config lc;
	const char *msg = s->nproblems > 0 ? s->problems[0].text : "configuration OK";
	char *line;

	settings_log_config(s, &lc);
	if (log_configure(&lc) < 0)
		return;
	line = log_format_line(LOG_ERROR, fields, 2, 1795317743LL, 123456789L, msg);
	if (line != NULL) {
		size_t len = strlen(line);

		FUZZ_CHECK(len > 0 && line[len - 1] == '\n');
		if (s->log_format == LOG_FORMAT_JSON) {
			json_object *o = json_tokener_parse(line);

			FUZZ_CHECK(count_newlines(line) == 1);
			FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
			json_object_put(o);
		} else {
			/* Keys are written as configured, like logrus; values are quoted. */
			FUZZ_CHECK(count_newlines(line) <= 1 + count_newlines(s->log_time_key) +
			    count_newlines(s->log_level_key) + count_newlines(s->log_msg_key));
		}
	}
	free(line);
	log_reset();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_strings in;
	struct relay_settings s;

	if (fuzz_split(data, size, 0, &in) < 0)
		return 0;
	env_n = 0;
	for (size_t i = 0; i < in.n; i++) {
		char *eq = strchr(in.s[i], '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		env_vars[env_n].name = in.s[i];
		env_vars[env_n].value = eq + 1;
		env_n++;
	}
	FUZZ_CHECK(settings_load(&s, fuzz_getenv) == 0);
	check_ranges(&s);
	check_secrets_hidden(&s);
	check_log_line(&s);
	settings_clear(&s);
	fuzz_strings_free(&in);
	return 0;
}
